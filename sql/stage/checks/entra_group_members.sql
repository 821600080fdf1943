SELECT ref_file(source_ref), ref_where(source_ref), CASE
        WHEN id IS NULL OR id = '' THEN 'missing ''id''; expected a non-empty string'
        WHEN guid_norm(id) IS NULL THEN '''id'' is ' || shown(id) || '; expected an Entra objectId (a GUID)'
    END AS problem
FROM raw_entra_group_members
WHERE problem IS NOT NULL
LIMIT 1;
