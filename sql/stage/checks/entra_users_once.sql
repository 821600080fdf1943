-- The same person twice in one export means pages were concatenated wrongly: stop, don't guess.
-- The duplicate key is found first; only its records are then collected for the message.
WITH duplicate AS (SELECT guid_norm(id) AS k FROM raw_entra_users GROUP BY guid_norm(id) HAVING count(*) > 1 LIMIT 1)
SELECT min(ref_file(source_ref)), string_agg(ref_where(source_ref), ' and ' ORDER BY source_ref),
       'Entra objectId ' || shown(any_value(k)) || ' appears more than once; expected each once'
FROM raw_entra_users JOIN duplicate ON guid_norm(id) = duplicate.k
HAVING count(*) > 0;
