-- Store schema version 1: the layout of every release before the schema_version table existed.
-- The kept history: one row per committed run, its rule outcomes, findings and readiness.
-- Snapshots of the staging tables (stg_<table>, tagged with run_id) are created by the store
-- on first use from the staging definitions, and pruned to the most recent runs.
--
-- Migrations (reconcile/store.py, migrate_store) run the files of this folder in name order, each
-- once, all pending ones in one transaction, and record each in store.schema_version. This one
-- keeps IF NOT EXISTS on purpose: a store written before versioning (it has `runs` but no
-- schema_version) is brought to version 1 by running it over that store, which only adds what
-- the oldest releases lacked (graph_delta_state) and touches nothing already there.

CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL,     -- complete | partial
    input_dir     VARCHAR,
    targeting     VARCHAR,
    tool_version  VARCHAR
);

CREATE TABLE IF NOT EXISTS rule_results (
    run_id        VARCHAR NOT NULL,
    rule_id       VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,     -- ran | skipped
    finding_count BIGINT,
    skip_reason   VARCHAR
);

CREATE TABLE IF NOT EXISTS findings (
    run_id              VARCHAR NOT NULL,
    rule_id             VARCHAR NOT NULL,
    severity            VARCHAR NOT NULL,
    subject_type        VARCHAR NOT NULL,
    entra_object_id     VARCHAR,
    mattermost_user_id  VARCHAR,
    user_principal_name VARCHAR,
    email               VARCHAR,
    observed            VARCHAR,
    expected            VARCHAR,
    predicted_error     VARCHAR,
    remediation         VARCHAR
);

CREATE TABLE IF NOT EXISTS readiness (
    run_id              VARCHAR NOT NULL,
    entra_object_id     VARCHAR,
    mattermost_user_id  VARCHAR,
    user_principal_name VARCHAR,
    email               VARCHAR,
    status              VARCHAR NOT NULL,
    predicted_error     VARCHAR,
    rule_ids            VARCHAR,
    fix                 VARCHAR
);

-- Incremental Entra pulls: the Graph delta link of the last committed run per source (saved in
-- the same transaction as that run, never earlier), and that run's raw user objects, which the
-- next delta round is applied to (stg_entra_user_raw, kept while the state points at its run).
CREATE TABLE IF NOT EXISTS graph_delta_state (
    source_key  VARCHAR PRIMARY KEY,   -- Graph base URL and tenant
    delta_link  VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    saved_at    TIMESTAMPTZ NOT NULL
);
