DROP INDEX IF EXISTS dealledger.ix_holding_segments_current;
