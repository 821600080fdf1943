-- Normal forms of single identifier values, for the stage files beside this one
-- (the Python twin, reconcile/identifiers.py, serves single values outside a table: options,
-- tokens, SAML claims). Worked example in DESIGN.md: objectGUID bytes
-- 1e bc ff 1e a3 4a 9d 4f a5 08 d4 d8 1f 1f 58 73 are 1effbc1e-4aa3-4f9d-a508-d4d81f1f5873 in
-- Windows form, 1ebcff1e-a34a-9d4f-a508-d4d81f1f5873 in naive byte order,
-- Hrz/HqNKnU+lCNTYHx9Ycw== as an immutableId and \1e\bc\ff... as Mattermost stores it.

-- 32 hex digits (16 bytes in order) read as a GUID in byte order: the naive form.
CREATE OR REPLACE TEMP MACRO guid_from_hex(h) AS
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-'
    || substr(h, 21, 12);

-- 32 hex digits of a GUID's 16 bytes as AD stores them, in Windows form (first three groups
-- little-endian): what AD tools display for an objectGUID.
CREATE OR REPLACE TEMP MACRO guid_windows_hex(h) AS
    substr(h, 7, 2) || substr(h, 5, 2) || substr(h, 3, 2) || substr(h, 1, 2) || '-'
    || substr(h, 11, 2) || substr(h, 9, 2) || '-' || substr(h, 15, 2) || substr(h, 13, 2) || '-'
    || substr(h, 17, 4) || '-' || substr(h, 21, 12);

-- Python's str.strip(): every Unicode white-space character, at both ends.
CREATE OR REPLACE TEMP MACRO trim_space(t) AS trim(t, chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || chr(30) || chr(31) || chr(32) || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288));

-- Canonical GUID (lowercase, hyphenated) of a GUID written 8-4-4-4-12 in any case, the same in
-- matching braces, or as 32 bare hex digits, with surrounding white space; NULL for anything
-- else. Exactly the forms identifiers.parse_guid accepts (uuid.UUID alone accepts more).
CREATE OR REPLACE TEMP MACRO guid_norm(t) AS CASE
    WHEN regexp_full_match(t, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}') THEN t
    WHEN regexp_full_match(trim_space(t),
                           '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
        THEN lower(trim_space(t))
    WHEN regexp_full_match(trim_space(t),
                           '\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}')
        THEN lower(substr(trim_space(t), 2, 36))
    WHEN regexp_full_match(trim_space(t), '[0-9a-fA-F]{32}')
        THEN guid_from_hex(lower(trim_space(t)))
END;

-- The 16 bytes inside an immutableId (base64 of an objectGUID), as 32 lowercase hex digits; NULL
-- when it is not base64 of 16 bytes (another source anchor, such as an employee id).
CREATE OR REPLACE TEMP MACRO immutable_hex(t) AS CASE
    WHEN regexp_full_match(trim_space(t), '[A-Za-z0-9+/]{22}==')
        THEN lower(hex(try(from_base64(trim_space(t)))))
END;

-- Mattermost's text form of a binary LDAP id attribute (\1e\bc\ff..., 16 bytes) as 32 lowercase
-- hex digits; NULL for any other value.
CREATE OR REPLACE TEMP MACRO mattermost_hex(t) AS CASE
    WHEN regexp_full_match(trim_space(t), '(\\[0-9a-fA-F]{2}){16}')
        THEN lower(replace(trim_space(t), '\', ''))
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
