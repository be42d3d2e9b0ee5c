drop index if exists dealledger.ix_fact_versions_pair;
CREATE INDEX ix_fact_versions_pair ON dealledger.fact_versions USING btree (holder, subject, sequence) WHERE (upper_inf(recorded));
