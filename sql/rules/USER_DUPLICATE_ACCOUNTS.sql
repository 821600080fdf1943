-- rule: USER_DUPLICATE_ACCOUNTS
-- severity: warning
-- stage: 100
-- owner: mattermost_admin
-- title: One person, several active Mattermost accounts
-- change: Mattermost accounts: keep one
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: Enrollment succeeds only for the account bound by the objectId; a mobile sign-in to the other account fails with User mismatch, and Intune then removes the server from the app
-- remediation: Keep the account bound by the objectId; deactivate or merge the others (mmctl user deactivate)
-- One finding per active account of a person with two or more, at least one on the selected service.
WITH people AS (
    SELECT entra_object_id_norm
    FROM accounts
    WHERE active AND entra_object_id_norm IS NOT NULL
    GROUP BY entra_object_id_norm
    HAVING count(*) >= 2 AND bool_or(on_selected)
)
SELECT 'user' AS subject_type, a.entra_object_id, a.id AS mattermost_user_id,
       a.entra_upn AS user_principal_name, a.email,
       format('{} linked by {}; {} active accounts for this person: {}', a.account_label, a.link_kind,
              count(*) OVER w, string_agg(a.account_label, ', ') OVER w) AS observed,
       'one active account, on the selected auth service, bound by the objectId' AS expected,
       NULL AS remediation
FROM accounts a
JOIN people p USING (entra_object_id_norm)
WHERE a.active
WINDOW w AS (PARTITION BY a.entra_object_id_norm ORDER BY a.username
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING);
