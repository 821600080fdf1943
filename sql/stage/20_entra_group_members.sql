INSERT INTO entra_group_members
SELECT group_id, guid_norm(id), nullif(user_principal_name, ''), source_ref
FROM raw_entra_group_members;
