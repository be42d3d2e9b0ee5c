CREATE INDEX ix_holding_segments_current ON dealledger.holding_segments USING btree (holder, subject, valid) WHERE (upper_inf(recorded));
