//! Typed access to the host's document store (capability "storage").
//! The host scopes every call to the current structure and plugin.

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::maillage::plugin::store as host;
pub use host::StoreError;

pub fn get<T: DeserializeOwned>(collection: &str, id: &str) -> Result<Option<T>, StoreError> {
    match host::get(collection, id)? {
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Invalid(format!("stored value does not decode: {e}"))),
        None => Ok(None),
    }
}

pub fn put<T: Serialize>(collection: &str, id: &str, value: &T) -> Result<(), StoreError> {
    let json = serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
    host::put(collection, id, &json)
}

pub fn delete(collection: &str, id: &str) -> Result<bool, StoreError> {
    host::delete(collection, id)
}

/// Entries whose id starts with `prefix`, ordered by id; undecodable entries are skipped.
pub fn list<T: DeserializeOwned>(
    collection: &str,
    prefix: &str,
    limit: u32,
) -> Result<Vec<(String, T)>, StoreError> {
    Ok(host::scan(collection, prefix, limit)?
        .into_iter()
        .filter_map(|e| serde_json::from_str(&e.value).ok().map(|v| (e.id, v)))
        .collect())
}
