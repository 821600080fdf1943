-- rule: OUTCOME_ENROLLED_NOT_TARGETED
-- severity: info
-- owner: mattermost_admin
-- title: Intune shows a Mattermost enrollment for an Entra user the audit did not treat as targeted
-- change: the targeting the audit assumes (--intune-group, the exported policy groups) or the policy's assignments
-- depends_on: intune_registrations, entra_users, entra_groups
-- requires: graph DeviceManagementApps.Read.All, GroupMember.Read.All, User.Read.All
-- predicted_error: none: the person enrolled, but the audit never judged them
-- remediation: Targeting is wider than the audit assumed: check the App Protection Policy's assignments against --intune-group or the exported policy groups, and rerun so these people are audited too
-- Issue 15. A kept registration (a Mattermost iOS bundle id) synced within --enrolled-within days for
-- an enabled Entra user of the run outside the targeted population (sql/derive/40_targeted.sql). Only
-- an app under an App Protection Policy registers (Graph: managedAppRegistration), so the policy
-- reaches this person. Disabled users are left out: they are untargeted because they cannot sign in,
-- not because of the policy (USER_ENTRA_DISABLED covers their accounts). A registration for a userId
-- that is no Entra user of the run is counted in summary.json (registrations.unknown_user), not here.
-- It needs the groups' members (entra_groups): without them "targeted" is every enabled member, a
-- stand-in, and a finding against a stand-in would say nothing about the policy's real reach.
-- Near miss: the same registration synced before the window is no finding (tests/test_outcomes.py).
SELECT 'user' AS subject_type, e.object_id AS entra_object_id, NULL AS mattermost_user_id,
       e.upn AS user_principal_name, e.mail AS email,
       'Intune: ' || g.bundle_id || ' registered, last sync ' || g.last_sync || '; not in the targeted population'
           AS observed,
       'only the targeted people the audit judged enroll' AS expected,
       NULL AS remediation
FROM registration_latest g
JOIN entra_users e ON e.object_id_norm = g.user_id_norm
WHERE g.recent
  AND e.account_enabled IS NOT FALSE
  AND g.user_id_norm NOT IN (SELECT object_id_norm FROM targeted)
ORDER BY e.upn
