//! Mail to members of the structure, through the host's outbox (capability "mail").
//! Recipients are account ids: a module never learns an address. Mails are queued in the
//! call's transaction, so they leave only if the call's writes are kept.

use crate::bindings::maillage::plugin::mail as host;
pub use host::{Attachment, Message};

/// Recipients the host takes in one [`send`].
pub const MAX_RECIPIENTS: usize = 1000;

/// Queues one mail per recipient; returns how many were queued. Refused as a whole
/// (with the reason) when a recipient is not an active member of the structure, when
/// there are more than [`MAX_RECIPIENTS`], or when the message is too large.
pub fn send(message: &Message) -> Result<u32, String> {
    host::send(message)
}

/// [`send`] in batches of [`MAX_RECIPIENTS`], for audiences of any size. Stops at the
/// first refusal; returns how many mails were queued.
pub fn send_in_batches(message: &Message) -> Result<u32, String> {
    if message.to.len() + message.external.len() <= MAX_RECIPIENTS {
        return send(message);
    }
    let mut queued = 0;
    for batch in message.to.chunks(MAX_RECIPIENTS) {
        let part = Message {
            to: batch.to_vec(),
            external: Vec::new(),
            ..message.clone()
        };
        queued += send(&part)?;
    }
    for batch in message.external.chunks(MAX_RECIPIENTS) {
        let part = Message {
            to: Vec::new(),
            external: batch.to_vec(),
            ..message.clone()
        };
        queued += send(&part)?;
    }
    Ok(queued)
}
