-- Every non-bot Mattermost account with the Entra user it links to and its standing under Intune.
CREATE OR REPLACE TABLE accounts AS
SELECT
    m.id, m.username, m.email, m.auth_service, m.auth_data, m.auth_data_guid,
    -- GUID-shaped (any text form, or Mattermost's \xx hex) but matched to no objectGUID: without the
    -- LDAP export an on-premises objectGUID binding cannot be ruled out
    (m.auth_data_guid IS NOT NULL OR m.auth_data_hex_guid IS NOT NULL)
        AND coalesce(k.link_step, 99) > 6
        AND NOT coalesce((SELECT available FROM run_inputs WHERE name = 'ldap'), false) AS objectguid_unruled,
    -- for messages: format() returns NULL when any argument is NULL, so every part is non-null
    CASE WHEN m.auth_service = '' THEN 'email' ELSE m.auth_service END || ' account '
        || coalesce(m.username, m.id) AS account_label,
    m.delete_at = 0 AS active,
    m.auth_service = c.selected_service AS on_selected,
    c.selected_service,
    k.link_step, k.link_kind, k.candidate_count, k.ambiguous_candidates,
    e.object_id AS entra_object_id,
    e.object_id_norm AS entra_object_id_norm,
    e.upn AS entra_upn,
    e.mail AS entra_mail,
    e.immutable_id AS entra_immutable_id,
    e.account_enabled AS entra_enabled,
    t.object_id_norm IS NOT NULL AS targeted
FROM mm_users m
LEFT JOIN mm_links k ON k.mattermost_user_id = m.id
LEFT JOIN entra_users e ON e.object_id_norm = k.object_id_norm
LEFT JOIN targeted t ON t.object_id_norm = k.object_id_norm
LEFT JOIN v_config c ON true
WHERE NOT m.is_bot;

-- Active accounts of the selected service in the findings shape, for the rules that differ only
-- in which identifier the account is bound by (USER_AUTHDATA_*). An account whose deciding identifier
-- belongs to several Entra users is left out: "set auth_data to X" would be a guess between them
-- (issue 14); USER_LINK_AMBIGUOUS reports it instead.
CREATE OR REPLACE VIEW v_selected_account_findings AS
SELECT 'user' AS subject_type, entra_object_id, id AS mattermost_user_id,
       entra_upn AS user_principal_name, email,
       format('auth_data = "{}" ({}, linked by {})', coalesce(auth_data, ''), account_label,
              link_kind) AS observed,
       entra_object_id AS expected,
       format('Set auth_data of {} ({}) to {}', account_label, id, entra_object_id)
           || CASE WHEN objectguid_unruled
                   THEN '. auth_data is GUID-shaped: an on-premises objectGUID binding could not be ruled out '
                        || 'without ldap_users.ldif' ELSE '' END AS remediation,
       link_step
FROM accounts
WHERE active AND on_selected AND ambiguous_candidates IS NULL;
