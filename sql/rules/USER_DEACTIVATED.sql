-- rule: USER_DEACTIVATED
-- severity: blocking
-- stage: 70
-- owner: mattermost_admin
-- title: Targeted user's Mattermost accounts are all deactivated
-- change: Mattermost account: active
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: HTTP 409: account locked (the Mattermost account is deactivated)
-- remediation: Reactivate the account (mmctl user activate) if the person should have access, or remove them from the policy groups
-- One finding per deactivated account of a targeted person who has no active account at all.
SELECT 'user' AS subject_type, a.entra_object_id, a.id AS mattermost_user_id,
       a.entra_upn AS user_principal_name, a.email,
       format('{} deactivated on {}', a.account_label,
              strftime(make_timestamp(m.delete_at * 1000), '%Y-%m-%d')) AS observed,
       'an active account of the selected auth service' AS expected, NULL AS remediation
FROM accounts a
JOIN mm_users m ON m.id = a.id
WHERE a.targeted
  AND NOT EXISTS (SELECT 1 FROM accounts b WHERE b.entra_object_id_norm = a.entra_object_id_norm AND b.active);
