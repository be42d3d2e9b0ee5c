DO $$
BEGIN      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'dealledger') THEN
        BEGIN
          EXECUTE 'CREATE SCHEMA IF NOT EXISTS dealledger';
        EXCEPTION
          WHEN duplicate_schema THEN NULL;
          WHEN unique_violation THEN NULL;
        END;
      END IF;

END
$$;


alter table dealledger.ledger_position add column names_sequence bigint NOT NULL DEFAULT 0;
CREATE INDEX ix_fact_versions_about ON dealledger.fact_versions USING btree (subject, type) WHERE (holder is null and subject is not null);
