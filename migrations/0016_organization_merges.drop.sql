DROP TABLE IF EXISTS dealledger.organization_merges CASCADE;
