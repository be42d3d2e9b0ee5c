-- Undoes 0005_api_role.sql in this database: its grants. The role itself is cluster-wide and may
-- serve other databases; drop it by hand (DROP ROLE dealledger_api) once no database grants it anything.
REVOKE ALL ON ALL TABLES IN SCHEMA dealledger, wolverine, wolverine_queues FROM dealledger_api;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA dealledger, wolverine, wolverine_queues FROM dealledger_api;
REVOKE ALL ON SCHEMA dealledger, wolverine, wolverine_queues FROM dealledger_api;
DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM dealledger_api', current_database()); END $$;
