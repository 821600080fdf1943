-- rule: SAML_SIGNATURE_INVALID
-- severity: warning
-- owner: directory_team
-- title: SAML capture rejected: not validly signed by the IdP in idp_metadata.xml
-- change: SAML capture or idp_metadata.xml
-- depends_on: saml, saml_metadata
-- requires: none
-- predicted_error: none for users directly: the capture contributes no identity data, so SAML checks on it are blind
-- remediation: Capture the SAMLResponse again from the production sign-in, or refresh idp_metadata.xml from the tenant's FederationMetadata.xml (current signing certificates)
-- One finding per rejected file: unsigned, signed by another key, altered after signing, wrapped.
SELECT 'saml' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('{}: {}', file, reason) AS observed,
       'a Response or Assertion signed by a certificate in idp_metadata.xml' AS expected, NULL AS remediation
FROM saml_rejected;
