-- 0006_flag_rules_state: targeting rules on feature flags (DESIGN §5 "Feature flags": a JSON
-- array of {"attribute","equals"|"in"}, checked in full by the daemon), an index that finds idle
-- dashboard clients for retention, and notifications of every change to flags and dashboard
-- state, so every instance on this database pushes them to its live clients (the change feed).
ALTER TABLE monitoring.feature_flags ADD COLUMN rules jsonb
    CHECK (rules IS NULL OR jsonb_typeof(rules) = 'array');
CREATE INDEX dashboard_state_updated_at ON monitoring.dashboard_state (updated_at);

-- Channel telltale_config, payload "flags" or "state:<client_id>" (client_id is at most 128
-- bytes, far below NOTIFY's 8000). Sent at commit, so a listener reads the committed rows.
CREATE FUNCTION monitoring.notify_flags() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('telltale_config', 'flags');
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION monitoring.notify_flags() FROM PUBLIC;

CREATE FUNCTION monitoring.notify_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('telltale_config', 'state:' || OLD.client_id);
    ELSE
        PERFORM pg_notify('telltale_config', 'state:' || NEW.client_id);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION monitoring.notify_state() FROM PUBLIC;

CREATE TRIGGER feature_flags_notify AFTER INSERT OR UPDATE OR DELETE ON monitoring.feature_flags
    FOR EACH STATEMENT EXECUTE FUNCTION monitoring.notify_flags();
CREATE TRIGGER dashboard_state_notify AFTER INSERT OR UPDATE OR DELETE ON monitoring.dashboard_state
    FOR EACH ROW EXECUTE FUNCTION monitoring.notify_state();
