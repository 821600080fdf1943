-- rule: SAML_IDATTRIBUTE_NOT_SENT
-- severity: blocking
-- stage: 80
-- owner: directory_team
-- title: The IdP sends the objectId, but not under the claim name IdAttribute names
-- change: Entra enterprise application Attributes & Claims: the claim name of user.objectid
-- depends_on: saml, saml_metadata, mattermost_config
-- requires: mattermost manage_system
-- predicted_error: User mismatch: Mattermost matches the claim name exactly and finds no IdAttribute value, so AuthData is never the objectId
-- remediation: In the Entra enterprise application's Attributes & Claims, emit user.objectid under exactly the name SamlSettings.IdAttribute holds (http://schemas.microsoft.com/identity/claims/objectidentifier)
WITH c AS (SELECT saml_id_attribute FROM v_config WHERE coalesce(saml_id_attribute, '') <> ''),
sent_as AS (
    SELECT DISTINCT a.name
    FROM saml_attributes a
    WHERE lower(a.name) LIKE '%objectidentifier'
       OR a.value IN (SELECT object_id FROM entra_users)
)
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('SamlSettings.IdAttribute = "{}"; the objectId is sent as: {}', c.saml_id_attribute,
              (SELECT string_agg('"' || name || '"', ', ' ORDER BY name) FROM sent_as)) AS observed,
       'a claim named exactly "' || c.saml_id_attribute || '" holding the objectId' AS expected, NULL AS remediation
FROM c
WHERE EXISTS (SELECT 1 FROM sent_as)
  AND NOT EXISTS (SELECT 1 FROM saml_attributes a WHERE a.name = c.saml_id_attribute);
