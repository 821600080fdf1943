-- A value that cannot be what its field promises stops the run naming the record: a report
-- built around a broken record would be wrong about someone. (source_ref, problem), first only.
SELECT ref_file(source_ref), ref_where(source_ref), CASE
        WHEN id IS NULL OR id = '' THEN 'missing ''id''; expected a non-empty string'
        WHEN guid_norm(id) IS NULL THEN '''id'' is ' || shown(id) || '; expected an Entra objectId (a GUID)'
        WHEN lower(account_enabled) NOT IN ('true', 'false')
            THEN 'expected ''accountEnabled'' to be true or false, found ' || shown(account_enabled)
    END AS problem
FROM raw_entra_users
WHERE problem IS NOT NULL
LIMIT 1;
