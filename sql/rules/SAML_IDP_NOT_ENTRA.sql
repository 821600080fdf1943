-- rule: SAML_IDP_NOT_ENTRA
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: SAML IdP is not Entra ID of the Intune tenant
-- change: Mattermost config SamlSettings (IdP metadata)
-- depends_on: saml_metadata, mattermost_config
-- requires: mattermost manage_system
-- predicted_error: User mismatch: a non-Entra IdP (or another tenant) does not send this tenant's objectIds, so SAML accounts cannot match the token's oid
-- remediation: Point Mattermost SAML at the Entra enterprise application of the Intune tenant (issuer https://sts.windows.net/{tenant id}/) and load its FederationMetadata.xml
-- Mattermost does not check the issuer; enrollment fails all the same. The common-endpoint
-- metadata (entityID https://sts.windows.net/{tenantid}/, templated) is judged by the assertions.
WITH c AS (SELECT lower('https://sts.windows.net/' || trim(intune_tenant_id) || '/') AS expected FROM v_config),
issuers AS (
    SELECT 'idp_metadata.xml entityID' AS source, entity_id AS issuer FROM saml_metadata
    WHERE entity_id IS NOT NULL AND lower(entity_id) <> 'https://sts.windows.net/{tenantid}/'
    UNION
    SELECT 'assertion issuer', coalesce(assertion_issuer, response_issuer) FROM saml_assertions
    WHERE coalesce(assertion_issuer, response_issuer) IS NOT NULL
)
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{} = {}', i.source, i.issuer) AS observed,
       coalesce(c.expected, 'https://sts.windows.net/{IntuneSettings.TenantId}/') AS expected, NULL AS remediation
FROM issuers i CROSS JOIN c
WHERE c.expected IS NULL OR lower(i.issuer) <> c.expected;
