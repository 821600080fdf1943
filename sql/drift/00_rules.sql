-- The run's rules as drift needs them: whether each ran, and the inputs its header depends on.
-- Filled by reconcile/drift.py from the rule files (the headers are parsed in Python), one row per rule.
CREATE OR REPLACE TABLE drift_rules (
    rule_id    VARCHAR PRIMARY KEY,
    status     VARCHAR NOT NULL,     -- ran | skipped
    depends_on VARCHAR[] NOT NULL
);
