//! What leaves the module: iCalendar objects (invitations, updates and cancellations as
//! iTIP, downloads and the personal feed), the mails that carry them, and the reminder
//! timer of each meeting.

use maillage_sdk::html::html;
use maillage_sdk::ics::{self, Calendar, Length, Method, Person, Status};
use maillage_sdk::mail::{self, Attachment, Message};
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::time;
use maillage_sdk::{fr, timers};

use crate::model::{self, Answer, Invitation, MEETINGS, Meeting};

/// The timer topic of the reminder the day before.
pub const REMINDER_TOPIC: &str = "agenda.rappel";
/// How long before the start the reminder leaves.
pub const REMINDER_BEFORE_SECS: i64 = 24 * 3600;

/// The iCalendar UID of a meeting: stable across updates and the cancellation.
pub fn uid(meeting: &Meeting) -> String {
    format!("{}@maillage", meeting.id)
}

/// The absolute URL of the meeting's page, for mails and calendar clients.
pub fn link(meeting: &Meeting) -> String {
    format!(
        "{}{}{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        meeting.path()
    )
}

/// The host part of the platform's address, for the organiser's no-reply address.
fn public_host() -> String {
    let url = maillage_sdk::public_url();
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url.as_str());
    let host = rest.split(['/', ':']).next().unwrap_or("");
    if host.is_empty() {
        "localhost".into()
    } else {
        host.to_string()
    }
}

fn description(meeting: &Meeting) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !meeting.agenda.trim().is_empty() {
        parts.push(format!("Ordre du jour :\n{}", meeting.agenda.trim()));
    }
    if !meeting.video.is_empty() {
        parts.push(format!("Visioconférence : {}", meeting.video));
    }
    parts.push(format!("Page de la réunion : {}", link(meeting)));
    parts.join("\n\n")
}

/// The meeting as one `VEVENT`.
pub fn event(meeting: &Meeting) -> ics::Event {
    let mut event = ics::Event::new(
        &uid(meeting),
        meeting.start(),
        meeting.tz(),
        Length::Minutes(meeting.duration),
        &meeting.title,
    );
    event.sequence = u32::try_from(meeting.sequence.max(0)).unwrap_or(0);
    event.location = if meeting.place.is_empty() {
        meeting.video.clone()
    } else {
        meeting.place.clone()
    };
    event.description = description(meeting);
    event.url = Some(link(meeting));
    let organiser = if meeting.organiser_name.is_empty() {
        maillage_sdk::context().structure_name
    } else {
        meeting.organiser_name.clone()
    };
    event.organizer = Some(Person {
        name: organiser,
        email: format!("ne-pas-repondre@{}", public_host()),
    });
    if meeting.is_cancelled() {
        event.status = Status::Cancelled;
    }
    event
}

/// An invitation or an update (`METHOD:REQUEST`), or the cancellation (`CANCEL`).
pub fn itip(meeting: &Meeting) -> (Method, Vec<u8>) {
    let method = if meeting.is_cancelled() {
        Method::Cancel
    } else {
        Method::Request
    };
    (
        method,
        Calendar::new(method)
            .with_event(event(meeting))
            .into_bytes(),
    )
}

/// The `.ics` download of one meeting (`METHOD:PUBLISH`).
pub fn download(meeting: &Meeting) -> Vec<u8> {
    Calendar::new(Method::Publish)
        .with_event(event(meeting))
        .into_bytes()
}

/// A member's feed (`METHOD:PUBLISH`, refreshed every hour).
pub fn feed(meetings: &[Meeting]) -> String {
    let ctx = maillage_sdk::context();
    let mut calendar = Calendar::feed(&format!("Réunions — {}", ctx.structure_name));
    calendar.events = meetings.iter().map(event).collect();
    calendar.to_ics()
}

/// What a mail tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Invitation,
    Change,
    Cancellation,
    Reminder,
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn subject(meeting: &Meeting, notice: Notice) -> String {
    let head = match notice {
        Notice::Invitation => "Invitation",
        Notice::Change => "Réunion modifiée",
        Notice::Cancellation => "Réunion annulée",
        Notice::Reminder => "Rappel",
    };
    one_line(&format!(
        "{head} : {} — {}",
        meeting.title,
        meeting.when_with_zone()
    ))
}

fn intro(meeting: &Meeting, notice: Notice) -> String {
    match notice {
        Notice::Invitation if meeting.organiser_name.is_empty() => {
            "Vous êtes invité(e) à une réunion.".into()
        }
        Notice::Invitation => format!(
            "Vous êtes invité(e) à une réunion organisée par {}.",
            meeting.organiser_name
        ),
        Notice::Change => "La réunion a été modifiée : voici ses nouvelles informations.".into(),
        Notice::Cancellation => "Cette réunion est annulée.".into(),
        Notice::Reminder => "Pour rappel, la réunion a lieu demain.".into(),
    }
}

/// (label, value) lines describing the meeting in a mail.
fn facts(meeting: &Meeting) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Date", meeting.when_with_zone()),
        ("Durée", fr::duration(meeting.duration)),
    ];
    if !meeting.place.is_empty() {
        facts.push(("Lieu", meeting.place.clone()));
    }
    if !meeting.video.is_empty() {
        facts.push(("Visioconférence", meeting.video.clone()));
    }
    facts
}

fn text_body(meeting: &Meeting, notice: Notice) -> String {
    let mut text = format!(
        "Bonjour,\n\n{}\n\n{}\n",
        intro(meeting, notice),
        meeting.title
    );
    for (label, value) in facts(meeting) {
        text.push_str(&format!("{label} : {value}\n"));
    }
    if !meeting.agenda.trim().is_empty() && notice != Notice::Cancellation {
        text.push_str(&format!("\nOrdre du jour :\n{}\n", meeting.agenda.trim()));
    }
    if notice == Notice::Cancellation {
        text.push_str(&format!("\nLa réunion : {}\n", link(meeting)));
        text.push_str("\nLe fichier joint retire la réunion de votre agenda.\n");
    } else {
        text.push_str(&format!(
            "\nIndiquer votre présence ou votre absence : {}\n",
            link(meeting)
        ));
        text.push_str(
            "\nLe fichier joint ajoute la réunion à votre agenda ; il la met à jour si elle change.\n",
        );
    }
    text
}

fn html_body(meeting: &Meeting, notice: Notice) -> String {
    let url = link(meeting);
    let markup = html! {
        p { "Bonjour," }
        p { (intro(meeting, notice)) }
        h2 { (meeting.title) }
        ul {
            @for (label, value) in facts(meeting) {
                li { strong { (label) " : " } (value) }
            }
        }
        @if !meeting.agenda.trim().is_empty() && notice != Notice::Cancellation {
            h3 { "Ordre du jour" }
            p {
                @for line in meeting.agenda.lines() {
                    (line) br;
                }
            }
        }
        @if notice == Notice::Cancellation {
            p { a href=(url) { "Voir la réunion" } }
        } @else {
            p { a href=(url) { "Indiquer votre présence ou votre absence" } }
            p { "Le fichier joint ajoute la réunion à votre agenda ; il la met à jour si elle change." }
        }
    };
    markup.into_string()
}

/// Mails `notice` about `meeting`, with its `.ics`, to the members among `to` (account
/// ids); each gets their own mail, so nobody sees the others' addresses. Those who
/// left the structure are skipped. Returns how many mails were queued.
pub fn send(meeting: &Meeting, notice: Notice, to: &[String]) -> u32 {
    let members: Vec<String> = maillage_sdk::members()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let mut recipients: Vec<String> = to
        .iter()
        .filter(|id| members.contains(id))
        .cloned()
        .collect();
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() {
        return 0;
    }
    let message = message(meeting, notice, recipients, Vec::new());
    match mail::send_in_batches(&message) {
        Ok(queued) => queued,
        Err(e) => {
            maillage_sdk::log::warn(&format!(
                "agenda: mail about meeting {} not queued: {e}",
                meeting.id
            ));
            0
        }
    }
}

/// The mail of `notice` about `meeting`, with its `.ics`, to members (`to`, account
/// ids) and guests (`external`, addresses).
fn message(meeting: &Meeting, notice: Notice, to: Vec<String>, external: Vec<String>) -> Message {
    let (method, content) = itip(meeting);
    let file_name = if method == Method::Cancel {
        "annulation.ics"
    } else {
        "invitation.ics"
    };
    Message {
        to,
        external,
        subject: subject(meeting, notice),
        text: text_body(meeting, notice),
        html: Some(html_body(meeting, notice)),
        attachments: vec![Attachment {
            file_name: file_name.into(),
            content_type: method.content_type().into(),
            content,
        }],
    }
}

/// Mails `notice` to the meeting's external guests (the addresses the organiser typed),
/// all of them or those whose invitation key is in `only`. Needs the "mail-external"
/// grant; without it the host refuses and the guests are told by the organiser (the
/// page offers the `.ics`). Returns how many mails were queued.
pub fn send_guests(meeting: &Meeting, notice: Notice, only: Option<&[String]>) -> u32 {
    let Ok(invitations) = model::invitations(&meeting.id) else {
        return 0;
    };
    let mut external: Vec<String> = invitations
        .iter()
        .filter(|i| i.user.is_none() && !i.email.is_empty())
        .filter(|i| only.is_none_or(|keys| keys.contains(&i.key)))
        .map(|i| i.email.clone())
        .collect();
    external.sort();
    external.dedup();
    if external.is_empty() {
        return 0;
    }
    match mail::send_in_batches(&message(meeting, notice, Vec::new(), external)) {
        Ok(queued) => queued,
        Err(e) => {
            maillage_sdk::log::warn(&format!(
                "agenda: guests of meeting {} not mailed: {e}",
                meeting.id
            ));
            0
        }
    }
}

/// The account ids of the invitees, but `except` (the member acting) and, when asked,
/// those who said they will be absent.
pub fn member_invitees(
    invitations: &[Invitation],
    except: Option<&str>,
    skip_absent: bool,
) -> Vec<String> {
    invitations
        .iter()
        .filter(|i| !(skip_absent && i.answer() == Answer::Absent))
        .filter_map(|i| i.user.clone())
        .filter(|u| Some(u.as_str()) != except)
        .collect()
}

/// Schedules the reminder of the day before, for the meeting's current sequence;
/// none when that moment has passed.
pub fn schedule_reminder(meeting: &Meeting, now: i64) -> Option<String> {
    let at = meeting.start_at - REMINDER_BEFORE_SECS;
    if at <= now || meeting.is_cancelled() {
        return None;
    }
    let payload = serde_json::json!({ "meeting": meeting.id, "sequence": meeting.sequence });
    match timers::schedule(REMINDER_TOPIC, &payload, at) {
        Ok(id) => Some(id),
        Err(e) => {
            maillage_sdk::log::warn(&format!(
                "agenda: reminder of meeting {} not scheduled: {e}",
                meeting.id
            ));
            None
        }
    }
}

/// Cancels the meeting's pending reminder, if any.
pub fn cancel_reminder(meeting: &Meeting) {
    if let Some(timer) = &meeting.reminder_timer
        && let Err(e) = timers::cancel(timer)
    {
        maillage_sdk::log::warn(&format!(
            "agenda: reminder {timer} of meeting {} not cancelled: {e}",
            meeting.id
        ));
    }
}

/// The reminder timer fired: mail the invitees who did not say they would be absent,
/// once per sequence, unless the meeting moved (a newer timer then carries its new
/// sequence), was cancelled or already started.
pub fn on_reminder(payload: &str) -> Result<(), String> {
    let payload: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("reminder payload: {e}"))?;
    let id = payload["meeting"].as_str().unwrap_or_default();
    let sequence = payload["sequence"].as_i64().unwrap_or(-1);
    if !records::valid_id(id) {
        return Ok(());
    }
    let store = |e: StoreError| format!("{e}");
    let Some(meeting) = records::get::<Meeting>(MEETINGS, id).map_err(store)? else {
        return Ok(());
    };
    let now = time::now_seconds();
    if meeting.is_cancelled()
        || meeting.sequence != sequence
        || meeting.reminded_sequence == Some(sequence)
        || now >= meeting.start_at
    {
        return Ok(());
    }
    let invitations = model::invitations(id).map_err(store)?;
    let to = member_invitees(&invitations, None, true);
    send(&meeting, Notice::Reminder, &to);
    records::update::<serde_json::Value>(
        MEETINGS,
        id,
        &serde_json::json!({ "reminded_sequence": sequence, "reminder_timer": null }),
    )
    .map_err(store)?;
    Ok(())
}

/// « jeudi 3 décembre 2026 à 20:00 », for lists.
pub fn short_when(meeting: &Meeting) -> String {
    let local = time::local(meeting.start(), &meeting.tz());
    format!("{} à {}", time::date_fr(local.date()), time::time_fr(local))
}
