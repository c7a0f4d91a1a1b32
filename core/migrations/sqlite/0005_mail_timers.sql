-- WIT 0.2.2: module mail (HTML alternative, attachments, the module that sent it),
-- durable module timers, and each person's own time zone.

ALTER TABLE accounts ADD COLUMN time_zone TEXT;

ALTER TABLE mail_outbox ADD COLUMN html_body TEXT;
-- JSON list of {"file_name", "content_type", "content" (base64)}.
ALTER TABLE mail_outbox ADD COLUMN attachments TEXT;
ALTER TABLE mail_outbox ADD COLUMN source_plugin TEXT;

-- A timer fires by moving into event_outbox with one delivery, to its module only.
CREATE TABLE timers (
    id TEXT PRIMARY KEY,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    plugin_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled')),
    created_at INTEGER NOT NULL,
    fired_at INTEGER
);
CREATE INDEX timers_due ON timers(status, due_at);

-- Personal feeds (context.feed-url): a calendar client reads a module's /flux path as
-- one member, with a secret URL. The URL's secret is derived from `host_keys` and the
-- row id, never stored; revoking a row retires its URL.
CREATE TABLE host_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE feed_tokens (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    plugin_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX feed_tokens_owner ON feed_tokens(account_id, structure_id, plugin_id);
