-- rule: ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED
-- severity: warning
-- severities: blocking, warning
-- stage: 30
-- owner: directory_team
-- title: Mattermost Mobile is not pre-authorized for the server API's login.mattermost scope
-- change: Entra server API app registration: authorized client applications
-- depends_on: entra_application
-- requires: graph Application.Read.All
-- predicted_error: Every user meets a consent prompt for the server API at first mobile sign-in; where users may not consent, the sign-in stops at "Need admin approval"
-- remediation: In the server API app registration > Expose an API > Authorized client applications, add the Mattermost Mobile client id(s) for the login.mattermost scope
-- Two-app model (Mattermost's mobile Intune guide): the server API app lists the Mattermost Mobile
-- client ids in api.preAuthorizedApplications for login.mattermost, so no user is asked to consent.
-- The ids are Mattermost's published ones plus --mobile-client-id (DESIGN, corrections to #9).
-- Near miss: an AllPrincipals grant from a Mattermost Mobile service principal to the server API's
-- service principal holding login.mattermost also means no prompt: no finding. Severity: warning
-- (a prompt users can answer); blocking when the tenant's authorization policy was read and user
-- consent is disabled (no ManagePermissionGrantsForSelf policy: Entra's "Do not allow user consent").
WITH app AS (SELECT * FROM entra_application),
login_scope AS (SELECT scope_id FROM entra_app_scopes WHERE lower(value) = 'login.mattermost'),
preauthorized AS (
    SELECT DISTINCT p.app_id FROM entra_app_preauthorized p
    WHERE p.app_id IN (SELECT app_id FROM mobile_client_ids)
      AND p.permission_id IN (SELECT scope_id FROM login_scope)
),
admin_granted AS (
    SELECT 1 FROM entra_oauth2_grants g
    JOIN entra_service_principals client ON client.id = g.client_id
    JOIN entra_service_principals api ON api.id = g.resource_id
    WHERE client.app_id IN (SELECT app_id FROM mobile_client_ids)
      AND api.app_id IN (SELECT app_id FROM app)
      AND g.consent_type = 'AllPrincipals'
      AND list_contains(string_split(lower(trim(coalesce(g.scope, ''))), ' '), 'login.mattermost')
),
consent AS (
    SELECT coalesce((SELECT format('user consent {} (authorization policy: {})', user_consent,
                                   coalesce(policies, 'no permission grant policy'))
                     FROM entra_authorization_policy LIMIT 1),
                    'whether users may consent was not read (entra_authorization_policy)') AS said,
           coalesce((SELECT user_consent = 'disabled' FROM entra_authorization_policy LIMIT 1), false) AS disabled
)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} ({}): api.preAuthorizedApplications = [{}]{}; {}', coalesce(app.display_name, 'application'),
              app.app_id,
              coalesce((SELECT string_agg(DISTINCT p.app_id, ', ' ORDER BY p.app_id) FROM entra_app_preauthorized p),
                       ''),
              CASE WHEN NOT EXISTS (SELECT 1 FROM login_scope) THEN ' and no login.mattermost scope to pre-authorize'
                   ELSE '' END,
              consent.said) AS observed,
       format('a Mattermost Mobile client id ({}) pre-authorized for login.mattermost',
              (SELECT string_agg(app_id, ', ' ORDER BY source DESC, app_id) FROM mobile_client_ids)) AS expected,
       NULL AS remediation,
       CASE WHEN consent.disabled THEN 'blocking' ELSE 'warning' END AS severity
FROM app CROSS JOIN consent
WHERE NOT EXISTS (SELECT 1 FROM preauthorized)
  AND NOT EXISTS (SELECT 1 FROM admin_granted);
