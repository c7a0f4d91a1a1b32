-- WIT 0.2.3: roles declared by modules and granted per member, what the structure knows
-- of its members (people), and the indemnity rule sets with each structure's choices.

-- A module role (e.g. the indemnity module's "tresorier") held by a member.
CREATE TABLE module_roles (
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    plugin_id TEXT NOT NULL,
    role TEXT NOT NULL,
    granted_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (structure_id, account_id, plugin_id, role)
);

-- « Fiche membre »: set by the structure's admins. `suggested_*` come from a module
-- (`people.suggest`, the directory) and are used while the admin set nothing.
CREATE TABLE member_facts (
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    profession TEXT,
    exercise_mode TEXT NOT NULL DEFAULT 'inconnu'
        CHECK (exercise_mode IN ('liberal', 'salarie', 'autre', 'inconnu')),
    employer_convention INTEGER NOT NULL DEFAULT 0,
    suggested_profession TEXT,
    suggested_by TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (structure_id, account_id)
);

-- Adhesion periods, dates YYYY-MM-DD both included; `source`: "admin" or "module:{id}".
CREATE TABLE member_adhesions (
    id INTEGER PRIMARY KEY,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    start_date TEXT NOT NULL,
    end_date TEXT,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX member_adhesions_member ON member_adhesions(structure_id, account_id);

-- Installed rule-set components (world maillage:indemnity/rule-set): the bytes are kept
-- like packages, by SHA-256. `structure_id` NULL: offered to every structure.
CREATE TABLE rule_sets (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    structure_id INTEGER REFERENCES structures(id),
    name TEXT NOT NULL,
    -- JSON of the rule set's `describe` (settings definitions).
    description TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);

-- Each structure's choices: the rule set in force from a date; rows are never changed.
CREATE TABLE rule_set_assignments (
    id INTEGER PRIMARY KEY,
    structure_id INTEGER NOT NULL REFERENCES structures(id),
    rule_set_id TEXT NOT NULL,
    version TEXT NOT NULL,
    -- JSON list of {"key", "value"} (every declared setting).
    settings TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    set_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    set_at INTEGER NOT NULL
);
CREATE INDEX rule_set_assignments_structure ON rule_set_assignments(structure_id, effective_from);
