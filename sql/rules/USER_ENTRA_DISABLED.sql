-- rule: USER_ENTRA_DISABLED
-- severity: info
-- stage: 100
-- owner: mattermost_admin
-- readiness: not_evaluated
-- title: Entra account disabled, Mattermost account still active
-- change: Mattermost account: active
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: the user cannot sign in to Entra; an active Mattermost account remains
-- remediation: Deactivate the Mattermost account if the person has left (mmctl user deactivate)
SELECT 'user' AS subject_type, a.entra_object_id, a.id AS mattermost_user_id,
       a.entra_upn AS user_principal_name, a.email,
       format('Entra accountEnabled = false; {} is active', a.account_label) AS observed,
       'accountEnabled = true, or the Mattermost account deactivated' AS expected, NULL AS remediation
FROM accounts a
WHERE a.active AND a.on_selected AND a.entra_enabled IS FALSE;
