alter table dealledger.ledger_position drop column names_sequence;
drop index if exists dealledger.ix_fact_versions_about;
