-- Expired idempotency keys are pruned by age (hourly, in slices of 1,000).
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
