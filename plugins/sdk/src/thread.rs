//! A discussion thread attached to anything a module shows (a meeting, a project…),
//! written once here so that every module shares it.
//!
//! The module declares [`collection()`] among its collections (the messages are the
//! module's own records, scoped to the structure like all of them), routes the three
//! forms [`render`] writes to [`apply`], and checks who may read the subject first:
//!
//! ```ignore
//! // manifest: collections: vec![..., maillage_sdk::thread::collection()]
//! (Method::Post, ["r", id, "fil", rest @ ..]) => {
//!     // … 404 unless the viewer may read meeting `id` …
//!     match thread::Action::parse(rest) {
//!         Some(action) => thread::apply(id, &action, &request.form(), &user, moderator),
//!         None => not found,
//!     }
//! }
//! // page: (thread::render(&thread::list(id)?, &thread::Options { action: "/r/42/fil", .. }))
//! ```
//!
//! Form fields: `texte` (the message). Routes below `action`: `POST {action}` posts,
//! `POST {action}/{message}/modifier` edits one's own message, `POST
//! {action}/{message}/supprimer` deletes it (moderators may delete any).

use serde::{Deserialize, Serialize};

use crate::User;
use crate::form::Form;
use crate::html::{Markup, csrf_field, href, html};
use crate::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, or_default,
};

/// The collection holding the messages of every thread of the module.
pub const COLLECTION: &str = "thread_messages";
/// Longest message, in characters.
pub const MAX_TEXT: usize = 5000;
/// Messages shown per thread, oldest first.
pub const MAX_MESSAGES: u32 = 500;

/// The collection to declare in the module's manifest.
pub fn collection() -> CollectionDef {
    CollectionDef {
        name: COLLECTION.into(),
        fields: vec![
            FieldDef {
                required: true,
                ..field("subject", FieldType::Text)
            },
            FieldDef {
                required: true,
                ..field("author", FieldType::UserRef)
            },
            field("author_name", FieldType::Text),
            FieldDef {
                required: true,
                full_text: true,
                ..field("text", FieldType::Text)
            },
            FieldDef {
                default: Some("false".into()),
                ..field("edited", FieldType::Boolean)
            },
        ],
        indexes: vec![index(&["subject", "created_at"], false)],
    }
}

/// One message of a thread.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub id: String,
    /// What the thread is about, as the module names it (e.g. a meeting's id).
    pub subject: String,
    /// The author's account id.
    pub author: String,
    #[serde(default, deserialize_with = "or_default")]
    pub author_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub text: String,
    #[serde(default, deserialize_with = "or_default")]
    pub edited: bool,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

#[derive(Serialize)]
struct NewMessage<'a> {
    subject: &'a str,
    author: &'a str,
    author_name: &'a str,
    text: &'a str,
    edited: bool,
}

/// Why a thread action was refused.
#[derive(Debug, Clone)]
pub enum ThreadError {
    /// An empty message.
    Empty,
    /// Longer than [`MAX_TEXT`].
    TooLong,
    /// No such message in this thread.
    NotFound,
    /// Someone else's message.
    NotYours,
    Store(StoreError),
}

impl From<StoreError> for ThreadError {
    fn from(e: StoreError) -> Self {
        ThreadError::Store(e)
    }
}

impl ThreadError {
    /// The message for members, in French.
    pub fn french(&self) -> String {
        match self {
            ThreadError::Empty => "Votre message est vide.".into(),
            ThreadError::TooLong => {
                format!("Votre message dépasse {MAX_TEXT} caractères.")
            }
            ThreadError::NotFound => "Ce message n’existe pas.".into(),
            ThreadError::NotYours => {
                "Vous ne pouvez modifier ou supprimer que vos propres messages.".into()
            }
            ThreadError::Store(_) => {
                "Le service est momentanément indisponible. Veuillez réessayer.".into()
            }
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            ThreadError::Empty | ThreadError::TooLong => 422,
            ThreadError::NotFound => 404,
            ThreadError::NotYours => 403,
            ThreadError::Store(_) => 503,
        }
    }

    /// A French error page for the refusal.
    pub fn response(&self) -> crate::Response {
        if let ThreadError::Store(e) = self {
            crate::log::error(&format!("thread store failure: {e}"));
        }
        crate::Response::error(self.status(), &self.french())
    }
}

fn checked(text: &str) -> Result<&str, ThreadError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ThreadError::Empty);
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ThreadError::TooLong);
    }
    Ok(text)
}

/// Posts a message on the thread of `subject_id`.
pub fn post(subject_id: &str, author: &User, text: &str) -> Result<Message, ThreadError> {
    let text = checked(text)?;
    let message = NewMessage {
        subject: subject_id,
        author: &author.id,
        author_name: &author.display_name,
        text,
        edited: false,
    };
    Ok(records::insert(COLLECTION, &message)?)
}

/// The messages of the thread of `subject_id`, oldest first (at most [`MAX_MESSAGES`]).
pub fn list(subject_id: &str) -> Result<Vec<Message>, StoreError> {
    Ok(Query::new()
        .filter("subject = {:subject}")
        .param("subject", subject_id)
        .sort("created_at")
        .limit(MAX_MESSAGES)
        .fetch(COLLECTION)?
        .0)
}

/// One message of the thread of `subject_id` (none if it belongs to another thread).
pub fn get(subject_id: &str, message_id: &str) -> Result<Option<Message>, StoreError> {
    if !records::valid_id(message_id) {
        return Ok(None);
    }
    Ok(records::get::<Message>(COLLECTION, message_id)?.filter(|m| m.subject == subject_id))
}

/// Changes the text of one's own message.
pub fn edit(
    subject_id: &str,
    message_id: &str,
    author: &User,
    text: &str,
) -> Result<Message, ThreadError> {
    let text = checked(text)?;
    let message = get(subject_id, message_id)?.ok_or(ThreadError::NotFound)?;
    if message.author != author.id {
        return Err(ThreadError::NotYours);
    }
    let patch = serde_json::json!({ "text": text, "edited": true });
    records::update::<Message>(COLLECTION, message_id, &patch)?.ok_or(ThreadError::NotFound)
}

/// Deletes one's own message; a moderator may delete anyone's.
pub fn delete(
    subject_id: &str,
    message_id: &str,
    actor: &User,
    moderator: bool,
) -> Result<(), ThreadError> {
    let message = get(subject_id, message_id)?.ok_or(ThreadError::NotFound)?;
    if message.author != actor.id && !moderator {
        return Err(ThreadError::NotYours);
    }
    records::delete(COLLECTION, message_id)?;
    Ok(())
}

/// Deletes every message of a thread (when its subject goes away); returns how many.
pub fn delete_all(subject_id: &str) -> Result<usize, StoreError> {
    let messages = list(subject_id)?;
    for m in &messages {
        records::delete(COLLECTION, &m.id)?;
    }
    Ok(messages.len())
}

/// What one of the thread's forms asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Post,
    Edit(String),
    Delete(String),
}

impl Action {
    /// From the path segments below the thread's `action` path: `[]`,
    /// `[id, "modifier"]`, `[id, "supprimer"]`.
    pub fn parse(rest: &[&str]) -> Option<Action> {
        match rest {
            [] => Some(Action::Post),
            [id, "modifier"] => Some(Action::Edit((*id).to_string())),
            [id, "supprimer"] => Some(Action::Delete((*id).to_string())),
            _ => None,
        }
    }
}

/// Carries out `action` with the form's `texte`.
pub fn apply(
    subject_id: &str,
    action: &Action,
    form: &Form,
    user: &User,
    moderator: bool,
) -> Result<(), ThreadError> {
    match action {
        Action::Post => post(subject_id, user, &form.get("texte")).map(|_| ()),
        Action::Edit(id) => edit(subject_id, id, user, &form.get("texte")).map(|_| ()),
        Action::Delete(id) => delete(subject_id, id, user, moderator),
    }
}

/// How [`render`] shows a thread.
pub struct Options<'a> {
    /// Module-relative path the forms post to, e.g. "/r/42/fil".
    pub action: &'a str,
    /// The viewer's account id: their own messages get the edit and delete forms.
    pub viewer: Option<&'a str>,
    /// Whether the viewer may post.
    pub can_post: bool,
    /// Whether the viewer may delete anyone's message.
    pub moderator: bool,
    /// The heading, e.g. "Discussion".
    pub title: &'a str,
}

/// « jeudi 3 décembre 2026, 20:00 » in the structure's zone.
fn when(seconds: i64) -> String {
    let zone = crate::time::zone_or_default(&crate::context().time_zone);
    crate::time::instant_fr(crate::time::from_seconds(seconds), &zone)
}

/// The thread: its messages (oldest first), edit and delete forms on the viewer's own
/// messages, and the form to post.
pub fn render(messages: &[Message], options: &Options<'_>) -> Markup {
    html! {
        section class="thread" id="discussion" aria-labelledby="discussion-titre" {
            h2 id="discussion-titre" { (options.title) }
            @if messages.is_empty() {
                p class="empty" { "Aucun message pour le moment." }
            } @else {
                ol class="thread-messages cards" {
                    @for m in messages {
                        @let own = options.viewer == Some(m.author.as_str());
                        li class="thread-message" id={ "message-" (m.id) } {
                            p class="muted" {
                                strong { (m.author_name) }
                                " · "
                                (when(m.created_at))
                                @if m.edited {
                                    " · modifié"
                                }
                            }
                            div class="thread-text" {
                                @for line in m.text.lines() {
                                    (line)
                                    br;
                                }
                            }
                            @if own {
                                details {
                                    summary { "Modifier" }
                                    form method="post" class="stack"
                                        action=(href(&format!("{}/{}/modifier", options.action, m.id))) {
                                        (csrf_field())
                                        label for={ "texte-" (m.id) } { "Votre message" }
                                        textarea id={ "texte-" (m.id) } name="texte" rows="4" required
                                            maxlength=(MAX_TEXT) { (m.text) }
                                        button type="submit" { "Enregistrer" }
                                    }
                                }
                            }
                            @if own || options.moderator {
                                form method="post" class="inline"
                                    action=(href(&format!("{}/{}/supprimer", options.action, m.id))) {
                                    (csrf_field())
                                    button type="submit" class="link" data-confirm="Supprimer ce message ?" {
                                        "Supprimer"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if options.can_post {
                form method="post" class="stack" action=(href(options.action)) {
                    (csrf_field())
                    label for="discussion-texte" { "Votre message" }
                    textarea id="discussion-texte" name="texte" rows="4" required maxlength=(MAX_TEXT) {}
                    button type="submit" { "Publier" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_thread_routes() {
        assert_eq!(Action::parse(&[]), Some(Action::Post));
        assert_eq!(
            Action::parse(&["m1", "modifier"]),
            Some(Action::Edit("m1".into()))
        );
        assert_eq!(
            Action::parse(&["m1", "supprimer"]),
            Some(Action::Delete("m1".into()))
        );
        assert_eq!(Action::parse(&["m1"]), None);
        assert_eq!(Action::parse(&["m1", "x"]), None);
    }

    #[test]
    fn checks_message_length() {
        assert!(matches!(checked("   "), Err(ThreadError::Empty)));
        assert!(matches!(
            checked(&"é".repeat(MAX_TEXT + 1)),
            Err(ThreadError::TooLong)
        ));
        assert_eq!(checked("  Bonjour  ").unwrap(), "Bonjour");
    }

    #[test]
    fn declares_its_collection() {
        let c = collection();
        assert_eq!(c.name, COLLECTION);
        assert!(c.fields.iter().any(|f| f.name == "subject" && f.required));
        assert_eq!(c.indexes[0].fields, ["subject", "created_at"]);
    }
}
