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


CREATE TABLE IF NOT EXISTS dealledger.organization_merges (
    id                 BIGSERIAL    NOT NULL,
    duplicate          varchar      NOT NULL,
    merged_into        varchar      NOT NULL,
    recorded           tstzrange    NOT NULL,
    sequence           bigint       NOT NULL,
    closed_sequence    bigint       NULL,
    reason             varchar      NOT NULL,
    writer             varchar      NOT NULL,
    undo_reason        varchar      NULL,
    undo_writer        varchar      NULL,
CONSTRAINT pkey_organization_merges_id PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_organization_merges_current ON dealledger.organization_merges USING btree (duplicate) WHERE (upper_inf(recorded));
-- Hand-written: the API's role (0005_api_role.sql) records merges and undos as every write keeps its projections
-- (docs/security.md): it inserts a merge and closes it, never rewrites what was merged.
GRANT SELECT, INSERT, UPDATE (recorded, closed_sequence, undo_reason, undo_writer) ON dealledger.organization_merges TO dealledger_api;
GRANT USAGE ON SEQUENCE dealledger.organization_merges_id_seq TO dealledger_api;
