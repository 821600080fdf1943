-- rule: USER_AUTHDATA_MISMATCH
-- severity: blocking
-- title: auth_data is none of the person's identifiers
-- depends_on: mattermost_users, entra_users, mattermost_config
-- predicted_error: User mismatch: the server finds no account with AuthData = the token's oid for the selected AuthService; the app logs the user out and wipes the server
-- remediation: Rebind the account to the objectId: PUT /api/v4/users/{user_id}/auth with auth_data = the expected value
-- Linked only through the LDAP id attribute (step 7) or the account's email (step 8): auth_data
-- holds something else (a sAMAccountName, a stale or foreign id, nothing at all).
SELECT * EXCLUDE (link_step) FROM v_selected_account_findings WHERE link_step IN (7, 8);
