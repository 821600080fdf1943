-- Accepted exceptions (issue 13). Idempotent (IF NOT EXISTS), like 0002.
-- findings: status             open | accepted (rows stored before this layout were all open)
--           exception_reason, exception_owner, exception_expires: the entry that accepted it
ALTER TABLE findings ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'open';
ALTER TABLE findings ADD COLUMN IF NOT EXISTS exception_reason VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS exception_owner VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS exception_expires DATE;
UPDATE findings SET status = 'open' WHERE status IS NULL;

-- readiness: accepted   every finding that gives the person's will_fail or at_risk status is accepted
--                       (NULL: stored before this layout)
ALTER TABLE readiness ADD COLUMN IF NOT EXISTS accepted BOOLEAN;

-- runs: the drift counts of findings that became accepted, and of accepted findings open again
ALTER TABLE runs ADD COLUMN IF NOT EXISTS drift_accepted BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS drift_reopened BIGINT;
