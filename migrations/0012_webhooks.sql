DO $$
BEGIN      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'dealledger') THEN
        BEGIN
          EXECUTE 'CREATE SCHEMA IF NOT EXISTS dealledger';
        EXCEPTION
          WHEN duplicate_schema THEN NULL;
          WHEN unique_violation THEN NULL;
        END;
      END IF;

END
$$;


CREATE TABLE IF NOT EXISTS dealledger.webhook_subscriptions (
    id                 varchar        NOT NULL,
    url                varchar        NOT NULL,
    secret             varchar        NOT NULL,
    org                varchar        NULL,
    holder             varchar        NULL,
    subject            varchar        NULL,
    kind               varchar        NULL,
    created_at         timestamptz    NOT NULL,
    created_by         varchar        NOT NULL,
    deleted_at         timestamptz    NULL,
    delivered_up_to    bigint         NOT NULL,
    next_attempt_at    timestamptz    NULL,
CONSTRAINT pkey_webhook_subscriptions_id PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS dealledger.webhook_deliveries (
    id                  uuid           NOT NULL,
    subscription_id     varchar        NOT NULL,
    after_sequence      bigint         NOT NULL,
    sequence            bigint         NOT NULL,
    status              varchar        NOT NULL,
    attempts            integer        NOT NULL,
    first_attempt_at    timestamptz    NOT NULL,
    last_attempt_at     timestamptz    NOT NULL,
    delivered_at        timestamptz    NULL,
    response_status     integer        NULL,
    error               varchar        NULL,
CONSTRAINT pkey_webhook_deliveries_id PRIMARY KEY (id)
);

CREATE INDEX ix_webhook_deliveries_subscription ON dealledger.webhook_deliveries USING btree (subscription_id, sequence);
