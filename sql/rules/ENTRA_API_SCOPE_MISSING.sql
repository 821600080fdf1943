-- rule: ENTRA_API_SCOPE_MISSING
-- severity: blocking
-- stage: 20
-- owner: directory_team
-- title: The server API app does not expose api://{ClientId}/login.mattermost
-- change: Entra server API app registration: Application ID URI and the login.mattermost scope
-- depends_on: entra_application
-- requires: graph Application.Read.All
-- predicted_error: Sign-in fails before any token is issued: AADSTS500011 (resource api://{ClientId} not found) or AADSTS70011 (invalid scope), because the app requests api://{ClientId}/login.mattermost
-- remediation: In the server API app registration > Expose an API, set the Application ID URI to api://{client id} and add an enabled delegated scope named login.mattermost
-- Two-app model (Mattermost's mobile Intune guide; the server's config tests): the iOS app signs in
-- as Mattermost Mobile and the server tells it to request exactly api://{ClientId}/login.mattermost,
-- so the server API app (IntuneSettings.ClientId) must have api://{ClientId} among its
-- identifierUris and an enabled delegated scope whose value is login.mattermost
-- (api.oauth2PermissionScopes). Entra compares identifier URIs and scope values case-insensitively,
-- so case differences and a trailing slash are not findings here.
WITH app AS (SELECT * FROM entra_application),
problems AS (
    SELECT format('identifierUris = [{}]: api://{} is missing', coalesce(replace(identifier_uris, ' ', ', '), ''),
                  app_id) AS observed,
           format('api://{} in identifierUris', app_id) AS expected,
           format('In Expose an API set the Application ID URI to api://{}', app_id) AS remediation
    FROM app
    WHERE NOT list_contains(list_transform(string_split(lower(coalesce(identifier_uris, '')), ' '),
                                           lambda u: rtrim(u, '/')), 'api://' || app_id)
    UNION ALL
    SELECT format('api.oauth2PermissionScopes = [{}]: no enabled delegated scope login.mattermost',
                  coalesce((SELECT string_agg(value || CASE WHEN is_enabled IS FALSE THEN ' (disabled)' ELSE '' END,
                                              ', ' ORDER BY value) FROM entra_app_scopes), '')),
           'an enabled delegated scope with value login.mattermost',
           'In Expose an API add a scope named login.mattermost (who can consent: Admins and users), state Enabled'
    FROM app
    WHERE NOT EXISTS (SELECT 1 FROM entra_app_scopes WHERE lower(value) = 'login.mattermost' AND is_enabled IS NOT FALSE)
)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} ({}): {}', coalesce(app.display_name, 'application'), app.app_id, p.observed) AS observed,
       p.expected, p.remediation
FROM problems p CROSS JOIN app;
