drop index if exists dealledger.ix_fact_versions_sequence;
DROP TABLE IF EXISTS dealledger.api_keys CASCADE;
drop index if exists dealledger.ix_holding_segments_sequence;
drop index if exists dealledger.ix_holding_segments_closed_sequence;
alter table dealledger.holding_segments drop column closed_sequence;
