-- Data API: the collections each plugin declared (the schema the host applied), blob
-- metadata, and leases so that several hosts on one database deliver each event once.

CREATE TABLE plugin_collections (
    plugin_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    table_name TEXT NOT NULL UNIQUE,
    -- JSON of the declared collection, as last applied.
    schema TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, collection)
);

CREATE TABLE blobs (
    structure_id BIGINT NOT NULL REFERENCES structures(id),
    plugin_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (structure_id, plugin_id, id)
);

-- A host claims a delivery until `lease_until`; another host takes it only after that.
ALTER TABLE event_deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE event_deliveries ADD COLUMN leased_by TEXT;
-- Which host delivered it: lets the two-host test (and an operator) see the split.
ALTER TABLE event_deliveries ADD COLUMN delivered_by TEXT;
