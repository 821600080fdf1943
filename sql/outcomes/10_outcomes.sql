-- After enablement (issue 15): did each prediction come true? Runs after readiness.sql, over the
-- run's readiness and Intune's kept registrations (sql/stage/50_intune_registrations.sql), and never
-- changes readiness: a registration is evidence about the prediction, not an input to it.
--   enrolled   a kept registration of the person whose lastSyncDateTime is at or after
--              getvariable('enrolled_since') (the run's start minus --enrolled-within days). Intune
--              records a managedAppRegistration only once the app completed MAM registration for the
--              user, and the app checks in while in use, so a recent sync means the person got
--              through. A registration with flaggedReasons (a jailbroken device) still counts: the
--              identity resolved; the device is Intune's concern.
--   outcome    will_fail + enrolled = false_alarm (a rule was wrong for this person), else
--              confirmed_will_fail; ready + enrolled = confirmed_ready, else ready_not_enrolled; at_risk
--              gives at_risk_enrolled / at_risk_not_enrolled; not_evaluated stays not_evaluated.
-- The people are the targeted Entra users (one row each, as in readiness.csv); accounts no targeted
-- person links to are not people here.

-- Each user's latest kept registration (by lastSyncDateTime): the one outcomes.csv shows.
INSERT INTO registration_latest
SELECT user_id_norm, bundle_id, last_sync_at, strftime(last_sync_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
       flagged_reasons,
       coalesce(last_sync_at >= getvariable('enrolled_since'), false) AS recent
FROM intune_registrations
WHERE kept
QUALIFY row_number() OVER (PARTITION BY user_id_norm
                           ORDER BY last_sync_at DESC NULLS LAST, created_at DESC NULLS LAST, registration_id) = 1;

INSERT INTO outcomes
WITH people AS (
    SELECT t.object_id_norm, coalesce(e.object_id, t.object_id_norm) AS entra_object_id
    FROM targeted t LEFT JOIN entra_users e USING (object_id_norm)
),
judged AS (
    SELECT r.entra_object_id, r.mattermost_user_id, r.user_principal_name, r.email, r.status AS readiness,
           r.rule_ids, r.failing_rule_ids, coalesce(g.recent, false) AS enrolled,
           g.last_sync,
           g.bundle_id, g.flagged_reasons
    FROM readiness r
    JOIN people p ON p.entra_object_id = r.entra_object_id
    LEFT JOIN registration_latest g ON g.user_id_norm = p.object_id_norm
    QUALIFY row_number() OVER (PARTITION BY r.entra_object_id ORDER BY r.mattermost_user_id NULLS LAST) = 1
)
SELECT entra_object_id, mattermost_user_id, user_principal_name, email, readiness, rule_ids, failing_rule_ids,
       enrolled, last_sync, bundle_id, flagged_reasons,
       CASE readiness
           WHEN 'will_fail' THEN CASE WHEN enrolled THEN 'false_alarm' ELSE 'confirmed_will_fail' END
           WHEN 'ready' THEN CASE WHEN enrolled THEN 'confirmed_ready' ELSE 'ready_not_enrolled' END
           WHEN 'at_risk' THEN CASE WHEN enrolled THEN 'at_risk_enrolled' ELSE 'at_risk_not_enrolled' END
           ELSE 'not_evaluated'
       END AS outcome
FROM judged
ORDER BY user_principal_name NULLS LAST, entra_object_id;
