alter table dealledger.ledger_position drop column projection_version;
