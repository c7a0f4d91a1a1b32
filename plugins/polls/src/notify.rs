//! Mails (invitation, reminder, chosen date, « tout le monde a répondu ») and the
//! reminder timer. Recipients are account ids; in a blind poll no mail names anyone.
//! A refused mail is logged and does not undo the poll's change.

use std::collections::HashSet;

use maillage_sdk::html::{Markup, html};
use maillage_sdk::mail::{self, Attachment, Message};
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::time::jiff::Timestamp;
use maillage_sdk::time::jiff::civil::Date;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::{Event, fr, log, time};
use serde_json::json;

use crate::model::{self, POLLS, Poll, Slot, Visibility, structure_zone};

/// The topic of the reminder timer; payload `{"poll": id}`.
pub const REMINDER_TOPIC: &str = "polls.reminder";

/// The poll's page, for links in mails.
fn link(poll: &Poll) -> String {
    format!(
        "{}{}/p/{}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        poll.id
    )
}

/// A slot for a mail, in the structure's zone and naming it (recipients may be
/// elsewhere): « jeudi 3 décembre 2026, 20:00 (Europe/Paris) ».
fn slot_text(slot: &Slot, zone: &TimeZone) -> String {
    match slot.instant() {
        Some(_) => format!("{} ({})", slot.label(zone), time::zone_name(zone)),
        None => slot.label(zone),
    }
}

fn deadline_text(poll: &Poll, zone: &TimeZone) -> Option<String> {
    let deadline = time::from_seconds(poll.deadline?);
    Some(format!(
        "{} ({})",
        time::instant_fr(deadline, zone),
        time::zone_name(zone)
    ))
}

/// Sends to the recipients still active in the structure (the host refuses a whole
/// mail for one departed member), in batches the host accepts.
fn send(
    mut to: Vec<String>,
    subject: String,
    text: String,
    html: Markup,
    attachments: Vec<Attachment>,
) {
    let active: HashSet<String> = model::structure_members()
        .into_iter()
        .map(|member| member.id)
        .collect();
    to.retain(|id| active.contains(id));
    if to.is_empty() {
        return;
    }
    let message = Message {
        to,
        external: Vec::new(),
        subject,
        text,
        html: Some(html.into_string()),
        attachments,
    };
    if let Err(e) = mail::send_in_batches(&message) {
        log::warn(&format!("mail « {} » not sent: {e}", message.subject));
    }
}

fn signature() -> String {
    format!("—\nMaillage · {}", maillage_sdk::context().structure_name)
}

/// On creation: every invitee but the organiser.
pub fn invitations(poll: &Poll) {
    let to: Vec<String> = poll
        .invitees
        .iter()
        .filter(|i| Some(&i.id) != poll.organiser.as_ref())
        .map(|i| i.id.clone())
        .collect();
    if to.is_empty() {
        return;
    }
    let zone = structure_zone();
    let url = link(poll);
    // A blind poll's mails name no one, the organiser included.
    let intro = if poll.visibility() == Visibility::Blind || poll.author.is_empty() {
        format!(
            "Vous êtes invité à indiquer vos disponibilités pour « {} ».",
            poll.title
        )
    } else {
        format!(
            "{} vous invite à indiquer vos disponibilités pour « {} ».",
            poll.author, poll.title
        )
    };
    let slots: Vec<String> = poll.slots.iter().map(|s| slot_text(s, &zone)).collect();
    let deadline = deadline_text(poll, &zone);
    let mut text = format!("Bonjour,\n\n{intro}\n");
    if !poll.description.is_empty() {
        text.push_str(&format!("\n{}\n", poll.description));
    }
    text.push_str("\nCréneaux proposés :\n");
    for slot in &slots {
        text.push_str(&format!("- {slot}\n"));
    }
    text.push_str(&practical_text(poll));
    if let Some(deadline) = &deadline {
        text.push_str(&format!("\nMerci de répondre avant le {deadline}.\n"));
    }
    text.push_str(&format!(
        "\nRépondre au sondage : {url}\n\n{}\n",
        signature()
    ));
    let html = html! {
        p { "Bonjour," }
        p { (intro) }
        @if !poll.description.is_empty() { p { (poll.description) } }
        p { "Créneaux proposés :" }
        ul { @for slot in &slots { li { (slot) } } }
        (practical_html(poll))
        @if let Some(deadline) = &deadline { p { "Merci de répondre avant le " (deadline) "." } }
        p { a href=(url) { "Répondre au sondage" } }
    };
    send(
        to,
        format!("Sondage : {}", poll.title),
        text,
        html,
        Vec::new(),
    );
}

/// Place, video link and duration, as text lines.
fn practical_text(poll: &Poll) -> String {
    let mut text = String::new();
    if !poll.place.is_empty() {
        text.push_str(&format!("\nLieu : {}", poll.place));
    }
    if !poll.video.is_empty() {
        text.push_str(&format!("\nVisioconférence : {}", poll.video));
    }
    if poll.kind() == model::Kind::Times {
        text.push_str(&format!("\nDurée : {}", fr::duration(poll.duration())));
    }
    text.push('\n');
    text
}

fn practical_html(poll: &Poll) -> Markup {
    html! {
        ul {
            @if !poll.place.is_empty() { li { "Lieu : " (poll.place) } }
            @if !poll.video.is_empty() { li { "Visioconférence : " a href=(poll.video) { (poll.video) } } }
            @if poll.kind() == model::Kind::Times { li { "Durée : " (fr::duration(poll.duration())) } }
        }
    }
}

/// The date is chosen: every invitee, with the event as an iCalendar attachment.
pub fn chosen(poll: &Poll, slot: &Slot) {
    let zone = structure_zone();
    let url = link(poll);
    let when = slot_text(slot, &zone);
    let text = format!(
        "Bonjour,\n\nLa date retenue pour « {} » est : {when}.\n{}\nVoir le sondage : {url}\n\n{}\n",
        poll.title,
        practical_text(poll),
        signature()
    );
    let html = html! {
        p { "Bonjour," }
        p { "La date retenue pour « " (poll.title) " » est : " strong { (when) } "." }
        (practical_html(poll))
        p { a href=(url) { "Voir le sondage" } }
    };
    let to = poll.invitees.iter().map(|i| i.id.clone()).collect();
    let attachments = ics(poll, slot, &url).into_iter().collect();
    send(
        to,
        format!("Date retenue : {}", poll.title),
        text,
        html,
        attachments,
    );
}

/// The last invitee answered: the organiser, once.
pub fn everyone_answered(poll: &Poll) {
    let Some(organiser) = poll.organiser.clone() else {
        return;
    };
    let url = link(poll);
    let text = format!(
        "Bonjour,\n\nToutes les personnes invitées ont répondu au sondage « {} ». Vous pouvez maintenant retenir une date.\n\nVoir les réponses : {url}\n\n{}\n",
        poll.title,
        signature()
    );
    let html = html! {
        p { "Bonjour," }
        p { "Toutes les personnes invitées ont répondu au sondage « " (poll.title) " ». Vous pouvez maintenant retenir une date." }
        p { a href=(url) { "Voir les réponses" } }
    };
    send(
        vec![organiser],
        format!("Tout le monde a répondu : {}", poll.title),
        text,
        html,
        Vec::new(),
    );
}

/// `on_event`: the reminder timer.
pub fn on_event(event: &Event) -> Result<(), String> {
    if event.topic != REMINDER_TOPIC {
        return Ok(());
    }
    let payload: serde_json::Value = serde_json::from_str(&event.payload)
        .map_err(|e| format!("reminder payload is not JSON: {e}"))?;
    let Some(id) = payload.get("poll").and_then(|id| id.as_str()) else {
        log::warn("reminder without a poll id: ignored");
        return Ok(());
    };
    remind(id).map_err(|e| format!("reminder of poll {id}: store failure: {e}"))
}

/// Mails the invitees who have not answered, once (`reminded_at`), unless the poll is
/// closed, past its deadline, or everyone answered.
fn remind(id: &str) -> Result<(), StoreError> {
    let Some(poll) = model::load(id)? else {
        return Ok(());
    };
    let now = time::now_seconds();
    if poll.reminded_at.is_some() || !poll.accepts_answers(now) {
        return Ok(());
    }
    let answered: HashSet<String> = model::answers_of(&poll.id)?
        .into_iter()
        .map(|answer| answer.user)
        .collect();
    let pending: Vec<String> = poll
        .invitees
        .iter()
        .filter(|i| !answered.contains(&i.id))
        .map(|i| i.id.clone())
        .collect();
    if !pending.is_empty() {
        let zone = structure_zone();
        let url = link(&poll);
        let deadline = deadline_text(&poll, &zone);
        let until = deadline
            .as_deref()
            .map(|d| format!(" Les réponses sont attendues avant le {d}."))
            .unwrap_or_default();
        let text = format!(
            "Bonjour,\n\nVous n’avez pas encore répondu au sondage « {} ».{until}\n\nRépondre au sondage : {url}\n\n{}\n",
            poll.title,
            signature()
        );
        let html = html! {
            p { "Bonjour," }
            p { "Vous n’avez pas encore répondu au sondage « " (poll.title) " »." (until) }
            p { a href=(url) { "Répondre au sondage" } }
        };
        send(
            pending,
            format!("Rappel : {}", poll.title),
            text,
            html,
            Vec::new(),
        );
    }
    let _: Option<serde_json::Value> = records::update(
        POLLS,
        &poll.id,
        &json!({ "reminded_at": now, "timer_id": null }),
    )?;
    Ok(())
}

/// The chosen slot as an iCalendar event (RFC 5545), for calendars.
fn ics(poll: &Poll, slot: &Slot, url: &str) -> Option<Attachment> {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Maillage//Sondages de date//FR".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:sondage-{}-{}@maillage", poll.id, slot.id),
        format!("DTSTAMP:{}", ics_instant(time::now())),
    ];
    match slot.instant() {
        Some(start) => {
            let end = time::from_seconds(start.as_second() + poll.duration() * 60);
            lines.push(format!("DTSTART:{}", ics_instant(start)));
            lines.push(format!("DTEND:{}", ics_instant(end)));
        }
        None => {
            let day = slot.day_date()?;
            let next = day.tomorrow().ok()?;
            lines.push(format!("DTSTART;VALUE=DATE:{}", ics_date(day)));
            lines.push(format!("DTEND;VALUE=DATE:{}", ics_date(next)));
        }
    }
    lines.push(format!("SUMMARY:{}", ics_text(&poll.title)));
    if !poll.place.is_empty() {
        lines.push(format!("LOCATION:{}", ics_text(&poll.place)));
    }
    let mut description = format!("Sondage : {url}");
    if !poll.video.is_empty() {
        description.push_str(&format!("\nVisioconférence : {}", poll.video));
    }
    lines.push(format!("DESCRIPTION:{}", ics_text(&description)));
    lines.push(format!("URL:{}", ics_text(url)));
    lines.push("END:VEVENT".into());
    lines.push("END:VCALENDAR".into());
    let mut body = String::new();
    for line in &lines {
        fold(line, &mut body);
    }
    Some(Attachment {
        file_name: "reunion.ics".into(),
        content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
        content: body.into_bytes(),
    })
}

fn ics_instant(at: Timestamp) -> String {
    let utc = TimeZone::UTC.to_datetime(at);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        utc.year(),
        utc.month(),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

fn ics_date(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

/// TEXT values: backslash, semicolon and comma escaped, line breaks as `\n`.
fn ics_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.replace("\r\n", "\n").chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Content lines of at most 75 octets, continued on lines starting with a space.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}
