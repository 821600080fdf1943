-- rule: USER_SAML_NAMEID_TRANSIENT
-- severity: info
-- owner: mattermost_admin
-- title: SAML NameID is transient or pairwise: not an identity
-- change: nothing: SAML NameID is not used as the id
-- depends_on: saml, saml_metadata, entra_users
-- requires: graph User.Read.All
-- predicted_error: none while IdAttribute is the objectidentifier claim; binding by NameID would break at the next sign-in
-- remediation: Keep SamlSettings.IdAttribute on the objectidentifier claim; never bind accounts by this NameID
SELECT 'user' AS subject_type, p.person_object_id AS entra_object_id, NULL AS mattermost_user_id,
       coalesce(p.person_upn, p.claim_name) AS user_principal_name, p.person_mail AS email,
       format('{}: NameID format {}', p.file, p.name_id_format) AS observed,
       'a stable identifier (the objectidentifier claim)' AS expected, NULL AS remediation
FROM saml_people p
WHERE p.name_id_format IN ('urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
                           'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
