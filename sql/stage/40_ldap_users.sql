-- LDAP entries: msDS-aadObjectId and objectGUID arrive as GUID text or 16 bytes depending on the
-- schema and the tool; bytes are read in Windows order, as AD stores GUIDs. id_attribute_value is
-- what Mattermost would store as auth_data for LdapSettings.IdAttribute: \xx hex for a binary
-- objectGUID, the text otherwise (\xx hex for any other value that is not UTF-8).
INSERT INTO ldap_users
SELECT dn,
       CASE WHEN octet_length(aad_object_id) = 16 THEN directory_guid(aad_object_id)
            ELSE ldap_text(aad_object_id) END,
       directory_guid(aad_object_id),
       directory_guid(object_guid),
       CASE WHEN octet_length(object_guid) = 16 THEN guid_from_hex(lower(hex(object_guid))) END,
       ldap_text(user_principal_name), lower(nullif(ldap_text(user_principal_name), '')),
       ldap_text(mail), lower(nullif(ldap_text(mail), '')),
       ldap_text(sam_account_name),
       id_value, lower(nullif(id_value, '')),
       source_ref
FROM (SELECT *, CASE
          WHEN id_attribute IS NULL THEN NULL
          WHEN id_attribute_name = 'objectguid' AND octet_length(id_attribute) = 16
              THEN mattermost_hex_text(lower(hex(id_attribute)))
          ELSE coalesce(ldap_text(id_attribute), regexp_replace(lower(hex(id_attribute)), '(..)', '\\\1', 'g'))
      END AS id_value
      FROM raw_ldap_users);
