-- rule: USER_LINK_AMBIGUOUS
-- severity: warning
-- stage: 80
-- owner: mattermost_admin
-- title: The identifier that links the account belongs to several Entra users
-- change: Mattermost account auth_data, once its owner is known
-- depends_on: mattermost_users, entra_users, mattermost_config
-- requires: graph User.Read.All; mattermost manage_system
-- predicted_error: User mismatch at the next mobile sign-in unless the account holds its owner's objectId; which person owns it cannot be told from the directories
-- remediation: Decide which of the candidate Entra users owns the account, then set its auth_data to that person's objectId (PUT /api/v4/users/{user_id}/auth); make the shared mail, UPN or LDAP value unique in the directory
-- Issue 14: the first identifier an account shares with Entra (sql/derive/30_mm_links.sql) can be an
-- email, UPN or LDAP value that several Entra users carry (a shared mailbox address in otherMails, a
-- reused mail after a rename). Picking one of them and printing "set auth_data to X" would rebind the
-- account to a person who may not own it, which locks the owner out of web and desktop too. So such an
-- account gets this finding and no USER_AUTHDATA_* or USER_SAML_AUTHDATA_MISMATCH verdict; the account
-- stays linked to the first candidate for readiness (entra_object_id), and observed names them all.
-- An exact objectId in auth_data (step 1) can never be ambiguous: objectIds are unique.
SELECT 'user' AS subject_type, entra_object_id, id AS mattermost_user_id, entra_upn AS user_principal_name,
       email,
       format('{} (auth_data "{}") linked by {} to {} Entra users: {}', account_label, coalesce(auth_data, ''),
              link_kind, candidate_count, ambiguous_candidates) AS observed,
       'an identifier that belongs to exactly one Entra user' AS expected,
       NULL AS remediation
FROM accounts
WHERE active AND on_selected AND ambiguous_candidates IS NOT NULL;
