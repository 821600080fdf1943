-- rule: MM_INTUNE_CLIENT_MISMATCH
-- severity: blocking
-- stage: 45
-- owner: mattermost_admin
-- title: IntuneSettings.ClientId is not the app registration's appId
-- change: Mattermost config IntuneSettings.ClientId
-- depends_on: entra_application, mattermost_config
-- requires: graph Application.Read.All; mattermost manage_system
-- predicted_error: Enrollment fails: tokens are issued for the registered app, and the server expects another audience
-- remediation: Set IntuneSettings.ClientId to the Application (client) ID of the server API app registration
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('IntuneSettings.ClientId = {}', coalesce('"' || c.intune_client_id || '"', 'null')) AS observed,
       a.app_id AS expected, NULL AS remediation
FROM entra_application a CROSS JOIN v_config c
WHERE lower(trim(coalesce(c.intune_client_id, ''))) <> a.app_id;
