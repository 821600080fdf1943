-- rule: EXCEPTION_UNUSED
-- severity: info
-- owner: mattermost_admin
-- title: An exception covered no finding: the problem is gone or the entry is wrong
-- change: exceptions file entry (remove or correct it)
-- depends_on: exceptions
-- requires: none
-- predicted_error: none: the entry silences nothing
-- remediation: If the problem was fixed, remove the entry; otherwise correct its rule or subject (GUIDs as Entra writes them, the UPN, the Mattermost user id, or a group whose members can be read)
-- Issue 13: judged only when the run is complete (no source failed) and the entry's rule ran, so
-- a missing or broken export never makes an entry look unused. An expired entry is only
-- EXCEPTION_EXPIRED. A group entry whose members could not be read (no entra_groups/<id>.json, or the
-- Graph pull failed) covers nothing and is reported here with the reason.
WITH complete AS (SELECT NOT EXISTS (SELECT 1 FROM run_inputs WHERE failed) AS yes)
SELECT 'exception' AS subject_type,
       CASE WHEN e.subject = 'entra_object_id' THEN e.value END AS entra_object_id,
       CASE WHEN e.subject = 'mattermost_user_id' THEN e.value END AS mattermost_user_id,
       CASE WHEN e.subject = 'user_principal_name' THEN e.value END AS user_principal_name,
       NULL AS email,
       'rule ' || e.rule_id || ', '
           || CASE WHEN e.subject = 'config' THEN 'subject=config' ELSE e.subject || '=' || e.value END
           || ': covered no finding'
           || CASE WHEN e.subject = 'group' AND g.group_id IS NULL
                   THEN ' (group ' || e.value || ' was not read: no entra_groups/' || e.value || '.json)'
                   WHEN e.subject = 'group' AND NOT g.readable
                   THEN ' (group ' || e.value || ' could not be read: ' || coalesce(g.note, 'unknown reason') || ')'
                   ELSE '' END AS observed,
       'a finding of ' || e.rule_id || ' that the entry covers' AS expected,
       'exception ' || e.position || coalesce(' (line ' || e.line || ')', '') || ' of ' || e.file
           || ' (owner ' || e.owner || '): remove the entry if the problem is fixed, otherwise correct it' AS remediation
FROM exception_entries e
JOIN rule_runs r ON r.rule_id = e.rule_id AND r.status = 'ran'
LEFT JOIN (SELECT group_id, bool_or(readable) AS readable, any_value(note) AS note
           FROM entra_groups_read GROUP BY group_id) g ON e.subject = 'group' AND g.group_id = e.value
WHERE NOT e.expired
  AND (SELECT yes FROM complete)
  AND e.position NOT IN (SELECT position FROM exception_use);
