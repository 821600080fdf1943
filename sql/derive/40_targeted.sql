-- The people the iOS App Protection Policy targets: members of the exported policy groups, or,
-- with no entra_groups/ folder, every enabled Member user. Disabled accounts cannot sign in and
-- are left out (USER_ENTRA_DISABLED reports them where a Mattermost account still points at them).
-- A group member missing from the users export is still targeted (in_users = false): the exports
-- disagree, and saying nothing about a targeted person would be the worst answer.
CREATE OR REPLACE TEMP TABLE targeted AS
SELECT e.object_id_norm, true AS in_users
FROM entra_users e
WHERE e.account_enabled IS NOT FALSE
  AND CASE
        WHEN (SELECT available FROM run_inputs WHERE name = 'entra_groups')
            THEN e.object_id_norm IN (SELECT object_id_norm FROM entra_group_members)
        ELSE coalesce(e.user_type, 'Member') = 'Member'
      END
UNION ALL
SELECT DISTINCT g.object_id_norm, false
FROM entra_group_members g
WHERE (SELECT available FROM run_inputs WHERE name = 'entra_users')
  AND g.object_id_norm NOT IN (SELECT object_id_norm FROM entra_users);
