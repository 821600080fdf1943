-- rule: MM_SAML_IDATTRIBUTE
-- severity: blocking
-- severities: blocking, warning
-- stage: 80
-- owner: mattermost_admin
-- title: SAML IdAttribute is not the objectidentifier claim
-- change: Mattermost config SamlSettings.IdAttribute
-- depends_on: mattermost_config
-- requires: mattermost manage_system
-- predicted_error: User mismatch at the next mobile sign-in: SAML accounts are bound by another identifier, so no account has AuthData = the token's oid; Intune then removes the server from the app
-- remediation: Set SamlSettings.IdAttribute to http://schemas.microsoft.com/identity/claims/objectidentifier; each user's AuthData is rewritten to the objectId at their next web or desktop SAML sign-in
-- SamlSettings.IdAttribute names the assertion attribute whose value Mattermost stores as AuthData
-- (matched by exact name; empty means accounts are bound by email). The server then looks accounts
-- up with AuthData = the token's oid (DESIGN "Facts": token validation), so:
-- - the objectidentifier claim URI passes;
-- - a name that is a known non-objectId claim (email, UPN, name, nameidentifier, ImmutableID,
--   objectGUID: by the name's last segment, so the claim URIs, bare names and user.mail alike) or
--   empty is blocking: the stored value can never equal the oid;
-- - any other name is a warning (it may be a custom claim mapped to user.objectid), unless the
--   validly signed captures show, under exactly that name, each person's objectId in the form the
--   oid claim carries (lowercase, hyphenated): then there is no finding. The near miss is tested.
WITH c AS (SELECT *, coalesce(trim(saml_id_attribute), '') AS attr FROM v_config WHERE selected_service = 'saml'),
known(tail, what) AS (VALUES  -- the name's last segment (after the last / . or :), lowercase
    ('emailaddress', 'email address: mutable'), ('email', 'email address: mutable'),
    ('mail', 'email address: mutable'),
    ('upn', 'UPN: mutable'), ('userprincipalname', 'UPN: mutable'),
    ('name', 'name claim: the UPN, mutable'),
    ('nameidentifier', 'NameID: not the objectId'), ('nameid', 'NameID: not the objectId'),
    ('immutableid', 'ImmutableID: the on-premises objectGUID'),
    ('objectguid', 'objectGUID: breaks mobile authentication')
),
verdict AS (
    SELECT c.attr,
           CASE WHEN c.attr = '' THEN 'empty: users are bound by email'
                ELSE (SELECT what FROM known WHERE known.tail = regexp_extract(lower(c.attr), '[^/.:]*$')) END
               AS known_what
    FROM c
),
carried AS (  -- signed captures' values under exactly that attribute name, against the person's objectId
    SELECT count(*) FILTER (WHERE a.value = coalesce(p.person, p.objectidentifier_norm)) AS proven,
           count(*) FILTER (WHERE a.value IS DISTINCT FROM coalesce(p.person, p.objectidentifier_norm)) AS other,
           any_value(a.value) FILTER (WHERE a.value IS DISTINCT FROM coalesce(p.person, p.objectidentifier_norm))
               AS other_example
    FROM saml_people p JOIN saml_attributes a ON a.file = p.file
    WHERE a.name = (SELECT attr FROM c)
)
SELECT 'config' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('SamlSettings.IdAttribute = "{}" ({})', v.attr,
           CASE WHEN v.known_what IS NOT NULL THEN v.known_what
                WHEN lower(v.attr) LIKE '%objectidentifier'
                    THEN 'objectidentifier under another name: Mattermost matches the attribute name exactly'
                WHEN k.other > 0 THEN format('custom attribute: signed captures show values that are not the '
                                             'objectId under it, e.g. "{}"', k.other_example)
                ELSE 'custom attribute: cannot confirm it carries the objectId; no signed capture shows it' END)
           AS observed,
       'http://schemas.microsoft.com/identity/claims/objectidentifier' AS expected,
       NULL AS remediation,
       CASE WHEN v.known_what IS NOT NULL THEN 'blocking' ELSE 'warning' END AS severity
FROM verdict v CROSS JOIN carried k
WHERE v.attr <> 'http://schemas.microsoft.com/identity/claims/objectidentifier'
  AND NOT (v.known_what IS NULL AND k.proven > 0 AND k.other = 0);
