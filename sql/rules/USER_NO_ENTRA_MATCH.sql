-- rule: USER_NO_ENTRA_MATCH
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: Account matches no Entra user
-- change: Mattermost account auth_data (or deactivate)
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: User mismatch: no Entra user's oid can equal this account's AuthData
-- remediation: Find the person in Entra and set auth_data to their objectId, or deactivate the account if the person has left
SELECT 'user' AS subject_type, NULL AS entra_object_id, a.id AS mattermost_user_id,
       NULL AS user_principal_name, a.email,
       format('auth_data = "{}" ({})', coalesce(a.auth_data, ''), a.account_label) AS observed,
       'the objectId of an Entra user' AS expected,
       CASE
           WHEN a.objectguid_unruled
               THEN 'auth_data is GUID-shaped but no Entra objectId: it may be an on-premises objectGUID, '
                    || 'which could not be ruled out without ldap_users.ldif. Find the person and set auth_data '
                    || 'to their objectId, or deactivate the account if the person has left'
       END AS remediation
FROM accounts a
WHERE a.active AND a.on_selected AND a.link_step IS NULL;
