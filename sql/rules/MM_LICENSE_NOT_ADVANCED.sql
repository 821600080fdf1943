-- rule: MM_LICENSE_NOT_ADVANCED
-- severity: blocking
-- stage: 10
-- owner: mattermost_admin
-- title: Server license is neither Entry nor Enterprise Advanced, or has expired
-- change: Mattermost server licence
-- depends_on: mattermost_license
-- requires: mattermost manage_system
-- predicted_error: NotLicensed: the server is not licensed for Intune MAM (HTTP 403 Forbidden)
-- remediation: Apply a current Mattermost Enterprise Advanced or Entry license (SkuShortName "advanced" or "entry") to this server
-- Mattermost's Intune page: "Available on Entry and Enterprise Advanced plans". The server's gate
-- (model.MinimumEnterpriseAdvancedLicense) wants the tier of SkuShortName >= 30, and both "advanced"
-- and "entry" map to 30; "enterprise", "professional", E10 and E20 do not. The tier map is keyed
-- by the exact lowercase name. An expired license (ExpiresAt in the past) is blocking too.
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       CASE WHEN NOT is_licensed THEN 'IsLicensed = false (no license)'
            WHEN coalesce(sku_short_name, '') NOT IN ('advanced', 'entry')
                THEN format('SkuShortName = {}{}', coalesce('"' || sku_short_name || '"', 'null'),
                            coalesce(' (' || sku_name || ')', ''))
            ELSE format('SkuShortName = "{}", expired on {}', sku_short_name, strftime(expires_at, '%Y-%m-%d'))
       END AS observed,
       'a current license with SkuShortName "advanced" or "entry"' AS expected, NULL AS remediation
FROM mm_license
WHERE NOT is_licensed
   OR coalesce(sku_short_name, '') NOT IN ('advanced', 'entry')
   OR expires_at < now();
