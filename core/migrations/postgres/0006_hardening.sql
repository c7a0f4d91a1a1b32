-- Hardening (issue 21): login throttling counted atomically, per (account, client) and per
-- client, with growing delays instead of one lock for everyone; invitations of existing
-- accounts wait for their consent; an index for the periodic purge of expired sessions.

-- One row per throttled scope: "client:{address}", "account:{id}|{address}",
-- "login:{hash of the typed login}|{address}", "reset:{address}". Every attempt is counted
-- by one upsert (`attempts = attempts + 1 … RETURNING attempts`) before the password is
-- checked, so simultaneous attempts get distinct counts and cannot all slip through.
CREATE TABLE login_throttle (
    scope TEXT PRIMARY KEY,
    -- The account of a per-account scope: a password reset lifts its throttles.
    account_id BIGINT REFERENCES accounts(id) ON DELETE CASCADE,
    attempts BIGINT NOT NULL,
    -- When the attempt before the last one was made (the delay runs from it).
    previous_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE INDEX login_throttle_account ON login_throttle(account_id);
CREATE INDEX login_throttle_last ON login_throttle(last_at);

-- The count-then-insert log it replaces.
DROP TABLE login_failures;

-- An invitation into a structure mailed to an existing account: the membership is made
-- only when that account, signed in, accepts it. Single use, 7 days; the secret is
-- stored as SHA-256 like every token.
CREATE TABLE membership_offers (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    structure_id BIGINT NOT NULL REFERENCES structures(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'member')),
    directory_manager BOOLEAN NOT NULL DEFAULT FALSE,
    invited_by BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX membership_offers_account ON membership_offers(account_id);

CREATE INDEX sessions_expiry ON sessions(expires_at);
