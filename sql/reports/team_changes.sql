-- The directory-team CSVs (reconcile/report/team_csv.py): one row per account (or tenant object)
-- and change, with the team that carries it out (the rule header's "owner") and what it changes
-- (the header's "change"). Reads two views the caller defines: report_findings (one run's
-- findings: work.findings, or store.findings of a stored run) and report_rules (rule_id, owner,
-- change, from the rule headers), for the team in the variable report_owner. Only blocking and warning findings: info findings ask for no change.
-- Findings of several rules that ask for the same change of the same account (auth_data bound by
-- email, and the SAML capture that shows it) share a row; their rule ids are listed together.
-- Accepted findings (issue 13) ask for no change until their exception expires: left out (a stored
-- run from before exceptions has no accepted findings: status NULL reads open).
WITH owned AS (
    SELECT f.*, coalesce(r.change, f.rule_id) AS change, CASE f.severity WHEN 'blocking' THEN 1 ELSE 2 END AS rank
    FROM report_findings f
    LEFT JOIN report_rules r USING (rule_id)
    WHERE f.severity IN ('blocking', 'warning')
      AND coalesce(f.status, 'open') = 'open'
      -- a rule no longer in sql/rules (a stored run's retired rule) falls to the default owner
      AND coalesce(r.owner, 'mattermost_admin') = getvariable('report_owner')
)
SELECT CASE min(rank) WHEN 1 THEN 'blocking' ELSE 'warning' END AS severity,
       entra_object_id,
       any_value(user_principal_name) AS user_principal_name,
       mattermost_user_id,
       any_value(email) AS email,
       any_value(subject_type) AS subject_type,
       string_agg(DISTINCT rule_id, ';' ORDER BY rule_id) AS rule_ids,
       change,
       string_agg(DISTINCT observed, ' | ' ORDER BY observed) AS current_value,
       expected AS new_value,
       -- the remediation with this account's id filled in: the exact call, not a template
       string_agg(DISTINCT replace(remediation, '{user_id}', coalesce(mattermost_user_id, '{user_id}')), ' | '
                  ORDER BY replace(remediation, '{user_id}', coalesce(mattermost_user_id, '{user_id}'))) AS how,
       arg_min(predicted_error, (rank, rule_id)) AS predicted_error
FROM owned
GROUP BY entra_object_id, mattermost_user_id, change, expected
ORDER BY min(rank), user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST, change, new_value
