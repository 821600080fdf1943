-- rule: MM_INTUNE_CONFIG_INVALID
-- severity: blocking
-- stage: 10
-- owner: mattermost_admin
-- title: IntuneSettings incomplete or invalid
-- change: Mattermost config IntuneSettings
-- depends_on: mattermost_config
-- requires: mattermost manage_system
-- predicted_error: HTTP 403 Forbidden: the server gates Intune enrollment on a valid TenantId, ClientId and an enabled AuthService
-- remediation: In System Console > Environment > Mobile Security set Tenant ID and Client ID to the Entra GUIDs and choose an enabled auth provider (office365 or saml)
-- Checked whether or not IntuneSettings.Enable is set: the audit usually runs before enablement.
WITH c AS (SELECT * FROM v_config),
problems AS (
    SELECT 'IntuneSettings absent' AS observed,
           'an IntuneSettings section (Mattermost v10.11+ with Enterprise Advanced)' AS expected,
           'Upgrade the server to a version with Intune MAM support, then configure Mobile Security' AS remediation
    FROM c WHERE NOT intune_present
    UNION ALL
    SELECT format('TenantId = {}', coalesce('"' || intune_tenant_id || '"', 'null')),
           'the directory (tenant) id as a GUID, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47',
           'Set IntuneSettings.TenantId to the Directory (tenant) ID shown in Entra > Overview'
    FROM c WHERE intune_present AND NOT coalesce(regexp_full_match(intune_tenant_id,
        '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), false)
    UNION ALL
    SELECT format('ClientId = {}', coalesce('"' || intune_client_id || '"', 'null')),
           'the Application (client) ID of the server API app registration, a GUID',
           'Set IntuneSettings.ClientId to the Application (client) ID of the app registration that defines the Intune scope'
    FROM c WHERE intune_present AND NOT coalesce(regexp_full_match(intune_client_id,
        '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), false)
    UNION ALL
    SELECT format('AuthService = {}', coalesce('"' || intune_auth_service || '"', 'null')),
           'office365 or saml',
           'Set IntuneSettings.AuthService to office365 or saml, whichever Entra-backed sign-in users use'
    FROM c WHERE intune_present AND coalesce(intune_auth_service, '') NOT IN ('office365', 'saml')
    UNION ALL
    SELECT 'AuthService = "office365" but Office365Settings.Enable is not true',
           'Office365Settings.Enable = true',
           'Enable Entra ID (Office 365) sign-in in System Console > Authentication > Entra ID, or choose saml'
    FROM c WHERE intune_auth_service = 'office365' AND office365_enable IS NOT TRUE
    UNION ALL
    SELECT 'AuthService = "saml" but SamlSettings.Enable is not true',
           'SamlSettings.Enable = true',
           'Enable SAML 2.0 in System Console > Authentication > SAML 2.0, or choose office365'
    FROM c WHERE intune_auth_service = 'saml' AND saml_enable IS NOT TRUE
)
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email, observed, expected, remediation
FROM problems;
