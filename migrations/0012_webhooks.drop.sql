DROP TABLE IF EXISTS dealledger.webhook_subscriptions CASCADE;
DROP TABLE IF EXISTS dealledger.webhook_deliveries CASCADE;
