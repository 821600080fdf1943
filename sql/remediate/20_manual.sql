-- The plan's manual steps (issue 14): everything a finding asks for that the plan does not change by
-- itself, each with its owner, the rule and the exact change, in the order a person should take them.
-- Reads plan_candidates (10_changes.sql) and plan_team_rows: the rows of the directory-team CSVs
-- (sql/reports/team_changes.sql, open blocking and warning findings, one row per account and change)
-- with their owner, which reconcile/remediate/plan.py fills first.
--   1 SamlSettings.IdAttribute, when it is not the objectidentifier claim: no SAML account is changed
--     before it is set (the next web sign-in would look accounts up by the old attribute)
--   2 for LDAP-provisioned accounts: first the people whose LDAP entry lacks msDS-aadObjectId, then
--     Mattermost's own migration (mmctl ldap idmigrate), then LdapSettings.IdAttribute
--   3 each account held back from an automatic change, with the reason
--   4 every other change the findings ask for, as the team CSVs list it
CREATE OR REPLACE TABLE plan_manual AS
WITH saml_config AS (
    SELECT 1 AS phase, 0 AS n, 'mattermost_admin' AS owner, 'MM_SAML_IDATTRIBUTE' AS rule_id, 'config' AS subject,
           format('Set SamlSettings.IdAttribute to http://schemas.microsoft.com/identity/claims/objectidentifier '
                  || '(it is "{}"). Until then no SAML account is changed: {} held here. Then make the plan again',
                  coalesce((SELECT saml_id_attribute FROM v_config), ''),
                  (SELECT count(*) FROM plan_candidates WHERE held = 'saml_config')) AS step
    WHERE EXISTS (SELECT 1 FROM findings WHERE rule_id = 'MM_SAML_IDATTRIBUTE')
),
ldap_needed AS (
    SELECT (SELECT count(*) FROM plan_candidates WHERE held = 'ldap_provisioned') AS held,
           EXISTS (SELECT 1 FROM findings WHERE rule_id = 'MM_LDAP_IDATTRIBUTE') AS id_attribute_wrong
),
ldap_missing AS (
    SELECT 2 AS phase, row_number() OVER (ORDER BY user_principal_name, current_value) AS n, owner,
           rule_ids AS rule_id, coalesce(user_principal_name, entra_object_id) AS subject,
           format('{}: {} -> {}. {}', change, current_value, new_value, how) AS step
    FROM plan_team_rows
    WHERE rule_ids = 'USER_LDAP_AADOBJECTID_MISSING'
      AND (SELECT held > 0 OR id_attribute_wrong FROM ldap_needed)
),
ldap_migration AS (
    SELECT 2 AS phase, 1000000000 + n AS n, 'mattermost_admin' AS owner, rule_id, 'LDAP-provisioned accounts' AS subject,
           step
    FROM (VALUES
        (1, 'MM_LDAP_IDATTRIBUTE',
         'Once no provisioned person lacks msDS-aadObjectId (the directory-team steps above): migrate every '
         || 'LDAP-provisioned account''s auth_data with Mattermost''s own tool, mmctl ldap idmigrate msDS-aadObjectId '
         || '(or POST /api/v4/ldap/migrateid with {"toAttribute": "msDS-aadObjectId"}, needs manage_system). '
         || 'Accounts are never changed one by one: the next LDAP sync would rewrite them'),
        (2, 'MM_LDAP_IDATTRIBUTE', 'Then set LdapSettings.IdAttribute to msDS-aadObjectId')
    ) AS s(n, rule_id, step)
    WHERE (SELECT held > 0 OR id_attribute_wrong FROM ldap_needed)
),
held AS (
    SELECT 3 AS phase, row_number() OVER (ORDER BY held, user_principal_name, mattermost_user_id) AS n,
           CASE WHEN held = 'entra_disabled' THEN 'directory_team' ELSE 'mattermost_admin' END AS owner,
           CASE held WHEN 'duplicate' THEN 'USER_DUPLICATE_ACCOUNTS' ELSE rule_id END AS rule_id,
           format('{} account {} ({}) of {}', auth_service, coalesce(username, mattermost_user_id), mattermost_user_id,
                  coalesce(user_principal_name, entra_object_id)) AS subject,
           CASE held
               WHEN 'taken' THEN format('Not changed: {} already holds {} (the server keeps auth_data unique). '
                                        || 'Decide which account the person keeps, deactivate or merge the other, '
                                        || 'then make the plan again', holders, auth_data_after)
               WHEN 'duplicate' THEN 'Not changed: the person has several active accounts. Decide which one they keep '
                                     || '(deactivate or merge the others), then make the plan again'
               WHEN 'entra_disabled' THEN format('Not changed: the Entra account {} is disabled. Enable it if the '
                                                 || 'person still works here, or deactivate the Mattermost account',
                                                 entra_object_id)
               WHEN 'email_only' THEN format('Not changed: the only link to {} is the account''s own email field. '
                                             || 'Confirm the account is theirs, then set auth_data "{}" -> "{}" or make '
                                             || 'the plan again with --include-email-links',
                                             coalesce(user_principal_name, entra_object_id),
                                             coalesce(auth_data_before, ''), auth_data_after)
               WHEN 'saml_config' THEN format('Held until SamlSettings.IdAttribute names the objectidentifier claim '
                                              || '(first step): then auth_data "{}" -> "{}"',
                                              coalesce(auth_data_before, ''), auth_data_after)
               WHEN 'ldap_provisioned' THEN format('Held for the LDAP id migration above (auth_data "{}" -> "{}" '
                                                   || 'through mmctl ldap idmigrate, not one by one)',
                                                   coalesce(auth_data_before, ''), auth_data_after)
           END AS step
    FROM plan_candidates
    WHERE held IS NOT NULL
),
rest AS (
    SELECT 4 AS phase,
           row_number() OVER (ORDER BY CASE severity WHEN 'blocking' THEN 1 ELSE 2 END, owner, rule_ids,
                              user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST, change) AS n,
           owner, rule_ids AS rule_id,
           CASE WHEN mattermost_user_id IS NOT NULL
                THEN format('account {} of {}', mattermost_user_id, coalesce(user_principal_name, email, '?'))
                WHEN user_principal_name IS NOT NULL OR entra_object_id IS NOT NULL
                THEN coalesce(user_principal_name, entra_object_id)
                ELSE subject_type END AS subject,
           format('{}: {} -> {}. {}', change, coalesce(current_value, ''), coalesce(new_value, ''), coalesce(how, ''))
               AS step
    FROM plan_team_rows t
    WHERE NOT (t.mattermost_user_id IN (SELECT mattermost_user_id FROM plan_candidates)
               AND t.change = 'Mattermost account auth_data')
      AND NOT (t.rule_ids = 'MM_SAML_IDATTRIBUTE' AND EXISTS (SELECT 1 FROM saml_config))
      AND NOT (t.rule_ids IN ('USER_LDAP_AADOBJECTID_MISSING', 'MM_LDAP_IDATTRIBUTE')
               AND (SELECT held > 0 OR id_attribute_wrong FROM ldap_needed))
)
SELECT row_number() OVER (ORDER BY phase, n) AS seq, owner, rule_id, subject, step FROM (
    SELECT * FROM saml_config UNION ALL SELECT * FROM ldap_missing UNION ALL SELECT * FROM ldap_migration
    UNION ALL SELECT * FROM held UNION ALL SELECT * FROM rest
);
