//! Entries in the structure's audit log (« Journal » of its administration), for the
//! decisions a module's users must be able to trace. The host adds who, when and which
//! module (the action is prefixed with the module id).

/// Records `action` (`[a-z0-9._-]`, e.g. "attendance.reopen") about `target`, with
/// `details` (a JSON object), in the call's transaction.
pub fn write(action: &str, target: &str, details: &serde_json::Value) -> Result<(), String> {
    crate::bindings::maillage::plugin::audit::write(action, target, &details.to_string())
}
