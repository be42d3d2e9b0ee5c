-- Hand-written: what the API's role (0005_api_role.sql) may do with webhook subscriptions (docs/security.md).
-- It creates and removes subscriptions (admin keys), and moves each one's position and retry time as it delivers;
-- it records every delivery's outcome. Nothing is ever deleted: a removed subscription keeps its row and its deliveries.
GRANT SELECT, INSERT, UPDATE (deleted_at, delivered_up_to, next_attempt_at) ON dealledger.webhook_subscriptions TO dealledger_api;
GRANT SELECT, INSERT, UPDATE (status, attempts, last_attempt_at, delivered_at, response_status, error) ON dealledger.webhook_deliveries TO dealledger_api;
