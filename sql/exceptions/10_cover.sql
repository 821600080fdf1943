-- Which findings the exceptions file accepts (issue 13, "What an exception does"), the one place that
-- decides it. Runs after the rules (reconcile/exceptions.py), and again after drift has carried
-- forward the baseline's findings, so a carried-forward finding is judged by tonight's file too.
--   entra_object_id      the finding's entra_object_id, in normal form (lowercase, hyphenated)
--   mattermost_user_id   the finding's mattermost_user_id, case-insensitively
--   user_principal_name  the finding's user_principal_name, case-insensitively
--   group                the finding's entra_object_id is a transitive member of the group, as read
--                        into entra_group_members (entra_groups/<id>.json or Graph); a group that
--                        was not read covers nothing
--   config               every finding of the rule (allowed only for rules not about people)
-- An expired entry covers nothing. When several entries cover one finding, the one expiring last is
-- shown (then the first in the file); every one of them counts as used.
CREATE OR REPLACE TABLE exception_cover AS
WITH live AS (SELECT * FROM exception_entries WHERE NOT expired),
f AS (
    SELECT rowid AS finding_row, rule_id, guid_norm(entra_object_id) AS oid, lower(mattermost_user_id) AS mm_id,
           lower(user_principal_name) AS upn
    FROM findings
    WHERE rule_id IN (SELECT rule_id FROM live)
)
SELECT f.finding_row, e.position FROM f JOIN live e ON e.rule_id = f.rule_id AND e.subject = 'entra_object_id'
                                                   AND e.value = f.oid
UNION ALL
SELECT f.finding_row, e.position FROM f JOIN live e ON e.rule_id = f.rule_id AND e.subject = 'mattermost_user_id'
                                                   AND e.value = f.mm_id
UNION ALL
SELECT f.finding_row, e.position FROM f JOIN live e ON e.rule_id = f.rule_id AND e.subject = 'user_principal_name'
                                                   AND e.value = f.upn
UNION ALL
SELECT DISTINCT f.finding_row, e.position
FROM f JOIN live e ON e.rule_id = f.rule_id AND e.subject = 'group'
       JOIN entra_group_members g ON g.group_id = e.value AND g.object_id_norm = f.oid
UNION ALL
SELECT f.finding_row, e.position FROM f JOIN live e ON e.rule_id = f.rule_id AND e.subject = 'config';

CREATE OR REPLACE TABLE exception_use AS
SELECT position, count(DISTINCT finding_row) AS findings FROM exception_cover GROUP BY position;

UPDATE findings SET status = 'open', exception_reason = NULL, exception_owner = NULL, exception_expires = NULL
WHERE status IS DISTINCT FROM 'open' OR exception_reason IS NOT NULL;

UPDATE findings SET status = 'accepted', exception_reason = s.reason, exception_owner = s.owner,
                    exception_expires = s.expires
FROM (
    SELECT c.finding_row, arg_max(e.reason, (e.expires, -e.position)) AS reason,
           arg_max(e.owner, (e.expires, -e.position)) AS owner, max(e.expires) AS expires
    FROM exception_cover c JOIN exception_entries e USING (position)
    GROUP BY c.finding_row
) AS s
WHERE findings.rowid = s.finding_row;
