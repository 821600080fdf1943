-- rule: USER_NOT_SELECTED_SERVICE
-- severity: info
-- stage: 100
-- owner: mattermost_admin
-- readiness: not_evaluated
-- title: Targeted user signs in with another auth service
-- change: Mattermost account auth service
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: not evaluated: Intune MAM applies only to the auth service named in IntuneSettings.AuthService
-- remediation: Migrate the account to the selected auth service (mmctl user migrate-auth) if the user must be protected by Intune MAM
SELECT 'user' AS subject_type, any_value(a.entra_object_id) AS entra_object_id,
       min(a.id) AS mattermost_user_id, any_value(a.entra_upn) AS user_principal_name,
       arg_min(a.email, a.id) AS email,
       'active accounts on: ' || string_agg(DISTINCT CASE WHEN a.auth_service = '' THEN 'email' ELSE a.auth_service END,
                                            ', ' ORDER BY CASE WHEN a.auth_service = '' THEN 'email' ELSE a.auth_service END)
           AS observed,
       'an account on ' || any_value(a.selected_service) AS expected, NULL AS remediation
FROM accounts a
WHERE a.targeted AND a.active
GROUP BY a.entra_object_id_norm
HAVING NOT bool_or(a.on_selected);
