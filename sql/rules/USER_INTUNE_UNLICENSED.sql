-- rule: USER_INTUNE_UNLICENSED
-- severity: blocking
-- stage: 90
-- owner: directory_team
-- title: Targeted user has no enabled Intune license
-- change: Entra user licences (service plan INTUNE_A)
-- depends_on: entra_users, entra_licenses
-- requires: graph User.Read.All
-- predicted_error: Enrollment Failed: the Intune App SDK cannot enroll a user without an Intune service plan
-- remediation: Assign a license that includes Microsoft Intune (service plan INTUNE_A) to the user or to a group they are in
SELECT 'user' AS subject_type, e.object_id AS entra_object_id, NULL AS mattermost_user_id,
       e.upn AS user_principal_name, e.mail AS email,
       CASE WHEN e.intune_plan_status = 'none' THEN 'no Intune service plan in assignedPlans'
            ELSE 'Intune service plan capabilityStatus = ' || e.intune_plan_status END AS observed,
       'service plan c1ec4a95-1f05-45b3-a911-aa3fa01094f5 (INTUNE_A) with capabilityStatus Enabled' AS expected,
       NULL AS remediation
FROM targeted t
JOIN entra_users e USING (object_id_norm)
WHERE e.intune_plan_status IS NOT NULL AND e.intune_plan_status <> 'Enabled';
