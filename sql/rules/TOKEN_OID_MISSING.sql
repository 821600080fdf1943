-- rule: TOKEN_OID_MISSING
-- severity: blocking
-- stage: 50
-- owner: directory_team
-- title: MSAL access token has no oid claim
-- change: the token request: a delegated user token for the server API scope
-- depends_on: msal_tokens
-- requires: none
-- predicted_error: MissingAuthAccountError: the access token does not contain the identity claim Mattermost expects
-- remediation: Request a delegated (user) token for the server API scope; app-only tokens and tokens from other flows carry no oid
SELECT 'token' AS subject_type, person_object_id AS entra_object_id, account_id AS mattermost_user_id,
       coalesce(person_upn, username_lower) AS user_principal_name, person_mail AS email,
       format('line {}: no oid claim (user {})', line, coalesce(username_lower, 'unknown')) AS observed,
       'an oid claim holding the user''s objectId' AS expected, NULL AS remediation
FROM token_people
WHERE oid IS NULL;
