-- The host's right « gestionnaire annuaire » (`memberships.directory_manager`, and the
-- flag of pending membership offers) becomes what it always meant: the directory
-- module's role "gestionnaire" (module `annuaire`), granted per member on the « Fiche
-- membre » like any module role. The host no longer knows of it.

-- Members who held the right: the role from their membership's date, granted by nobody.
INSERT OR IGNORE INTO module_roles (structure_id, account_id, plugin_id, role, granted_by, granted_at)
SELECT structure_id, account_id, 'annuaire', 'gestionnaire', NULL, created_at
FROM memberships
WHERE directory_manager <> 0;

-- Pending offers (unused, unexpired) that carried the flag. A module role counts only
-- while its holder is a member (`people::module_roles` joins `memberships`), and an offer
-- goes only to an account that is not a member yet: these rows stay dormant until the
-- offer is accepted. (Removing a membership deletes that member's module roles.)
INSERT OR IGNORE INTO module_roles (structure_id, account_id, plugin_id, role, granted_by, granted_at)
SELECT structure_id, account_id, 'annuaire', 'gestionnaire', NULL, MIN(created_at)
FROM membership_offers
WHERE directory_manager <> 0
  AND used_at IS NULL
  AND expires_at > CAST(strftime('%s', 'now') AS INTEGER)
GROUP BY structure_id, account_id;

-- Neither column is indexed, constrained or referenced by a view or trigger (0002, 0006),
-- so SQLite (>= 3.35) drops them in place.
ALTER TABLE memberships DROP COLUMN directory_manager;
ALTER TABLE membership_offers DROP COLUMN directory_manager;
