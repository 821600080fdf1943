-- rule: USER_LDAP_AADOBJECTID_MISSING
-- severity: warning
-- stage: 100
-- owner: directory_team
-- title: LDAP entry has no msDS-aadObjectId
-- change: LDAP entry attribute msDS-aadObjectId
-- depends_on: ldap, entra_users
-- requires: graph User.Read.All
-- predicted_error: Accounts created or synchronised from LDAP get no objectId; sign-in through LDAP will not match the token's oid
-- remediation: Check Entra Domain Services synchronisation for this user (msDS-aadObjectId is written by the sync); on self-managed AD, populate it with the Entra objectId
SELECT 'user' AS subject_type, e.object_id AS entra_object_id, NULL AS mattermost_user_id,
       e.upn AS user_principal_name, coalesce(l.mail, e.mail) AS email,
       format('{} has no msDS-aadObjectId (matched by {})', l.dn, k.link_kind) AS observed,
       'msDS-aadObjectId = ' || e.object_id AS expected, NULL AS remediation
FROM ldap_users l
JOIN ldap_links k USING (dn)
JOIN entra_users e ON e.object_id_norm = k.object_id_norm
WHERE l.aad_object_id IS NULL;
