-- rule: TOKEN_AUDIENCE_MISMATCH
-- severity: blocking
-- stage: 45
-- owner: mattermost_admin
-- title: MSAL token is for another audience than IntuneSettings.ClientId
-- change: Mattermost config IntuneSettings.ClientId
-- depends_on: msal_tokens, mattermost_config
-- requires: mattermost manage_system
-- predicted_error: Enrollment fails: the server rejects tokens whose aud is neither its ClientId nor api://{ClientId}
-- remediation: Set IntuneSettings.ClientId to the server API app registration's Application (client) ID, and request tokens for its scope (api://{client id}/...)
SELECT 'token' AS subject_type, t.person_object_id AS entra_object_id, t.account_id AS mattermost_user_id,
       coalesce(t.person_upn, t.username_lower) AS user_principal_name, t.person_mail AS email,
       format('line {}: aud = {}', t.line, coalesce(t.aud, 'absent')) AS observed,
       format('{} or api://{}', c.intune_client_id, c.intune_client_id) AS expected, NULL AS remediation
FROM token_people t CROSS JOIN v_config c
WHERE c.intune_client_id IS NOT NULL
  AND lower(coalesce(t.aud, '')) NOT IN (lower(trim(c.intune_client_id)), 'api://' || lower(trim(c.intune_client_id)));
