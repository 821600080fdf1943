-- rule: MM_LICENSE_NOT_ADVANCED
-- severity: blocking
-- stage: 10
-- owner: mattermost_admin
-- title: Server license is not Enterprise Advanced
-- depends_on: mattermost_license
-- predicted_error: NotLicensed: the server is not licensed for Intune MAM (HTTP 403 Forbidden)
-- remediation: Apply a Mattermost Enterprise Advanced license (SkuShortName "advanced") to this server
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       CASE WHEN NOT is_licensed THEN 'IsLicensed = false'
            ELSE format('SkuShortName = {}', coalesce('"' || sku_short_name || '"', 'null')) END AS observed,
       'IsLicensed = true and SkuShortName = "advanced"' AS expected, NULL AS remediation
FROM mm_license
WHERE NOT is_licensed OR coalesce(sku_short_name, '') <> 'advanced';
