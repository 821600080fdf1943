-- rule: MM_SAML_IDATTRIBUTE
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: SAML IdAttribute is not the objectidentifier claim
-- depends_on: mattermost_config
-- predicted_error: User mismatch: SAML accounts are bound by another identifier, so no account has AuthData = the token's oid
-- remediation: Set SamlSettings.IdAttribute to http://schemas.microsoft.com/identity/claims/objectidentifier; each user's AuthData is rewritten to the objectId at their next web or desktop SAML sign-in
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('SamlSettings.IdAttribute = "{}" ({})', coalesce(saml_id_attribute, ''),
           CASE
               WHEN coalesce(trim(saml_id_attribute), '') = '' THEN 'empty: users are bound by email'
               WHEN lower(saml_id_attribute) = 'objectidentifier'
                   OR lower(saml_id_attribute) LIKE '%objectidentifier'
                   THEN 'objectidentifier under another name: Mattermost matches the claim name exactly'
               WHEN lower(saml_id_attribute) LIKE '%immutableid%' THEN 'ImmutableID: the on-premises objectGUID'
               WHEN lower(saml_id_attribute) LIKE '%emailaddress%' OR lower(saml_id_attribute) LIKE '%mail%'
                   THEN 'email address: mutable'
               WHEN lower(saml_id_attribute) LIKE '%upn%' OR lower(saml_id_attribute) LIKE '%userprincipalname%'
                   THEN 'UPN: mutable'
               WHEN lower(saml_id_attribute) LIKE '%/claims/name' OR lower(saml_id_attribute) = 'name'
                   THEN 'name claim: the UPN, mutable'
               WHEN lower(saml_id_attribute) LIKE '%objectguid%' THEN 'objectGUID: breaks mobile authentication'
               ELSE 'custom attribute: not supported'
           END) AS observed,
       'http://schemas.microsoft.com/identity/claims/objectidentifier' AS expected,
       NULL AS remediation
FROM v_config
WHERE selected_service = 'saml'
  AND coalesce(saml_id_attribute, '') <> 'http://schemas.microsoft.com/identity/claims/objectidentifier';
