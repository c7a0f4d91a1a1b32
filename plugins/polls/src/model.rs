//! What a poll stores, how it is read back (leniently: polls of 0.2 stored slots as
//! local strings and choices as lists), and who sees what.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use maillage_sdk::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, or_default,
};
use maillage_sdk::time::jiff::Timestamp;
use maillage_sdk::time::jiff::civil::Date;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::time::{self, TimeError};
use serde::{Deserialize, Deserializer, Serialize};

pub const POLLS: &str = "polls";
pub const ANSWERS: &str = "answers";
pub const MAX_SLOTS: usize = 60;
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 5_000;
pub const MAX_COMMENT: usize = 1_000;
pub const MAX_PLACE: usize = 300;
pub const MAX_VIDEO: usize = 500;
/// `status` of a poll whose date was chosen.
pub const CLOSED: &str = "clos";
pub const OPEN: &str = "ouvert";
/// The records API's largest page.
const PAGE: u32 = 500;
/// Polls the list and the widget read, newest first.
const LISTED_POLLS: usize = 1_000;
const LIST_PAGE: u32 = 100;

/// The tables the host keeps for this plugin. 0.3.0 only adds fields and indexes to
/// the collections of 0.2.0 (schema changes must be additive).
pub fn collections() -> Vec<CollectionDef> {
    use maillage_sdk::records::{integer, text};
    vec![
        CollectionDef {
            name: POLLS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    full_text: true,
                    ..text("title")
                },
                FieldDef {
                    full_text: true,
                    ..text("description")
                },
                // A list of slots: {id, start, zone, date, whole_day}.
                FieldDef {
                    required: true,
                    ..field("slots", FieldType::Json)
                },
                // The organiser's display name at creation.
                text("author"),
                field("group_id", FieldType::GroupRef),
                text("group_name"),
                // Since 0.3.0.
                field("organiser", FieldType::UserRef),
                text("place"),
                text("video"),
                integer("duration"),
                text("zone"),
                text("kind"),
                integer("deadline"),
                text("visibility"),
                text("audience"),
                // A list of {id, name}: who is invited, fixed at creation.
                field("invitees", FieldType::Json),
                integer("reminder"),
                text("timer_id"),
                integer("reminded_at"),
                text("status"),
                text("chosen_slot"),
                integer("closed_at"),
                integer("next_slot"),
                integer("complete_mailed_at"),
            ],
            indexes: vec![index(&["created_at"], false)],
        },
        CollectionDef {
            name: ANSWERS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    references: Some(POLLS.into()),
                    ..field("poll", FieldType::RecordRef)
                },
                // The member's user id.
                FieldDef {
                    required: true,
                    ..text("participant")
                },
                FieldDef {
                    required: true,
                    ..text("name")
                },
                // An object: slot id → "oui" | "si-besoin" | "non".
                FieldDef {
                    required: true,
                    ..field("choices", FieldType::Json)
                },
                // Since 0.3.0.
                text("comment"),
            ],
            // One answer per participant and poll: answering again replaces it.
            indexes: vec![
                index(&["poll", "participant"], true),
                index(&["participant"], false),
            ],
        },
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Yes,
    IfNeeded,
    No,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::Yes, Choice::IfNeeded, Choice::No];

    /// The form and storage value: "oui", "si-besoin", "non".
    pub fn parse(code: &str) -> Option<Choice> {
        match code {
            "oui" => Some(Choice::Yes),
            "si-besoin" => Some(Choice::IfNeeded),
            "non" => Some(Choice::No),
            _ => None,
        }
    }

    /// Also reads what 0.2 stored ("Yes", "IfNeeded", "No").
    fn stored(code: &str) -> Option<Choice> {
        match code {
            "Yes" => Some(Choice::Yes),
            "IfNeeded" => Some(Choice::IfNeeded),
            "No" => Some(Choice::No),
            _ => Choice::parse(code),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Choice::Yes => "oui",
            Choice::IfNeeded => "si-besoin",
            Choice::No => "non",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Choice::Yes => "Oui",
            Choice::IfNeeded => "Si besoin",
            Choice::No => "Non",
        }
    }

    /// The class of its cell in the results table.
    pub fn css(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::IfNeeded => "maybe",
            Choice::No => "no",
        }
    }
}

/// Timed slots (an instant and its zone) or whole days (a floating date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Times,
    Days,
}

impl Kind {
    pub fn parse(code: &str) -> Option<Kind> {
        match code {
            "" | "horaires" => Some(Kind::Times),
            "journees" => Some(Kind::Days),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Kind::Times => "horaires",
            Kind::Days => "journees",
        }
    }
}

/// Who sees the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone sees names and answers.
    All,
    /// Only the organiser sees the answers; the others see their own.
    Organiser,
    /// Blind: everyone sees the counts, only the organiser sees names.
    Blind,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::All, Visibility::Organiser, Visibility::Blind];

    pub fn parse(code: &str) -> Option<Visibility> {
        match code {
            "" | "tous" => Some(Visibility::All),
            "organisateur" => Some(Visibility::Organiser),
            "anonyme" => Some(Visibility::Blind),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Visibility::All => "tous",
            Visibility::Organiser => "organisateur",
            Visibility::Blind => "anonyme",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Visibility::All => "Tout le monde voit les réponses et les noms",
            Visibility::Organiser => {
                "Seul l’organisateur voit les réponses (chacun voit la sienne)"
            }
            Visibility::Blind => {
                "Sondage anonyme : tout le monde voit les totaux, seul l’organisateur voit les noms"
            }
        }
    }
}

/// Who is invited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Structure,
    Group,
    Members,
}

impl Audience {
    pub fn parse(code: &str) -> Option<Audience> {
        match code {
            "structure" => Some(Audience::Structure),
            "groupe" => Some(Audience::Group),
            "membres" => Some(Audience::Members),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Audience::Structure => "structure",
            Audience::Group => "groupe",
            Audience::Members => "membres",
        }
    }
}

/// A proposed slot, with a stable id ("s1", "s2"…, never reused in a poll).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slot {
    pub id: String,
    /// Unix seconds (timed slots).
    #[serde(default)]
    pub start: Option<i64>,
    /// IANA zone it was proposed in (timed slots).
    #[serde(default)]
    pub zone: Option<String>,
    /// "YYYY-MM-DD": the day (whole days), or the local date in `zone` (timed slots).
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub whole_day: bool,
}

impl Slot {
    pub fn timed(start: Timestamp, zone: &TimeZone) -> Slot {
        Slot {
            id: String::new(),
            start: Some(start.as_second()),
            zone: Some(time::zone_name(zone).to_string()),
            date: Some(time::date_input(time::local(start, zone).date())),
            whole_day: false,
        }
    }

    pub fn day(date: Date) -> Slot {
        Slot {
            date: Some(time::date_input(date)),
            whole_day: true,
            ..Slot::default()
        }
    }

    /// Two slots with the same key are the same slot (duplicates are refused).
    pub fn key(&self) -> String {
        match self.instant() {
            Some(at) => format!("t{}", at.as_second()),
            None => format!("d{}", self.date.as_deref().unwrap_or("")),
        }
    }

    /// Chronological order.
    fn order(&self) -> (String, i64) {
        let date = self.date.clone().unwrap_or_default();
        match self.instant() {
            Some(at) => (String::new(), at.as_second()),
            None => (date, 0),
        }
    }

    pub fn instant(&self) -> Option<Timestamp> {
        if self.whole_day {
            None
        } else {
            self.start.map(time::from_seconds)
        }
    }

    pub fn day_date(&self) -> Option<Date> {
        time::parse_date(self.date.as_deref()?).ok()
    }

    /// « jeudi 3 décembre 2026, 20:00 » in `zone`; « jeudi 3 décembre 2026 » for a day.
    pub fn label(&self, zone: &TimeZone) -> String {
        match (self.instant(), self.day_date()) {
            (Some(at), _) => time::instant_fr(at, zone),
            (None, Some(day)) => time::date_fr(day),
            (None, None) => self.date.clone().unwrap_or_default(),
        }
    }

    /// The slot in a second zone (the viewer's own), for timed slots:
    /// « 16:00 (America/Cayenne) ».
    pub fn label_elsewhere(&self, zone: &TimeZone, other: Option<&TimeZone>) -> Option<String> {
        Some(time::instant_in_other_zone_fr(
            self.instant()?,
            zone,
            other?,
        ))
    }

    /// "YYYY-MM-DDTHH:MM" in the slot's own zone (timed slots).
    pub fn local(&self) -> Option<String> {
        let at = self.instant()?;
        let zone = time::zone_or_default(self.zone.as_deref().unwrap_or(time::DEFAULT_ZONE));
        Some(time::instant_input(at, &zone))
    }

    /// The slot in the `poll.closed` payload.
    pub fn payload(&self) -> serde_json::Value {
        let timed = self.instant();
        serde_json::json!({
            "id": self.id,
            "whole_day": timed.is_none(),
            "start": timed.map(|at| at.as_second()),
            "zone": timed.and(self.zone.clone()),
            "date": self.date,
            "local": self.local(),
        })
    }
}

/// Sorts slots chronologically.
pub fn sort_slots(slots: &mut [Slot]) {
    slots.sort_by_cached_key(Slot::order);
}

/// Slots as stored: objects since 0.3.0; 0.2 stored "YYYY-MM-DDTHH:MM" strings in the
/// structure's zone, whose position gives the id ("s1" first).
fn lenient_slots<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Slot>, D::Error> {
    let raw = Option::<Vec<serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default();
    let mut zone: Option<TimeZone> = None;
    let mut slots = Vec::with_capacity(raw.len());
    for (i, value) in raw.into_iter().enumerate() {
        match value {
            serde_json::Value::String(local) => {
                let zone: &TimeZone = zone.get_or_insert_with(structure_zone);
                let at: Result<Timestamp, TimeError> =
                    time::parse_local(&local).and_then(|local| time::to_instant(local, zone));
                if let Ok(at) = at {
                    slots.push(Slot {
                        id: format!("s{}", i + 1),
                        ..Slot::timed(at, zone)
                    });
                }
            }
            other => {
                if let Ok(slot) = serde_json::from_value::<Slot>(other) {
                    slots.push(slot);
                }
            }
        }
    }
    Ok(slots)
}

/// Someone invited to a poll.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitee {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
}

/// A poll as stored (fields of 0.2 polls that did not exist read as their default).
#[derive(Debug, Clone, Deserialize)]
pub struct Poll {
    #[serde(default)]
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default, deserialize_with = "lenient_slots")]
    pub slots: Vec<Slot>,
    /// The organiser's display name.
    #[serde(default, deserialize_with = "or_default")]
    pub author: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    /// The organiser's user id (none for polls of 0.2).
    #[serde(default)]
    pub organiser: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub place: String,
    #[serde(default, deserialize_with = "or_default")]
    pub video: String,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    kind: String,
    /// Unix seconds; none for polls of 0.2 (no deadline).
    #[serde(default)]
    pub deadline: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    visibility: String,
    #[serde(default, deserialize_with = "or_default")]
    audience: String,
    #[serde(default, deserialize_with = "or_default")]
    pub invitees: Vec<Invitee>,
    #[serde(default)]
    reminder: Option<i64>,
    #[serde(default)]
    pub timer_id: Option<String>,
    #[serde(default)]
    pub reminded_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    status: String,
    #[serde(default)]
    chosen_slot: Option<String>,
    #[serde(default)]
    pub closed_at: Option<i64>,
    #[serde(default)]
    next_slot: Option<i64>,
    #[serde(default)]
    pub complete_mailed_at: Option<i64>,
}

impl Poll {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Times)
    }

    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::All)
    }

    /// Polls of 0.2 invited the whole structure.
    pub fn audience(&self) -> Audience {
        Audience::parse(&self.audience).unwrap_or(Audience::Structure)
    }

    /// The zone its slots and deadline were typed in.
    pub fn zone(&self) -> TimeZone {
        match self.zone.as_deref() {
            Some(name) => time::zone_or_default(name),
            None => structure_zone(),
        }
    }

    /// Minutes.
    pub fn duration(&self) -> i64 {
        self.duration.unwrap_or(60)
    }

    /// Hours before the deadline; 0 for none.
    pub fn reminder(&self) -> i64 {
        self.reminder.unwrap_or(0)
    }

    /// A date was chosen: the poll is over.
    pub fn is_closed(&self) -> bool {
        self.status == CLOSED
    }

    /// Open: not closed and before its deadline.
    pub fn accepts_answers(&self, now: i64) -> bool {
        !self.is_closed() && self.deadline.is_none_or(|deadline| now < deadline)
    }

    pub fn slot(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|slot| slot.id == id)
    }

    /// The chosen slot of a closed poll.
    pub fn chosen(&self) -> Option<&Slot> {
        self.slot(self.chosen_slot.as_deref()?)
    }

    pub fn is_invitee(&self, user: &str) -> bool {
        self.invitees.iter().any(|invitee| invitee.id == user)
    }

    /// The number of the next slot id: never one a slot of this poll had.
    pub fn next_slot_number(&self) -> i64 {
        let highest = self
            .slots
            .iter()
            .filter_map(|slot| slot.id.strip_prefix('s')?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        self.next_slot.unwrap_or(0).max(highest + 1)
    }

    /// Polls of 0.2 have no invitees: the structure's members are.
    fn complete(&mut self) {
        if self.invitees.is_empty() {
            self.invitees = structure_members();
        }
        sort_slots(&mut self.slots);
    }
}

pub fn load(id: &str) -> Result<Option<Poll>, StoreError> {
    if !records::valid_id(id) {
        return Ok(None);
    }
    let mut poll = records::get::<Poll>(POLLS, id)?;
    if let Some(poll) = poll.as_mut() {
        poll.complete();
    }
    Ok(poll)
}

/// The newest polls of the structure.
pub fn recent_polls() -> Result<Vec<Poll>, StoreError> {
    let mut polls: Vec<Poll> = Query::new()
        .sort("-created_at")
        .limit(LIST_PAGE)
        .fetch_all(POLLS, LISTED_POLLS)?;
    for poll in &mut polls {
        poll.complete();
    }
    Ok(polls)
}

#[derive(Deserialize)]
struct AnswerRecord {
    #[serde(default, deserialize_with = "or_default")]
    poll: String,
    #[serde(default, deserialize_with = "or_default")]
    participant: String,
    #[serde(default, deserialize_with = "or_default")]
    name: String,
    #[serde(default)]
    choices: serde_json::Value,
    #[serde(default, deserialize_with = "or_default")]
    comment: String,
    #[serde(default, deserialize_with = "or_default")]
    updated_at: i64,
}

/// One participant's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The participant's user id.
    pub user: String,
    pub name: String,
    /// Slot id → choice; a slot added after the answer has none.
    pub choices: HashMap<String, Choice>,
    pub comment: String,
    updated_at: i64,
}

impl From<AnswerRecord> for Answer {
    fn from(record: AnswerRecord) -> Answer {
        let choices = match record.choices {
            serde_json::Value::Object(map) => map
                .into_iter()
                .filter_map(|(slot, choice)| Some((slot, Choice::stored(choice.as_str()?)?)))
                .collect(),
            // 0.2: one choice per slot, in slot order.
            serde_json::Value::Array(list) => list
                .iter()
                .enumerate()
                .filter_map(|(i, choice)| {
                    Some((format!("s{}", i + 1), Choice::stored(choice.as_str()?)?))
                })
                .collect(),
            _ => HashMap::new(),
        };
        // 0.2 keyed members' answers "user-{id}".
        let user = match record.participant.strip_prefix("user-") {
            Some(id) => id.to_string(),
            None => record.participant,
        };
        Answer {
            user,
            name: record.name,
            choices,
            comment: record.comment,
            updated_at: record.updated_at,
        }
    }
}

/// Every answer to a poll, oldest first (one query per 500 answers).
pub fn answers_of(poll: &str) -> Result<Vec<Answer>, StoreError> {
    let answers: Vec<Answer> = Query::new()
        .filter("poll = {:poll}")
        .param("poll", poll)
        .sort("created_at")
        .limit(PAGE)
        .fetch_all::<AnswerRecord>(ANSWERS, usize::MAX)?
        .into_iter()
        .map(Answer::from)
        .collect();
    // A member who answered a 0.2 poll and again since has two records: the newest wins.
    let mut position: HashMap<String, usize> = HashMap::with_capacity(answers.len());
    let mut kept: Vec<Answer> = Vec::with_capacity(answers.len());
    for answer in answers {
        match position.get(&answer.user) {
            Some(&i) if answer.updated_at >= kept[i].updated_at => kept[i] = answer,
            Some(_) => {}
            None => {
                position.insert(answer.user.clone(), kept.len());
                kept.push(answer);
            }
        }
    }
    Ok(kept)
}

/// How many answers a poll has (cheaper than reading them).
pub fn answer_count(poll: &str) -> Result<i64, StoreError> {
    Query::new()
        .filter("poll = {:poll}")
        .param("poll", poll)
        .count(ANSWERS)
}

/// The polls `user` has answered.
pub fn answered_by(user: &str) -> Result<HashSet<String>, StoreError> {
    Ok(Query::new()
        .filter("participant = {:me} || participant = {:legacy}")
        .param("me", user)
        .param("legacy", format!("user-{user}"))
        .limit(PAGE)
        .fetch_all::<AnswerRecord>(ANSWERS, usize::MAX)?
        .into_iter()
        .map(|answer| answer.poll)
        .collect())
}

/// The structure's zone.
pub fn structure_zone() -> TimeZone {
    time::zone_or_default(&maillage_sdk::context().time_zone)
}

/// The structure's active members, asked once per call.
pub fn structure_members() -> Vec<Invitee> {
    static MEMBERS: OnceLock<Vec<Invitee>> = OnceLock::new();
    MEMBERS
        .get_or_init(|| {
            maillage_sdk::members()
                .into_iter()
                .map(|member| Invitee {
                    id: member.user_id,
                    name: member.display_name,
                })
                .collect()
        })
        .clone()
}

/// Yes and if-needed counts per slot, and the best slots: most Oui, then most Si
/// besoin; none when nobody said either.
pub struct Tally {
    pub yes: Vec<usize>,
    pub maybe: Vec<usize>,
    pub best: Vec<bool>,
}

impl Tally {
    pub fn of(slots: &[Slot], answers: &[Answer]) -> Tally {
        let mut yes = vec![0; slots.len()];
        let mut maybe = vec![0; slots.len()];
        for answer in answers {
            for (i, slot) in slots.iter().enumerate() {
                match answer.choices.get(&slot.id) {
                    Some(Choice::Yes) => yes[i] += 1,
                    Some(Choice::IfNeeded) => maybe[i] += 1,
                    _ => {}
                }
            }
        }
        let scores: Vec<(usize, usize)> = yes.iter().copied().zip(maybe.iter().copied()).collect();
        let top = scores.iter().copied().max().filter(|&(y, m)| y + m > 0);
        let best = scores.iter().map(|&score| Some(score) == top).collect();
        Tally { yes, maybe, best }
    }

    /// The first best slot's position.
    pub fn first_best(&self) -> Option<usize> {
        self.best.iter().position(|&best| best)
    }
}

/// Who is looking, from the call's context.
pub struct Viewer {
    pub id: Option<String>,
    pub name: String,
    pub coordinator: bool,
    /// The structure's zone: slots are shown in it.
    pub zone: TimeZone,
    /// The viewer's own zone, when it differs from the structure's.
    pub own_zone: Option<TimeZone>,
}

impl Viewer {
    pub fn current() -> Viewer {
        let ctx = maillage_sdk::context();
        let zone = time::zone_or_default(&ctx.time_zone);
        let own_zone = maillage_sdk::user_time_zone()
            .and_then(|name| time::zone(&name).ok())
            .filter(|own| time::zone_name(own) != time::zone_name(&zone));
        let coordinator = ctx
            .roles
            .iter()
            .any(|role| role == "coordinator" || role == "admin");
        let (id, name) = match ctx.user {
            Some(user) => (Some(user.id), user.display_name),
            None => (None, String::new()),
        };
        Viewer {
            id,
            name,
            coordinator,
            zone,
            own_zone,
        }
    }

    /// Whether this is the viewer's answer.
    pub fn owns(&self, answer: &Answer) -> bool {
        self.id.as_deref() == Some(answer.user.as_str())
    }
}

/// What the viewer may do and see on a poll.
pub struct Access {
    /// The poll's organiser.
    pub organiser: bool,
    /// A référent of the poll's group.
    pub referent: bool,
    /// Organiser, référent or coordinator: edits, closes, exports.
    pub manager: bool,
    pub invitee: bool,
    /// Sees participants' names (and everyone's rows, and who has not answered).
    pub names: bool,
    /// Sees the counts and may export (names replaced when `names` is false).
    pub results: bool,
}

impl Access {
    pub fn of(poll: &Poll, viewer: &Viewer) -> Access {
        let organiser = viewer.id.is_some() && viewer.id == poll.organiser;
        let referent = poll
            .group_id
            .as_deref()
            .is_some_and(maillage_sdk::groups::is_referent);
        let manager = organiser || referent || viewer.coordinator;
        let visibility = poll.visibility();
        Access {
            organiser,
            referent,
            manager,
            invitee: viewer
                .id
                .as_deref()
                .is_some_and(|user| poll.is_invitee(user)),
            names: organiser || visibility == Visibility::All,
            results: manager || visibility != Visibility::Organiser,
        }
    }
}
