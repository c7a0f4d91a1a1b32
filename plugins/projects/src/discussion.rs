//! The project's discussion thread (shared guest code, `maillage_sdk::thread`, subject
//! `projet:{g}`): members of the group and coordinators post; authors edit and delete
//! their own messages; référents and coordinators may delete any. The page shows the
//! latest messages, marks those not read yet and keeps up through the poller
//! (`GET /p/{g}/fil/suivi`); « Messages précédents » pages back (`?avant=`); @mentions
//! of people who may read the project are highlighted (`span.mention`) and mailed to
//! them, without the message's text; unread counts for « Mes projets » and the
//! `unread-threads` widget (docs/projects-contract.md, « Threads »).

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, href, html};
use maillage_sdk::mail::{self, Message as Mail};
use maillage_sdk::records::StoreError;
use maillage_sdk::thread::{self, Action, Cursor, Live, Message, Options, Paging, ThreadError};
use maillage_sdk::{Request, Response, User, time};

use crate::model::{self, Loaded, Project, Viewer};
use crate::projects::{loaded, thread_subject};
use crate::ui::{self, PageResult};

/// Messages the project page shows: the latest.
pub const PAGE_MESSAGES: u32 = 100;
/// Projects the `unread-threads` widget lists at most.
const WIDGET_MAX: usize = 8;

/// Ends every automated mail about the thread.
pub const HEALTH_WARNING: &str = "Ce courriel ne contient aucune donnée de santé : n’y répondez pas avec des informations sur des patients.";

const BAD_CURSOR: &str = "La position demandée dans la discussion est illisible.";

/// The viewer's account id when they take part in the thread (members of the group,
/// coordinators): their read marker is kept and their unread messages are marked.
fn reader(l: &Loaded) -> Option<&str> {
    l.me().filter(|_| l.inside())
}

/// A `{created_at}.{id}` position of the query (the poller's `apres`, the page's
/// `avant`): none when absent, the 422 when malformed or empty.
fn cursor_param(query: &str, name: &str) -> Result<Option<Cursor>, Response> {
    let values = Form::parse(query.as_bytes()).all(name);
    match values.first() {
        None => Ok(None),
        Some(text) => Cursor::parse(text)
            .map(Some)
            .ok_or_else(|| ui::refused(422, BAD_CURSOR)),
    }
}

fn poll_path(l: &Loaded) -> String {
    format!("{}/fil/suivi", l.project.path())
}

fn options<'a>(l: &'a Loaded, action: &'a str) -> Options<'a> {
    Options {
        action,
        viewer: l.me(),
        can_post: l.inside() && !l.archived(),
        moderator: l.manages(),
        title: "Discussion",
    }
}

/// The thread on the project page, `div#fil`: the latest [`PAGE_MESSAGES`], those of
/// others after the viewer's marker marked as new (read before it moves), then the
/// marker moved to the newest shown; with `?avant={created_at}.{id}`, the
/// [`PAGE_MESSAGES`] just before that message, the marker left as it is (only the latest
/// page moves it, so browsing back never marks anything read nor moves it backwards)
/// and no poller (what is new would not follow them), but the link back to the latest.
/// « Messages précédents » when older messages remain. A malformed `avant`: the 422 to
/// answer.
pub fn section(l: &Loaded, query: &str) -> Result<Result<Markup, Response>, StoreError> {
    let before = match cursor_param(query, "avant") {
        Ok(before) => before,
        Err(refused) => return Ok(Err(refused)),
    };
    let subject = thread_subject(&l.project);
    // One more than shown: whether older messages remain.
    let mut messages = match &before {
        Some(c) => thread::list_before(&subject, c.at, &c.id, PAGE_MESSAGES + 1)?,
        None => thread::list_latest(&subject, PAGE_MESSAGES + 1)?,
    };
    let older_remain = messages.len() > PAGE_MESSAGES as usize;
    if older_remain {
        messages.remove(0);
    }
    let unread_from = match reader(l) {
        Some(me) => Some(thread::read_marker(&subject, me)?.unwrap_or_else(Cursor::origin)),
        None => None,
    };
    if before.is_none()
        && let (Some(me), Some(newest)) = (reader(l), messages.last())
    {
        thread::mark_read(&subject, me, newest)?;
    }
    let path = l.project.path();
    let paging = Paging {
        older: messages
            .first()
            .filter(|_| older_remain)
            .map(|oldest| format!("{path}?avant={}#fil", Cursor::of(oldest))),
        latest: before.as_ref().map(|_| format!("{path}#fil")),
    };
    let live = Live {
        poll_path: poll_path(l),
        cursor: messages
            .last()
            .map(Cursor::of)
            .unwrap_or_else(Cursor::origin),
        since: time::now_seconds(),
        unread_from,
        mentionable: candidates(l, messages.iter().map(|m| m.text.as_str())),
        paging,
    };
    let action = format!("{path}/fil");
    let rendered = thread::render_live(&messages, &options(l, &action), &live);
    Ok(Ok(html! { div id="fil" { (rendered) } }))
}

/// `GET /p/{g}/fil/suivi?apres={created_at}.{id}&depuis={unix}` (readers of the
/// project): 204 when nothing is new or edited, else the poller's fragment; the marker
/// of a member moves to the newest message sent.
pub fn poll(group_id: &str, query: &str) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let after = match cursor_param(query, "apres") {
        Ok(Some(after)) => after,
        Ok(None) => return Ok(ui::refused(422, BAD_CURSOR)),
        Err(refused) => return Ok(refused),
    };
    let since = match ui::param(query, "depuis").as_str() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(t) if t >= 0 => Some(t),
            _ => return Ok(ui::refused(422, BAD_CURSOR)),
        },
    };
    let subject = thread_subject(&l.project);
    let new = thread::list_after(&subject, after.at, &after.id)?;
    let edited: Vec<Message> = match since {
        Some(t) => thread::list_edited_since(&subject, t)?
            .into_iter()
            .filter(|m| !after.precedes(m))
            .collect(),
        None => Vec::new(),
    };
    if new.is_empty() && edited.is_empty() {
        return Ok(Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        });
    }
    if let (Some(me), Some(newest)) = (reader(&l), new.last()) {
        thread::mark_read(&subject, me, newest)?;
    }
    let live = Live {
        poll_path: poll_path(&l),
        cursor: new.last().map(Cursor::of).unwrap_or_else(|| after.clone()),
        since: time::now_seconds(),
        unread_from: reader(&l).map(|_| after.clone()),
        mentionable: candidates(&l, new.iter().chain(&edited).map(|m| m.text.as_str())),
        paging: Paging::default(),
    };
    let action = format!("{}/fil", l.project.path());
    Ok(Response::fragment(thread::poll_update(
        &after,
        &new,
        &edited,
        &options(&l, &action),
        &live,
    )))
}

/// `POST /p/{g}/fil`, `POST /p/{g}/fil/{m}/modifier`, `POST /p/{g}/fil/{m}/supprimer`.
pub fn act(group_id: &str, rest: &[&str], request: &Request) -> PageResult {
    let l = match loaded(group_id)? {
        Ok(l) => l,
        Err(r) => return Ok(r),
    };
    let Some(action) = Action::parse(rest) else {
        return Ok(Response::not_found());
    };
    let Some(user) = l.me.clone() else {
        return ui::forbidden("Veuillez vous connecter.");
    };
    if !l.inside() {
        return ui::forbidden("Seuls les membres du projet participent à sa discussion.");
    }
    if l.archived() {
        return Ok(ui::refused(409, ui::ARCHIVED));
    }
    let subject = thread_subject(&l.project);
    let text = request.form().get("texte");
    let done = match action {
        Action::Post => post(&l, &subject, &user, &text),
        Action::Edit(id) => edit(&l, &subject, &id, &user, &text),
        Action::Delete(id) => thread::delete(&subject, &id, &user, l.manages())
            .map(|()| "discussion".to_string())
            .map_err(|e| e.response()),
    };
    Ok(match done {
        Ok(anchor) => Response::see_other(&format!("{}?ok=message#{anchor}", l.project.path())),
        Err(refused) => refused,
    })
}

/// Posts, then mails the people mentioned; the anchor of the new message.
fn post(l: &Loaded, subject: &str, user: &User, text: &str) -> Result<String, Response> {
    let candidates = candidates(l, std::iter::once(text));
    let mentioned = mentions(&candidates, user, text)?;
    let message = thread::post(subject, user, text).map_err(|e| e.response())?;
    mail_mentions(l, &message, &mentioned);
    Ok(format!("message-{}", message.id))
}

/// Edits one's own message, then mails the people the edit mentions and the message
/// did not already.
fn edit(
    l: &Loaded,
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
    let candidates = candidates(l, std::iter::once(text));
    let now = mentions(&candidates, user, text)?;
    let already = thread::mentioned(&before.text, &candidates);
    let message = thread::edit(subject, message_id, user, text).map_err(|e| e.response())?;
    let added: Vec<String> = now.into_iter().filter(|id| !already.contains(id)).collect();
    mail_mentions(l, &message, &added);
    Ok(format!("message-{}", message.id))
}

/// Who a message may mention, (account id, name): those who may read the project, the
/// group's members and, for an open project, every member of the structure (nobody when
/// none of `texts` holds an `@`). The mails and the `span.mention` of the page and the
/// poller take the same people.
fn candidates<'t>(l: &Loaded, mut texts: impl Iterator<Item = &'t str>) -> Vec<(String, String)> {
    if !texts.any(|text| text.contains('@')) {
        return Vec::new();
    }
    thread::group_mentionable(&l.group.id, l.group.open)
}

/// The people `text` mentions but its author; 422 past [`thread::MAX_MENTIONS`].
fn mentions(
    candidates: &[(String, String)],
    author: &User,
    text: &str,
) -> Result<Vec<String>, Response> {
    thread::mentioned_by(text, candidates, &author.id)
        .ok_or_else(|| ui::refused(422, thread::TOO_MANY_MENTIONS))
}

/// One mail to each person mentioned: who, where, when and the link, never the text
/// (it may hold health data), and the health-data warning.
fn mail_mentions(l: &Loaded, message: &Message, to: &[String]) {
    if to.is_empty() {
        return;
    }
    // Those who turned mention mails off (« Mes notifications ») get none.
    let off = match crate::preferences::without_mention_mail(to) {
        Ok(off) => off,
        Err(e) => {
            maillage_sdk::log::warn(&format!("mention mails not sent: {e}"));
            return;
        }
    };
    let to: Vec<&String> = to.iter().filter(|id| !off.contains(id.as_str())).collect();
    let author = if message.author_name.is_empty() {
        l.my_name()
    } else {
        message.author_name.clone()
    };
    let link = format!(
        "{}{}{}#message-{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        l.project.path(),
        message.id
    );
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    let when = time::instant_fr(time::from_seconds(message.created_at), &zone);
    let text = format!(
        "Bonjour,\n\n{author} vous a mentionné(e) dans un message de la discussion du \
         projet « {} » ({when}).\n\nPour lire le message : {link}\n\n{HEALTH_WARNING}\n",
        l.project.name
    );
    let subject = format!("{author} vous a mentionné(e) dans « {} »", l.project.name);
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
            maillage_sdk::log::warn(&format!("mention mail not sent: {e}"));
        }
    }
}

/// Unread messages of the project's thread for `user_id`.
pub fn unread(project: &Project, user_id: &str) -> Result<i64, StoreError> {
    thread::unread_count(&thread_subject(project), user_id)
}

/// `span.non-lus[data-count]`: « 3 messages non lus ».
pub fn unread_badge(count: i64) -> Markup {
    html! {
        span class="non-lus" data-count=(count) {
            @if count == 0 {
                "Aucun message non lu"
            } @else if count == 1 {
                "1 message non lu"
            } @else {
                (count) " messages non lus"
            }
        }
    }
}

/// `GET /widget/fils` (`unread-threads`): my current projects with unread messages,
/// most unread first.
pub fn widget() -> PageResult {
    let viewer = Viewer::current();
    let mut rows: Vec<(Project, i64)> = Vec::new();
    if let Some(me) = viewer.id() {
        for project in model::all_projects()? {
            let Some(group) = viewer.group(&project.group_id) else {
                continue;
            };
            if group.my_role.is_none() || group.archived {
                continue;
            }
            let count = unread(&project, me)?;
            if count > 0 {
                let name = group.name.clone();
                rows.push((Project { name, ..project }, count));
            }
        }
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
    rows.truncate(WIDGET_MAX);
    Ok(Response::fragment(html! {
        div class="widget-fils" {
            @if rows.is_empty() {
                p class="empty" { "Aucun message non lu." }
            } @else {
                ul {
                    @for (project, count) in &rows {
                        li data-groupe=(project.group_id) {
                            a href=(href(&format!("{}#non-lus", project.path()))) { (project.title()) }
                            " · "
                            (unread_badge(*count))
                        }
                    }
                }
            }
        }
    }))
}
