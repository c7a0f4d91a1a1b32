//! Migrations embedded in the binary (no sqlx macros: keeps the build light).

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "identity",
        include_str!("../../migrations/0002_identity.sql"),
    ),
    (
        3,
        "event delivery",
        include_str!("../../migrations/0003_event_delivery.sql"),
    ),
];

pub fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}
