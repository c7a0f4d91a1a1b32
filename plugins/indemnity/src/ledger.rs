//! The ledger's writes from events: on `meeting.attendance-closed` (docs/agenda-contract.md)
//! one line per attendee, computed by the rule set in force at the meeting's date, held
//! (`en_attente`) when it would cross the yearly cap, when no rule set is in force or
//! when the rule set fails. Idempotent: the closings already written are kept in
//! `clotures` (unique meeting + revision) and lines have a unique (meeting, revision,
//! attendee, kind) key; an older revision arriving after a newer one is ignored.
//!
//! A correction (revision r + 1) replaces the lines not yet approved; approved or paid
//! lines are never changed: an adjustment line (`ajustement`) carries the difference.
//! Also here: computing a held line again (« Recalculer »).

use std::collections::HashMap;

use maillage_sdk::records::{self, Query, StoreError, id_text, or_default};
use maillage_sdk::{groups, log, people, time};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{
    self, APPROVED, DRAFT, HELD, HOLD_CAP, KIND_ADJUSTMENT, KIND_LINE, LINES, Line, NOT_ELIGIBLE,
    PAID, PROCESSED,
};
use crate::money;
use crate::rules::{self, Applied, Computed, Facts, MeetingFacts, engine};

/// The topic this module subscribes to.
pub const ATTENDANCE_CLOSED: &str = "meeting.attendance-closed";

#[derive(Debug, Deserialize)]
struct Closed {
    meeting: Value,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    group_id: Option<Value>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    duration_minutes: Option<i64>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    attendees: Vec<Present>,
}

#[derive(Debug, Deserialize)]
struct Present {
    #[serde(default)]
    account: Option<Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    minutes: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Processed {
    #[serde(default, deserialize_with = "or_default")]
    revision: i64,
}

/// « Plafond annuel dépassé (4 750,00 € sur 4 710 000,00 €) ».
pub fn cap_reason(total: i64, cap: i64) -> String {
    format!(
        "Plafond annuel dépassé ({} sur {})",
        money::euros(total),
        money::euros(cap)
    )
}

/// Where a new amount goes: a draft, or held because of the cap.
struct Placement {
    status: &'static str,
    hold_kind: &'static str,
    hold_reason: String,
}

impl Placement {
    fn draft() -> Placement {
        Placement {
            status: DRAFT,
            hold_kind: "",
            hold_reason: String::new(),
        }
    }
}

/// Places `amount` for `person` against the year's cap, counting it when it is kept.
fn place(
    amount: i64,
    person: Option<&str>,
    counted: &mut HashMap<String, i64>,
    cap: i64,
) -> Placement {
    let Some(person) = person else {
        return Placement::draft();
    };
    let total = counted.get(person).copied().unwrap_or(0);
    if money::crosses_cap(total, amount, cap) {
        Placement {
            status: HELD,
            hold_kind: HOLD_CAP,
            hold_reason: cap_reason(total + amount, cap),
        }
    } else {
        counted.insert(person.to_string(), total + amount);
        Placement::draft()
    }
}

/// A line about to be written.
struct NewLine<'a> {
    meeting: &'a MeetingFacts,
    revision: i64,
    kind: &'static str,
    key: String,
    person_name: String,
    facts: Facts,
    applied: Option<Applied>,
    amount: i64,
    computed_amount: Option<i64>,
    minutes: i64,
    counted_minutes: Option<i64>,
    rationale: String,
    status: &'static str,
    hold_kind: &'static str,
    hold_reason: String,
}

impl<'a> NewLine<'a> {
    /// A line of `kind` for attendee `a` at this revision, held with no amount until its
    /// outcome is known.
    fn held(
        meeting: &'a MeetingFacts,
        revision: i64,
        kind: &'static str,
        a: Attending,
        applied: Option<Applied>,
        minutes: i64,
    ) -> Self {
        NewLine {
            meeting,
            revision,
            kind,
            key: a.key,
            person_name: a.name,
            facts: a.facts,
            applied,
            amount: 0,
            computed_amount: None,
            minutes,
            counted_minutes: None,
            rationale: String::new(),
            status: HELD,
            hold_kind: "",
            hold_reason: String::new(),
        }
    }

    /// Status and hold of the line as [`place`] decided them.
    fn set_placement(&mut self, placement: Placement) {
        self.status = placement.status;
        self.hold_kind = placement.hold_kind;
        self.hold_reason = placement.hold_reason;
    }

    fn record(&self) -> Value {
        let year = money::year_of(&self.meeting.date).unwrap_or(0);
        let (rule_set, version, settings) = match &self.applied {
            Some(a) => (a.rule_set.clone(), a.version.clone(), a.settings.clone()),
            None => (String::new(), String::new(), Value::Null),
        };
        json!({
            "meeting_id": self.meeting.id,
            "revision": self.revision,
            "kind": self.kind,
            "attendee_key": self.key,
            "title": self.meeting.title,
            "date": self.meeting.date,
            "year": year,
            "group_id": self.meeting.group_id,
            "group_name": self.meeting.group_name,
            "mission": self.meeting.mission,
            "person": self.facts.person,
            "person_name": self.person_name,
            "amount": self.amount,
            "computed_amount": self.computed_amount,
            "minutes": self.minutes,
            "counted_minutes": self.counted_minutes,
            "rationale": self.rationale,
            "rule_set": rule_set,
            "rule_version": version,
            "settings": settings,
            "status": self.status,
            "hold_kind": self.hold_kind,
            "hold_reason": self.hold_reason,
            "profession": self.facts.profession,
            "exercise_mode": self.facts.exercise_mode,
            "convention": self.facts.convention,
            "adherent": self.facts.adherent,
            "role": self.facts.role,
            "attended_minutes": self.facts.minutes,
            "meeting_duration": self.meeting.duration,
            "meeting_kind": self.meeting.kind,
        })
    }
}

/// What was approved or paid for one attendee of the meeting before this revision.
struct Settled {
    cents: i64,
    minutes: i64,
    /// The latest settled line: name and facts of a person no longer present.
    line: Line,
}

/// One attendee of the closing, with the facts the rule set receives.
struct Attending {
    key: String,
    name: String,
    facts: Facts,
}

/// The account an attendee signed in as, if any.
fn account_of(present: &Present) -> Option<String> {
    present
        .account
        .as_ref()
        .and_then(id_text)
        .filter(|a| records::valid_ref(a))
}

/// What the structure knows of a closing's attendees: asked one by one for a few, read
/// all at once (two queries on the host) for a larger meeting.
enum Known {
    OneByOne,
    All(HashMap<String, people::Person>),
}

impl Known {
    /// Above this many members present, every member's facts are read at once.
    const AT_ONCE: usize = 8;

    fn of(attendees: &[Present]) -> Known {
        let accounts = attendees.iter().filter(|p| account_of(p).is_some()).count();
        if accounts <= Self::AT_ONCE {
            return Known::OneByOne;
        }
        Known::All(
            people::all()
                .into_iter()
                .map(|p| (p.user_id.clone(), p))
                .collect(),
        )
    }

    fn get(&self, account: &str) -> Option<people::Person> {
        match self {
            Known::OneByOne => people::get(account),
            Known::All(all) => all.get(account).cloned(),
        }
    }
}

/// The group's name: as the groups interface shows it (an event has no acting member,
/// so it may not), else as a line or a budget of the group recorded it.
fn group_name_of(group_id: &str) -> Result<String, StoreError> {
    if let Some(g) = groups::visible_groups()
        .into_iter()
        .find(|g| g.id == group_id)
    {
        return Ok(g.name);
    }
    let from_line = Query::new()
        .filter("group_id = {:g} && group_name != {:e}")
        .param("g", group_id)
        .param("e", "")
        .sort("-date")
        .first::<Line>(LINES)?;
    Ok(from_line.map(|l| l.group_name).unwrap_or_default())
}

/// `meeting.attendance-closed`.
pub fn on_attendance_closed(payload: &str) -> Result<(), String> {
    let store = |e: StoreError| format!("{ATTENDANCE_CLOSED}: {e}");
    let event: Closed =
        serde_json::from_str(payload).map_err(|e| format!("{ATTENDANCE_CLOSED} payload: {e}"))?;
    let Some(meeting_id) = id_text(&event.meeting) else {
        return Err(format!("{ATTENDANCE_CLOSED} without a meeting id"));
    };
    let revision = event.revision.unwrap_or(1);
    if revision < 1 {
        return Err(format!(
            "{ATTENDANCE_CLOSED}: revision {revision} of meeting {meeting_id}"
        ));
    }
    let date = event.date.clone().unwrap_or_default();
    if time::parse_date(&date).is_err() {
        return Err(format!(
            "{ATTENDANCE_CLOSED}: meeting {meeting_id} has no valid date ({date:?})"
        ));
    }
    // Re-delivered, or older than what was written: nothing to do.
    let latest = Query::new()
        .filter("meeting_id = {:m}")
        .param("m", &meeting_id)
        .sort("-revision")
        .first::<Processed>(PROCESSED)
        .map_err(store)?;
    if let Some(latest) = latest
        && latest.revision >= revision
    {
        log::info(&format!(
            "indemnites: closing {revision} of meeting {meeting_id} ignored (revision {} already written)",
            latest.revision
        ));
        return Ok(());
    }

    let group_id = event
        .group_id
        .as_ref()
        .and_then(id_text)
        .filter(|g| records::valid_ref(g));
    let (group_name, mission) = match &group_id {
        Some(g) => (
            group_name_of(g).map_err(store)?,
            model::mission_of_group(g).map_err(store)?,
        ),
        None => (String::new(), String::new()),
    };
    let duration = event.duration_minutes.unwrap_or(0).max(0);
    let meeting = MeetingFacts {
        id: meeting_id.clone(),
        title: event
            .title
            .clone()
            .map(|t| t.trim().chars().take(500).collect())
            .unwrap_or_default(),
        date: date.clone(),
        duration,
        kind: event.kind.clone().unwrap_or_default(),
        group_id,
        group_name,
        mission,
    };
    let year = money::year_of(&date).unwrap_or(0);
    let (cap, _) = model::cap_of(year).map_err(store)?;
    let assignment = engine::in_force(&date);

    // What the previous revisions wrote.
    let existing = model::lines_of_meeting(&meeting_id).map_err(store)?;
    let replaced: Vec<&Line> = existing
        .iter()
        .filter(|l| model::REPLACEABLE.contains(&l.status.as_str()))
        .collect();
    let mut settled: HashMap<String, Settled> = HashMap::new();
    for line in existing.iter().filter(|l| l.is_settled()) {
        let entry = settled
            .entry(line.attendee_key.clone())
            .or_insert_with(|| Settled {
                cents: 0,
                minutes: 0,
                line: line.clone(),
            });
        entry.cents += line.amount;
        entry.minutes += line.minutes;
        if line.revision >= entry.line.revision {
            entry.line = line.clone();
        }
    }

    // The attendees, once each, with what the structure knows of them.
    let known = Known::of(&event.attendees);
    let mut attending: Vec<Attending> = Vec::new();
    for present in &event.attendees {
        let account = account_of(present);
        let person = account.as_deref().and_then(|a| known.get(a));
        let typed = present
            .name
            .clone()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(200)
            .collect::<String>();
        let name = if !typed.is_empty() {
            typed
        } else if let Some(p) = &person {
            p.display_name.clone()
        } else {
            "Invité".to_string()
        };
        let key = match &account {
            Some(a) => model::member_key(a),
            None => model::guest_key(&name),
        };
        if attending.iter().any(|a| a.key == key) {
            continue;
        }
        let role = match (present.role.as_deref(), &account) {
            (_, None) => "guest",
            (Some("referent"), _) => "referent",
            (Some("guest"), _) => "guest",
            _ => "active",
        };
        let minutes = present.minutes.unwrap_or(duration).max(0);
        let facts = Facts::of_person(person.as_ref(), account.as_deref(), role, minutes, &date);
        attending.push(Attending { key, name, facts });
    }

    // The year's totals of everyone concerned, without the lines about to be replaced.
    let mut persons: Vec<String> = attending
        .iter()
        .filter_map(|a| a.facts.person.clone())
        .chain(settled.values().filter_map(|s| s.line.person.clone()))
        .collect();
    persons.sort();
    persons.dedup();
    let mut counted = model::counted_totals(&persons, i64::from(year)).map_err(store)?;
    for line in replaced
        .iter()
        .filter(|l| l.counts() && l.year == i64::from(year))
    {
        if let Some(person) = &line.person
            && let Some(total) = counted.get_mut(person)
        {
            *total -= line.amount;
        }
    }

    // Everything is read and computed: now the writes.
    let mut new_lines: Vec<NewLine> = Vec::new();
    for a in attending {
        let (outcome, applied) = rules::compute_in_force(assignment.as_ref(), &meeting, &a.facts);
        let person = a.facts.person.clone();
        match settled.remove(&a.key) {
            None => new_lines.push(first_line(
                &meeting,
                revision,
                a,
                outcome,
                applied,
                person.as_deref(),
                &mut counted,
                cap,
            )),
            Some(before) => {
                if let Some(line) = adjustment_line(
                    &meeting,
                    revision,
                    a,
                    outcome,
                    applied,
                    &before,
                    &mut counted,
                    cap,
                ) {
                    new_lines.push(line);
                }
            }
        }
    }
    // Approved or paid for someone who is no longer in the attendance: taken back.
    let mut gone: Vec<Settled> = settled.into_values().collect();
    gone.sort_by(|a, b| a.line.attendee_key.cmp(&b.line.attendee_key));
    for before in gone {
        if before.cents == 0 && before.minutes == 0 {
            continue;
        }
        let amount = -before.cents;
        let placement = place(amount, before.line.person.as_deref(), &mut counted, cap);
        new_lines.push(NewLine {
            meeting: &meeting,
            revision,
            kind: KIND_ADJUSTMENT,
            key: before.line.attendee_key.clone(),
            person_name: before.line.person_name.clone(),
            facts: Facts::of_line(&before.line),
            applied: None,
            amount,
            computed_amount: Some(0),
            minutes: -before.minutes,
            counted_minutes: None,
            rationale: format!(
                "Absent(e) de l’émargement corrigé (révision {revision}) : reprise de {} déjà approuvés ou payés.",
                money::euros(before.cents)
            ),
            status: placement.status,
            hold_kind: placement.hold_kind,
            hold_reason: placement.hold_reason,
        });
    }

    for line in &replaced {
        records::delete(LINES, &line.id).map_err(store)?;
    }
    let written: Vec<Value> = new_lines.iter().map(NewLine::record).collect();
    records::insert_many(LINES, &written).map_err(store)?;
    records::insert::<_, Value>(
        PROCESSED,
        &json!({ "meeting_id": meeting_id, "revision": revision, "lines": new_lines.len() }),
    )
    .map_err(store)?;
    log::info(&format!(
        "indemnites: closing {revision} of meeting {meeting_id}: {} line(s) written, {} replaced",
        new_lines.len(),
        replaced.len()
    ));
    Ok(())
}

/// The line of an attendee with nothing approved or paid yet for this meeting.
#[allow(clippy::too_many_arguments)]
fn first_line<'a>(
    meeting: &'a MeetingFacts,
    revision: i64,
    a: Attending,
    outcome: Computed,
    applied: Option<Applied>,
    person: Option<&str>,
    counted: &mut HashMap<String, i64>,
    cap: i64,
) -> NewLine<'a> {
    let minutes = a.facts.minutes;
    let mut line = NewLine::held(meeting, revision, KIND_LINE, a, applied, minutes);
    match outcome {
        Computed::Eligible {
            cents,
            counted_minutes,
            rationale,
        } => {
            let placement = place(cents, person, counted, cap);
            line.amount = cents;
            line.computed_amount = Some(cents);
            line.counted_minutes = Some(counted_minutes);
            line.rationale = rationale;
            line.set_placement(placement);
        }
        Computed::NotEligible(reason) => {
            line.computed_amount = Some(0);
            line.rationale = reason;
            line.status = NOT_ELIGIBLE;
        }
        Computed::Held { kind, reason } => {
            line.hold_kind = kind;
            line.hold_reason = reason;
        }
    }
    line
}

/// The adjustment of an attendee whose lines were already approved or paid: the new
/// amount minus what was settled, when they differ.
#[allow(clippy::too_many_arguments)]
fn adjustment_line<'a>(
    meeting: &'a MeetingFacts,
    revision: i64,
    a: Attending,
    outcome: Computed,
    applied: Option<Applied>,
    before: &Settled,
    counted: &mut HashMap<String, i64>,
    cap: i64,
) -> Option<NewLine<'a>> {
    let person = a.facts.person.clone();
    let minutes = a.facts.minutes - before.minutes;
    let mut line = NewLine::held(meeting, revision, KIND_ADJUSTMENT, a, applied, minutes);
    let (new_amount, why) = match outcome {
        Computed::Eligible {
            cents,
            counted_minutes,
            rationale,
        } => {
            line.counted_minutes = Some(counted_minutes);
            (cents, rationale)
        }
        Computed::NotEligible(reason) => (0, reason),
        Computed::Held { kind, reason } => {
            // The new amount is unknown: the adjustment waits to be computed again.
            line.hold_kind = kind;
            line.hold_reason = reason;
            line.rationale = format!(
                "Ajustement après correction de l’émargement (révision {revision}) : à recalculer ; déjà approuvé ou payé {}.",
                money::euros(before.cents)
            );
            return Some(line);
        }
    };
    let amount = money::adjustment(new_amount, before.cents)?;
    let placement = place(amount, person.as_deref(), counted, cap);
    line.amount = amount;
    line.computed_amount = Some(new_amount);
    line.rationale = adjustment_rationale(revision, new_amount, before.cents, &why);
    line.set_placement(placement);
    Some(line)
}

fn adjustment_rationale(revision: i64, new_amount: i64, settled: i64, why: &str) -> String {
    let mut text = format!(
        "Ajustement après correction de l’émargement (révision {revision}) : nouveau montant {}, déjà approuvé ou payé {}.",
        money::euros(new_amount),
        money::euros(settled)
    );
    if !why.is_empty() {
        text.push(' ');
        text.push_str(why);
    }
    text
}

/// « Recalculer »: the held line computed again with the rule set in force at its date;
/// the patch to apply, or why it still cannot be computed (French, nothing changed).
pub fn recompute(line: &Line) -> Result<Result<Value, String>, StoreError> {
    let Some(assignment) = engine::in_force(&line.date) else {
        return Ok(Err(format!(
            "{} : la ligne reste en attente.",
            model::NO_RULES_REASON
        )));
    };
    let meeting = MeetingFacts::of_line(line);
    let facts = Facts::of_line(line);
    let (outcome, applied) = rules::compute_in_force(Some(&assignment), &meeting, &facts);
    let applied = applied.unwrap_or_else(|| Applied::of(&assignment));
    let (cents, counted_minutes, why, eligible) = match outcome {
        Computed::Eligible {
            cents,
            counted_minutes,
            rationale,
        } => (cents, Some(counted_minutes), rationale, true),
        Computed::NotEligible(reason) => (0, None, reason, false),
        Computed::Held { reason, .. } => {
            return Ok(Err(format!("{reason} : la ligne reste en attente.")));
        }
    };
    let mut patch = json!({
        "rule_set": applied.rule_set,
        "rule_version": applied.version,
        "settings": applied.settings,
        "computed_amount": cents,
        "counted_minutes": counted_minutes,
        "hold_kind": null,
        "hold_reason": null,
    });
    let (amount, rationale) = if line.is_adjustment() {
        let (settled, _) =
            model::settled_of(&line.meeting_id, &line.attendee_key, Some(line.id.as_str()))?;
        match money::adjustment(cents, settled) {
            Some(diff) => (
                diff,
                adjustment_rationale(line.revision, cents, settled, &why),
            ),
            None => (0, "Aucun ajustement nécessaire après recalcul.".to_string()),
        }
    } else {
        (cents, why)
    };
    let status = if (line.is_adjustment() && amount == 0) || (!line.is_adjustment() && !eligible) {
        NOT_ELIGIBLE
    } else {
        match &line.person {
            Some(person) => {
                let total = model::counted_total(person, line.year, line)?;
                let (cap, _) = model::cap_of(line.year as i32)?;
                if money::crosses_cap(total, amount, cap) {
                    patch["hold_kind"] = json!(HOLD_CAP);
                    patch["hold_reason"] = json!(cap_reason(total + amount, cap));
                    HELD
                } else {
                    DRAFT
                }
            }
            None => DRAFT,
        }
    };
    let amount = if status == NOT_ELIGIBLE { 0 } else { amount };
    patch["amount"] = json!(amount);
    patch["rationale"] = json!(rationale);
    patch["status"] = json!(status);
    Ok(Ok(patch))
}

/// Statuses a treasurer's page may filter on, with their labels.
pub fn statuses() -> [(&'static str, &'static str); 5] {
    [
        (DRAFT, model::status_label(DRAFT)),
        (APPROVED, model::status_label(APPROVED)),
        (PAID, model::status_label(PAID)),
        (HELD, model::status_label(HELD)),
        (NOT_ELIGIBLE, model::status_label(NOT_ELIGIBLE)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_amounts_against_the_cap() {
        let mut counted = HashMap::new();
        counted.insert("7".to_string(), 4_700_000);
        let cap = 4_710_000;
        let kept = place(8000, Some("7"), &mut counted, cap);
        assert_eq!(kept.status, DRAFT);
        assert_eq!(counted["7"], 4_708_000);
        let held = place(8000, Some("7"), &mut counted, cap);
        assert_eq!(held.status, HELD);
        assert_eq!(held.hold_kind, HOLD_CAP);
        assert_eq!(
            held.hold_reason,
            "Plafond annuel dépassé (47 160,00 € sur 47 100,00 €)"
        );
        // A held amount is not counted; a negative adjustment is.
        assert_eq!(counted["7"], 4_708_000);
        let back = place(-8000, Some("7"), &mut counted, cap);
        assert_eq!(back.status, DRAFT);
        assert_eq!(counted["7"], 4_700_000);
        // Guests have no cap.
        assert_eq!(place(1_000_000_000, None, &mut counted, cap).status, DRAFT);
    }

    #[test]
    fn adjustment_rationales() {
        assert_eq!(
            adjustment_rationale(2, 10_000, 8000, "Forfait référent : 100 €"),
            "Ajustement après correction de l’émargement (révision 2) : nouveau montant 100,00 €, déjà approuvé ou payé 80,00 €. Forfait référent : 100 €"
        );
    }
}
