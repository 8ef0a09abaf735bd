-- Pushes fanned out exactly once (issue 17, items 3 and 4): a fan-out claims its key
-- (moment:<user>:<day>, n:<notification>) in the transaction that queues its deliveries,
-- so a retried or duplicated fan-out job, on any instance, queues nothing twice.
-- depends: 20261207_50_push_devices

CREATE TABLE push_claims (
    key        text PRIMARY KEY,
    created_at timestamptz NOT NULL
);

CREATE INDEX push_claims_created_at_idx ON push_claims (created_at);
