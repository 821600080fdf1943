-- rule: MM_OFFICE365_TENANT_MISMATCH
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: Entra ID sign-in points at another tenant than IntuneSettings
-- change: Mattermost config Office365Settings.DirectoryId / IntuneSettings.TenantId
-- depends_on: mattermost_config
-- requires: mattermost manage_system
-- predicted_error: User mismatch: accounts carry the objectIds of another directory than the one whose oid the tokens carry
-- remediation: Make Office365Settings.DirectoryId and IntuneSettings.TenantId the same Directory (tenant) ID
-- Added beyond issue 2: with AuthService office365, accounts are bound by the objectIds of the
-- directory Office365Settings names; MSAL tokens carry oids of the Intune tenant.
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('Office365Settings.DirectoryId = "{}", IntuneSettings.TenantId = "{}"',
              office365_directory_id, intune_tenant_id) AS observed,
       'the same tenant id in both' AS expected, NULL AS remediation
FROM v_config
WHERE selected_service = 'office365'
  AND office365_directory_id IS NOT NULL AND trim(office365_directory_id) NOT IN ('', 'common', 'organizations')
  AND intune_tenant_id IS NOT NULL
  AND lower(trim(office365_directory_id)) <> lower(trim(intune_tenant_id));
