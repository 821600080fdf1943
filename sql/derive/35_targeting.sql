-- Which groups define the targeted population, in this order of precedence:
--   1 --intune-group on the command line (include only);
--   2 the Intune iOS App Protection Policies of the deployed Mattermost bundle ids: their
--     groupAssignmentTarget groups included, exclusionGroupAssignmentTarget groups excluded
--     (exclusion wins, as in Intune), allLicensedUsersAssignmentTarget = every Intune-licensed user;
--   3 every group exported under entra_groups/ (include); a group pulled from Graph only because an
--     exceptions entry names it is never a targeting group (an exception changes no outcome);
--   4 nothing: every enabled Member user (40_targeted.sql).
CREATE OR REPLACE TABLE targeting AS
WITH policies_read AS (
    SELECT coalesce((SELECT available FROM run_inputs WHERE name = 'intune_policies'), false) AS yes
),
mm_policies AS (
    SELECT DISTINCT policy_id FROM intune_policy_apps WHERE bundle_id IN (SELECT bundle_id FROM ios_bundle_ids)
),
from_policies AS (
    SELECT DISTINCT t.group_id,
           CASE t.target_type WHEN 'exclusionGroupAssignmentTarget' THEN 'exclude'
                              WHEN 'groupAssignmentTarget' THEN 'include'
                              ELSE 'all_licensed' END AS mode,
           'policy' AS source
    FROM intune_policy_targets t JOIN mm_policies USING (policy_id)
    WHERE t.target_type IN ('groupAssignmentTarget', 'exclusionGroupAssignmentTarget',
                            'allLicensedUsersAssignmentTarget', 'allDevicesAssignmentTarget')
)
SELECT group_id, 'include' AS mode, 'override' AS source FROM intune_group_override
UNION ALL
SELECT * FROM from_policies
WHERE NOT EXISTS (SELECT 1 FROM intune_group_override)
UNION ALL
SELECT DISTINCT group_id, 'include', 'exported groups' FROM entra_group_members
WHERE group_id NOT IN (SELECT group_id FROM entra_groups_read WHERE purpose = 'exception')
  AND NOT EXISTS (SELECT 1 FROM intune_group_override) AND NOT (SELECT yes FROM policies_read);
