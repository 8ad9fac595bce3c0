-- 0004_security: roles, grants and row-level security that mean what DESIGN §3 says, and the
-- publication a real Supabase Realtime streams from.
--
--   service_role   everything, on every table
--   authenticated  reads events, rollups and flags; reads and writes its own dashboard state
--                  (client_id = the 'sub' claim of its JWT); nothing of the dead letter queue
--   anon           nothing, unless an operator runs monitoring.set_anon_read(true), which lets
--                  it read events, rollups and flags
--
-- The roles are created only where they do not exist: on Supabase they do, with their own
-- attributes (service_role bypasses RLS there). Where telltale creates them they are plain
-- NOLOGIN roles: service_role has explicit policies on every table below, so it needs no
-- BYPASSRLS, which only a superuser may give (Supabase's `postgres` and a database's owner are
-- not superusers). telltale migrate checks beforehand that a missing role can be created
-- (CREATEROLE) and otherwise stops, changing nothing, with the CREATE ROLE statements to run.
--
-- Edited in place (it used to ask for BYPASSRLS and to assume it owned supabase_realtime): a
-- database that already ran it keeps what it has, and one that could not run it can now. The
-- only difference in the result is that BYPASSRLS, which no policy here relies on.
--
-- Roles belong to the whole cluster while telltale's migration lock is per database, so a
-- migration of another database may create a role between our check and our CREATE: that
-- race ends in duplicate_object, or unique_violation if we waited on its transaction.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; /* created meanwhile by another database's migration: just as good */
            END;
        END IF;
    END LOOP;
END
$$;

-- Who the caller is, from the JWT claims PostgREST, Supabase (and telltale) put in settings.
CREATE FUNCTION monitoring.current_client_id() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub');
$$;

-- Nothing is granted to PUBLIC in this schema; each role gets exactly its share.
REVOKE ALL ON SCHEMA monitoring FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA monitoring FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA monitoring FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA monitoring FROM PUBLIC;
GRANT USAGE ON SCHEMA monitoring TO anon, authenticated, service_role;
-- PostgreSQL makes every new function executable by PUBLIC, and a per-schema default
-- privilege cannot take that back (only a database-wide one could, which on a shared database
-- such as Supabase's would reach far beyond telltale). So the rule is: a migration that adds
-- a function to monitoring revokes PUBLIC's EXECUTE on it itself; tests/pg checks that no
-- function here is executable by PUBLIC.

GRANT ALL ON ALL TABLES IN SCHEMA monitoring TO service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA monitoring TO service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA monitoring TO service_role;

GRANT SELECT ON monitoring.monitoring_events, monitoring.metrics_rollup,
                monitoring.feature_flags TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON monitoring.dashboard_state TO authenticated;
GRANT EXECUTE ON FUNCTION monitoring.current_client_id() TO anon, authenticated;

ALTER TABLE monitoring.monitoring_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.dead_letter_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.feature_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.dashboard_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.metrics_rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring.schema_migrations ENABLE ROW LEVEL SECURITY;

CREATE POLICY service_role_all ON monitoring.monitoring_events
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.dead_letter_queue
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.feature_flags
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.dashboard_state
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.metrics_rollup
    FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_role_all ON monitoring.schema_migrations
    FOR ALL TO service_role USING (true) WITH CHECK (true);

CREATE POLICY authenticated_read ON monitoring.monitoring_events
    FOR SELECT TO authenticated USING (true);
CREATE POLICY authenticated_read ON monitoring.metrics_rollup
    FOR SELECT TO authenticated USING (true);
CREATE POLICY authenticated_read ON monitoring.feature_flags
    FOR SELECT TO authenticated USING (true);
CREATE POLICY authenticated_own_state ON monitoring.dashboard_state
    FOR ALL TO authenticated
    USING (client_id = monitoring.current_client_id())
    WITH CHECK (client_id = monitoring.current_client_id());

-- anon: the policies exist but grant nothing until the table privileges are given.
CREATE POLICY anon_read ON monitoring.monitoring_events FOR SELECT TO anon USING (true);
CREATE POLICY anon_read ON monitoring.metrics_rollup FOR SELECT TO anon USING (true);
CREATE POLICY anon_read ON monitoring.feature_flags FOR SELECT TO anon USING (true);

-- The operator's switch for anonymous read access (a public dashboard). Run it as the owner of
-- the schema (the role that ran telltale migrate).
CREATE FUNCTION monitoring.set_anon_read(p_enabled boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_enabled THEN
        GRANT SELECT ON monitoring.monitoring_events, monitoring.metrics_rollup,
                        monitoring.feature_flags TO anon;
    ELSE
        REVOKE SELECT ON monitoring.monitoring_events, monitoring.metrics_rollup,
                         monitoring.feature_flags FROM anon;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION monitoring.set_anon_read(boolean) FROM PUBLIC;

-- Change data capture: telltale's own publication, and Supabase's if this is Supabase and this
-- role may change it (its owner: `postgres` on Supabase); otherwise a notice says what to run.
CREATE PUBLICATION telltale_events FOR TABLE monitoring.monitoring_events;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_publication WHERE pubname = 'supabase_realtime')
       AND NOT EXISTS (SELECT FROM pg_publication_tables WHERE pubname = 'supabase_realtime'
                       AND schemaname = 'monitoring' AND tablename = 'monitoring_events') THEN
        IF pg_has_role((SELECT pubowner FROM pg_publication WHERE pubname = 'supabase_realtime'),
                       'USAGE') THEN
            ALTER PUBLICATION supabase_realtime ADD TABLE monitoring.monitoring_events;
        ELSE
            RAISE NOTICE 'for Supabase Realtime, run as the owner of publication '
                         'supabase_realtime: ALTER PUBLICATION supabase_realtime ADD TABLE '
                         'monitoring.monitoring_events';
        END IF;
    END IF;
END
$$;
