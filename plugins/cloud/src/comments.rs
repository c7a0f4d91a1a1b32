//! Comments on a document: the SDK's thread (`maillage_sdk::thread`), one per document,
//! subject `document:{id}`, as the projects module keeps one per project. Référents,
//! membres actifs, invités (« lecture et commentaires ») and coordinators comment
//! ([`Place::may_comment`]); authors edit and delete their own comments, référents and
//! coordinators may delete any; members of the structure outside the group read an open
//! project's comments without commenting. @mentions of people who may read the document
//! are mailed to them, without the comment's text nor the document's name (either may
//! hold health data): who, which project, when, and the link.

use std::collections::HashMap;

use maillage_sdk::html::{Markup, html};
use maillage_sdk::mail::{self, Message as Mail};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::thread::{self, Action, Message, Options, ThreadError};
use maillage_sdk::{Request, Response, User, time};

use crate::model::{self, Document, Place};
use crate::ui::{self, PageResult};

/// Ends every automated mail about a comment.
pub const HEALTH_WARNING: &str = "Ce courriel ne contient aucune donnée de santé : n’y répondez pas avec des informations sur des patients.";

const ONLY_MEMBERS: &str = "Seuls les membres du projet commentent ses documents.";

fn thread_path(document: &Document) -> String {
    format!("{}/fil", document.path())
}

/// The comments of a document's page, `div#commentaires`.
pub fn section(document: &Document, place: &Place) -> Result<Markup, StoreError> {
    let messages = thread::list(&document.subject())?;
    let action = thread_path(document);
    let options = Options {
        action: &action,
        viewer: place.me.as_ref().map(|u| u.id.as_str()),
        can_post: place.may_comment() && !place.archived(),
        moderator: place.manages(),
        title: "Commentaires",
    };
    Ok(html! { div id="commentaires" { (thread::render(&messages, &options)) } })
}

/// How many comments each document has, by document id (one query).
pub fn counts(documents: &[Document]) -> Result<HashMap<String, i64>, StoreError> {
    let mut out = HashMap::new();
    // The host takes at most 1000 values in a list.
    for chunk in documents.chunks(500) {
        let subjects: Vec<String> = chunk.iter().map(Document::subject).collect();
        let groups = Query::new()
            .filter("subject in {:s}")
            .param("s", &subjects)
            .aggregate(thread::COLLECTION, Some("subject"), None)?;
        for g in groups {
            if let Some(subject) = records::id_text(&g.key)
                && let Some(id) = subject.strip_prefix("document:")
            {
                out.insert(id.to_string(), g.count);
            }
        }
    }
    Ok(out)
}

/// `POST /d/{doc}/fil`, `POST /d/{doc}/fil/{m}/modifier`, `POST /d/{doc}/fil/{m}/supprimer`.
pub fn act(document_id: &str, rest: &[&str], request: &Request) -> PageResult {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Response::not_found());
    };
    let Some(action) = Action::parse(rest) else {
        return Ok(Response::not_found());
    };
    let back = document.path();
    let Some(user) = place.me.clone() else {
        return Ok(ui::refused(403, ONLY_MEMBERS, &back));
    };
    if !place.may_comment() {
        return Ok(ui::refused(403, ONLY_MEMBERS, &back));
    }
    if place.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED, &back));
    }
    let subject = document.subject();
    let text = request.form().get("texte");
    let done = match action {
        Action::Post => post(&document, &place, &subject, &user, &text),
        Action::Edit(id) => edit(&document, &place, &subject, &id, &user, &text),
        Action::Delete(id) => thread::delete(&subject, &id, &user, place.manages())
            .map(|()| "commentaires".to_string())
            .map_err(|e| e.response()),
    };
    Ok(match done {
        Ok(anchor) => Response::see_other(&format!("{back}?ok=commentaire#{anchor}")),
        Err(refused) => refused,
    })
}

/// Posts, then mails the people mentioned; the anchor of the new comment.
fn post(
    document: &Document,
    place: &Place,
    subject: &str,
    user: &User,
    text: &str,
) -> Result<String, Response> {
    let candidates = candidates(place, text);
    let mentioned = mentions(document, &candidates, user, text)?;
    let message = thread::post(subject, user, text).map_err(|e| e.response())?;
    mail_mentions(document, place, &message, &mentioned);
    Ok(format!("message-{}", message.id))
}

/// Edits one's own comment, then mails the people the edit mentions and the comment did
/// not already.
fn edit(
    document: &Document,
    place: &Place,
    subject: &str,
    message_id: &str,
    user: &User,
    text: &str,
) -> Result<String, Response> {
    let before = thread::get(subject, message_id)
        .map_err(|e| ThreadError::Store(e).response())?
        .ok_or_else(|| ThreadError::NotFound.response())?;
    if before.author != user.id {
        return Err(ThreadError::NotYours.response());
    }
    let candidates = candidates(place, text);
    let now = mentions(document, &candidates, user, text)?;
    let already = thread::mentioned(&before.text, &candidates);
    let message = thread::edit(subject, message_id, user, text).map_err(|e| e.response())?;
    let added: Vec<String> = now.into_iter().filter(|id| !already.contains(id)).collect();
    mail_mentions(document, place, &message, &added);
    Ok(format!("message-{}", message.id))
}

/// Who a comment may mention: those who may read the document (nobody when the text
/// holds no `@`).
fn candidates(place: &Place, text: &str) -> Vec<(String, String)> {
    if !text.contains('@') {
        return Vec::new();
    }
    thread::group_mentionable(&place.group.id, place.group.open)
}

/// The people `text` mentions but its author; 422 past [`thread::MAX_MENTIONS`].
fn mentions(
    document: &Document,
    candidates: &[(String, String)],
    author: &User,
    text: &str,
) -> Result<Vec<String>, Response> {
    thread::mentioned_by(text, candidates, &author.id)
        .ok_or_else(|| ui::refused(422, thread::TOO_MANY_MENTIONS, &document.path()))
}

/// One mail to each person mentioned: who, which project, when, and the link; never the
/// comment nor the document's name.
fn mail_mentions(document: &Document, place: &Place, message: &Message, to: &[String]) {
    if to.is_empty() {
        return;
    }
    let author = if message.author_name.is_empty() {
        place
            .me
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default()
    } else {
        message.author_name.clone()
    };
    let link = format!(
        "{}{}{}#message-{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        document.path(),
        message.id
    );
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let when = time::instant_fr(time::from_seconds(message.created_at), &zone);
    let text = format!(
        "Bonjour,\n\n{author} vous a mentionné(e) dans un commentaire sur un document du \
         projet « {} » ({when}).\n\nPour lire le commentaire : {link}\n\n{HEALTH_WARNING}\n",
        place.group.name
    );
    let subject = format!(
        "{author} vous a mentionné(e) dans les documents de « {} »",
        place.group.name
    );
    for id in to {
        let mail = Mail {
            to: vec![id.clone()],
            external: Vec::new(),
            subject: subject.clone(),
            text: text.clone(),
            html: None,
            attachments: Vec::new(),
        };
        if let Err(e) = mail::send(&mail) {
            maillage_sdk::log::warn(&format!("documents: mention mail not sent: {e}"));
        }
    }
}
