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
