-- The people a notification with detail = "names" lists (reconcile/notify/names.py): this run's
-- blocking findings that are new since the previous run (drift = 'new', sql/drift/20_drift.sql; the
-- column exists with history on only) and open (an accepted finding, sql/exceptions/10_cover.sql,
-- asks nothing of anyone: left out). One row per person and rule, the first 20 by UPN then rule id,
-- with how many such rows there are in all. Findings with no UPN (the config, the tenant, an account
-- no Entra user links to) name nobody a channel could act on by UPN: they stay in the reports.
WITH picked AS (
    SELECT DISTINCT user_principal_name, rule_id
    FROM work.findings
    WHERE severity = 'blocking'
      AND drift = 'new'
      AND status = 'open'
      AND user_principal_name IS NOT NULL
)
SELECT user_principal_name, rule_id, count(*) OVER () AS total
FROM picked
ORDER BY user_principal_name, rule_id
LIMIT 20
