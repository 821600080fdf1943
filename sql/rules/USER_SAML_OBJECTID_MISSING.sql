-- rule: USER_SAML_OBJECTID_MISSING
-- severity: blocking
-- stage: 80
-- owner: directory_team
-- title: SAML assertion carries no objectidentifier claim
-- change: Entra enterprise application Attributes & Claims: objectidentifier claim
-- depends_on: saml, saml_metadata, entra_users
-- requires: graph User.Read.All
-- predicted_error: User mismatch: without the objectId claim, SAML sign-in cannot bind the account to the token's oid
-- remediation: Add the claim http://schemas.microsoft.com/identity/claims/objectidentifier = user.objectid to the Entra enterprise application (Attributes & Claims)
SELECT 'user' AS subject_type, p.person_object_id AS entra_object_id, NULL AS mattermost_user_id,
       coalesce(p.person_upn, p.claim_name) AS user_principal_name, p.person_mail AS email,
       format('{}: no objectidentifier claim (NameID {}{})', p.file, coalesce(p.name_id, 'absent'),
              CASE WHEN p.person IS NULL THEN '; the user could not be identified' ELSE '' END) AS observed,
       'an objectidentifier claim holding ' || coalesce(p.person_object_id, 'the objectId') AS expected,
       NULL AS remediation
FROM saml_people p
WHERE p.objectid_sent IS NULL;
