-- rule: ENTRA_ADMIN_CONSENT_MISSING
-- severity: blocking
-- stage: 30
-- owner: directory_team
-- title: No tenant-wide admin consent from Mattermost Mobile to Intune MAM
-- change: Entra enterprise application Mattermost Mobile: tenant-wide admin consent to Microsoft Mobile Application Management
-- depends_on: entra_service_principals, entra_grants
-- requires: graph Application.Read.All, DelegatedPermissionGrant.Read.All
-- predicted_error: Sign-in to the server succeeds, but Intune enrollment never completes: Mattermost Mobile has no admin consent for Microsoft Mobile Application Management (a consent prompt users cannot answer)
-- remediation: Have an admin sign in to the Mattermost mobile app once and grant consent on behalf of the organisation, or grant admin consent in Entra > Enterprise applications > Mattermost Mobile > Permissions
-- Two-app model (Mattermost's mobile Intune guide, "Consent Required During First Login"; the
-- Intune MAM docs): the mobile app itself requests https://msmamservice.api.application/.default
-- (Microsoft Mobile Application Management, appId 0a5f63c0-b750-4f38-a71c-4fc0d58b89e2, delegated
-- user_impersonation, also seen as DeviceManagementManagedApps.ReadWrite), so the consent that
-- matters is an oAuth2PermissionGrant with consentType AllPrincipals whose clientId is the
-- **Mattermost Mobile** service principal and whose resourceId is the MAM service principal. The
-- customer's server API app needs no MAM permission. Which Mattermost Mobile apps must have it: the
-- published client id of each deployed bundle (--ios-bundle-id) and every --mobile-client-id; when
-- none of those applies (only custom bundles), any Mattermost Mobile client with consent passes.
WITH mam_sp AS (SELECT id FROM entra_service_principals WHERE app_id = '0a5f63c0-b750-4f38-a71c-4fc0d58b89e2'),
status AS (
    SELECT m.app_id, m.bundle_id, m.source,
           EXISTS (SELECT 1 FROM entra_service_principals sp WHERE sp.app_id = m.app_id) AS has_sp,
           EXISTS (SELECT 1 FROM entra_oauth2_grants g JOIN entra_service_principals sp ON sp.id = g.client_id
                   WHERE sp.app_id = m.app_id AND g.consent_type = 'AllPrincipals'
                     AND g.resource_id IN (SELECT id FROM mam_sp)
                     AND list_has_any(string_split(lower(trim(coalesce(g.scope, ''))), ' '),
                                      ['user_impersonation', 'devicemanagementmanagedapps.readwrite'])) AS consented
    FROM mobile_client_ids m
),
wanted AS (SELECT * FROM status WHERE source = 'option' OR bundle_id IN (SELECT bundle_id FROM ios_bundle_ids)),
judged AS (
    SELECT * FROM wanted
    UNION ALL  -- only custom bundles deployed: any Mattermost Mobile client with consent will do
    SELECT * FROM status
    WHERE NOT EXISTS (SELECT 1 FROM wanted) AND NOT EXISTS (SELECT 1 FROM status WHERE consented)
)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('Mattermost Mobile {}({}): {}', coalesce(bundle_id || ' ', ''), app_id,
           CASE WHEN NOT has_sp THEN 'no service principal in this tenant: no admin has consented yet'
                WHEN NOT EXISTS (SELECT 1 FROM mam_sp)
                    THEN 'no Microsoft Mobile Application Management service principal '
                         '(0a5f63c0-b750-4f38-a71c-4fc0d58b89e2) among the service principals read'
                ELSE 'no AllPrincipals grant with user_impersonation to Microsoft Mobile Application Management'
           END) AS observed,
       'tenant-wide admin consent (AllPrincipals) from Mattermost Mobile to Microsoft Mobile Application '
       'Management, scope user_impersonation' AS expected,
       CASE WHEN NOT has_sp
            THEN 'Have an admin (Global or Cloud Application Administrator) sign in to the Mattermost mobile app '
                 'first and tick "Consent on behalf of your organization"; the Mattermost Mobile enterprise '
                 'application then exists with the consent'
       END AS remediation
FROM judged
WHERE NOT consented;
