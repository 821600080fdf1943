-- rule: TOKEN_TENANT_MISMATCH
-- severity: blocking
-- stage: 45
-- owner: mattermost_admin
-- title: MSAL token issued by another tenant than IntuneSettings.TenantId
-- change: Mattermost config IntuneSettings.TenantId
-- depends_on: msal_tokens, mattermost_config
-- requires: mattermost manage_system
-- predicted_error: Enrollment fails: the server rejects tokens whose tid is not its configured tenant
-- remediation: Set IntuneSettings.TenantId to the tenant users sign in to (the token's tid), or sign in with an account of the configured tenant
SELECT 'token' AS subject_type, t.person_object_id AS entra_object_id, t.account_id AS mattermost_user_id,
       coalesce(t.person_upn, t.username_lower) AS user_principal_name, t.person_mail AS email,
       format('line {}: tid = {}', t.line, coalesce(t.tid, 'absent')) AS observed,
       c.intune_tenant_id AS expected, NULL AS remediation
FROM token_people t CROSS JOIN v_config c
WHERE lower(coalesce(t.tid, '')) <> lower(trim(coalesce(c.intune_tenant_id, '')));
