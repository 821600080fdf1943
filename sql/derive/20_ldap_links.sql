-- Which Entra user each LDAP entry belongs to: by msDS-aadObjectId, else UPN, else mail.
CREATE OR REPLACE TABLE ldap_links AS
WITH candidates AS (
    SELECT l.dn, e.object_id_norm, 1 AS step, 'aad_object_id' AS link_kind
    FROM ldap_users l JOIN entra_users e ON l.aad_object_id = e.object_id_norm
    UNION ALL
    SELECT l.dn, e.object_id_norm, 2, 'upn'
    FROM ldap_users l JOIN entra_users e ON l.upn_lower = e.upn_lower
    UNION ALL
    SELECT l.dn, e.object_id_norm, 3, 'mail'
    FROM ldap_users l JOIN entra_users e ON l.mail_lower = e.mail_lower
)
SELECT dn, object_id_norm, step AS link_step, link_kind
FROM candidates
QUALIFY row_number() OVER (PARTITION BY dn ORDER BY step, object_id_norm) = 1;
