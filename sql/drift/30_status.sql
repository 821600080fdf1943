-- Status changes since the baseline (issue 13), once sql/exceptions/10_cover.sql has judged every
-- finding of work.findings (carried forward ones included) by tonight's exceptions file. A persisting
-- finding whose status changed is a change, not "persisting":
--   accepted  open in the baseline, accepted now (someone decided to live with it)
--   reopened  accepted in the baseline, open now: its entry expired, was removed or no longer fits.
--             It counts for --fail-on-new-only like a new finding: the decision ran out.
-- A baseline row stored before status existed reads open.
UPDATE findings
SET drift = CASE WHEN findings.status = 'accepted' THEN 'accepted' ELSE 'reopened' END
FROM (SELECT identity, bool_or(coalesce(status, 'open') = 'accepted') AS was_accepted
      FROM drift_baseline GROUP BY identity) AS b
WHERE findings.drift = 'persisting'
  AND b.identity = finding_identity(findings.rule_id, findings.subject_type, findings.entra_object_id,
                                    findings.mattermost_user_id, findings.observed)
  AND b.was_accepted <> (findings.status = 'accepted');
