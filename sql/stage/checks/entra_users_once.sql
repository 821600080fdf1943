-- The same person twice in one export means pages were concatenated wrongly: stop, don't guess.
SELECT min(ref_file(source_ref)), string_agg(ref_where(source_ref), ' and ' ORDER BY source_ref),
       'Entra objectId ' || shown(guid_norm(id)) || ' appears more than once; expected each once'
FROM raw_entra_users
GROUP BY guid_norm(id)
HAVING count(*) > 1
LIMIT 1;
