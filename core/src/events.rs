//! Event delivery: the outbox is fanned out to the modules of the event's structure that
//! subscribe to its topic, then each delivery is attempted at least once, retried with
//! backoff, and set aside as "dead" after the last attempt, for an admin to retry.
//! Deliveries carry the event's idempotency key: subscribers must tolerate repeats.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use crate::http::AppState;
use crate::plugins::CallContext;
use crate::storage::{Result, StoredEvent, backoff_secs, now_secs};

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

/// One round: fan out new events, then attempt every due delivery once.
pub async fn dispatch(state: &AppState) -> Result<Round> {
    fan_out(state).await?;
    let db = &state.db;
    let due = sqlx::query(
        "SELECT d.event_id, d.plugin_id, d.attempts, e.structure_id, e.idempotency_key, e.source_plugin, e.topic, e.payload
         FROM event_deliveries d JOIN event_outbox e ON e.id = d.event_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.event_id LIMIT 100",
    )
    .bind(now_secs())
    .fetch_all(db.pool())
    .await?;
    let mut round = Round::default();
    for row in due {
        let event_id: i64 = row.get(0);
        let plugin_id: String = row.get(1);
        let attempts: i64 = row.get(2);
        let event = StoredEvent {
            idempotency_key: row.get(4),
            source: row.get(5),
            topic: row.get(6),
            payload: row.get(7),
        };
        match deliver(state, row.get(3), &plugin_id, event).await {
            Ok(()) => {
                sqlx::query("UPDATE event_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, last_error = NULL WHERE event_id = $2 AND plugin_id = $3")
                    .bind(now_secs())
                    .bind(event_id)
                    .bind(&plugin_id)
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
                sqlx::query("UPDATE event_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE event_id = $5 AND plugin_id = $6")
                    .bind(status)
                    .bind(attempts)
                    .bind(now_secs() + retry_delay_secs(attempts))
                    .bind(&error)
                    .bind(event_id)
                    .bind(&plugin_id)
                    .execute(db.pool())
                    .await?;
                round.failed += 1;
            }
        }
    }
    Ok(round)
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
    let done = sqlx::query(
        "UPDATE event_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1
         WHERE event_id = $2 AND plugin_id = $3 AND status != 'delivered'
           AND event_id IN (SELECT id FROM event_outbox WHERE structure_id = $4)",
    )
    .bind(now_secs())
    .bind(event_id)
    .bind(plugin_id)
    .bind(structure_id)
    .execute(state.db.pool())
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
