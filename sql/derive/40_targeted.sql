-- The people the iOS App Protection Policy targets (the groups come from 35_targeting.sql):
-- members of an included group and of no excluded group, plus every Intune-licensed user where a
-- policy is assigned to all licensed users; with no targeting at all, every enabled Member user.
-- Disabled accounts cannot sign in and are left out (USER_ENTRA_DISABLED reports them where a
-- Mattermost account still points at them). A group member missing from the users export is still
-- targeted (in_users = false): the exports disagree, and saying nothing would be the worst answer.
CREATE OR REPLACE TABLE targeted AS
WITH members_in AS (
    SELECT DISTINCT object_id_norm FROM entra_group_members
    WHERE group_id IN (SELECT group_id FROM targeting WHERE mode = 'include')
),
members_out AS (
    SELECT DISTINCT object_id_norm FROM entra_group_members
    WHERE group_id IN (SELECT group_id FROM targeting WHERE mode = 'exclude')
),
flags AS (
    SELECT count(*) > 0 AS any_targeting, bool_or(mode = 'all_licensed') AS all_licensed FROM targeting
)
SELECT e.object_id_norm, true AS in_users
FROM entra_users e CROSS JOIN flags f
WHERE e.account_enabled IS NOT FALSE
  AND CASE
        WHEN f.any_targeting
            THEN (e.object_id_norm IN (SELECT object_id_norm FROM members_in)
                  OR (coalesce(f.all_licensed, false) AND e.intune_plan_status = 'Enabled'))
                 AND e.object_id_norm NOT IN (SELECT object_id_norm FROM members_out)
        ELSE coalesce(e.user_type, 'Member') = 'Member'
      END
UNION ALL
SELECT m.object_id_norm, false
FROM members_in m
WHERE (SELECT available FROM run_inputs WHERE name = 'entra_users')
  AND m.object_id_norm NOT IN (SELECT object_id_norm FROM entra_users)
  AND m.object_id_norm NOT IN (SELECT object_id_norm FROM members_out);
