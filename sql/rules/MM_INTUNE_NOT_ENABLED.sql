-- rule: MM_INTUNE_NOT_ENABLED
-- severity: info
-- stage: 100
-- owner: mattermost_admin
-- title: Intune MAM is not enabled yet
-- change: Mattermost config IntuneSettings.Enable
-- depends_on: mattermost_config
-- requires: mattermost manage_system
-- predicted_error: none yet: the mobile app does not enforce Intune MAM until IntuneSettings.Enable is true
-- remediation: Fix every blocking finding first, then enable Intune MAM in System Console > Environment > Mobile Security
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('IntuneSettings.Enable = {}', coalesce(CAST(intune_enable AS VARCHAR), 'unset')) AS observed,
       'true (after this audit is clean)' AS expected, NULL AS remediation
FROM v_config
WHERE intune_enable IS NOT TRUE;
