-- Whom each validly signed SAML assertion is about: by its objectidentifier (normalised), else its
-- name claim (the UPN), else the upn claim, else the email claim. objectid_sent is the objectId the
-- assertion carries under any claim name ending in "objectidentifier" (full URI preferred), so a
-- claim sent under the wrong name is still recognised as the objectId.
CREATE OR REPLACE TABLE saml_people AS
WITH sent AS (
    SELECT s.file,
           coalesce(s.objectidentifier,
                    (SELECT arg_min(a.value, a.name) FROM saml_attributes a
                     WHERE a.file = s.file AND lower(a.name) LIKE '%objectidentifier')) AS objectid_sent
    FROM saml_assertions s
),
candidates AS (
    SELECT x.file, e.object_id_norm, 1 AS step, 'objectidentifier' AS matched_by
    FROM sent x JOIN entra_users e ON e.object_id_norm = lower(trim(x.objectid_sent, '{} '))
    UNION ALL
    SELECT s.file, e.object_id_norm, 2, 'name' FROM saml_assertions s JOIN entra_users e ON e.upn_lower = s.claim_name_lower
    UNION ALL
    SELECT s.file, e.object_id_norm, 3, 'upn' FROM saml_assertions s JOIN entra_users e ON e.upn_lower = s.upn_lower
    UNION ALL
    SELECT s.file, e.object_id_norm, 4, 'emailaddress' FROM saml_assertions s
    JOIN entra_users e ON e.mail_lower = s.emailaddress_lower
),
best AS (
    SELECT file, object_id_norm, matched_by FROM candidates
    QUALIFY row_number() OVER (PARTITION BY file ORDER BY step, object_id_norm) = 1
)
SELECT s.*, x.objectid_sent, b.object_id_norm AS person, b.matched_by,
       e.object_id AS person_object_id, e.upn AS person_upn, e.mail AS person_mail
FROM saml_assertions s
JOIN sent x USING (file)
LEFT JOIN best b USING (file)
LEFT JOIN entra_users e ON e.object_id_norm = b.object_id_norm;
