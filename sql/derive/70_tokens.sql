-- Whom each MSAL token is about (by oid, else preferred_username / upn as the UPN, else as mail),
-- and the account that person would enroll with (active, selected auth service, best link).
CREATE OR REPLACE TABLE token_people AS
WITH candidates AS (
    SELECT t.line, e.object_id_norm, 1 AS step, 'oid' AS matched_by
    FROM msal_tokens t JOIN entra_users e ON e.object_id_norm = t.oid_norm
    UNION ALL
    SELECT t.line, e.object_id_norm, 2, 'username' FROM msal_tokens t JOIN entra_users e ON e.upn_lower = t.username_lower
    UNION ALL
    SELECT t.line, e.object_id_norm, 3, 'mail' FROM msal_tokens t JOIN entra_users e ON e.mail_lower = t.username_lower
),
best AS (
    SELECT line, object_id_norm, matched_by FROM candidates
    QUALIFY row_number() OVER (PARTITION BY line ORDER BY step, object_id_norm) = 1
),
enrolling AS (
    SELECT entra_object_id_norm, id, auth_data FROM accounts
    WHERE active AND on_selected AND entra_object_id_norm IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY entra_object_id_norm ORDER BY link_step, id) = 1
)
SELECT t.*, b.matched_by, e.object_id AS person_object_id, e.upn AS person_upn, e.mail AS person_mail,
       n.id AS account_id, n.auth_data AS account_auth_data
FROM msal_tokens t
LEFT JOIN best b USING (line)
LEFT JOIN entra_users e ON e.object_id_norm = b.object_id_norm
LEFT JOIN enrolling n ON n.entra_object_id_norm = b.object_id_norm;
