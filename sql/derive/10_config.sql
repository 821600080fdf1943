-- The Mattermost settings the user rules need, with the selected auth service normalised.
-- MM_INTUNE_CONFIG_INVALID reports the exact value; rules compare accounts with the normal form
-- so a mis-cased setting does not hide every user-level problem behind one config finding.
CREATE OR REPLACE VIEW v_config AS
SELECT *, lower(trim(intune_auth_service)) AS selected_service
FROM mm_config;
