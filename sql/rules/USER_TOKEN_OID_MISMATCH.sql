-- rule: USER_TOKEN_OID_MISMATCH
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: The token's oid is not the user's objectId or account auth_data
-- change: Mattermost account auth_data
-- depends_on: msal_tokens, entra_users, mattermost_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: User mismatch: the server looks up AuthData = oid and finds no account (or another person's)
-- remediation: Bind the user's account to the objectId in the token's oid (PUT /api/v4/users/{user_id}/auth), or find why Entra issues this oid for this user (a guest or a second account)
-- A token without oid is TOKEN_OID_MISSING only.
SELECT 'user' AS subject_type, person_object_id AS entra_object_id, account_id AS mattermost_user_id,
       person_upn AS user_principal_name, person_mail AS email,
       CASE WHEN oid <> person_object_id
            THEN format('line {}: oid = {}, but {} (matched by {}) has objectId {}', line, oid,
                        coalesce(person_upn, username_lower, '?'), matched_by, person_object_id)
            ELSE format('line {}: oid = {}, but the enrolling account has auth_data "{}"', line, oid,
                        coalesce(account_auth_data, ''))
       END AS observed,
       oid AS expected, NULL AS remediation
FROM token_people
WHERE oid IS NOT NULL AND person_object_id IS NOT NULL
  AND (oid <> person_object_id OR (account_id IS NOT NULL AND account_auth_data IS DISTINCT FROM oid));
