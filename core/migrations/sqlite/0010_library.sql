-- The national library (« bibliothèque nationale »): entries published by a structure
-- through a module, read by the same module in every structure. The one set of tables
-- not led by structure_id: reads are scoped by module_id, writes by (module_id,
-- owner_structure_id). See core/src/library/ and docs/cloud-library-design.md (A.4).
CREATE TABLE library_entries (
    id INTEGER PRIMARY KEY,
    module_id TEXT NOT NULL,
    owner_structure_id INTEGER NOT NULL REFERENCES structures(id),
    -- The module's reference (its document id); given back to the owner only.
    source_ref TEXT NOT NULL DEFAULT '',
    current_version INTEGER NOT NULL,
    -- Copied from the current version, for listing and search.
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of the tags as given (deduplicated).
    tags TEXT NOT NULL,
    -- 'cc-by' | 'cc-by-sa' | 'cc-by-nc' | 'cc0' | 'etalab' | 'all-rights-reserved'
    licence TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('markdown', 'file')),
    -- ' ' || fold(title) || ' ' || fold(each tag) || ' ': ranks title/tag hits first.
    head_folded TEXT NOT NULL,
    first_published_at INTEGER NOT NULL,
    -- The current version's publication.
    updated_at INTEGER NOT NULL,
    withdrawn_at INTEGER,
    withdrawn_by INTEGER REFERENCES accounts(id),
    hidden_at INTEGER,
    hidden_by INTEGER REFERENCES accounts(id),
    hidden_reason TEXT
);
CREATE INDEX library_entries_recent ON library_entries (module_id, updated_at DESC, id DESC);
CREATE INDEX library_entries_owner ON library_entries (owner_structure_id, module_id, updated_at DESC, id DESC);
CREATE INDEX library_entries_ref ON library_entries (owner_structure_id, module_id, source_ref);

-- Every version ever published; never updated (a legal purge only empties body/object).
CREATE TABLE library_versions (
    entry_id INTEGER NOT NULL REFERENCES library_entries(id),
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    licence TEXT NOT NULL,
    note TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('markdown', 'file')),
    -- The Markdown text, kind 'markdown'.
    body TEXT,
    -- Kind 'file': as the module's blob was named, typed and hashed.
    file_name TEXT,
    content_type TEXT,
    size INTEGER,
    sha256 TEXT,
    -- 'library/{module}/{random}': the host's copy of the blob's object.
    object_key TEXT UNIQUE,
    published_at INTEGER NOT NULL,
    published_by INTEGER NOT NULL REFERENCES accounts(id),
    purged_at INTEGER,
    PRIMARY KEY (entry_id, number)
);

CREATE TABLE library_entry_tags (
    module_id TEXT NOT NULL,
    -- Folded (storage::collections::fold).
    tag TEXT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES library_entries(id),
    -- As given, for display.
    label TEXT NOT NULL,
    PRIMARY KEY (module_id, tag, entry_id)
);
-- A new version replaces its entry's tag rows.
CREATE INDEX library_entry_tags_entry ON library_entry_tags (entry_id);

-- Search text of each entry's current version (rowid = library_entries.id), folded by
-- the host before it is written: head = title and tags, body = the Markdown text.
-- Contentless: the text lives in library_versions; a new version deletes and inserts the
-- row (contentless_delete needs SQLite 3.43+; the bundled one is 3.46).
CREATE VIRTUAL TABLE library_fts USING fts5(
    head, body, content='', contentless_delete=1, prefix='2 3',
    tokenize='unicode61 remove_diacritics 0'
);

-- A proposal waits for its author's confirmation on the host page (one hour, once).
CREATE TABLE library_proposals (
    -- SHA-256 of the token in the URL (invariant 8).
    token_hash TEXT PRIMARY KEY,
    module_id TEXT NOT NULL,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    new_version_of INTEGER REFERENCES library_entries(id),
    -- JSON: title, description, tags, licence, note, source_ref, return_path, and either
    -- "markdown": text or "file": {"blob_id", "name", "content_type", "size", "sha256"}.
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX library_proposals_expiry ON library_proposals (expires_at);
