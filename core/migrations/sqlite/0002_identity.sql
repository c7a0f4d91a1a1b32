-- Identity and tenancy: accounts, sessions, single-use tokens, login throttling,
-- memberships with roles, groups, module grants, the audit log and the mail outbox.

ALTER TABLE structures ADD COLUMN territory TEXT NOT NULL DEFAULT '';

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    username TEXT UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    -- argon2id PHC string; NULL until the invitation is accepted.
    password_hash TEXT,
    platform_operator INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 of the cookie value: a leaked database does not leak live sessions.
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    persistent INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_scope ON login_failures(scope, at);

CREATE TABLE memberships (
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'member')),
    directory_manager INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (structure_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);

CREATE TABLE work_groups (
    id INTEGER PRIMARY KEY,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    open INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (structure_id, name)
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES work_groups(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('referent', 'active', 'guest')),
    PRIMARY KEY (group_id, account_id)
);

CREATE TABLE group_join_requests (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES work_groups(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    decided_by INTEGER REFERENCES accounts(id),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX group_join_requests_pending ON group_join_requests(group_id, account_id) WHERE status = 'pending';

-- Capabilities a structure admin granted to a module (JSON array of strings).
ALTER TABLE structure_modules ADD COLUMN granted TEXT NOT NULL DEFAULT '[]';

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id INTEGER REFERENCES accounts(id),
    actor_label TEXT NOT NULL,
    -- NULL for platform-wide actions (plugin packages).
    structure_id INTEGER REFERENCES structures(id),
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_structure ON audit_log(structure_id, id);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    structure_id INTEGER REFERENCES structures(id),
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
