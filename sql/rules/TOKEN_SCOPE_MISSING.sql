-- rule: TOKEN_SCOPE_MISSING
-- severity: blocking
-- stage: 45
-- owner: directory_team
-- title: MSAL access token does not carry the login.mattermost scope
-- change: the token request: scope api://{client id}/login.mattermost
-- depends_on: msal_tokens
-- requires: none
-- predicted_error: ent.intune.validate_token.invalid_token: the server rejects an access token whose scp lacks login.mattermost
-- remediation: Request a delegated token for api://{client id}/login.mattermost from the Mattermost Mobile app (the server tells the app this scope); app-only tokens and tokens for other scopes are refused
-- The server's token validation checks the scope (DESIGN "Facts": token validation): scp is the
-- space-separated list of delegated scopes granted; app-only (client credentials) tokens have no
-- scp at all. Scope values are compared case-insensitively, as Entra does.
SELECT 'token' AS subject_type, person_object_id AS entra_object_id, account_id AS mattermost_user_id,
       coalesce(person_upn, username_lower) AS user_principal_name, person_mail AS email,
       format('line {}: {}', line, CASE WHEN scp IS NULL THEN 'no scp claim (an app-only token?)'
                                        ELSE format('scp = "{}"', scp) END) AS observed,
       'scp containing login.mattermost' AS expected, NULL AS remediation
FROM token_people
WHERE NOT list_contains(string_split(lower(coalesce(scp, '')), ' '), 'login.mattermost');
