-- rule: OUTCOME_FALSE_ALARM
-- severity: warning
-- owner: mattermost_admin
-- title: Predicted to fail enrollment, but Intune shows the person enrolled: a rule was wrong for them
-- change: nothing on the account: report the rules named in observed
-- depends_on: intune_registrations, entra_users, entra_licenses, mattermost_users, mattermost_config, mattermost_license
-- requires: graph DeviceManagementApps.Read.All, User.Read.All; mattermost manage_system
-- predicted_error: none: the person enrolled; the prediction was wrong
-- remediation: Report this to the reconcile maintainers with the rule ids in observed (no personal data needed): those rules predicted a failure that did not happen on this tenant and need a look
-- Issue 15. Runs after readiness (sql/outcomes/10_outcomes.sql) and never changes it. A person is
-- enrolled when Intune holds a managedAppRegistration of a Mattermost iOS bundle id for them synced
-- within --enrolled-within days of the run (Graph: managedAppRegistration, lastSyncDateTime); Intune
-- records one only after the app completed MAM registration for that user, so enrolled means the
-- identity resolved. observed names every rule whose blocking finding made the person will_fail
-- (readiness' failing_rule_ids), config and tenant findings that fail everyone included. It depends on
-- every input readiness needs to judge anyone: when one failed, readiness is a guess, and so would be
-- a "false alarm" (the rule is skipped and its findings carried forward, never resolved by a gap).
-- Near miss: a will_fail person whose only registration synced before the window is
-- confirmed_will_fail, no finding (tests/test_outcomes.py).
SELECT 'user' AS subject_type, o.entra_object_id, o.mattermost_user_id, o.user_principal_name, o.email,
       'predicted will_fail by ' || replace(o.failing_rule_ids, ';', ', ') || '; Intune: ' || o.bundle_id
           || ' registered, last sync ' || o.last_sync
           || coalesce(' (flagged: ' || o.flagged_reasons || ')', '') AS observed,
       'no Mattermost registration within ' || getvariable('enrolled_within_days') || ' days, as predicted'
           AS expected,
       NULL AS remediation
FROM outcomes o
WHERE o.outcome = 'false_alarm'
