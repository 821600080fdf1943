WITH duplicate AS (SELECT lower(dn) AS k FROM raw_ldap_users GROUP BY lower(dn) HAVING count(*) > 1 LIMIT 1)
SELECT min(ref_file(source_ref)), string_agg(ref_where(source_ref), ' and ' ORDER BY source_ref),
       'DN ' || shown(any_value(k)) || ' appears more than once; expected each once'
FROM raw_ldap_users JOIN duplicate ON lower(dn) = duplicate.k
HAVING count(*) > 0;
