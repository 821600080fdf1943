SELECT ref_file(source_ref), ref_where(source_ref), CASE
        WHEN id IS NULL OR id = '' THEN 'missing ''id''; expected a non-empty string'
        WHEN coalesce(delete_at, '') <> '' AND NOT regexp_full_match(delete_at, '[0-9]+')
            THEN 'expected ''delete_at'' to be a number of milliseconds, found ' || shown(delete_at)
        WHEN lower(is_bot) NOT IN ('true', 'false')
            THEN 'expected ''is_bot'' to be true or false, found ' || shown(is_bot)
    END AS problem
FROM raw_mm_users
WHERE problem IS NOT NULL
LIMIT 1;
