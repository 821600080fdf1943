-- rule: ENTRA_TOKEN_VERSION
-- severity: blocking
-- stage: 40
-- owner: directory_team
-- title: App registration issues v1.0 access tokens
-- change: Entra server API app registration manifest: api.requestedAccessTokenVersion
-- depends_on: entra_application
-- requires: graph Application.Read.All
-- predicted_error: Enrollment fails: Entra issues v1.0 access tokens for the server API, and the server expects v2.0
-- remediation: In the server API app registration's manifest set api.requestedAccessTokenVersion to 2
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} ({}): api.requestedAccessTokenVersion = {}', coalesce(display_name, 'application'), app_id,
              coalesce(CAST(requested_access_token_version AS VARCHAR), 'null (means 1)')) AS observed,
       '2' AS expected, NULL AS remediation
FROM entra_application
WHERE requested_access_token_version IS DISTINCT FROM 2;
