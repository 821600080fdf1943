-- The groups whose members decide who is targeted (35_targeting.sql precedence, before members are
-- known): the --intune-group override, else every group the deployed Mattermost iOS policies include
-- or exclude. Used to fetch their members from Graph, and to check that the export has them.
SELECT group_id, 'override' AS source FROM intune_group_override
UNION
SELECT t.group_id, 'policy'
FROM intune_policy_targets t JOIN intune_policy_apps a USING (policy_id)
WHERE t.group_id IS NOT NULL
  AND a.bundle_id IN (SELECT bundle_id FROM ios_bundle_ids)
  AND NOT EXISTS (SELECT 1 FROM intune_group_override)
ORDER BY 1
