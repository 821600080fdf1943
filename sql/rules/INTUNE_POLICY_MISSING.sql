-- rule: INTUNE_POLICY_MISSING
-- severity: blocking
-- stage: 90
-- owner: directory_team
-- title: A deployed Mattermost iOS bundle id is in no assigned App Protection Policy
-- change: Intune iOS App Protection Policy for the bundle id
-- depends_on: intune_policies
-- requires: graph DeviceManagementApps.Read.All
-- predicted_error: Enrollment Failed: no App Protection Policy applies to this app, so the Intune SDK has nothing to enroll into
-- remediation: In Intune > Apps > App protection policies, create an iOS policy for this bundle id (each bundle id needs its own policy) and assign it to the users' groups
-- Production (com.mattermost.rn) is deployed by default; --ios-bundle-id names others (beta:
-- com.mattermost.rnbeta).
WITH assigned AS (
    SELECT DISTINCT a.bundle_id
    FROM intune_policy_apps a JOIN intune_policy_targets t USING (policy_id)
    WHERE t.target_type IN ('groupAssignmentTarget', 'allLicensedUsersAssignmentTarget', 'allDevicesAssignmentTarget')
)
SELECT 'tenant' AS subject_type, NULL AS entra_object_id, NULL AS mattermost_user_id,
       NULL AS user_principal_name, NULL AS email,
       CASE WHEN b.bundle_id IN (SELECT bundle_id FROM intune_policy_apps)
            THEN b.bundle_id || ' is only in policies without an inclusion assignment'
            ELSE b.bundle_id || ' is in no iOS App Protection Policy' END AS observed,
       'an iOS App Protection Policy for ' || b.bundle_id || ' assigned to the users' AS expected, NULL AS remediation
FROM ios_bundle_ids b
WHERE b.bundle_id NOT IN (SELECT bundle_id FROM assigned);
