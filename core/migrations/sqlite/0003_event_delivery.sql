-- Delivery of outbox events to subscribed modules: one row per (event, subscriber),
-- retried with backoff, "dead" after the last attempt (the admins' dead-letter list).

ALTER TABLE event_outbox ADD COLUMN fanned_out INTEGER NOT NULL DEFAULT 0;
CREATE INDEX event_outbox_pending_fan_out ON event_outbox(fanned_out, id);

CREATE TABLE event_deliveries (
    event_id INTEGER NOT NULL REFERENCES event_outbox(id),
    plugin_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (event_id, plugin_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries(status, next_attempt_at);
