-- Hand-written: the database role the API runs as (docs/security.md).
--
-- dealledger_api is a NOLOGIN group role: operators create a LOGIN role that is a member of it
-- (GRANT dealledger_api TO ...) and give the API that login; migrations, rebuilds and the CLI keep
-- the owner. It may read everything the API answers from and append to the log, but it owns
-- nothing, so it can never ALTER, DROP or TRUNCATE a table, and it holds no UPDATE or DELETE on
-- the stored events or the seals: a leaked API connection can add facts (which the write rules
-- and the seals see) but cannot rewrite or remove the past.
--
-- Roles are cluster-wide, grants are per database: the role is created only if missing (several
-- ledgers, or a test run's many databases, share one cluster), the grants below are this database's.

DO $$
BEGIN
  CREATE ROLE dealledger_api NOLOGIN;
EXCEPTION
  -- Already there (another database of this cluster made it), possibly at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
  -- A role of that name made by hand with more powers, or inheriting another role's privileges,
  -- would silently undo everything below.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dealledger_api'
             AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role dealledger_api exists with superuser, createrole, createdb, replication or bypassrls: remove those attributes first';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'dealledger_api') THEN
    RAISE EXCEPTION 'role dealledger_api is a member of other roles (it would inherit their privileges): revoke those memberships first';
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO dealledger_api', current_database());
END
$$;

-- Start from nothing in this database, then grant exactly what the API uses.
REVOKE ALL ON ALL TABLES IN SCHEMA dealledger, wolverine, wolverine_queues FROM dealledger_api;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA dealledger, wolverine, wolverine_queues FROM dealledger_api;
GRANT USAGE ON SCHEMA dealledger, wolverine, wolverine_queues TO dealledger_api;

-- The log: read and append, never change. Rich appends take the next sequence themselves and
-- move each stream's version forward (the same statement also locks the stream's row).
GRANT SELECT, INSERT ON dealledger.mt_events TO dealledger_api;
GRANT USAGE ON SEQUENCE dealledger.mt_events_sequence TO dealledger_api;
GRANT SELECT, INSERT, UPDATE (version, timestamp) ON dealledger.mt_streams TO dealledger_api;

-- The seals: the API seals continuously, appending links; it never rewrites one.
GRANT SELECT, INSERT ON dealledger.seals TO dealledger_api;

-- The projections, kept in each write's own transaction. Bitemporal rows are closed (their
-- recorded range ends), never deleted; only the columns a write moves are updatable.
GRANT SELECT, INSERT ON dealledger.organizations, dealledger.sources, dealledger.deals TO dealledger_api;
GRANT SELECT, INSERT, UPDATE (recorded) ON dealledger.fact_versions TO dealledger_api;
GRANT SELECT, INSERT, UPDATE (recorded, closed_sequence) ON dealledger.holding_segments TO dealledger_api;
GRANT SELECT, INSERT, UPDATE (last_sequence, last_recorded_at) ON dealledger.ledger_position TO dealledger_api;
GRANT USAGE ON SEQUENCE dealledger.fact_versions_id_seq, dealledger.holding_segments_id_seq TO dealledger_api;

-- API keys: created and revoked over HTTP (admin role); a revoked key stays, named, forever.
GRANT SELECT, INSERT, UPDATE (revoked_at) ON dealledger.api_keys TO dealledger_api;

-- Wolverine's durable outbox, node registry and PostgreSQL queue: messages come and go, so
-- these are read-write (rows only; the tables themselves come from migrations).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA wolverine, wolverine_queues TO dealledger_api;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA wolverine, wolverine_queues TO dealledger_api;
