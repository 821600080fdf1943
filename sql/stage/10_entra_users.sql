-- Entra users: the objectId in canonical form, lowercased UPN and mail for matching, the
-- objectGUID inside the immutableId in both byte orders (sync scripts differ), and the Intune
-- service plan's status ('Enabled' wins; 'none' without the plan; NULL when plans were not exported).
INSERT INTO entra_users
SELECT id, guid_norm(id),
       nullif(user_principal_name, ''), lower(nullif(user_principal_name, '')),
       nullif(mail, ''), lower(nullif(mail, '')),
       nullif(immutable_id, ''),
       guid_windows_hex(immutable_hex(immutable_id)), guid_from_hex(immutable_hex(immutable_id)),
       lower(account_enabled) = 'true', nullif(user_type, ''), nullif(display_name, ''),
       CASE WHEN NOT has_assigned_plans THEN NULL
            WHEN list_contains(intune_statuses, 'Enabled') THEN 'Enabled'
            WHEN len(intune_statuses) > 0 THEN intune_statuses[1]
            ELSE 'none' END,
       source_ref
FROM raw_entra_users;

INSERT INTO entra_other_mails
SELECT DISTINCT guid_norm(id), lower(mail)
FROM (SELECT id, unnest(other_mails) AS mail FROM raw_entra_users)
WHERE coalesce(mail, '') <> '';
