-- rule: ENTRA_MAM_PERMISSION_MISSING
-- severity: blocking
-- stage: 20
-- owner: directory_team
-- title: App registration lacks the Microsoft Mobile Application Management permission
-- depends_on: entra_application
-- predicted_error: AADSTS650057 (invalid_resource): the Intune MAM API permission is missing
-- remediation: Add API permission Microsoft Mobile Application Management (0a5f63c0-b750-4f38-a71c-4fc0d58b89e2), delegated DeviceManagementManagedApps.ReadWrite, to the app registration and grant admin consent
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} ({}): requiredResourceAccess has no entry for resource 0a5f63c0-b750-4f38-a71c-4fc0d58b89e2',
              coalesce(display_name, 'application'), app_id) AS observed,
       'a requiredResourceAccess entry for Microsoft Mobile Application Management' AS expected, NULL AS remediation
FROM entra_application
WHERE NOT EXISTS (SELECT 1 FROM entra_app_required_access
                  WHERE resource_app_id = '0a5f63c0-b750-4f38-a71c-4fc0d58b89e2');
