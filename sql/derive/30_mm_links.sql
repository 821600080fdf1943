-- Which Entra user each Mattermost account belongs to, through the first identifier they share
-- (issue 2, "Matching"): the step that matched tells the admin what the account is bound by today.
--   1 objectid             auth_data = objectId exactly (what the server compares)
--   2 objectid_normalised  equal only after normalising case, braces or hyphens
--   3 email                auth_data = Entra mail or an otherMails entry (wins over UPN when equal)
--   4 upn                  auth_data = userPrincipalName
--   5 immutable_id         auth_data = onPremisesImmutableId, or the base64 of the objectGUID on the
--                          person's LDAP entry (the immutableId Entra Connect would derive from it)
--   6 object_guid          auth_data is the person's objectGUID (Windows, naive or \xx hex form),
--                          known from their LDAP entry or decoded from their immutableId
--   7 ldap_id_attribute    auth_data = the LdapSettings.IdAttribute value of the person's LDAP entry
--   8 mattermost_email     nothing above; the account's email = Entra mail or UPN
-- Within a step, evidence from Entra itself (pref 0) beats evidence through an LDAP entry (pref 1):
-- an entry's link to a person can rest on a msDS-aadObjectId that USER_LDAP_AADOBJECTID_MISMATCH
-- disputes, and must not pull another person's account away from them.
-- Bots are never evaluated, so they are never linked.
-- The candidates are collected one join per statement: as one query, all thirteen hash tables (each
-- over a million users in a large tenant) would be alive at once.
CREATE OR REPLACE VIEW mm_link_accounts AS
    SELECT id, auth_data, auth_data_lower, auth_data_guid, auth_data_hex_guid, auth_data_b64_guid, email_lower
    FROM mm_users WHERE NOT is_bot;
CREATE OR REPLACE TABLE mm_link_ldap_person AS
    SELECT k.object_id_norm AS person, l.object_guid, l.object_guid_naive, l.id_attribute_lower
    FROM ldap_users l JOIN ldap_links k USING (dn);
CREATE OR REPLACE TABLE mm_link_guid_forms AS  -- every objectGUID form known for a person, and its source
    SELECT person AS object_id_norm, object_guid AS windows_form, object_guid_naive AS naive_form, 1 AS pref
    FROM mm_link_ldap_person WHERE object_guid IS NOT NULL
    UNION ALL
    SELECT object_id_norm, immutable_guid, immutable_guid_naive, 0
    FROM entra_users WHERE immutable_guid IS NOT NULL;
CREATE OR REPLACE TABLE mm_link_candidates (id VARCHAR, object_id_norm VARCHAR, step INTEGER, pref INTEGER);
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 1, 0 FROM mm_link_accounts m JOIN entra_users e ON m.auth_data = e.object_id;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 2, 0 FROM mm_link_accounts m JOIN entra_users e ON m.auth_data_guid = e.object_id_norm
    WHERE m.auth_data <> e.object_id;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 3, 0 FROM mm_link_accounts m JOIN entra_users e ON m.auth_data_lower = e.mail_lower;
INSERT INTO mm_link_candidates
    SELECT m.id, o.object_id_norm, 3, 0 FROM mm_link_accounts m JOIN entra_other_mails o
    ON m.auth_data_lower = o.email_lower;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 4, 0 FROM mm_link_accounts m JOIN entra_users e ON m.auth_data_lower = e.upn_lower;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 5, 0 FROM mm_link_accounts m JOIN entra_users e ON m.auth_data = e.immutable_id;
INSERT INTO mm_link_candidates
    SELECT m.id, p.person, 5, 1 FROM mm_link_accounts m JOIN mm_link_ldap_person p ON m.auth_data_b64_guid = p.object_guid;
INSERT INTO mm_link_candidates
    SELECT m.id, g.object_id_norm, 6, g.pref FROM mm_link_accounts m JOIN mm_link_guid_forms g
    ON m.auth_data_guid = g.windows_form;
INSERT INTO mm_link_candidates
    SELECT m.id, g.object_id_norm, 6, g.pref FROM mm_link_accounts m JOIN mm_link_guid_forms g
    ON m.auth_data_guid = g.naive_form;
INSERT INTO mm_link_candidates
    SELECT m.id, g.object_id_norm, 6, g.pref FROM mm_link_accounts m JOIN mm_link_guid_forms g
    ON m.auth_data_hex_guid = g.windows_form;
INSERT INTO mm_link_candidates
    SELECT m.id, p.person, 7, 1 FROM mm_link_accounts m JOIN mm_link_ldap_person p
    ON m.auth_data_lower = p.id_attribute_lower;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 8, 0 FROM mm_link_accounts m JOIN entra_users e ON m.email_lower = e.mail_lower;
INSERT INTO mm_link_candidates
    SELECT m.id, e.object_id_norm, 8, 0 FROM mm_link_accounts m JOIN entra_users e ON m.email_lower = e.upn_lower;

CREATE OR REPLACE TABLE mm_links AS
WITH best AS (
    SELECT DISTINCT id, object_id_norm, step, pref FROM mm_link_candidates
    QUALIFY rank() OVER (PARTITION BY id ORDER BY step, pref) = 1
)
SELECT
    id AS mattermost_user_id,
    min(object_id_norm) AS object_id_norm,  -- deterministic pick when a shared identifier is ambiguous: the
                                            -- person-level rules and readiness still see the account
    any_value(step) AS link_step,
    CASE any_value(step)
        WHEN 1 THEN 'objectid' WHEN 2 THEN 'objectid_normalised' WHEN 3 THEN 'email' WHEN 4 THEN 'upn'
        WHEN 5 THEN 'immutable_id' WHEN 6 THEN 'object_guid' WHEN 7 THEN 'ldap_id_attribute'
        ELSE 'mattermost_email'
    END AS link_kind,
    count(*) AS candidate_count,
    -- every person the deciding identifier points to, only when it points to more than one
    -- (USER_LINK_AMBIGUOUS): then no auth_data verdict may name one of them
    CASE WHEN count(*) > 1 THEN string_agg(object_id_norm, ', ' ORDER BY object_id_norm) END AS ambiguous_candidates
FROM best
GROUP BY id;
DROP TABLE mm_link_candidates;
DROP TABLE mm_link_guid_forms;
DROP TABLE mm_link_ldap_person;
DROP VIEW mm_link_accounts;
