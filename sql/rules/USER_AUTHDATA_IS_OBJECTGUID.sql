-- rule: USER_AUTHDATA_IS_OBJECTGUID
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: Account bound by on-premises objectGUID
-- depends_on: mattermost_users, entra_users, mattermost_config
-- predicted_error: User mismatch at the next mobile sign-in: the server finds no account with AuthData = the token's oid for the selected AuthService; Intune then removes the server from the app (existing sessions are not wiped at once)
-- remediation: Rebind the account to the objectId: PUT /api/v4/users/{user_id}/auth with auth_data = the expected value (for SAML, set IdAttribute to the objectidentifier claim and have the user sign in once on web or desktop)
-- An active account of the selected auth service whose auth_data is the person's on-premises objectGUID in Windows, naive or backslash-hex form.
SELECT * EXCLUDE (link_step) FROM v_selected_account_findings WHERE link_step = 6;
