-- GUID attributes must be GUIDs (text or 16 bytes), text attributes UTF-8.
SELECT ref_file(source_ref), ref_where(source_ref), CASE
        WHEN aad_object_id IS NOT NULL AND directory_guid(aad_object_id) IS NULL
            THEN 'msDS-aadObjectId of ' || dn || ' is ' || shown_bytes(aad_object_id)
                 || '; expected a GUID (text) or 16 bytes'
        WHEN object_guid IS NOT NULL AND directory_guid(object_guid) IS NULL
            THEN 'objectGUID of ' || dn || ' is ' || shown_bytes(object_guid) || '; expected a GUID (text) or 16 bytes'
        WHEN user_principal_name IS NOT NULL AND ldap_text(user_principal_name) IS NULL
            THEN 'attribute userPrincipalName of ' || dn || ' is not UTF-8 text'
        WHEN mail IS NOT NULL AND ldap_text(mail) IS NULL THEN 'attribute mail of ' || dn || ' is not UTF-8 text'
        WHEN sam_account_name IS NOT NULL AND ldap_text(sam_account_name) IS NULL
            THEN 'attribute sAMAccountName of ' || dn || ' is not UTF-8 text'
    END AS problem
FROM raw_ldap_users
WHERE problem IS NOT NULL
LIMIT 1;
