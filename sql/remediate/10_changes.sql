-- What `reconcile remediate plan` may change by itself (issue 14, "What the plan may change
-- automatically"), the one place that decides it. Runs over a finished audit's work schema. One kind
-- of change only: an account's auth_data set to its person's objectId in the form the oid claim
-- carries (lowercase, hyphenated: entra_users.object_id_norm), auth_service unchanged.
-- Every account with an open finding of a rule below is a candidate; `held` says why a candidate is
-- not changed automatically (NULL: it is), and the first reason that applies is the one given:
--   ldap_provisioned  an ldap account, or a SAML account while SAML sync overrides the id with LDAP's
--                     (SamlSettings.EnableSyncWithLdap and EnableSyncWithLdapIncludeAuth: the DESIGN
--                     correction to #9): the next sync rewrites auth_data, so Mattermost's own
--                     migration (mmctl ldap idmigrate) is the fix, not a change per account
--   saml_config       a SAML account while SamlSettings.IdAttribute is not the objectidentifier claim
--                     (MM_SAML_IDATTRIBUTE fired): the next web sign-in would look the account up by
--                     the old attribute and fail, or rewrite auth_data back
--   entra_disabled    the person's Entra account is disabled: nobody can sign in as them
--   taken             another Mattermost account (any state, any service, bots included) already holds
--                     the objectId: the server keeps auth_data unique (the PUT would be refused), and a
--                     person must decide which account survives
--   duplicate         the person has several active accounts (USER_DUPLICATE_ACCOUNTS)
--   email_only        the only basis is the account's own email field (link step 8) and the plan was not
--                     asked to --include-email-links: an email field is self-service on some servers
-- Accounts whose linking identifier belongs to several Entra users have no auth_data finding at all
-- (USER_LINK_AMBIGUOUS); accepted findings (issue 13) are decisions to leave the account as it is.
CREATE OR REPLACE TABLE plan_candidates AS
WITH fixable(rule_id, priority) AS (VALUES
    ('USER_AUTHDATA_NOT_EXACT', 1), ('USER_AUTHDATA_IS_EMAIL', 2), ('USER_AUTHDATA_IS_UPN', 3),
    ('USER_AUTHDATA_IS_IMMUTABLEID', 4), ('USER_AUTHDATA_IS_OBJECTGUID', 5), ('USER_AUTHDATA_MISMATCH', 6),
    ('USER_SAML_AUTHDATA_MISMATCH', 7)
),
asked AS (  -- one row per account: the first of its fixable findings names the change
    SELECT f.mattermost_user_id, arg_min(f.rule_id, x.priority) AS rule_id
    FROM findings f JOIN fixable x USING (rule_id)
    WHERE f.status = 'open' AND f.mattermost_user_id IS NOT NULL
    GROUP BY f.mattermost_user_id
),
duplicated AS (
    SELECT DISTINCT guid_norm(entra_object_id) AS person FROM findings WHERE rule_id = 'USER_DUPLICATE_ACCOUNTS'
)
SELECT a.id AS mattermost_user_id, a.username, a.auth_service, a.auth_data AS auth_data_before,
       a.entra_object_id_norm AS auth_data_after, a.entra_object_id_norm AS entra_object_id,
       a.entra_upn AS user_principal_name, q.rule_id, a.link_kind AS basis,
       CASE
           WHEN a.auth_service = 'ldap'
                OR (a.auth_service = 'saml' AND coalesce(c.saml_sync_with_ldap, false)
                    AND coalesce(c.saml_sync_with_ldap_include_auth, false)) THEN 'ldap_provisioned'
           WHEN a.auth_service = 'saml' AND EXISTS (SELECT 1 FROM findings WHERE rule_id = 'MM_SAML_IDATTRIBUTE')
               THEN 'saml_config'
           WHEN NOT coalesce(a.entra_enabled, false) THEN 'entra_disabled'
           WHEN EXISTS (SELECT 1 FROM mm_users o WHERE o.auth_data = a.entra_object_id_norm AND o.id <> a.id)
               THEN 'taken'
           WHEN a.entra_object_id_norm IN (SELECT person FROM duplicated) THEN 'duplicate'
           WHEN a.link_step = 8 AND NOT getvariable('include_email_links') THEN 'email_only'
       END AS held,
       (SELECT string_agg(format('{} account {} ({}{})', CASE WHEN o.auth_service = '' THEN 'email'
                                                              ELSE o.auth_service END,
                                 coalesce(o.username, o.id), o.id,
                                 CASE WHEN o.delete_at <> 0 THEN ', deactivated' WHEN o.is_bot THEN ', bot'
                                      ELSE '' END), ', ' ORDER BY o.id)
        FROM mm_users o WHERE o.auth_data = a.entra_object_id_norm AND o.id <> a.id) AS holders
FROM asked q
JOIN accounts a ON a.id = q.mattermost_user_id
LEFT JOIN v_config c ON true
WHERE a.active AND a.on_selected AND a.entra_object_id_norm IS NOT NULL AND a.ambiguous_candidates IS NULL
  AND a.auth_data IS DISTINCT FROM a.entra_object_id_norm;
