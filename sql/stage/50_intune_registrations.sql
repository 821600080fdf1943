-- Intune's MAM registrations (issue 15): every one read is counted; ``kept`` are the iOS registrations of
-- a Mattermost bundle id (mattermost_ios_registration in macros.sql). Outlook, Teams and Android
-- registrations are landed only to be counted. 'none' in flaggedReasons is
-- Graph's "not flagged", not a reason.
INSERT INTO intune_registrations
SELECT id,
       guid_norm(user_id),
       bundle_id,
       coalesce(mattermost_ios_registration(app_type, bundle_id), false) AS kept,
       TRY_CAST(nullif(created, '') AS TIMESTAMPTZ),
       TRY_CAST(nullif(last_sync, '') AS TIMESTAMPTZ),
       nullif(application_version, ''),
       nullif(platform_version, ''),
       nullif(device_name, ''),
       nullif(array_to_string(list_filter(flagged_reasons, lambda r: r IS NOT NULL AND r <> '' AND lower(r) <> 'none'),
                              ';'), ''),
       source_ref
FROM raw_intune_registrations;
