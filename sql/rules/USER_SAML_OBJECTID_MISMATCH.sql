-- rule: USER_SAML_OBJECTID_MISMATCH
-- severity: blocking
-- stage: 80
-- owner: directory_team
-- title: SAML objectidentifier differs from the user's Entra objectId
-- change: Entra enterprise application Attributes & Claims: objectidentifier = user.objectid
-- depends_on: saml, saml_metadata, entra_users
-- requires: graph User.Read.All
-- predicted_error: User mismatch: the SAML sign-in binds the account to another value than the token's oid
-- remediation: Map the objectidentifier claim to user.objectid (not a directory extension or an on-premises attribute) in the Entra enterprise application
-- The user is found by the claim itself (normalised), else by name / upn / email; the claim must
-- then equal the objectId exactly, as the server compares.
SELECT 'user' AS subject_type, p.person_object_id AS entra_object_id, NULL AS mattermost_user_id,
       p.person_upn AS user_principal_name, p.person_mail AS email,
       format('{}: objectidentifier = "{}" (user matched by {})', p.file, p.objectid_sent, p.matched_by) AS observed,
       p.person_object_id AS expected, NULL AS remediation
FROM saml_people p
WHERE p.objectid_sent IS NOT NULL AND p.person IS NOT NULL AND p.objectid_sent <> p.person_object_id;
