-- rule: SAML_CAPTURE_CONDITIONS
-- severity: info
-- owner: mattermost_admin
-- title: SAML capture outside its validity window or addressed elsewhere
-- change: SAML capture (or the enterprise application's Reply URL and Identifier)
-- depends_on: saml, saml_metadata, mattermost_config
-- requires: mattermost manage_system
-- predicted_error: none: an old or foreign capture is still valid evidence of what the IdP sends
-- remediation: Nothing to fix for old captures; if Destination, Recipient or Audience differ from this server, check the Entra enterprise app's Reply URL and Identifier against SiteURL/login/sso/saml and SamlSettings.ServiceProviderIdentifier
-- Validly signed captures are kept whatever their conditions; this says which ones are off.
WITH c AS (SELECT * FROM v_config),
acs AS (SELECT rtrim(site_url, '/') || '/login/sso/saml' AS url, saml_sp_identifier FROM c),
checks AS (
    SELECT s.file, list_filter([
        CASE WHEN s.not_on_or_after < current_timestamp
             THEN 'expired (Conditions NotOnOrAfter ' || strftime(s.not_on_or_after, '%Y-%m-%dT%H:%M:%SZ') || ')' END,
        CASE WHEN s.not_before > current_timestamp THEN 'not yet valid (Conditions NotBefore)' END,
        CASE WHEN s.certificate_not_after < current_timestamp
             THEN 'signing certificate expired ' || strftime(s.certificate_not_after, '%Y-%m-%d') END,
        CASE WHEN s.destination IS NOT NULL AND a.url IS NOT NULL AND s.destination <> a.url
             THEN 'Destination ' || s.destination || ' is not ' || a.url END,
        CASE WHEN s.recipient IS NOT NULL AND a.url IS NOT NULL AND s.recipient <> a.url
             THEN 'Recipient ' || s.recipient || ' is not ' || a.url END,
        CASE WHEN s.audiences IS NOT NULL AND coalesce(a.saml_sp_identifier, '') <> ''
                  AND NOT list_contains(string_split(s.audiences, ' '), a.saml_sp_identifier)
             THEN 'Audience ' || s.audiences || ' is not ' || a.saml_sp_identifier END,
        CASE WHEN s.in_response_to IS NOT NULL THEN 'InResponseTo ' || s.in_response_to || ' (not checked offline)' END
    ], lambda x: x IS NOT NULL) AS off
    FROM saml_assertions s LEFT JOIN acs a ON true
)
SELECT 'saml' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       file || ': ' || array_to_string(off, '; ') AS observed,
       'a current capture addressed to this server' AS expected, NULL AS remediation
FROM checks
WHERE len(list_filter(off, lambda x: x NOT LIKE 'InResponseTo%')) > 0;
