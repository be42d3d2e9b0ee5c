alter table dealledger.holding_segments alter column finding type jsonb;
alter table dealledger.fact_versions alter column state type jsonb;
