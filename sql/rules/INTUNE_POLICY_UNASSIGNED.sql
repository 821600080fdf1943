-- rule: INTUNE_POLICY_UNASSIGNED
-- severity: warning
-- owner: directory_team
-- title: A Mattermost App Protection Policy has no inclusion assignment
-- change: Intune App Protection Policy assignments
-- depends_on: intune_policies
-- requires: graph DeviceManagementApps.Read.All
-- predicted_error: nobody receives this policy; users it was meant for are unprotected (or fail if no other policy covers the app)
-- remediation: Assign the policy to the groups that use the Mattermost app (Intune > Apps > App protection policies > Properties > Assignments)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       format('policy "{}" ({}) for {} has no inclusion group', coalesce(any_value(a.display_name), ''), a.policy_id,
              string_agg(DISTINCT a.bundle_id, ', ' ORDER BY a.bundle_id)) AS observed,
       'at least one groupAssignmentTarget (or all licensed users)' AS expected, NULL AS remediation
FROM intune_policy_apps a
WHERE a.bundle_id IN ('com.mattermost.rn', 'com.mattermost.rnbeta')
  AND a.policy_id NOT IN (SELECT policy_id FROM intune_policy_targets
                          WHERE target_type IN ('groupAssignmentTarget', 'allLicensedUsersAssignmentTarget',
                                                'allDevicesAssignmentTarget'))
GROUP BY a.policy_id;
