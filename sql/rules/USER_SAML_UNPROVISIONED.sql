-- rule: USER_SAML_UNPROVISIONED
-- severity: blocking
-- stage: 60
-- owner: mattermost_admin
-- title: Targeted user has no Mattermost account (SAML)
-- change: Mattermost account: provision (first web or desktop SAML sign-in)
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: HTTP 428 account_not_found: mobile sign-in creates no SAML users
-- remediation: Have the user sign in once on web or desktop with SAML before mobile, or provision the account in advance
SELECT 'user' AS subject_type, e.object_id AS entra_object_id, NULL AS mattermost_user_id,
       e.upn AS user_principal_name, e.mail AS email,
       'no Mattermost account of any auth service' AS observed,
       'a SAML account with auth_data = ' || e.object_id AS expected, NULL AS remediation
FROM targeted t
JOIN entra_users e USING (object_id_norm)
WHERE (SELECT selected_service FROM v_config) = 'saml'
  AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.entra_object_id_norm = t.object_id_norm);
