-- rule: USER_NOT_IN_ENTRA_EXPORT
-- severity: warning
-- stage: 100
-- owner: directory_team
-- readiness: not_evaluated
-- title: Policy-group member missing from the users export
-- change: the Entra users export
-- depends_on: entra_users, entra_groups
-- requires: graph GroupMember.Read.All, User.Read.All
-- predicted_error: not evaluated: the person is targeted by the policy but absent from the Entra users export
-- remediation: Export entra_users.json and entra_groups/ at the same time, with every page of GET /users (follow @odata.nextLink to the end)
-- Added beyond issue 2: the exports disagree, so nothing can be said about this person's accounts.
SELECT 'user' AS subject_type, g.object_id_norm AS entra_object_id, NULL AS mattermost_user_id,
       any_value(g.upn) AS user_principal_name, NULL AS email,
       'member of policy group(s) ' || string_agg(DISTINCT g.group_id, ', ' ORDER BY g.group_id)
           || ' but absent from the users export' AS observed,
       'every policy-group member in the users export' AS expected, NULL AS remediation
FROM targeted t
JOIN entra_group_members g USING (object_id_norm)
WHERE NOT t.in_users
GROUP BY g.object_id_norm;
