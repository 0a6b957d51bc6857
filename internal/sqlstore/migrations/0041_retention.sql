-- Indexes the retention sweeper deletes through, oldest first (internal/retention).
CREATE INDEX idempotency_created ON idempotency (created_at);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);
CREATE INDEX notices_created ON notices (created_at);
