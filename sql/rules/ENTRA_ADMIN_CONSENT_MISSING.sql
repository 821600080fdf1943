-- rule: ENTRA_ADMIN_CONSENT_MISSING
-- severity: blocking
-- stage: 30
-- owner: directory_team
-- title: No tenant-wide admin consent for the MAM permission
-- depends_on: entra_application, entra_service_principals, entra_grants
-- predicted_error: First sign-ins succeed, but enrollment does not complete: the MAM permission has no admin consent
-- remediation: Grant admin consent for the tenant on the app registration's API permissions (Microsoft Mobile Application Management, DeviceManagementManagedApps.ReadWrite)
-- Consent = an oAuth2PermissionGrant with consentType AllPrincipals from the client's service
-- principal to the MAM service principal, whose scope holds DeviceManagementManagedApps.ReadWrite
-- (current name) or user_impersonation (older docs).
WITH app AS (SELECT app_id, display_name FROM entra_application),
client_sp AS (SELECT sp.id FROM entra_service_principals sp JOIN app USING (app_id)),
mam_sp AS (SELECT id FROM entra_service_principals WHERE app_id = '0a5f63c0-b750-4f38-a71c-4fc0d58b89e2'),
problem AS (
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM client_sp)
            THEN 'no service principal for the application in entra_service_principals.json (the app is not consented in this tenant)'
        WHEN NOT EXISTS (SELECT 1 FROM mam_sp)
            THEN 'no Microsoft Mobile Application Management service principal in entra_service_principals.json'
        WHEN NOT EXISTS (
            SELECT 1 FROM entra_oauth2_grants g
            WHERE g.consent_type = 'AllPrincipals'
              AND g.client_id IN (SELECT id FROM client_sp)
              AND g.resource_id IN (SELECT id FROM mam_sp)
              AND list_has_any(string_split(trim(coalesce(g.scope, '')), ' '),
                               ['DeviceManagementManagedApps.ReadWrite', 'user_impersonation']))
            THEN 'no AllPrincipals grant from the application''s service principal to Microsoft Mobile Application Management with DeviceManagementManagedApps.ReadWrite'
    END AS observed
)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} ({}): {}', coalesce(app.display_name, 'application'), app.app_id, problem.observed) AS observed,
       'tenant-wide admin consent for DeviceManagementManagedApps.ReadWrite' AS expected, NULL AS remediation
FROM problem CROSS JOIN app
WHERE problem.observed IS NOT NULL;
