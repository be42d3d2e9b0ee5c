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


drop index if exists dealledger.ix_holding_segments_pair;
drop index if exists dealledger.ix_holding_segments_subject;
CREATE INDEX ix_holding_segments_pair ON dealledger.holding_segments USING gist (hashtextextended(holder, CAST('0' as bigint)), hashtextextended(subject, CAST('0' as bigint)), recorded, valid);
CREATE INDEX ix_holding_segments_subject ON dealledger.holding_segments USING gist (hashtextextended(subject, CAST('0' as bigint)), recorded, valid);
