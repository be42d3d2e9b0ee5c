-- Hand-written: the API's role (0005_api_role.sql) moves the position's names_sequence with the rest of the position, as
-- every write does (the last write that touched a name fact; docs/security.md).
GRANT UPDATE (names_sequence) ON dealledger.ledger_position TO dealledger_api;
