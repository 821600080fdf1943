-- Drift that can be trusted (issue 11): what each finding's history needs, and what each run read.
-- Idempotent (IF NOT EXISTS), so it can run on every attach until the migration runner applies it once.

-- findings: drift        new | persisting (NULL: stored by a run without history, or before this layout)
--           first_seen   when the run that first saw it started
--           carried_forward  not found by this run, but not resolvable either (its rule was skipped or a
--                        source it reads was not read completely): still believed open
--           observed_with    the inputs its rule read completely when it was last observed (drift.sql)
ALTER TABLE findings ADD COLUMN IF NOT EXISTS drift VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS first_seen TIMESTAMPTZ;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS carried_forward BOOLEAN DEFAULT false;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS observed_with VARCHAR[];

-- runs: the drift counts of findings.csv and resolved.csv (NULL: the run had history off)
ALTER TABLE runs ADD COLUMN IF NOT EXISTS drift_new BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS drift_persisting BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS drift_resolved BIGINT;

-- What each run read of each input (work.run_inputs): `reconcile history` shows it, and the next run
-- compares its row counts with it (a source that shrank too much is treated as failed).
CREATE TABLE IF NOT EXISTS run_sources (
    run_id    VARCHAR NOT NULL,
    name      VARCHAR NOT NULL,
    file      VARCHAR,
    rows      BIGINT,
    available BOOLEAN NOT NULL,
    failed    BOOLEAN NOT NULL,
    note      VARCHAR,
    PRIMARY KEY (run_id, name)
);
