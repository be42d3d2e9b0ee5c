drop index if exists dealledger.ix_holding_segments_pair;
CREATE INDEX ix_holding_segments_pair ON dealledger.holding_segments USING gist (holder, subject, recorded, valid);
drop index if exists dealledger.ix_holding_segments_subject;
CREATE INDEX ix_holding_segments_subject ON dealledger.holding_segments USING gist (subject, recorded, valid);
