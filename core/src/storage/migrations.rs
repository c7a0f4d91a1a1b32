//! Migrations embedded in the binary (no sqlx macros: keeps the build light), one folder
//! per dialect with the same versions: `core/migrations/{sqlite,postgres}`.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        (
            $version,
            $description,
            include_str!(concat!("../../migrations/sqlite/", $file)),
            include_str!(concat!("../../migrations/postgres/", $file)),
        )
    };
}

const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    migration!(1, "foundation", "0001_foundation.sql"),
    migration!(2, "identity", "0002_identity.sql"),
    migration!(3, "event delivery", "0003_event_delivery.sql"),
    migration!(4, "data api", "0004_data_api.sql"),
    migration!(5, "mail and timers", "0005_mail_timers.sql"),
    migration!(6, "hardening", "0006_hardening.sql"),
    migration!(
        7,
        "people, module roles, rule sets",
        "0007_people_roles_rules.sql"
    ),
    migration!(
        8,
        "directory manager as a module role",
        "0008_module_role_directory.sql"
    ),
    migration!(9, "blob erasures", "0009_blob_erasures.sql"),
    migration!(10, "national library", "0010_library.sql"),
];

pub fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0008: the host's « gestionnaire annuaire » flag becomes the directory's module
    /// role, for members and for pending offers (not spent or expired ones), and the
    /// columns go.
    #[tokio::test]
    async fn directory_managers_become_the_directory_module_role() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let mut before = migrator(Backend::Sqlite);
        before.migrations = Cow::Owned(
            before
                .migrations
                .iter()
                .filter(|m| m.version < 8)
                .cloned()
                .collect(),
        );
        before.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO structures (id, slug, name, kind, created_at) VALUES (1, 's', 'S', 'cpts', 10)",
            "INSERT INTO accounts (id, email, display_name, created_at) VALUES
                 (1, 'a@x.fr', 'A', 10), (2, 'b@x.fr', 'B', 10), (3, 'c@x.fr', 'C', 10), (4, 'd@x.fr', 'D', 10)",
            "INSERT INTO memberships (structure_id, account_id, role, directory_manager, created_at) VALUES
                 (1, 1, 'coordinator', 1, 100), (1, 2, 'member', 0, 200)",
            // Pending, spent, expired: only the first one counts.
            "INSERT INTO membership_offers (token_hash, account_id, structure_id, role, directory_manager, created_at, expires_at, used_at) VALUES
                 ('t3', 3, 1, 'member', 1, 300, 99999999999, NULL),
                 ('t4', 4, 1, 'member', 1, 400, 99999999999, 450),
                 ('t5', 4, 1, 'member', 1, 500, 600, NULL)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        migrator(Backend::Sqlite).run(&pool).await.unwrap();
        let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT account_id, plugin_id, role, COALESCE(granted_by, 0), granted_at FROM module_roles ORDER BY account_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let role = |account: i64, at: i64| {
            (
                account,
                "annuaire".to_string(),
                "gestionnaire".to_string(),
                0,
                at,
            )
        };
        assert_eq!(rows, [role(1, 100), role(3, 300)]);
        for table in ["memberships", "membership_offers"] {
            let gone = sqlx::query(&format!("SELECT directory_manager FROM {table}"))
                .fetch_all(&pool)
                .await;
            assert!(gone.is_err(), "{table}.directory_manager is dropped");
        }
    }
}
