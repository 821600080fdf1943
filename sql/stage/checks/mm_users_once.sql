WITH duplicate AS (SELECT id AS k FROM raw_mm_users GROUP BY id HAVING count(*) > 1 LIMIT 1)
SELECT min(ref_file(source_ref)), string_agg(ref_where(source_ref), ' and ' ORDER BY source_ref),
       'Mattermost user id ' || shown(any_value(k)) || ' appears more than once; expected each once'
FROM raw_mm_users JOIN duplicate ON id = duplicate.k
HAVING count(*) > 0;
