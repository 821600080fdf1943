-- What makes two findings of different runs the same finding, and what every rule can read.
-- The one place drift compares findings (issue 11, "Drift that can be trusted").

-- Identity: rule_id, subject_type, entra_object_id and mattermost_user_id, NULL-safe (to_json keeps a
-- NULL as null, so NULL equals NULL and never equals a value), plus observed when the finding is not
-- about an identified person:
--   user     about a person: the ids are the identity. observed is the wrong value of the moment (an
--            AuthData rewritten from the email to the UPN is still the same broken account), so it
--            stays out. A user finding with neither id (a SAML capture or an LDAP entry that matched
--            nobody) is about that capture or entry: observed names it and is kept, or two different
--            unmatched captures would be one finding.
--   config   one setting (observed names it and its value: a different wrong value is a new finding);
--   token    one captured token line;
--   saml     one capture file (SAML_CAPTURE_CONDITIONS, SAML_SIGNATURE_INVALID);
--   tenant   the app registration, its consent, an Intune policy: not about a user, carry no person
--            ids, and one rule can report several policies or apps, which only observed tells apart.
-- Any subject type added later is keyed with observed too: splitting findings is safer than merging them.
CREATE OR REPLACE MACRO finding_identity(rule_id, subject_type, entra_object_id, mattermost_user_id, observed) AS
    to_json(list_value(
        rule_id, subject_type, entra_object_id, mattermost_user_id,
        CASE WHEN subject_type = 'user' AND (entra_object_id IS NOT NULL OR mattermost_user_id IS NOT NULL)
             THEN NULL ELSE observed END));

-- Inputs a rule reads without naming them in depends_on: the matching every rule builds on.
--   mattermost_users -> ldap, mattermost_config, entra_users: an account is linked to its Entra user
--       through the LDAP entry (objectGUID forms, LdapSettings.IdAttribute) and the selected auth
--       service (sql/derive/30_mm_links.sql, 50_accounts.sql);
--   entra_users -> entra_groups, intune_policies, entra_licenses: who is targeted (35_targeting.sql,
--       40_targeted.sql) decides whose accounts are judged;
--   ldap -> entra_users: an entry is tied to its person by objectId, UPN or mail (20_ldap_links.sql);
--   saml -> entra_users, msal_tokens -> entra_users, mattermost_users: whom a capture or a token is
--       about (60_saml.sql, 70_tokens.sql), which gives the finding its ids.
--   exceptions -> every input: EXCEPTION_UNUSED reads what every other rule found (it is only judged
--       in a complete run, so a partial run must carry its findings forward, not resolve them).
-- Followed transitively: a token finding reads the LDAP export, through the account it names.
CREATE OR REPLACE TABLE drift_feeds AS
SELECT * FROM (VALUES
    ('mattermost_users', 'ldap'), ('mattermost_users', 'mattermost_config'), ('mattermost_users', 'entra_users'),
    ('entra_users', 'entra_groups'), ('entra_users', 'intune_policies'), ('entra_users', 'entra_licenses'),
    ('ldap', 'entra_users'),
    ('saml', 'entra_users'),
    ('msal_tokens', 'entra_users'), ('msal_tokens', 'mattermost_users'),
    ('exceptions', 'entra_users'), ('exceptions', 'entra_licenses'), ('exceptions', 'entra_groups'),
    ('exceptions', 'mattermost_users'), ('exceptions', 'mattermost_config'), ('exceptions', 'mattermost_license'),
    ('exceptions', 'ldap'), ('exceptions', 'saml'), ('exceptions', 'saml_metadata'), ('exceptions', 'msal_tokens'),
    ('exceptions', 'entra_application'), ('exceptions', 'entra_service_principals'), ('exceptions', 'entra_grants'),
    ('exceptions', 'entra_authorization_policy'), ('exceptions', 'intune_policies')
) AS feeds(reads, also_reads);

-- Every input each rule can read: its depends_on and what they draw on.
CREATE OR REPLACE TABLE drift_rule_reads AS
WITH RECURSIVE reads(rule_id, input) AS (
    SELECT rule_id, unnest(depends_on) FROM drift_rules
    UNION
    SELECT r.rule_id, f.also_reads FROM reads r JOIN drift_feeds f ON f.reads = r.input
)
SELECT rule_id, list(input ORDER BY input) AS reads FROM reads GROUP BY rule_id;
