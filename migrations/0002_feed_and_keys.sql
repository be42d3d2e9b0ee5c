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


CREATE INDEX ix_fact_versions_sequence ON dealledger.fact_versions USING btree (sequence);
CREATE TABLE IF NOT EXISTS dealledger.api_keys (
    name          varchar        NOT NULL,
    role          varchar        NOT NULL,
    key_hash      bytea          NOT NULL,
    created_at    timestamptz    NOT NULL,
    created_by    varchar        NOT NULL,
    revoked_at    timestamptz    NULL,
CONSTRAINT pkey_api_keys_name PRIMARY KEY (name)
);

CREATE UNIQUE INDEX ix_api_keys_hash ON dealledger.api_keys USING btree (key_hash);
alter table dealledger.holding_segments add column closed_sequence bigint NULL;
CREATE INDEX ix_holding_segments_sequence ON dealledger.holding_segments USING btree (sequence);
CREATE INDEX ix_holding_segments_closed_sequence ON dealledger.holding_segments USING btree (closed_sequence) WHERE (closed_sequence is not null);

-- Hand-written: segments closed before this migration learn which write closed them (the last
-- event recorded at that instant), so the change feed can tell followers about old writes too.
update dealledger.holding_segments h
   set closed_sequence = (select max(e.seq_id) from dealledger.mt_events e where e.timestamp = upper(h.recorded))
 where not upper_inf(h.recorded) and h.closed_sequence is null;
