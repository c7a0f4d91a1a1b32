-- Foundation schema: structures, installed plugin packages, enabled modules,
-- plugin documents scoped per (structure, plugin), and the durable event outbox.

CREATE TABLE structures (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('cpts', 'msp')),
    time_zone TEXT NOT NULL DEFAULT 'Europe/Paris',
    created_at INTEGER NOT NULL
);

CREATE TABLE plugin_packages (
    plugin_id TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    wit_version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    PRIMARY KEY (plugin_id, version)
);

CREATE TABLE structure_modules (
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    plugin_id TEXT NOT NULL,
    version TEXT NOT NULL,
    enabled_at INTEGER NOT NULL,
    PRIMARY KEY (structure_id, plugin_id),
    FOREIGN KEY (plugin_id, version) REFERENCES plugin_packages(plugin_id, version)
);

CREATE TABLE plugin_documents (
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    plugin_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (structure_id, plugin_id, collection, doc_id)
);

CREATE TABLE event_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    source_plugin TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
