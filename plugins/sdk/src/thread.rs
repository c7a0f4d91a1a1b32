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
//!
//! A live thread (the projects module): [`list_latest`] for the page, [`render_live`]
//! with a [`Live`] poller (htmx `every 5s` on `div#fil-suivi`), whose route answers
//! [`list_after`] the [`Cursor`] it was given through [`poll_update`] (204 when there is
//! nothing new); older pages with [`list_before`] and the links of [`Paging`]. Read
//! markers: [`reads_collection`] (declared too), [`read_marker`], [`mark_read`],
//! [`unread_count`]. Mentions: [`mentioned`]; [`Live::mentionable`] highlights them as
//! `span.mention[data-user]`.

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
                        (message_item(m, options))
                    }
                }
            }
            @if options.can_post {
                (post_form(options))
            }
        }
    }
}

/// One message of the list, `li.thread-message#message-{id}`, with the edit and delete
/// forms the viewer may use: what [`render`], [`render_live`] and [`poll_update`] show.
pub fn message_item(m: &Message, options: &Options<'_>) -> Markup {
    item(m, options, &[], false, false)
}

/// [`message_item`] with the @mentions of `mentionable` (the candidates of
/// [`mentioned`]) as `span.mention[data-user]`, `li.thread-message.non-lu` when
/// `unread`, and with `hx-swap-oob="outerHTML"` when `oob` (an edited message the poller
/// replaces).
fn item(
    m: &Message,
    options: &Options<'_>,
    mentionable: &[(String, String)],
    unread: bool,
    oob: bool,
) -> Markup {
    let own = options.viewer == Some(m.author.as_str());
    let class = if unread {
        "thread-message non-lu"
    } else {
        "thread-message"
    };
    html! {
        li class=(class) id={ "message-" (m.id) } hx-swap-oob=[oob.then_some("outerHTML")] {
            p class="muted" {
                strong { (m.author_name) }
                " · "
                (when(m.created_at))
                @if m.edited {
                    " · modifié"
                }
            }
            div class="thread-text" {
                @for (part, users) in mention_pieces(&m.text, mentionable) {
                    @if let Some(users) = users {
                        span class="mention" data-user=(users) { (with_breaks(part)) }
                    } @else {
                        (with_breaks(part))
                    }
                }
                @if !m.text.is_empty() {
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

/// Text with its line breaks as `br` (escaped, as every spliced value).
fn with_breaks(text: &str) -> Markup {
    let count = text.split('\n').count();
    // A "\r\n" is one break: the "\r" before a "\n" goes.
    let lines: Vec<&str> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| match line.strip_suffix('\r') {
            Some(stripped) if i + 1 < count => stripped,
            _ => line,
        })
        .collect();
    html! {
        @for (i, line) in lines.into_iter().enumerate() {
            @if i > 0 {
                br;
            }
            (line)
        }
    }
}

/// The form to post a message.
fn post_form(options: &Options<'_>) -> Markup {
    html! {
        form method="post" class="stack" action=(href(options.action)) {
            (csrf_field())
            label for="discussion-texte" { "Votre message" }
            textarea id="discussion-texte" name="texte" rows="4" required maxlength=(MAX_TEXT) {}
            button type="submit" { "Publier" }
        }
    }
}

// ---- Order, cursors, read markers ----

/// The collection of read markers: per (subject, member), the newest message shown.
pub const READS: &str = "thread_reads";

/// The read markers' collection, to declare in the manifest next to [`collection()`].
pub fn reads_collection() -> CollectionDef {
    CollectionDef {
        name: READS.into(),
        fields: vec![
            FieldDef {
                required: true,
                ..field("subject", FieldType::Text)
            },
            FieldDef {
                required: true,
                ..field("user", FieldType::UserRef)
            },
            field("last_at", FieldType::Integer),
            field("last_id", FieldType::Text),
        ],
        indexes: vec![index(&["subject", "user"], true)],
    }
}

/// A place in a thread: a message's (`created_at`, `id`), the order messages are listed
/// in. Written `{created_at}.{id}` in URLs; [`Cursor::origin`] (`0.`) is before every
/// message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    /// Before every message.
    pub fn origin() -> Cursor {
        Cursor::default()
    }

    /// The place of `message`.
    pub fn of(message: &Message) -> Cursor {
        Cursor {
            at: message.created_at,
            id: message.id.clone(),
        }
    }

    pub fn is_origin(&self) -> bool {
        self.at == 0 && self.id.is_empty()
    }

    /// From `{created_at}.{id}` (digits, a dot, a record id or nothing); none when
    /// malformed.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        if at.is_empty() || at.len() > 18 || !at.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !id.is_empty() && !records::valid_id(id) {
            return None;
        }
        Some(Cursor {
            at: at.parse().ok()?,
            id: id.to_string(),
        })
    }

    /// Whether `message` comes after this place.
    pub fn precedes(&self, message: &Message) -> bool {
        (message.created_at, message.id.as_str()) > (self.at, self.id.as_str())
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

/// In thread order: (`created_at`, `id`) ascending.
fn sort_messages(messages: &mut [Message]) {
    messages.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// The newest `n` messages of the thread (at most [`MAX_MESSAGES`]), in thread order:
/// one query, newest first (`-created_at,-id`), turned round.
pub fn list_latest(subject_id: &str, n: u32) -> Result<Vec<Message>, StoreError> {
    let n = n.min(MAX_MESSAGES);
    if n == 0 {
        return Ok(Vec::new());
    }
    let (mut latest, _) = Query::new()
        .filter("subject = {:s}")
        .param("s", subject_id)
        .sort("-created_at,-id")
        .limit(n)
        .fetch::<Message>(COLLECTION)?;
    latest.reverse();
    Ok(latest)
}

/// The `n` messages just before (`before_at`, `before_id`) (at most [`MAX_MESSAGES`]),
/// in thread order: the page of older messages ending where a page starts.
pub fn list_before(
    subject_id: &str,
    before_at: i64,
    before_id: &str,
    n: u32,
) -> Result<Vec<Message>, StoreError> {
    let n = n.min(MAX_MESSAGES);
    if n == 0 {
        return Ok(Vec::new());
    }
    let (mut older, _) = Query::new()
        .filter("subject = {:s} && (created_at < {:t} || (created_at = {:t} && id < {:id}))")
        .param("s", subject_id)
        .param("t", before_at)
        .param("id", before_id)
        .sort("-created_at,-id")
        .limit(n)
        .fetch::<Message>(COLLECTION)?;
    older.reverse();
    Ok(older)
}

/// The messages after (`after_at`, `after_id`), in thread order (at most
/// [`MAX_MESSAGES`]).
pub fn list_after(
    subject_id: &str,
    after_at: i64,
    after_id: &str,
) -> Result<Vec<Message>, StoreError> {
    let (mut messages, _) = Query::new()
        .filter("subject = {:s} && (created_at > {:t} || (created_at = {:t} && id > {:id}))")
        .param("s", subject_id)
        .param("t", after_at)
        .param("id", after_id)
        .sort("created_at")
        .limit(MAX_MESSAGES)
        .fetch::<Message>(COLLECTION)?;
    sort_messages(&mut messages);
    Ok(messages)
}

/// The edited messages changed at or after `since` (Unix seconds), in thread order (at
/// most [`MAX_MESSAGES`]).
pub fn list_edited_since(subject_id: &str, since: i64) -> Result<Vec<Message>, StoreError> {
    let (mut messages, _) = Query::new()
        .filter("subject = {:s} && edited = true && updated_at >= {:u}")
        .param("s", subject_id)
        .param("u", since)
        .sort("created_at")
        .limit(MAX_MESSAGES)
        .fetch::<Message>(COLLECTION)?;
    sort_messages(&mut messages);
    Ok(messages)
}

#[derive(Deserialize)]
struct ReadRecord {
    #[serde(default)]
    last_at: Option<i64>,
    #[serde(default)]
    last_id: Option<String>,
}

/// The newest message `user_id` was shown of the thread; none before their first visit.
pub fn read_marker(subject_id: &str, user_id: &str) -> Result<Option<Cursor>, StoreError> {
    let read = Query::new()
        .filter("subject = {:s} && user = {:u}")
        .param("s", subject_id)
        .param("u", user_id)
        .first::<ReadRecord>(READS)?;
    Ok(read.map(|r| Cursor {
        at: r.last_at.unwrap_or(0),
        id: r.last_id.unwrap_or_default(),
    }))
}

/// Records that `user_id` was shown the thread up to `newest`, when that is further than
/// their marker (nothing is written otherwise); whether it moved.
pub fn mark_read(subject_id: &str, user_id: &str, newest: &Message) -> Result<bool, StoreError> {
    if let Some(current) = read_marker(subject_id, user_id)?
        && !current.precedes(newest)
    {
        return Ok(false);
    }
    let marker = serde_json::json!({
        "subject": subject_id,
        "user": user_id,
        "last_at": newest.created_at,
        "last_id": newest.id,
    });
    records::upsert::<_, serde_json::Value>(READS, &["subject", "user"], &marker)?;
    Ok(true)
}

/// How many messages of others `user_id` was not shown yet: after their marker, or all
/// of them when they have none.
pub fn unread_count(subject_id: &str, user_id: &str) -> Result<i64, StoreError> {
    let query = match read_marker(subject_id, user_id)? {
        Some(c) => Query::new()
            .filter(
                "subject = {:s} && author != {:me} && (created_at > {:t} || (created_at = {:t} && id > {:id}))",
            )
            .param("t", c.at)
            .param("id", c.id),
        None => Query::new().filter("subject = {:s} && author != {:me}"),
    };
    query
        .param("s", subject_id)
        .param("me", user_id)
        .count(COLLECTION)
}

// ---- Live rendering ----

/// How [`render_live`] keeps the thread up to date and marks what is new.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Module-relative path of the poller, e.g. "/p/42/fil/suivi": it gets
    /// `?apres={cursor}&depuis={since}`.
    pub poll_path: String,
    /// The newest message shown ([`Cursor::origin`] when none).
    pub cursor: Cursor,
    /// When the page was made (Unix seconds): edits from then on are sent again.
    pub since: i64,
    /// The viewer's read marker: messages of others after it are new to them (none: no
    /// marking, e.g. for a reader who does not take part).
    pub unread_from: Option<Cursor>,
    /// The people who may be mentioned, (account id, display name), as [`mentioned`]
    /// takes them: their @mentions show as `span.mention[data-user]` (empty: none).
    pub mentionable: Vec<(String, String)>,
    /// The links of a page showing part of a long thread.
    pub paging: Paging,
}

/// The links of a page showing part of a long thread (module-relative addresses, e.g.
/// "/p/42?avant=1733000000.0190abc#fil").
#[derive(Debug, Clone, Default)]
pub struct Paging {
    /// Where the messages before the oldest shown are, when there are some: the link
    /// `a.messages-precedents` « Messages précédents » above the list.
    pub older: Option<String>,
    /// On a page of older messages, where the latest are: the link
    /// `a.derniers-messages` « Revenir aux derniers messages » below the list. Such a
    /// page has no poller: what is new would not follow the messages it shows.
    pub latest: Option<String>,
}

impl Live {
    fn unread(&self, m: &Message, options: &Options<'_>) -> bool {
        options.viewer != Some(m.author.as_str())
            && self.unread_from.as_ref().is_some_and(|c| c.precedes(m))
    }
}

/// `div#fil-suivi`: htmx asks the poller every 5 s and swaps its answer for itself.
fn poller(live: &Live) -> Markup {
    let url = format!(
        "{}?apres={}&depuis={}",
        live.poll_path, live.cursor, live.since
    );
    html! {
        div id="fil-suivi" hx-get=(href(&url)) hx-trigger="every 5s" hx-swap="outerHTML" {}
    }
}

/// [`render`] kept up to date: `ol#fil-messages` (there even when empty, so that new
/// messages have a list to join), the messages of others after the viewer's marker as
/// `li.thread-message.non-lu` with `hr#non-lus` « Nouveaux messages » before the first,
/// @mentions as `span.mention`, and the poller `div#fil-suivi`; with `live.paging`, the
/// link to older messages above the list and, on an older page, the link back to the
/// latest instead of the poller.
pub fn render_live(messages: &[Message], options: &Options<'_>, live: &Live) -> Markup {
    let first_unread = messages.iter().position(|m| live.unread(m, options));
    html! {
        section class="thread" id="discussion" aria-labelledby="discussion-titre" {
            h2 id="discussion-titre" { (options.title) }
            @if let Some(older) = &live.paging.older {
                p class="fil-pages" {
                    a class="messages-precedents" href=(href(older)) { "Messages précédents" }
                }
            }
            @if messages.is_empty() {
                p class="empty" id="fil-vide" { "Aucun message pour le moment." }
            }
            ol class="thread-messages cards" id="fil-messages" {
                @for (i, m) in messages.iter().enumerate() {
                    @if first_unread == Some(i) {
                        li class="thread-separator" {
                            hr id="non-lus";
                            p { "Nouveaux messages" }
                        }
                    }
                    (item(m, options, &live.mentionable, live.unread(m, options), false))
                }
            }
            @if let Some(latest) = &live.paging.latest {
                p class="fil-pages" {
                    a class="derniers-messages" href=(href(latest)) {
                        "Revenir aux derniers messages"
                    }
                }
            } @else {
                (poller(live))
            }
            @if options.can_post {
                (post_form(options))
            }
        }
    }
}

/// The poller's answer when something changed after `after` (the cursor it was asked
/// with): the new `div#fil-suivi` (`live`, with the new cursor), the `new` messages
/// appended to `ol#fil-messages` (`hx-swap-oob="beforeend:#fil-messages"`), the
/// `edited` ones (not among `new`) replacing theirs (`hx-swap-oob="outerHTML"`), and,
/// for a page that had none, the « Aucun message » line removed.
pub fn poll_update(
    after: &Cursor,
    new: &[Message],
    edited: &[Message],
    options: &Options<'_>,
    live: &Live,
) -> Markup {
    html! {
        (poller(live))
        @if !new.is_empty() {
            div hx-swap-oob="beforeend:#fil-messages" {
                @for m in new {
                    (item(m, options, &live.mentionable, live.unread(m, options), false))
                }
            }
            @if after.is_origin() {
                p id="fil-vide" hx-swap-oob="delete" {}
            }
        }
        @for m in edited.iter().filter(|m| !new.iter().any(|n| n.id == m.id)) {
            (item(m, options, &live.mentionable, false, true))
        }
    }
}

// ---- Mentions ----

/// Most people one message may mention.
pub const MAX_MENTIONS: usize = 20;
/// The refusal of a message mentioning more than [`MAX_MENTIONS`] people.
pub const TOO_MANY_MENTIONS: &str = "Un message peut mentionner au plus 20 personnes.";

/// Whether `name` starts `rest` and ends there: at the end, a space or punctuation.
fn names_here(rest: &[char], name: &[char]) -> bool {
    rest.starts_with(name) && rest.get(name.len()).is_none_or(|c| !c.is_alphanumeric())
}

/// `text` folded as [`crate::text::fold`] folds it (accents and case ignored, a run of
/// spaces as one), each folded character with the byte range of the character of `text`
/// it comes from: where a mention found in the folded text sits in the message. (The
/// leading and trailing spaces `fold` trims are kept as one space: never alphanumeric,
/// they change no mention.)
fn fold_mapped(text: &str) -> (Vec<char>, Vec<(usize, usize)>) {
    let mut folded: Vec<char> = Vec::with_capacity(text.len());
    let mut origins: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for (at, c) in text.char_indices() {
        let origin = (at, at + c.len_utf8());
        if c.is_whitespace() {
            if folded.last() != Some(&' ') {
                folded.push(' ');
                origins.push(origin);
            }
        } else if c.is_ascii() {
            folded.push(c.to_ascii_lowercase());
            origins.push(origin);
        } else {
            for f in crate::text::fold(c.encode_utf8(&mut buffer)).chars() {
                folded.push(f);
                origins.push(origin);
            }
        }
    }
    (folded, origins)
}

/// The candidates' folded names with their ids, the longest first; empty names left out.
fn folded_names(candidates: &[(String, String)]) -> Vec<(Vec<char>, &str)> {
    let mut names: Vec<(Vec<char>, &str)> = candidates
        .iter()
        .map(|(id, name)| {
            (
                crate::text::fold(name).chars().collect::<Vec<char>>(),
                id.as_str(),
            )
        })
        .filter(|(name, _)| !name.is_empty())
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    names
}

/// The mentions of folded text, in order: (index of the `@`, index just after the name,
/// the ids of the people of that name), `names` as [`folded_names`] gives them. The one
/// finder of [`mentioned`] and of the `span.mention` a message is rendered with.
fn find_mentions<'a>(
    folded: &[char],
    names: &[(Vec<char>, &'a str)],
) -> Vec<(usize, usize, Vec<&'a str>)> {
    let mut found: Vec<(usize, usize, Vec<&'a str>)> = Vec::new();
    let mut i = 0;
    while i < folded.len() {
        let starts = folded[i] == '@' && (i == 0 || !folded[i - 1].is_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let rest = &folded[i + 1..];
        let Some(longest) = names
            .iter()
            .find(|(name, _)| names_here(rest, name))
            .map(|(name, _)| name.len())
        else {
            i += 1;
            continue;
        };
        let ids: Vec<&'a str> = names
            .iter()
            .filter(|(name, _)| name.len() == longest && names_here(rest, name))
            .map(|(_, id)| *id)
            .collect();
        found.push((i, i + 1 + longest, ids));
        i += 1 + longest;
    }
    found
}

/// The ids of the `candidates` (id, display name) that `text` mentions as `@Display
/// Name`, in order of first mention, each once: accents and case ignored
/// ([`crate::text::fold`]), the longest name first (`@Marie Claire` is not `@Marie`),
/// the name ending at the end, a space or punctuation; an `@` right after a letter or
/// digit (an address) is none. Two people with the same name are both mentioned. The
/// caller leaves the author out.
pub fn mentioned(text: &str, candidates: &[(String, String)]) -> Vec<String> {
    let (folded, _) = fold_mapped(text);
    let mut found: Vec<String> = Vec::new();
    for (_, _, ids) in find_mentions(&folded, &folded_names(candidates)) {
        for id in ids {
            if !found.iter().any(|f| f == id) {
                found.push(id.to_string());
            }
        }
    }
    found
}

/// `text` cut into its plain parts and its @mentions of `candidates` (as [`mentioned`]
/// finds them), in order: (the part as written, for a mention the ids of the people it
/// names, space-separated — several when they share the name).
fn mention_pieces<'t>(
    text: &'t str,
    candidates: &[(String, String)],
) -> Vec<(&'t str, Option<String>)> {
    if candidates.is_empty() || !text.contains('@') {
        return vec![(text, None)];
    }
    let (folded, origins) = fold_mapped(text);
    let mut pieces: Vec<(&'t str, Option<String>)> = Vec::new();
    let mut at = 0;
    for (start, end, ids) in find_mentions(&folded, &folded_names(candidates)) {
        let (from, to) = (origins[start].0, origins[end - 1].1);
        if from > at {
            pieces.push((&text[at..from], None));
        }
        pieces.push((&text[from..to], Some(ids.join(" "))));
        at = to;
    }
    if at < text.len() || pieces.is_empty() {
        pieces.push((&text[at..], None));
    }
    pieces
}

/// Who may be mentioned in a group's thread, (account id, display name), each once: the
/// group's members and, for an open group, every member of the structure (who may all
/// read it). Capability "groups".
pub fn group_mentionable(group_id: &str, open: bool) -> Vec<(String, String)> {
    let group = crate::groups::members(group_id)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.user_id, m.display_name));
    let everyone = if open { crate::members() } else { Vec::new() };
    let everyone = everyone.into_iter().map(|m| (m.user_id, m.display_name));
    let mut seen = std::collections::HashSet::new();
    group
        .chain(everyone)
        .filter(|(id, _)| seen.insert(id.clone()))
        .collect()
}

/// The ids of the `candidates` that `text` mentions ([`mentioned`]), its author left
/// out; `None` past [`MAX_MENTIONS`] (the caller refuses with [`TOO_MANY_MENTIONS`]).
pub fn mentioned_by(
    text: &str,
    candidates: &[(String, String)],
    author_id: &str,
) -> Option<Vec<String>> {
    let ids: Vec<String> = mentioned(text, candidates)
        .into_iter()
        .filter(|id| id != author_id)
        .collect();
    (ids.len() <= MAX_MENTIONS).then_some(ids)
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

    #[test]
    fn declares_the_read_markers() {
        let c = reads_collection();
        assert_eq!(c.name, READS);
        assert!(c.fields.iter().any(|f| f.name == "user" && f.required));
        assert_eq!(c.indexes[0].fields, ["subject", "user"]);
        assert!(c.indexes[0].unique);
    }

    fn message(id: &str, at: i64) -> Message {
        Message {
            id: id.into(),
            subject: "projet:1".into(),
            author: "7".into(),
            author_name: "Anne".into(),
            text: "Bonjour".into(),
            edited: false,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn cursors_are_written_and_read_back() {
        let c = Cursor {
            at: 1_733_000_000,
            id: "0190abc123def".into(),
        };
        assert_eq!(c.to_string(), "1733000000.0190abc123def");
        assert_eq!(Cursor::parse(&c.to_string()), Some(c.clone()));
        assert_eq!(Cursor::origin().to_string(), "0.");
        assert_eq!(Cursor::parse("0."), Some(Cursor::origin()));
        assert!(Cursor::parse("0.").unwrap().is_origin());
        // A record id may hold dots: the first one ends the instant.
        assert_eq!(
            Cursor::parse("12.a.b").map(|c| (c.at, c.id)),
            Some((12, "a.b".to_string()))
        );
        for bad in [
            "", ".", "12", "abc.x", "-1.x", "1e3.x", "12.a/b", "12.a b", " 12.x",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Cursor::parse(&format!("{}.x", "9".repeat(19))), None);
    }

    #[test]
    fn cursors_follow_the_thread_order() {
        let c = Cursor::of(&message("b", 10));
        assert!(!c.precedes(&message("b", 10)), "not after itself");
        assert!(c.precedes(&message("c", 10)), "same second, later id");
        assert!(!c.precedes(&message("a", 10)), "same second, earlier id");
        assert!(c.precedes(&message("a", 11)));
        assert!(!c.precedes(&message("z", 9)));
        assert!(Cursor::origin().precedes(&message("a", 1)));
        let mut messages = vec![message("b", 11), message("c", 10), message("a", 11)];
        sort_messages(&mut messages);
        let order: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
    }

    fn people(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect()
    }

    #[test]
    fn mentions_ignore_accents_and_case() {
        let p = people(&[("1", "Élodie Lefèvre"), ("2", "Marc Médecin")]);
        assert_eq!(mentioned("Merci @elodie LEFEVRE !", &p), ["1"]);
        assert_eq!(mentioned("@MARC MEDECIN, @Élodie Lefèvre", &p), ["2", "1"]);
        assert!(mentioned("Merci Élodie Lefèvre", &p).is_empty(), "no @");
    }

    #[test]
    fn mentions_take_the_longest_name_first() {
        let p = people(&[("1", "Marie"), ("2", "Marie Claire")]);
        assert_eq!(mentioned("@Marie Claire viendra", &p), ["2"]);
        assert_eq!(mentioned("@Marie et @Marie Claire", &p), ["1", "2"]);
        assert_eq!(
            mentioned("@Marie Claire et @Marie Claire", &p),
            ["2"],
            "once"
        );
        // Two people of the same name are both mentioned.
        let twins = people(&[("3", "Paul Martin"), ("4", "Paul Martin")]);
        assert_eq!(mentioned("@Paul Martin ?", &twins), ["3", "4"]);
    }

    #[test]
    fn a_mention_ends_at_the_end_a_space_or_punctuation() {
        let p = people(&[("1", "Marie")]);
        for text in [
            "@Marie",
            "Bonjour @Marie",
            "@Marie, bonjour",
            "(@Marie)",
            "@Marie.",
            "@Marie’s",
        ] {
            assert_eq!(mentioned(text, &p), ["1"], "{text:?}");
        }
        for text in ["@Mariette", "@Marie2", "ecrire a jean@marie.fr", "@ Marie"] {
            assert!(mentioned(text, &p).is_empty(), "{text:?}");
        }
        assert!(mentioned("@Marie", &people(&[("9", "  ")])).is_empty());
    }

    #[test]
    fn mention_pieces_keep_the_text_as_written_around_them() {
        let p = people(&[("1", "Élodie Lefèvre"), ("2", "Marie"), ("3", "Zoé Cœur")]);
        assert_eq!(
            mention_pieces("Merci @elodie  LEFEVRE, et <@Marie> !", &p),
            vec![
                ("Merci ", None),
                ("@elodie  LEFEVRE", Some("1".to_string())),
                (", et <", None),
                ("@Marie", Some("2".to_string())),
                ("> !", None),
            ]
        );
        // Folding may change the length (œ → oe): the parts are still those written.
        assert_eq!(
            mention_pieces("À @ZOÉ CŒUR.", &p),
            vec![
                ("À ", None),
                ("@ZOÉ CŒUR", Some("3".to_string())),
                (".", None)
            ]
        );
        assert_eq!(
            mention_pieces("@Marie", &p),
            vec![("@Marie", Some("2".to_string()))]
        );
        let twins = people(&[("3", "Paul Martin"), ("4", "Paul Martin")]);
        assert_eq!(
            mention_pieces("@Paul Martin ?", &twins),
            vec![("@Paul Martin", Some("3 4".to_string())), (" ?", None)]
        );
        for text in ["Sans mention", "jean@marie.fr", "@Mariette"] {
            assert_eq!(mention_pieces(text, &p), vec![(text, None)], "{text:?}");
        }
        assert_eq!(mention_pieces("@Marie", &[]), vec![("@Marie", None)]);
    }

    #[test]
    fn mentions_are_found_in_text_as_fold_reads_it() {
        let p = people(&[("1", "Anne Active")]);
        for text in [
            "  @Anne Active",
            "@anne\n active",
            "@ANNE\tACTIVE !",
            "x\n@Anne Active",
        ] {
            assert_eq!(mentioned(text, &p), ["1"], "{text:?}");
            let (folded, origins) = fold_mapped(text);
            assert_eq!(folded.len(), origins.len());
        }
    }
}
