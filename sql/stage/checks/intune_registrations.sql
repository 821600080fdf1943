-- A kept registration (iOS, a Mattermost bundle id: mattermost_ios_registration in macros.sql) must name
-- its user by objectId and carry timestamps that parse; the others are only counted, so nothing of theirs
-- is held to a form. Graph writes seven fractional digits (2026-11-30T08:15:02.1234567Z), which DuckDB parses.
WITH kept AS (
    SELECT * FROM raw_intune_registrations WHERE mattermost_ios_registration(app_type, bundle_id)
)
SELECT ref_file(source_ref), ref_where(source_ref), CASE
        WHEN user_id IS NULL OR user_id = '' THEN 'missing ''userId''; expected the Entra objectId of the user'
        WHEN guid_norm(user_id) IS NULL
            THEN '''userId'' is ' || shown(user_id) || '; expected an Entra objectId (a GUID)'
        WHEN nullif(last_sync, '') IS NOT NULL AND TRY_CAST(last_sync AS TIMESTAMPTZ) IS NULL
            THEN '''lastSyncDateTime'' is ' || shown(last_sync)
                 || '; expected an ISO 8601 date and time (2026-11-30T08:15:02.1234567Z)'
        WHEN nullif(created, '') IS NOT NULL AND TRY_CAST(created AS TIMESTAMPTZ) IS NULL
            THEN '''createdDateTime'' is ' || shown(created)
                 || '; expected an ISO 8601 date and time (2026-11-30T08:15:02.1234567Z)'
    END AS problem
FROM kept
WHERE problem IS NOT NULL
LIMIT 1;
