-- Mattermost accounts: auth_data exactly as stored (the server compares it exactly) beside the
-- GUID it holds in any of the forms a wrong binding leaves: GUID text in another case or braces,
-- \xx hex of an LDAP objectGUID, base64 of 16 bytes (an immutableId).
INSERT INTO mm_users
SELECT id, nullif(username, ''), nullif(email, ''), lower(nullif(email, '')), coalesce(auth_service, ''),
       nullif(auth_data, ''), lower(nullif(auth_data, '')), guid_norm(auth_data),
       guid_windows_hex(mattermost_hex(auth_data)), guid_windows_hex(immutable_hex(auth_data)),
       CAST(coalesce(nullif(delete_at, ''), '0') AS BIGINT), coalesce(lower(is_bot) = 'true', false),
       source_ref
FROM raw_mm_users;
