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


CREATE TABLE IF NOT EXISTS dealledger.seals (
    sequence     bigint         NOT NULL,
    event_id     uuid           NOT NULL,
    link         bytea          NOT NULL,
    sealed_at    timestamptz    NOT NULL,
CONSTRAINT pkey_seals_sequence PRIMARY KEY (sequence)
);
