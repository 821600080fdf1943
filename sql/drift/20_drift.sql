-- Drift since the baseline (the last stored run whose findings are a whole open set, chosen by
-- reconcile/drift.py), in variables: drift_run_id, drift_started (this run), drift_baseline (its
-- run_id, NULL on an empty store), drift_baseline_inputs (the inputs read completely in the
-- baseline, for its rows stored before observed_with existed; NULL when unknown).
--
-- A finding of the baseline that this run did not find resolves only when
--   * its rule ran in this run, and
--   * no input the rule can read failed in this run (a failed pull, a refused shrink), and
--   * every input that the rule read when the finding was last observed was read completely now:
--     an LDIF that went missing resolves nothing the LDAP export could have decided, while an input
--     a tenant never provides (no SAML captures) does not keep every finding open for ever.
-- Otherwise it is carried forward: stored again with this run, persisting, carried_forward, with its
-- first_seen and the inputs it was observed with, so a later complete run can resolve it. Findings of
-- rules that no longer exist are dropped: neither resolved (nothing checked them) nor kept.

CREATE OR REPLACE TABLE drift_input_state AS
SELECT coalesce(list(name ORDER BY name) FILTER (WHERE available AND NOT failed), []) AS complete,
       coalesce(list(name ORDER BY name) FILTER (WHERE failed), []) AS failed
FROM run_inputs;

CREATE OR REPLACE TABLE drift_rule_state AS
SELECT r.rule_id, r.status = 'ran' AS ran,
       coalesce(x.reads, []) AS reads,
       list_intersect(coalesce(x.reads, []), s.complete) AS complete_reads,
       len(list_intersect(coalesce(x.reads, []), s.failed)) > 0 AS read_failed
FROM drift_rules r
LEFT JOIN drift_rule_reads x USING (rule_id)
CROSS JOIN drift_input_state s;

CREATE OR REPLACE TABLE drift_baseline AS
SELECT f.* EXCLUDE (drift, first_seen, carried_forward, observed_with),
       finding_identity(f.rule_id, f.subject_type, f.entra_object_id, f.mattermost_user_id, f.observed) AS identity,
       coalesce(f.first_seen, (SELECT started_at FROM store.runs WHERE run_id = f.run_id)) AS first_seen,
       w.observed_with,
       r.rule_id IS NOT NULL AS rule_exists,
       coalesce(r.ran AND NOT r.read_failed AND list_has_all(s.complete, w.observed_with), false) AS resolvable
FROM store.findings f
LEFT JOIN drift_rule_state r USING (rule_id)
CROSS JOIN drift_input_state s
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.observed_with IS NOT NULL THEN f.observed_with
                -- stored before observed_with: what the baseline read completely, else everything it reads
                WHEN getvariable('drift_baseline_inputs') IS NOT NULL
                    THEN list_intersect(r.reads, getvariable('drift_baseline_inputs'))
                ELSE r.reads END AS observed_with
) AS w
WHERE f.run_id = getvariable('drift_baseline');

-- This run's findings, each new or persisting (first_seen kept from the baseline)
CREATE OR REPLACE TABLE findings AS
WITH known AS (
    SELECT identity, min(first_seen) AS first_seen FROM drift_baseline GROUP BY identity
)
SELECT f.*,
       CASE WHEN k.identity IS NULL THEN 'new' ELSE 'persisting' END AS drift,
       coalesce(k.first_seen, getvariable('drift_started')) AS first_seen,
       false AS carried_forward,
       r.complete_reads AS observed_with
FROM findings f
LEFT JOIN known k ON k.identity = finding_identity(f.rule_id, f.subject_type, f.entra_object_id,
                                                   f.mattermost_user_id, f.observed)
LEFT JOIN drift_rule_state r USING (rule_id);

CREATE OR REPLACE TABLE drift_gone AS
SELECT b.* FROM drift_baseline b
WHERE b.rule_exists
  AND b.identity NOT IN (SELECT finding_identity(rule_id, subject_type, entra_object_id, mattermost_user_id, observed)
                         FROM findings);

-- Still believed open: stored with this run, as persisting
INSERT INTO findings BY NAME
SELECT * EXCLUDE (identity, rule_exists, resolvable) REPLACE (getvariable('drift_run_id') AS run_id),
       'persisting' AS drift, true AS carried_forward
FROM drift_gone WHERE NOT resolvable;

-- Gone, and this run could have seen them: resolved.csv
CREATE OR REPLACE TABLE drift_resolved AS
SELECT * EXCLUDE (identity, rule_exists, resolvable) REPLACE (getvariable('drift_run_id') AS run_id),
       'resolved' AS drift, false AS carried_forward
FROM drift_gone WHERE resolvable;
