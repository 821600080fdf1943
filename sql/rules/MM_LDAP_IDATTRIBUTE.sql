-- rule: MM_LDAP_IDATTRIBUTE
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: LDAP IdAttribute is not msDS-aadObjectId
-- depends_on: mattermost_config
-- predicted_error: User mismatch: LDAP-synchronised accounts carry an identifier other than the Entra objectId
-- remediation: Set LdapSettings.IdAttribute to msDS-aadObjectId (Entra Domain Services) and migrate existing accounts' AuthData to the objectId
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('LdapSettings.IdAttribute = "{}"{}', coalesce(ldap_id_attribute, ''),
           CASE WHEN lower(ldap_id_attribute) = 'objectguid' THEN ' (objectGUID breaks mobile authentication)'
                WHEN coalesce(ldap_id_attribute, '') = '' THEN ' (empty)'
                ELSE '' END) AS observed,
       'msDS-aadObjectId' AS expected, NULL AS remediation
FROM v_config
WHERE ldap_enable IS TRUE
  AND lower(coalesce(ldap_id_attribute, '')) <> 'msds-aadobjectid';
