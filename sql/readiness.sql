-- Per-person readiness: one row per targeted Entra user, and one per active account of the selected
-- auth service that no targeted user links to. Runs after every rule, over the run's findings.
--   not_evaluated  a rule marked "readiness: not_evaluated" applies (another auth service, Entra
--                  account disabled, absent from the users export), or an input needed to judge
--                  anyone is missing (and nothing blocking is already known)
--   will_fail      a blocking finding applies; blocking config and tenant findings apply to everyone
--                  evaluated (their warnings and infos are about the configuration, not the person)
--   at_risk        only warnings apply
--   ready          nothing above
-- A person enrolls with one account (active, selected service, best link). A blocking finding
-- about another of their accounts does not make them fail; it counts as a warning for them.
-- predicted_error is the first error the person would meet, in the order the mobile app and the
-- server reach them (the rules' "stage"); fix lists every fix, each addressed to its owner.
-- accepted (issue 13): true only for a will_fail or at_risk person all of whose findings that give
-- that status (blocking for will_fail, blocking and warning for at_risk, the blocking config and tenant
-- findings that fail everyone included) are accepted by the exceptions file; the status itself stays.
-- failing_rule_ids: for a will_fail person, the rules whose blocking findings gave that status.
CREATE OR REPLACE TABLE readiness AS
WITH missing AS (
    SELECT string_agg(name, ', ' ORDER BY name) AS names
    FROM (VALUES ('entra_users'), ('entra_licenses'), ('mattermost_users'), ('mattermost_config'),
                 ('mattermost_license')) AS need(name)
    WHERE NOT coalesce((SELECT available FROM run_inputs r WHERE r.name = need.name), false)
      -- licences come from the users export: without it, naming both says the same thing twice
      AND NOT (need.name = 'entra_licenses'
               AND NOT coalesce((SELECT available FROM run_inputs WHERE name = 'entra_users'), false))
),
best_account AS (  -- the account a targeted person would enroll with
    SELECT entra_object_id_norm, id, email
    FROM accounts
    WHERE entra_object_id_norm IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY entra_object_id_norm
        ORDER BY active DESC, on_selected DESC, link_step, id) = 1
),
subjects AS (
    SELECT row_number() OVER () AS subject_no, *
    FROM (
        SELECT coalesce(e.object_id, t.object_id_norm) AS entra_object_id, b.id AS mattermost_user_id,
               coalesce(e.upn, (SELECT any_value(g.upn) FROM entra_group_members g
                                WHERE g.object_id_norm = t.object_id_norm)) AS user_principal_name,
               coalesce(b.email, e.mail) AS email, true AS is_person
        FROM targeted t
        LEFT JOIN entra_users e USING (object_id_norm)
        LEFT JOIN best_account b ON b.entra_object_id_norm = t.object_id_norm
        UNION ALL
        SELECT a.entra_object_id, a.id, a.entra_upn, a.email, false
        FROM accounts a
        WHERE a.active AND a.on_selected AND NOT a.targeted
    )
),
user_findings AS (SELECT * FROM findings WHERE subject_type NOT IN ('config', 'tenant', 'exception')),
applied AS (  -- equi-joins only: an OR join here would compare every subject with every finding
    -- A blocking server or tenant problem fails everyone (their warnings stay findings): those findings
    -- are subject 0, aggregated once and merged into every subject's row below, rather than repeated
    -- for each of a million subjects.
    SELECT 0 AS subject_no, f.rule_id, f.predicted_error, f.remediation, f.severity AS effective,
           f.status = 'accepted' AS accepted
    FROM findings f
    WHERE subject_type IN ('config', 'tenant') AND severity = 'blocking'
    UNION ALL
    SELECT s.subject_no, f.rule_id, f.predicted_error, f.remediation,
           CASE WHEN f.severity = 'blocking' AND f.mattermost_user_id IS NOT NULL
                     AND f.mattermost_user_id IS DISTINCT FROM s.mattermost_user_id
                THEN 'warning' ELSE f.severity END,
           f.status = 'accepted'
    FROM subjects s JOIN user_findings f ON f.entra_object_id = s.entra_object_id
    WHERE s.is_person
    UNION ALL
    SELECT s.subject_no, f.rule_id, f.predicted_error, f.remediation, f.severity, f.status = 'accepted'
    FROM subjects s JOIN user_findings f ON f.mattermost_user_id = s.mattermost_user_id
    WHERE NOT s.is_person
    UNION ALL
    SELECT s.subject_no, f.rule_id, f.predicted_error, f.remediation, f.severity, f.status = 'accepted'
    FROM subjects s JOIN user_findings f ON f.entra_object_id = s.entra_object_id
    WHERE NOT s.is_person AND f.mattermost_user_id IS NULL
),
per_subject AS (
    SELECT a.subject_no,
           bool_or(m.readiness = 'not_evaluated') AS exempt,
           min(a.rule_id) FILTER (WHERE m.readiness = 'not_evaluated') AS exempt_rule,
           arg_min(a.predicted_error, a.rule_id) FILTER (WHERE m.readiness = 'not_evaluated') AS exempt_error,
           arg_min(m.owner || ': ' || a.remediation, a.rule_id)
               FILTER (WHERE m.readiness = 'not_evaluated') AS exempt_fix,
           bool_or(a.effective = 'blocking') AS has_blocking,
           bool_or(a.effective = 'warning') AS has_warning,
           bool_and(a.accepted) FILTER (WHERE a.effective = 'blocking') AS blocking_accepted,
           bool_and(a.accepted) FILTER (WHERE a.effective = 'warning') AS warning_accepted,
           min((CASE a.effective WHEN 'blocking' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, m.stage, a.rule_id))
               AS top_key,
           arg_min(a.predicted_error, (CASE a.effective WHEN 'blocking' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
                                       m.stage, a.rule_id)) AS top_error,
           list(DISTINCT a.rule_id) AS rule_list,
           list(DISTINCT a.rule_id) FILTER (WHERE a.effective = 'blocking') AS failing_list,
           list(DISTINCT m.owner || ': ' || a.remediation)
               FILTER (WHERE a.effective IN ('blocking', 'warning') AND a.remediation IS NOT NULL) AS fix_list
    FROM applied a
    JOIN rule_meta m USING (rule_id)
    GROUP BY a.subject_no
),
everyone AS (SELECT * FROM per_subject WHERE subject_no = 0),
merged AS (  -- each subject's own findings with everyone's, as if they had been aggregated together
    SELECT s.subject_no,
           coalesce(p.exempt, false) OR coalesce(c.exempt, false) AS exempt,
           CASE WHEN p.exempt_rule IS NOT NULL AND (c.exempt_rule IS NULL OR p.exempt_rule <= c.exempt_rule)
                THEN p.exempt_error ELSE c.exempt_error END AS exempt_error,
           CASE WHEN p.exempt_rule IS NOT NULL AND (c.exempt_rule IS NULL OR p.exempt_rule <= c.exempt_rule)
                THEN p.exempt_fix ELSE c.exempt_fix END AS exempt_fix,
           coalesce(p.has_blocking, false) OR coalesce(c.has_blocking, false) AS has_blocking,
           coalesce(p.has_warning, false) OR coalesce(c.has_warning, false) AS has_warning,
           coalesce(p.blocking_accepted, true) AND coalesce(c.blocking_accepted, true) AS blocking_accepted,
           coalesce(p.warning_accepted, true) AND coalesce(c.warning_accepted, true) AS warning_accepted,
           CASE WHEN p.top_key IS NOT NULL AND (c.top_key IS NULL OR p.top_key <= c.top_key)
                THEN p.top_error ELSE c.top_error END AS top_error,
           nullif(array_to_string(list_sort(list_distinct(
               list_concat(coalesce(p.rule_list, []), coalesce(c.rule_list, [])))), ';'), '') AS rule_ids,
           nullif(array_to_string(list_sort(list_distinct(
               list_concat(coalesce(p.failing_list, []), coalesce(c.failing_list, [])))), ';'), '') AS failing_rule_ids,
           nullif(array_to_string(list_sort(list_distinct(
               list_concat(coalesce(p.fix_list, []), coalesce(c.fix_list, [])))), ' | '), '') AS fixes
    FROM subjects s
    LEFT JOIN per_subject p USING (subject_no)
    LEFT JOIN everyone c ON true
)
SELECT
    s.entra_object_id, s.mattermost_user_id, s.user_principal_name, s.email,
    CASE
        WHEN p.exempt THEN 'not_evaluated'
        WHEN p.has_blocking THEN 'will_fail'
        WHEN (SELECT names FROM missing) IS NOT NULL THEN 'not_evaluated'
        WHEN p.has_warning THEN 'at_risk'
        ELSE 'ready'
    END AS status,
    CASE
        WHEN p.exempt THEN p.exempt_error
        WHEN p.has_blocking THEN p.top_error
        WHEN (SELECT names FROM missing) IS NOT NULL THEN 'not evaluated: missing input ' || (SELECT names FROM missing)
        WHEN p.has_warning THEN p.top_error
    END AS predicted_error,
    p.rule_ids,
    CASE
        WHEN p.exempt THEN p.exempt_fix
        WHEN p.has_blocking THEN p.fixes
        WHEN (SELECT names FROM missing) IS NOT NULL
            THEN 'provide the missing export(s): ' || (SELECT names FROM missing)
        WHEN p.has_warning THEN p.fixes
    END AS fix,
    CASE  -- the same order as status: true when everything that gives the status is accepted
        WHEN p.exempt THEN false
        WHEN p.has_blocking THEN p.blocking_accepted
        WHEN (SELECT names FROM missing) IS NOT NULL THEN false
        WHEN p.has_warning THEN p.warning_accepted
        ELSE false
    END AS accepted,
    -- the rules whose blocking findings made the person will_fail (issue 15: a false alarm names them);
    -- kept in the run's workspace only, not in the store's readiness
    CASE WHEN NOT p.exempt AND p.has_blocking THEN p.failing_rule_ids END AS failing_rule_ids
FROM subjects s
LEFT JOIN merged p USING (subject_no)
ORDER BY s.user_principal_name NULLS LAST, s.mattermost_user_id;
