SELECT min(ref_file(source_ref)), string_agg(ref_where(source_ref), ' and ' ORDER BY source_ref),
       'Mattermost user id ' || shown(id) || ' appears more than once; expected each once'
FROM raw_mm_users
GROUP BY id
HAVING count(*) > 1
LIMIT 1;
