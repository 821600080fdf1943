-- rule: TOKEN_CLIENT_NOT_MOBILE
-- severity: info
-- stage: 100
-- owner: mattermost_admin
-- title: MSAL token was not requested by the Mattermost Mobile app
-- change: MSAL token capture
-- depends_on: msal_tokens
-- requires: none
-- predicted_error: none by itself: the capture is not from the mobile app, so its verdicts may not represent a mobile sign-in
-- remediation: Capture tokens from the Mattermost mobile app's sign-in (its debug log), or add the client id with --mobile-client-id if it is a Mattermost Mobile build of your own
-- azp (v2) / appid (v1) names the client that requested the token. The iOS app signs in as
-- Mattermost Mobile (the published App Store and TestFlight ids, plus --mobile-client-id); a token
-- from another client (the Azure CLI, a test app) says how that client was treated, not the app.
SELECT 'token' AS subject_type, person_object_id AS entra_object_id, account_id AS mattermost_user_id,
       coalesce(person_upn, username_lower) AS user_principal_name, person_mail AS email,
       format('line {}: {} = {}', line, CASE WHEN ver = '1.0' THEN 'appid' ELSE 'azp' END,
              coalesce(app_id, 'absent')) AS observed,
       format('one of the Mattermost Mobile client ids: {}',
              (SELECT string_agg(app_id, ', ' ORDER BY source DESC, app_id) FROM mobile_client_ids)) AS expected,
       NULL AS remediation
FROM token_people
WHERE app_id IS NULL OR lower(app_id) NOT IN (SELECT app_id FROM mobile_client_ids);
