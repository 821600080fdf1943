-- rule: EXCEPTION_EXPIRED
-- severity: warning
-- owner: mattermost_admin
-- title: An accepted exception has expired: the findings it covered are open again
-- change: exceptions file entry (renew or remove it)
-- depends_on: exceptions
-- requires: none
-- predicted_error: none by itself: the finding the entry accepted is open again and predicts its own error
-- remediation: Fix the finding the entry names, or decide again: set a new expires (at most 365 days ahead) with a reason and an owner, or remove the entry
-- Issue 13: an entry is valid through its expires date (UTC); from the next day it covers nothing
-- (sql/exceptions/10_cover.sql) and gives this finding instead, one per entry. An expired entry is
-- never also EXCEPTION_UNUSED. The person columns carry the entry's subject when it names a person.
SELECT 'exception' AS subject_type,
       CASE WHEN subject = 'entra_object_id' THEN value END AS entra_object_id,
       CASE WHEN subject = 'mattermost_user_id' THEN value END AS mattermost_user_id,
       CASE WHEN subject = 'user_principal_name' THEN value END AS user_principal_name,
       NULL AS email,
       'rule ' || rule_id || ', ' || CASE WHEN subject = 'config' THEN 'subject=config' ELSE subject || '=' || value END
           || ': expired ' || strftime(expires, '%Y-%m-%d') AS observed,
       'an entry valid on the run''s date, or the finding fixed' AS expected,
       'exception ' || position || coalesce(' (line ' || line || ')', '') || ' of ' || file
           || ' (owner ' || owner || ', reason: ' || reason || '): fix the finding, or renew or remove the entry'
           AS remediation
FROM exception_entries
WHERE expired;
