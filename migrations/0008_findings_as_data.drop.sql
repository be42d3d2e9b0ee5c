alter table dealledger.holding_segments alter column finding type jsonb;
