drop index if exists dealledger.ix_fact_versions_about;
