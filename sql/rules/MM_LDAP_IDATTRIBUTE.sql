-- rule: MM_LDAP_IDATTRIBUTE
-- severity: blocking
-- severities: blocking, warning, info
-- stage: 80
-- owner: mattermost_admin
-- title: LDAP IdAttribute is not msDS-aadObjectId
-- change: Mattermost config LdapSettings.IdAttribute
-- depends_on: mattermost_config
-- requires: mattermost manage_system
-- predicted_error: User mismatch at the next mobile sign-in when LDAP supplies the SAML accounts' id: AuthData is not the token's oid; Intune then removes the server from the app
-- remediation: Set LdapSettings.IdAttribute to msDS-aadObjectId (Entra Domain Services) and migrate existing accounts' AuthData to the objectId
-- Mattermost's Intune guide: "if you use LDAP to provision those users", IdAttribute must be
-- msDS-aadObjectId ("Use msDS-aadObjectId. Do not use objectGUID."). Intune evaluates only accounts
-- of IntuneSettings.AuthService (office365 or saml), never ldap ones, so the severity follows how
-- LDAP feeds those accounts (DESIGN, corrections to #9):
-- - blocking: AuthService saml with SamlSettings.EnableSyncWithLdap and EnableSyncWithLdapIncludeAuth
--   ("Override SAML bind data with AD/LDAP information"): the LDAP id attribute replaces the SAML id;
-- - warning: AuthService saml with EnableSyncWithLdap alone: SAML sync matches accounts by email and
--   copies attributes, never the id (Mattermost's "SAML synchronization with AD/LDAP"), but turning
--   the override on later would rebind every account to the wrong id;
-- - info: otherwise, with LDAP sign-in or sync enabled: worth fixing, breaks nothing for Intune.
WITH c AS (
    SELECT *,
           CASE WHEN selected_service = 'saml' AND saml_sync_with_ldap IS TRUE
                     AND saml_sync_with_ldap_include_auth IS TRUE THEN 'blocking'
                WHEN selected_service = 'saml' AND saml_sync_with_ldap IS TRUE THEN 'warning'
                ELSE 'info' END AS verdict
    FROM v_config
)
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('LdapSettings.IdAttribute = "{}"{}; {}', coalesce(ldap_id_attribute, ''),
           CASE WHEN lower(ldap_id_attribute) = 'objectguid' THEN ' (objectGUID breaks mobile authentication)'
                WHEN coalesce(ldap_id_attribute, '') = '' THEN ' (empty)'
                ELSE '' END,
           CASE verdict
               WHEN 'blocking' THEN 'SAML accounts take their id from LDAP (SamlSettings.EnableSyncWithLdap and '
                                    'EnableSyncWithLdapIncludeAuth are true): their AuthData will not be the objectId'
               WHEN 'warning' THEN 'SAML accounts are synchronised from LDAP by email (EnableSyncWithLdap), not '
                                   'bound by its id: turning EnableSyncWithLdapIncludeAuth on would rebind them all'
               ELSE format('LDAP does not supply the id of the {} accounts Intune evaluates: nothing breaks for '
                           'Intune', coalesce(selected_service, 'selected service''s'))
           END) AS observed,
       'msDS-aadObjectId' AS expected, NULL AS remediation, verdict AS severity
FROM c
WHERE (ldap_enable IS TRUE OR ldap_enable_sync IS TRUE OR saml_sync_with_ldap IS TRUE)
  AND lower(coalesce(ldap_id_attribute, '')) <> 'msds-aadobjectid';
