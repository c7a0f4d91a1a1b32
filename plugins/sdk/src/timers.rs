//! Timers: an event for this very module at an instant (capability "timers"). The host
//! delivers it to [`crate::Plugin::on_event`] with the given topic and payload, at least
//! once, with the timer id as the event's idempotency key. Scheduling and cancelling
//! happen in the call's transaction: a timer exists only if the call's writes are kept.

use crate::bindings::maillage::plugin::timers as host;

/// Schedules `on_event(topic, payload)` at or after `at` (Unix seconds) for the current
/// structure; returns the timer id.
pub fn schedule(topic: &str, payload: &serde_json::Value, at: i64) -> Result<String, String> {
    host::schedule(topic, &payload.to_string(), at)
}

/// Cancels a pending timer of this module and structure; false when it is unknown, has
/// fired or was already cancelled.
pub fn cancel(id: &str) -> Result<bool, String> {
    host::cancel(id)
}
