//! Event delivery: the outbox is fanned out to the modules of the event's structure that
//! subscribe to its topic, then each delivery is attempted at least once, retried with
//! backoff, and set aside as "dead" after the last attempt, for an admin to retry.
//! Deliveries carry the event's idempotency key: subscribers must tolerate repeats.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use crate::http::AppState;
use crate::plugins::CallContext;
use crate::storage::{Backend, Result, StoredEvent, backoff_secs, now_secs};

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i64 = 6;

/// Delay before the next attempt: 5 s, doubling, at most 30 min.
pub fn retry_delay_secs(attempts: i64) -> i64 {
    backoff_secs(5, 1800, attempts)
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub event_id: i64,
    pub plugin_id: String,
    pub topic: String,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// What one dispatch round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub failed: usize,
}

/// Creates the deliveries of events not fanned out yet. Subscribers are the modules the
/// event's structure has enabled whose manifest lists the topic.
async fn fan_out(state: &AppState) -> Result<()> {
    let db = &state.db;
    let events = sqlx::query(
        "SELECT id, structure_id, topic FROM event_outbox WHERE fanned_out = FALSE ORDER BY id LIMIT 200",
    )
    .fetch_all(db.pool())
    .await?;
    for event in events {
        let (id, structure_id, topic): (i64, i64, String) =
            (event.get(0), event.get(1), event.get(2));
        let mut tx = db.pool().begin().await?;
        for module in db.enabled_modules(structure_id).await? {
            let subscribed = match state.registry.get(&module.plugin_id, &module.version).await {
                Ok(plugin) => plugin.manifest().subscriptions.contains(&topic),
                Err(e) => {
                    tracing::error!(plugin = %module.plugin_id, error = %e, "subscriber failed to load; its subscriptions are unknown");
                    false
                }
            };
            if subscribed {
                sqlx::query(
                    "INSERT INTO event_deliveries (event_id, plugin_id, status, next_attempt_at) VALUES ($1, $2, 'pending', $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(&module.plugin_id)
                .bind(now_secs())
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("UPDATE event_outbox SET fanned_out = TRUE WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// How long a claimed delivery stays with its host; after that (the host died
/// mid-delivery) another host takes it over.
const LEASE_SECS: i64 = 60;
/// Deliveries claimed at a time: small, so several hosts share a burst.
const CLAIM_BATCH: i64 = 16;

/// Identifies this process among the hosts sharing the database.
pub fn host_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let mut random = [0u8; 4];
        let _ = getrandom::getrandom(&mut random);
        let tail: String = random.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{tail}", std::process::id())
    })
}

/// Claims due deliveries for this host. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets
/// concurrent hosts claim disjoint rows without waiting; SQLite has a single writer.
async fn claim(state: &AppState, host: &str) -> Result<Vec<(i64, String)>> {
    let db = &state.db;
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let now = now_secs();
    let rows = sqlx::query(&format!(
        "UPDATE event_deliveries SET lease_until = $1, leased_by = $2
         WHERE (event_id, plugin_id) IN (
           SELECT event_id, plugin_id FROM event_deliveries
           WHERE status = 'pending' AND next_attempt_at <= $3 AND lease_until <= $3
           ORDER BY event_id LIMIT $4 {lock})
         RETURNING event_id, plugin_id"
    ))
    .bind(now + LEASE_SECS)
    .bind(host)
    .bind(now)
    .bind(CLAIM_BATCH)
    .fetch_all(db.pool())
    .await?;
    let mut claimed: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    claimed.sort();
    Ok(claimed)
}

/// One round: fan out new events, then attempt every due delivery once, claiming them
/// a batch at a time so that several hosts on one database share the work.
pub async fn dispatch(state: &AppState) -> Result<Round> {
    dispatch_as(state, host_id()).await
}

/// [`dispatch`] under an explicit host name (tests run two "hosts" in one process).
pub async fn dispatch_as(state: &AppState, host: &str) -> Result<Round> {
    // Due module timers become events first (each to its own module).
    crate::timers::fire_due(&state.db, crate::storage::now_secs()).await?;
    fan_out(state).await?;
    let mut round = Round::default();
    loop {
        let claimed = claim(state, host).await?;
        if claimed.is_empty() {
            return Ok(round);
        }
        for (event_id, plugin_id) in claimed {
            attempt(state, host, event_id, &plugin_id, &mut round).await?;
        }
    }
}

async fn attempt(
    state: &AppState,
    host: &str,
    event_id: i64,
    plugin_id: &str,
    round: &mut Round,
) -> Result<()> {
    let db = &state.db;
    // Still pending and still ours (a lease may have expired and passed to another host).
    let claimed = sqlx::query(
        "SELECT d.attempts, e.structure_id, e.idempotency_key, e.source_plugin, e.topic, e.payload
         FROM event_deliveries d JOIN event_outbox e ON e.id = d.event_id
         WHERE d.event_id = $1 AND d.plugin_id = $2 AND d.status = 'pending' AND d.leased_by = $3",
    )
    .bind(event_id)
    .bind(plugin_id)
    .bind(host)
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = claimed {
        let attempts: i64 = row.get(0);
        let event = StoredEvent {
            idempotency_key: row.get(2),
            source: row.get(3),
            topic: row.get(4),
            payload: row.get(5),
        };
        match deliver(state, row.get(1), plugin_id, event).await {
            Ok(()) => {
                sqlx::query("UPDATE event_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, last_error = NULL, delivered_by = $2, lease_until = 0 WHERE event_id = $3 AND plugin_id = $4")
                    .bind(now_secs())
                    .bind(host)
                    .bind(event_id)
                    .bind(plugin_id)
                    .execute(db.pool())
                    .await?;
                round.delivered += 1;
            }
            Err(error) => {
                let attempts = attempts + 1;
                let status = if attempts >= MAX_ATTEMPTS {
                    "dead"
                } else {
                    "pending"
                };
                tracing::warn!(event = event_id, plugin = %plugin_id, attempts, %error, status, "event delivery failed");
                sqlx::query("UPDATE event_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, lease_until = 0 WHERE event_id = $5 AND plugin_id = $6")
                    .bind(status)
                    .bind(attempts)
                    .bind(now_secs() + retry_delay_secs(attempts))
                    .bind(&error)
                    .bind(event_id)
                    .bind(plugin_id)
                    .execute(db.pool())
                    .await?;
                round.failed += 1;
            }
        }
    }
    Ok(())
}

/// Calls the subscriber's `on-event` with the grants its structure gave it.
async fn deliver(
    state: &AppState,
    structure_id: i64,
    plugin_id: &str,
    event: StoredEvent,
) -> std::result::Result<(), String> {
    let db = &state.db;
    let structure = db
        .structure(structure_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("structure gone")?;
    // A module disabled since the event was published receives nothing more.
    let module = db
        .enabled_module(structure_id, plugin_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("module disabled in this structure")?;
    let plugin = state
        .registry
        .get(plugin_id, &module.version)
        .await
        .map_err(|e| e.to_string())?;
    let granted = plugin.effective_capabilities(&module.granted);
    let key = event.idempotency_key.clone();
    let ctx = CallContext::anonymous(&structure, plugin_id, &key, "");
    match state
        .registry
        .runtime()
        .deliver_event(&plugin, ctx, granted, event)
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refusal)) => Err(format!("refused by the module: {refusal}")),
        Err(fault) => Err(format!("plugin fault: {fault}")),
    }
}

/// Deliveries of a structure that are failing or dead, newest first (admin page).
pub async fn failing_deliveries(state: &AppState, structure_id: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(
        "SELECT d.event_id, d.plugin_id, e.topic, e.idempotency_key, d.status, d.attempts, d.next_attempt_at, d.last_error, e.created_at
         FROM event_deliveries d JOIN event_outbox e ON e.id = d.event_id
         WHERE e.structure_id = $1 AND (d.status = 'dead' OR d.last_error IS NOT NULL) AND d.status != 'delivered'
         ORDER BY d.event_id DESC LIMIT 200",
    )
    .bind(structure_id)
    .fetch_all(state.db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Delivery {
            event_id: r.get(0),
            plugin_id: r.get(1),
            topic: r.get(2),
            idempotency_key: r.get(3),
            status: r.get(4),
            attempts: r.get(5),
            next_attempt_at: r.get(6),
            last_error: r.get(7),
            created_at: r.get(8),
        })
        .collect())
}

/// Puts a dead (or failing) delivery of this structure back in the queue, due now.
pub async fn retry(
    state: &AppState,
    structure_id: i64,
    event_id: i64,
    plugin_id: &str,
) -> Result<bool> {
    let mut conn = state.db.pool().acquire().await?;
    retry_in(&mut conn, structure_id, event_id, plugin_id).await
}

/// [`retry`] in the caller's transaction (the admin's, with its audit entry).
pub async fn retry_in(
    conn: &mut sqlx::AnyConnection,
    structure_id: i64,
    event_id: i64,
    plugin_id: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE event_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = 0
         WHERE event_id = $2 AND plugin_id = $3 AND status != 'delivered'
           AND event_id IN (SELECT id FROM event_outbox WHERE structure_id = $4)",
    )
    .bind(now_secs())
    .bind(event_id)
    .bind(plugin_id)
    .bind(structure_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Runs dispatch rounds every second until the process stops.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = dispatch(&state).await {
                tracing::error!(%error, "event dispatch round failed");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
