-- rule: TOKEN_VERSION_1
-- severity: blocking
-- stage: 40
-- owner: directory_team
-- title: MSAL access token is a v1.0 token
-- change: Entra server API app registration manifest: api.requestedAccessTokenVersion
-- depends_on: msal_tokens
-- requires: none
-- predicted_error: Enrollment fails: the server expects v2.0 access tokens (accessTokenAcceptedVersion is not 2)
-- remediation: In the server API app registration's manifest set api.requestedAccessTokenVersion (accessTokenAcceptedVersion) to 2, then sign in again
SELECT 'token' AS subject_type, person_object_id AS entra_object_id, account_id AS mattermost_user_id,
       coalesce(person_upn, username_lower) AS user_principal_name, person_mail AS email,
       format('line {}: ver = {}, iss = {}', line, coalesce(ver, 'absent'), coalesce(iss, 'absent')) AS observed,
       'ver 2.0, iss https://login.microsoftonline.com/{tid}/v2.0' AS expected, NULL AS remediation
FROM token_people
WHERE ver = '1.0' OR starts_with(lower(coalesce(iss, '')), 'https://sts.windows.net/');
