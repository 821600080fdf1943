-- rule: USER_SAML_AUTHDATA_MISMATCH
-- severity: blocking
-- stage: 80
-- owner: mattermost_admin
-- title: The IdAttribute value the IdP sends differs from the SAML account's auth_data
-- change: Mattermost account auth_data
-- depends_on: saml, saml_metadata, mattermost_users, mattermost_config, entra_users
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: User mismatch: the account's AuthData is not what SAML sign-in sends, so it matches neither the assertion nor the token's oid
-- remediation: Have the user sign in once on web or desktop with SAML (Mattermost rewrites AuthData to the IdAttribute value), or set auth_data with PUT /api/v4/users/{user_id}/auth
-- Exact comparison, as the server does, against the person's SAML accounts. An account whose link is
-- ambiguous (it may be someone else's) gets USER_LINK_AMBIGUOUS instead.
SELECT 'user' AS subject_type, p.person_object_id AS entra_object_id, a.id AS mattermost_user_id,
       p.person_upn AS user_principal_name, a.email,
       format('{}: {} = "{}", {} has auth_data "{}"', p.file, (SELECT saml_id_attribute FROM v_config),
              p.id_attribute_value, a.account_label, coalesce(a.auth_data, '')) AS observed,
       p.id_attribute_value AS expected, NULL AS remediation
FROM saml_people p
JOIN accounts a ON a.entra_object_id_norm = p.person AND a.auth_service = 'saml' AND a.active
WHERE p.id_attribute_value IS NOT NULL AND a.auth_data IS DISTINCT FROM p.id_attribute_value
  AND a.ambiguous_candidates IS NULL;
