//! The state-changing routes: create, answer, edit, close. Each validates everything
//! before its first write (a 4xx answer keeps what was written, so nothing is written
//! before the last check), then writes, publishes, schedules and mails in the call's
//! one transaction.

use std::collections::HashSet;

use maillage_sdk::form::Form;
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::{Response, log, time, timers};
use serde_json::json;

use crate::input;
use crate::model::{
    self, ANSWERS, Access, CLOSED, Choice, Kind, MAX_COMMENT, OPEN, POLLS, Poll, Slot, Viewer,
    Visibility, sort_slots,
};
use crate::notify::{self, REMINDER_TOPIC};
use crate::pages;

type PageResult = Result<Response, StoreError>;

/// Said to anyone answering a poll that no longer takes answers.
pub const CLOSED_MESSAGE: &str = "Ce sondage est clos : les réponses ne sont plus acceptées.";

/// Schedules the reminder `hours` before `deadline`, if that is still ahead.
fn schedule_reminder(poll: &str, deadline: i64, hours: i64, now: i64) -> Option<String> {
    if hours <= 0 {
        return None;
    }
    let at = deadline - hours * 3600;
    if at <= now {
        return None;
    }
    match timers::schedule(REMINDER_TOPIC, &json!({ "poll": poll }), at) {
        Ok(id) => Some(id),
        Err(e) => {
            log::warn(&format!("poll {poll}: reminder not scheduled: {e}"));
            None
        }
    }
}

fn cancel_reminder(poll: &Poll) {
    if let Some(timer) = &poll.timer_id
        && let Err(e) = timers::cancel(timer)
    {
        log::warn(&format!(
            "poll {}: reminder {timer} not cancelled: {e}",
            poll.id
        ));
    }
}

/// Slots with ids `s{next}`, `s{next + 1}`…; returns the next number after them.
fn number_slots(slots: &mut [Slot], mut next: i64) -> i64 {
    for slot in slots.iter_mut() {
        slot.id = format!("s{next}");
        next += 1;
    }
    next
}

/// A checked `/new` form.
struct NewPoll {
    common: input::Common,
    zone: TimeZone,
    kind: Kind,
    slots: Vec<Slot>,
    deadline: i64,
    visibility: Visibility,
    invited: input::Invited,
}

fn check_new(form: &Form, now: i64) -> Result<NewPoll, String> {
    let common = input::common(form, None)?;
    let zone = input::zone(form, &maillage_sdk::context().time_zone)?;
    let kind = input::kind(form)?;
    let mut slots = input::new_slots(&form.all("slot"), kind, &zone, &[])?;
    input::slot_count(slots.len())?;
    let deadline = input::deadline(form, &zone, now, None)?;
    let visibility = input::visibility(form)?;
    let invited = input::invited(form)?;
    sort_slots(&mut slots);
    Ok(NewPoll {
        common,
        zone,
        kind,
        slots,
        deadline,
        visibility,
        invited,
    })
}

/// `POST /new`.
pub fn create(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(organiser) = viewer.id.clone() else {
        return Ok(Response::error(403, "Veuillez vous connecter."));
    };
    let now = time::now_seconds();
    let NewPoll {
        common,
        zone,
        kind,
        mut slots,
        deadline,
        visibility,
        invited,
    } = match check_new(form, now) {
        Ok(checked) => checked,
        Err(message) => return Ok(pages::new_form(form, Some(&message)).with_status(422)),
    };
    let next_slot = number_slots(&mut slots, 1);
    let record = json!({
        "title": common.title,
        "description": common.description,
        "slots": slots,
        "author": viewer.name,
        "group_id": invited.group.as_ref().map(|(id, _)| id),
        "group_name": invited.group.as_ref().map(|(_, name)| name),
        "organiser": organiser,
        "place": common.place,
        "video": common.video,
        "duration": common.duration,
        "zone": time::zone_name(&zone),
        "kind": kind.code(),
        "deadline": deadline,
        "visibility": visibility.code(),
        "audience": invited.audience.code(),
        "invitees": invited.invitees,
        "reminder": common.reminder,
        "status": OPEN,
        "next_slot": next_slot,
    });
    let mut poll: Poll = records::insert(POLLS, &record)?;
    let payload = json!({ "poll": poll.id, "title": poll.title });
    if let Err(e) = maillage_sdk::publish("poll.created", &payload) {
        log::warn(&format!("poll.created not published: {e}"));
    }
    if let Some(timer) = schedule_reminder(&poll.id, deadline, common.reminder, now) {
        let _: Option<serde_json::Value> =
            records::update(POLLS, &poll.id, &json!({ "timer_id": timer }))?;
        poll.timer_id = Some(timer);
    }
    notify::invitations(&poll);
    Ok(Response::see_other(&format!("/p/{}", poll.id)))
}

/// `POST /p/{id}/answer`: `c-{slot id}` = oui | si-besoin | non, and `comment`.
pub fn answer(id: &str, form: &Form) -> PageResult {
    let Some(poll) = model::load(id)? else {
        return Ok(Response::not_found());
    };
    let viewer = Viewer::current();
    let Some(user) = viewer.id.clone().filter(|user| poll.is_invitee(user)) else {
        return Ok(Response::error(
            403,
            "Vous n’êtes pas invité à répondre à ce sondage.",
        ));
    };
    if !poll.accepts_answers(time::now_seconds()) {
        return Ok(pages::poll_page(&poll, &viewer, Some(CLOSED_MESSAGE))?.with_status(409));
    }
    let refuse = |message: &str| -> PageResult {
        Ok(pages::poll_page(&poll, &viewer, Some(message))?.with_status(422))
    };
    let mut choices = serde_json::Map::new();
    for (name, value) in &form.fields {
        let Some(slot) = name.strip_prefix("c-") else {
            continue;
        };
        if poll.slot(slot).is_none() {
            return refuse("Ce créneau n’existe pas (ou plus) dans ce sondage.");
        }
        let Some(choice) = Choice::parse(value.trim()) else {
            return refuse("Réponse invalide : veuillez choisir Oui, Si besoin ou Non.");
        };
        choices.insert(slot.to_string(), choice.code().into());
    }
    if choices.is_empty() {
        return refuse("Veuillez répondre pour au moins un créneau.");
    }
    let comment = form.get("comment");
    if comment.chars().count() > MAX_COMMENT {
        return refuse("Le commentaire ne doit pas dépasser 1 000 caractères.");
    }
    let record = json!({
        "poll": poll.id,
        "participant": user,
        "name": viewer.name,
        "choices": choices,
        "comment": comment,
    });
    let _: serde_json::Value = records::upsert(ANSWERS, &["poll", "participant"], &record)?;
    everyone_answered(&poll)?;
    Ok(Response::see_other(&format!("/p/{}", poll.id)))
}

/// After an answer: when every invitee has answered, the organiser gets one mail.
fn everyone_answered(poll: &Poll) -> Result<(), StoreError> {
    if poll.complete_mailed_at.is_some() || poll.organiser.is_none() {
        return Ok(());
    }
    let invited = poll.invitees.len();
    if usize::try_from(model::answer_count(&poll.id)?).unwrap_or(0) < invited {
        return Ok(());
    }
    let answered: HashSet<String> = model::answers_of(&poll.id)?
        .into_iter()
        .map(|answer| answer.user)
        .collect();
    if poll.invitees.iter().all(|i| answered.contains(&i.id)) {
        notify::everyone_answered(poll);
        let _: Option<serde_json::Value> = records::update(
            POLLS,
            &poll.id,
            &json!({ "complete_mailed_at": time::now_seconds() }),
        )?;
    }
    Ok(())
}

/// Managers only: the poll's organiser, its group's référents, coordinators.
pub fn manage(id: &str) -> Result<Result<(Poll, Viewer), Response>, StoreError> {
    let Some(poll) = model::load(id)? else {
        return Ok(Err(Response::not_found()));
    };
    let viewer = Viewer::current();
    if !Access::of(&poll, &viewer).manager {
        return Ok(Err(Response::error(
            403,
            "Seuls l’organisateur, les référents du groupe et les coordinateurs peuvent gérer ce sondage.",
        )));
    }
    Ok(Ok((poll, viewer)))
}

/// A checked `/modifier` form: its common fields, the new slots, the deadline.
fn check_edit(
    form: &Form,
    poll: &Poll,
    kept: &[Slot],
    zone: &TimeZone,
    now: i64,
) -> Result<(input::Common, Vec<Slot>, i64), String> {
    let common = input::common(form, Some((poll.duration(), poll.reminder())))?;
    let added = input::new_slots(&form.all("slot"), poll.kind(), zone, kept)?;
    input::slot_count(kept.len() + added.len())?;
    let deadline = input::deadline(form, zone, now, poll.deadline)?;
    Ok((common, added, deadline))
}

/// `POST /p/{id}/modifier`: the fields of `/new` for the text and the deadline, `keep`
/// = ids of the slots kept, `slot` = new slots; removing answered slots needs `confirm=1`.
pub fn edit(id: &str, form: &Form) -> PageResult {
    let (poll, viewer) = match manage(id)? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if poll.is_closed() {
        return Ok(Response::error(
            409,
            "Ce sondage est clos : il ne peut plus être modifié.",
        ));
    }
    let now = time::now_seconds();
    let zone = poll.zone();
    let keep: HashSet<String> = form.all("keep").into_iter().collect();
    let kept: Vec<Slot> = poll
        .slots
        .iter()
        .filter(|slot| keep.contains(&slot.id))
        .cloned()
        .collect();
    let (common, mut added, deadline) = match check_edit(form, &poll, &kept, &zone, now) {
        Ok(checked) => checked,
        Err(message) => {
            return Ok(
                pages::edit_form(&poll, &viewer, Some(form), Some(&message)).with_status(422)
            );
        }
    };
    let removed: Vec<&Slot> = poll
        .slots
        .iter()
        .filter(|slot| !keep.contains(&slot.id))
        .collect();
    if !removed.is_empty() && form.get("confirm") != "1" {
        let answers = model::answers_of(&poll.id)?;
        let losing: Vec<&Slot> = removed
            .into_iter()
            .filter(|slot| answers.iter().any(|a| a.choices.contains_key(&slot.id)))
            .collect();
        if !losing.is_empty() {
            return Ok(pages::confirm_removal(&poll, &viewer, form, &losing).with_status(409));
        }
    }
    let next_slot = number_slots(&mut added, poll.next_slot_number());
    let mut slots = kept;
    slots.extend(added);
    sort_slots(&mut slots);
    let mut patch = json!({
        "title": common.title,
        "description": common.description,
        "place": common.place,
        "video": common.video,
        "duration": common.duration,
        "deadline": deadline,
        "reminder": common.reminder,
        "slots": slots,
        "next_slot": next_slot,
    });
    if poll.deadline != Some(deadline) || poll.reminder() != common.reminder {
        cancel_reminder(&poll);
        patch["timer_id"] = json!(schedule_reminder(&poll.id, deadline, common.reminder, now));
        patch["reminded_at"] = serde_json::Value::Null;
    }
    let _: Option<serde_json::Value> = records::update(POLLS, &poll.id, &patch)?;
    Ok(Response::see_other(&format!("/p/{}", poll.id)))
}

/// `POST /p/{id}/cloturer`: `slot` = the chosen slot's id; `confirm=1` when nobody said
/// oui or si-besoin for it.
pub fn close(id: &str, form: &Form) -> PageResult {
    let (poll, viewer) = match manage(id)? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if poll.is_closed() {
        return Ok(Response::error(409, "Ce sondage est déjà clos."));
    }
    let Some(slot) = poll.slot(&form.get("slot")) else {
        return Ok(pages::poll_page(
            &poll,
            &viewer,
            Some("Veuillez choisir un des créneaux proposés."),
        )?
        .with_status(422));
    };
    let answers = model::answers_of(&poll.id)?;
    let supported = answers.iter().any(|answer| {
        matches!(
            answer.choices.get(&slot.id),
            Some(Choice::Yes | Choice::IfNeeded)
        )
    });
    if !supported && form.get("confirm") != "1" {
        return Ok(pages::confirm_close(&poll, &viewer, slot).with_status(409));
    }
    let _: Option<serde_json::Value> = records::update(
        POLLS,
        &poll.id,
        &json!({
            "status": CLOSED,
            "chosen_slot": slot.id,
            "closed_at": time::now_seconds(),
            "timer_id": null,
        }),
    )?;
    cancel_reminder(&poll);
    let invitees: Vec<&str> = poll.invitees.iter().map(|i| i.id.as_str()).collect();
    let payload = json!({
        "poll": poll.id,
        "title": poll.title,
        "slot": slot.payload(),
        "duration_minutes": poll.duration(),
        "place": poll.place,
        "video": poll.video,
        "group_id": poll.group_id,
        "invitees": invitees,
        "organiser": poll.organiser,
    });
    if let Err(e) = maillage_sdk::publish("poll.closed", &payload) {
        log::warn(&format!("poll.closed not published: {e}"));
    }
    notify::chosen(&poll, slot);
    Ok(Response::see_other(&format!("/p/{}", poll.id)))
}
