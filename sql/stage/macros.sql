-- Normal forms of single identifier values, for the stage files beside this one
-- (the Python twin, reconcile/identifiers.py, serves single values outside a table: options,
-- tokens, SAML claims). Worked example in DESIGN.md: objectGUID bytes
-- 1e bc ff 1e a3 4a 9d 4f a5 08 d4 d8 1f 1f 58 73 are 1effbc1e-4aa3-4f9d-a508-d4d81f1f5873 in
-- Windows form, 1ebcff1e-a34a-9d4f-a508-d4d81f1f5873 in naive byte order,
-- Hrz/HqNKnU+lCNTYHx9Ycw== as an immutableId and \1e\bc\ff... as Mattermost stores it.

-- 32 hex digits (16 bytes in order) read as a GUID in byte order: the naive form.
CREATE OR REPLACE TEMP MACRO guid_from_hex(h) AS CAST(CAST(h AS UUID) AS VARCHAR);

-- 32 hex digits of a GUID's 16 bytes as AD stores them, in Windows form (first three groups
-- little-endian): what AD tools display for an objectGUID.
-- (one concat() builds the string at once, where a chain of || builds every partial one; concat()
-- reads NULL as '', hence the CASE)
CREATE OR REPLACE TEMP MACRO guid_windows_hex(h) AS CASE WHEN h IS NOT NULL THEN concat(
    substr(h, 7, 2), substr(h, 5, 2), substr(h, 3, 2), substr(h, 1, 2), '-', substr(h, 11, 2), substr(h, 9, 2), '-',
    substr(h, 15, 2), substr(h, 13, 2), '-', substr(h, 17, 4), '-', substr(h, 21, 12)) END;

-- Python's str.strip(): every Unicode white-space character, at both ends. Costly, so only
-- values that start or end with one (rare: a hand-edited export) are trimmed.
CREATE OR REPLACE TEMP MACRO trim_space(t) AS trim(t,
    chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || chr(30) || chr(31) || chr(32)
    || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196)
    || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233)
    || chr(8239) || chr(8287) || chr(12288));
CREATE OR REPLACE TEMP MACRO has_edge_space(t) AS
    ord(left(t, 1)) IN (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288) OR ord(right(t, 1)) IN (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288);

-- A GUID without surrounding white space, in one of the accepted forms; DuckDB's UUID cast
-- accepts more (hyphens anywhere), so it only rejects the many values that are no GUID at all.
CREATE OR REPLACE TEMP MACRO guid_strict(s) AS CASE
    WHEN TRY_CAST(s AS UUID) IS NULL THEN NULL
    WHEN regexp_full_match(s, '\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?|[0-9a-fA-F]{32}')
         AND (left(s, 1) = '{') = (right(s, 1) = '}')
        THEN CAST(TRY_CAST(s AS UUID) AS VARCHAR)
END;

-- Canonical GUID (lowercase, hyphenated) of a GUID written 8-4-4-4-12 in any case, the same in
-- matching braces, or as 32 bare hex digits, with surrounding white space; NULL for anything
-- else. Exactly the forms identifiers.parse_guid accepts (uuid.UUID alone accepts more).
CREATE OR REPLACE TEMP MACRO guid_norm(t) AS CASE
    WHEN regexp_full_match(t, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}') THEN t
    WHEN has_edge_space(t) THEN guid_strict(trim_space(t))
    ELSE guid_strict(t)
END;

-- The 16 bytes inside an immutableId (base64 of an objectGUID), as 32 lowercase hex digits; NULL
-- when it is not base64 of 16 bytes (another source anchor, such as an employee id).
CREATE OR REPLACE TEMP MACRO immutable_hex_strict(s) AS CASE
    WHEN length(s) = 24 AND regexp_full_match(s, '[A-Za-z0-9+/]{22}==') THEN lower(hex(try(from_base64(s))))
END;
CREATE OR REPLACE TEMP MACRO immutable_hex(t) AS CASE
    WHEN length(t) < 24 THEN NULL
    WHEN has_edge_space(t) THEN immutable_hex_strict(trim_space(t))
    ELSE immutable_hex_strict(t)
END;

-- Mattermost's text form of a binary LDAP id attribute (\1e\bc\ff..., 16 bytes) as 32 lowercase
-- hex digits; NULL for any other value.
CREATE OR REPLACE TEMP MACRO mattermost_hex_strict(s) AS CASE
    WHEN length(s) = 48 AND regexp_full_match(s, '(\\[0-9a-fA-F]{2}){16}') THEN lower(replace(s, '\', ''))
END;
CREATE OR REPLACE TEMP MACRO mattermost_hex(t) AS CASE
    WHEN NOT contains(t, '\') THEN NULL
    WHEN has_edge_space(t) THEN mattermost_hex_strict(trim_space(t))
    ELSE mattermost_hex_strict(t)
END;

-- A GUID-valued LDAP attribute (msDS-aadObjectId, objectGUID) given as 16 raw bytes (read in
-- Windows order, as AD stores GUIDs) or as GUID text; NULL for values in neither form.
CREATE OR REPLACE TEMP MACRO directory_guid(b) AS CASE
    WHEN octet_length(b) = 16 THEN guid_windows_hex(lower(hex(b)))
    ELSE guid_norm(try(decode(b)))
END;

-- A value for an error message, quoted as Python's repr would show a string.
CREATE OR REPLACE TEMP MACRO shown(t) AS '''' || replace(left(t, 80), '''', '\''') || '''';

-- Text of an LDAP value (bytes): NULL when it is not UTF-8, which the stage checks refuse.
CREATE OR REPLACE TEMP MACRO ldap_text(b) AS try(decode(b));

-- Bytes for an error message: text when they are UTF-8, else spaced hex (short values only).
CREATE OR REPLACE TEMP MACRO shown_bytes(b) AS coalesce(
    shown(try(decode(b))),
    CASE WHEN octet_length(b) < 64 THEN rtrim(regexp_replace(lower(hex(b)), '(..)', '\1 ', 'g'))
         ELSE '<' || octet_length(b) || ' bytes>' END);

-- A record's source_ref is "file: where in it" (an LDIF entry's is "file line N"): the two parts,
-- for an error that names the file and the record.
CREATE OR REPLACE TEMP MACRO ref_file(r) AS CASE WHEN contains(r, ': ') THEN split_part(r, ': ', 1) ELSE r END;
CREATE OR REPLACE TEMP MACRO ref_where(r) AS CASE WHEN contains(r, ': ') THEN substr(r, strpos(r, ': ') + 2) END;

-- 32 hex digits as Mattermost writes a binary LDAP value: \\xx per byte (\\1e\\bc\\ff...).
CREATE OR REPLACE TEMP MACRO mattermost_hex_text(h) AS CASE WHEN h IS NOT NULL THEN concat(
    '\', substr(h, 1, 2), '\', substr(h, 3, 2), '\', substr(h, 5, 2), '\', substr(h, 7, 2), '\', substr(h, 9, 2), '\', substr(h, 11, 2),
    '\', substr(h, 13, 2), '\', substr(h, 15, 2), '\', substr(h, 17, 2), '\', substr(h, 19, 2), '\', substr(h, 21, 2), '\', substr(h, 23, 2),
    '\', substr(h, 25, 2), '\', substr(h, 27, 2), '\', substr(h, 29, 2), '\', substr(h, 31, 2)) END;

-- A Mattermost iOS registration (issue 15): appIdentifier of type #microsoft.graph.iosMobileAppIdentifier
-- (Graph's own examples also write it without the '#') and a bundle id among registration_bundle_ids,
-- compared case-insensitively as iOS compares bundle ids. The stage check and the stage itself share it.
CREATE OR REPLACE TEMP MACRO mattermost_ios_registration(app_type, bundle_id) AS
    regexp_replace(lower(app_type), '^#', '') = 'microsoft.graph.iosmobileappidentifier'
    AND lower(bundle_id) IN (SELECT lower(b.bundle_id) FROM registration_bundle_ids b);
