-- 0005_daemon_privileges: what the daemon's own login role needs, and what later migrations'
-- objects give it without each one saying so.
--
-- The daemon need not run as the role that migrates: it runs as a member of service_role
-- (docs/OPERATIONS.md, "PostgreSQL: roles and privileges"):
--
--   CREATE ROLE telltale_app LOGIN PASSWORD '...';
--   GRANT service_role TO telltale_app;
--
-- service_role has every privilege on the tables, sequences and functions of 0001-0004 (0004
-- granted them on what existed then). The default privileges below give service_role the same
-- on whatever a later migration creates, when it is run by the same role as this one, so a new
-- table never answers the daemon "permission denied". Functions still have PUBLIC's EXECUTE
-- revoked by the migration that adds them (see 0004).
ALTER DEFAULT PRIVILEGES IN SCHEMA monitoring GRANT ALL ON TABLES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA monitoring GRANT ALL ON SEQUENCES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA monitoring GRANT EXECUTE ON FUNCTIONS TO service_role;
