-- rule: USER_LDAP_AADOBJECTID_MISMATCH
-- severity: warning
-- stage: 100
-- owner: directory_team
-- title: LDAP msDS-aadObjectId differs from the person's objectId
-- change: LDAP entry attribute msDS-aadObjectId
-- depends_on: ldap, entra_users
-- requires: graph User.Read.All
-- predicted_error: Accounts synchronised from LDAP carry another objectId than the token's oid: User mismatch on LDAP paths
-- remediation: Correct msDS-aadObjectId on the entry (or the Entra Domain Services sync) so it holds exactly the person's objectId
-- The person is found by UPN, else mail, independently of msDS-aadObjectId; the value must equal
-- their objectId exactly (a case or brace difference is reported too: Mattermost stores it as is).
WITH by_name AS (
    SELECT l.dn, e.object_id_norm, 1 AS step, 'upn' AS how
    FROM ldap_users l JOIN entra_users e ON l.upn_lower = e.upn_lower
    UNION ALL
    SELECT l.dn, e.object_id_norm, 2, 'mail'
    FROM ldap_users l JOIN entra_users e ON l.mail_lower = e.mail_lower
),
person AS (
    SELECT dn, object_id_norm, how FROM by_name
    QUALIFY row_number() OVER (PARTITION BY dn ORDER BY step, object_id_norm) = 1
)
SELECT 'user' AS subject_type, e.object_id AS entra_object_id, NULL AS mattermost_user_id,
       e.upn AS user_principal_name, coalesce(l.mail, e.mail) AS email,
       format('{} msDS-aadObjectId = "{}" ({}; entry matched by {})', l.dn, l.aad_object_id_raw,
              CASE WHEN l.aad_object_id = e.object_id_norm THEN 'differs only in case or format'
                   WHEN l.aad_object_id IN (SELECT object_id_norm FROM entra_users) THEN 'another Entra user''s objectId'
                   ELSE 'no Entra user has this objectId' END,
              p.how) AS observed,
       e.object_id AS expected, NULL AS remediation
FROM ldap_users l
JOIN person p USING (dn)
JOIN entra_users e ON e.object_id_norm = p.object_id_norm
WHERE l.aad_object_id IS NOT NULL AND l.aad_object_id_raw <> e.object_id;
