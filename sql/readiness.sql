-- Per-person readiness: one row per targeted Entra user, and one per active account of the selected
-- auth service that no targeted user links to. Runs after every rule, over the run's findings.
--   will_fail      a blocking finding applies (config findings apply to everyone evaluated)
--   at_risk        only warnings apply
--   not_evaluated  the person is not on the selected auth service, or an input needed to judge
--                  anyone (Entra users, Mattermost users, config, license) was not provided
--   ready          nothing above
CREATE OR REPLACE TEMP TABLE readiness AS
WITH missing AS (
    SELECT string_agg(name, ', ' ORDER BY name) AS names
    FROM (VALUES ('entra_users'), ('mattermost_users'), ('mattermost_config'), ('mattermost_license')) AS need(name)
    WHERE NOT coalesce((SELECT available FROM run_inputs r WHERE r.name = need.name), false)
),
best_account AS (  -- the account a targeted person would enroll with: active, selected service, best link
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
        SELECT e.object_id AS entra_object_id, b.id AS mattermost_user_id, e.upn AS user_principal_name,
               coalesce(b.email, e.mail) AS email, true AS is_person
        FROM targeted t
        JOIN entra_users e USING (object_id_norm)
        LEFT JOIN best_account b ON b.entra_object_id_norm = t.object_id_norm
        UNION ALL
        SELECT a.entra_object_id, a.id, a.entra_upn, a.email, false
        FROM accounts a
        WHERE a.active AND a.on_selected AND NOT a.targeted
    )
),
user_findings AS (SELECT * FROM findings WHERE subject_type <> 'config'),
applied AS (  -- equi-joins only: an OR join here would compare every subject with every finding
    SELECT s.subject_no, f.* FROM subjects s CROSS JOIN (SELECT * FROM findings WHERE subject_type = 'config') f
    UNION ALL
    SELECT s.subject_no, f.* FROM subjects s JOIN user_findings f ON f.entra_object_id = s.entra_object_id
    WHERE s.is_person
    UNION ALL
    SELECT s.subject_no, f.* FROM subjects s JOIN user_findings f ON f.mattermost_user_id = s.mattermost_user_id
    WHERE NOT s.is_person
    UNION ALL
    SELECT s.subject_no, f.* FROM subjects s JOIN user_findings f ON f.entra_object_id = s.entra_object_id
    WHERE NOT s.is_person AND f.mattermost_user_id IS NULL
),
per_subject AS (
    SELECT subject_no,
           bool_or(rule_id = 'USER_NOT_SELECTED_SERVICE') AS not_selected,
           bool_or(severity = 'blocking') AS has_blocking,
           bool_or(severity = 'warning') AS has_warning,
           arg_min(predicted_error, (CASE severity WHEN 'blocking' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
                                     CASE subject_type WHEN 'config' THEN 1 ELSE 2 END,  -- the server gates first
                                     rule_id)) AS top_error,
           string_agg(DISTINCT rule_id, ';' ORDER BY rule_id) AS rule_ids,
           string_agg(DISTINCT remediation, ' | ' ORDER BY remediation)
               FILTER (WHERE severity IN ('blocking', 'warning')) AS fixes,
           any_value(remediation) FILTER (WHERE rule_id = 'USER_NOT_SELECTED_SERVICE') AS not_selected_fix,
           any_value(predicted_error) FILTER (WHERE rule_id = 'USER_NOT_SELECTED_SERVICE') AS not_selected_error
    FROM applied
    GROUP BY subject_no
)
SELECT
    s.entra_object_id, s.mattermost_user_id, s.user_principal_name, s.email,
    CASE
        WHEN p.not_selected THEN 'not_evaluated'
        WHEN p.has_blocking THEN 'will_fail'
        WHEN (SELECT names FROM missing) IS NOT NULL THEN 'not_evaluated'
        WHEN p.has_warning THEN 'at_risk'
        ELSE 'ready'
    END AS status,
    CASE
        WHEN p.not_selected THEN p.not_selected_error
        WHEN p.has_blocking OR p.has_warning THEN p.top_error
        WHEN (SELECT names FROM missing) IS NOT NULL THEN 'not evaluated: missing input ' || (SELECT names FROM missing)
    END AS predicted_error,
    p.rule_ids,
    CASE
        WHEN p.not_selected THEN p.not_selected_fix
        WHEN p.has_blocking OR p.has_warning THEN p.fixes
        WHEN (SELECT names FROM missing) IS NOT NULL
            THEN 'provide the missing export(s): ' || (SELECT names FROM missing)
    END AS fix
FROM subjects s
LEFT JOIN per_subject p USING (subject_no)
ORDER BY s.user_principal_name NULLS LAST, s.mattermost_user_id;
