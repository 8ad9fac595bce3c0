-- 0004_flag_rules_state: targeting rules on feature flags (DESIGN §5 "Feature flags": a JSON
-- array of {"attribute","equals"|"in"}, checked in full by the daemon), and an index that finds
-- idle dashboard clients for retention. As migrations/postgres has them.
ALTER TABLE feature_flags ADD COLUMN rules TEXT
    CHECK (rules IS NULL OR (json_valid(rules) AND json_type(rules) = 'array'));
CREATE INDEX dashboard_state_updated_at ON dashboard_state (updated_at);
