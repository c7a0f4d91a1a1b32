//! The agenda's collections, its records, and who may do what.

use maillage_sdk::User;
use maillage_sdk::groups::{Group, GroupRole};
use maillage_sdk::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, or_default,
};
use maillage_sdk::time;
use maillage_sdk::time::jiff::Timestamp;
use maillage_sdk::time::jiff::tz::TimeZone;
use serde::Deserialize;

pub const MEETINGS: &str = "meetings";
pub const INVITATIONS: &str = "invitations";
pub const ATTENDANCE: &str = "attendance";
pub const CLOSINGS: &str = "closings";
pub const JOURNAL: &str = "journal";
pub const MINUTES: &str = "minutes";

/// `meetings.status`.
pub const PLANNED: &str = "prevue";
pub const CANCELLED: &str = "annulee";
/// `meetings.attendance`.
pub const OPEN: &str = "ouverte";
pub const CLOSED: &str = "close";

pub const MAX_TITLE: usize = 200;
pub const MAX_PLACE: usize = 300;
pub const MAX_VIDEO: usize = 500;
pub const MAX_AGENDA: usize = 10_000;
pub const MAX_NAME: usize = 100;
pub const MAX_REASON: usize = 1000;
pub const MAX_GUESTS: usize = 50;
pub const MAX_INVITEES: usize = 3000;
/// An absence announced less than this before the start is a late one (the CPTS rule).
pub const LATE_ABSENCE_SECS: i64 = 48 * 3600;

/// Kinds of meeting (`kind` in `meeting.attendance-closed`): code, label.
pub const KINDS: [(&str, &str); 5] = [
    ("groupe-de-travail", "Réunion de groupe de travail"),
    ("pleniere", "Réunion plénière"),
    ("bureau", "Réunion du bureau"),
    ("formation", "Formation"),
    ("autre", "Autre réunion"),
];

pub fn kind_label(code: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
        .unwrap_or("Réunion")
}

/// Zones offered in the forms (the structure's own is added when missing); any IANA
/// zone is accepted.
pub const ZONES: [&str; 10] = [
    "Europe/Paris",
    "America/Cayenne",
    "America/Martinique",
    "America/Guadeloupe",
    "Indian/Reunion",
    "Indian/Mayotte",
    "America/Miquelon",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "Pacific/Wallis",
];

/// The tables the host keeps for the agenda, per structure.
pub fn collections() -> Vec<CollectionDef> {
    use maillage_sdk::records::{integer, required, text, with_default};
    let meeting_ref = || FieldDef {
        required: true,
        references: Some(MEETINGS.into()),
        ..field("meeting", FieldType::RecordRef)
    };
    vec![
        CollectionDef {
            name: MEETINGS.into(),
            fields: vec![
                FieldDef {
                    required: true,
                    full_text: true,
                    ..text("title")
                },
                field("group_id", FieldType::GroupRef),
                text("group_name"),
                required(text("kind")),
                // Unix seconds, and the IANA zone it was planned in.
                required(integer("start_at")),
                required(text("zone")),
                // Minutes.
                required(integer("duration")),
                FieldDef {
                    full_text: true,
                    ..text("place")
                },
                text("video"),
                FieldDef {
                    full_text: true,
                    ..text("agenda")
                },
                field("organiser", FieldType::UserRef),
                text("organiser_name"),
                with_default(text("status"), "\"prevue\""),
                // iCalendar SEQUENCE: bumped on every significant change.
                with_default(integer("sequence"), "0"),
                with_default(text("attendance"), "\"ouverte\""),
                // How many closings were published (the event's revision).
                with_default(integer("revision"), "0"),
                // Key of the rotating émargement codes; never shown.
                text("secret"),
                text("reminder_timer"),
                integer("reminded_sequence"),
                // The closed poll this meeting was made from (idempotency).
                text("from_poll"),
            ],
            indexes: vec![
                index(&["start_at"], false),
                index(&["group_id", "start_at"], false),
                index(&["from_poll"], true),
            ],
        },
        CollectionDef {
            name: INVITATIONS.into(),
            fields: vec![
                meeting_ref(),
                // "u{account id}" for members, "e{hash of the name}" for external guests.
                required(text("key")),
                field("user", FieldType::UserRef),
                required(text("name")),
                text("email"),
                // "present", "absent" or "" (sans réponse).
                with_default(text("answer"), "\"\""),
                integer("answered_at"),
                with_default(field("late", FieldType::Boolean), "false"),
            ],
            indexes: vec![index(&["meeting", "key"], true), index(&["user"], false)],
        },
        CollectionDef {
            name: ATTENDANCE.into(),
            fields: vec![
                meeting_ref(),
                required(text("key")),
                field("user", FieldType::UserRef),
                required(text("name")),
                with_default(field("invited", FieldType::Boolean), "false"),
                // When the attendee signed themselves, and how ("bouton", "qr").
                integer("signed_at"),
                text("method"),
                // Recorded by a coordinator or a référent: instants, or a duration.
                integer("arrival"),
                integer("departure"),
                integer("minutes"),
                text("recorded_by"),
                // "referent", "active" or "guest", fixed at closing.
                text("role"),
            ],
            indexes: vec![index(&["meeting", "key"], true)],
        },
        CollectionDef {
            name: CLOSINGS.into(),
            fields: vec![
                meeting_ref(),
                required(integer("revision")),
                field("closed_by", FieldType::UserRef),
                text("closed_by_name"),
                field("attendees", FieldType::Json),
            ],
            // One closing per revision: a second concurrent closing conflicts.
            indexes: vec![index(&["meeting", "revision"], true)],
        },
        CollectionDef {
            name: JOURNAL.into(),
            fields: vec![
                meeting_ref(),
                required(text("action")),
                integer("revision"),
                text("reason"),
                field("by_user", FieldType::UserRef),
                text("by_name"),
            ],
            indexes: vec![index(&["meeting", "created_at"], false)],
        },
        CollectionDef {
            name: MINUTES.into(),
            fields: vec![
                meeting_ref(),
                required(integer("version")),
                FieldDef {
                    full_text: true,
                    ..text("text")
                },
                field("by_user", FieldType::UserRef),
                text("by_name"),
            ],
            indexes: vec![index(&["meeting", "version"], true)],
        },
        maillage_sdk::thread::collection(),
    ]
}

#[derive(Debug, Clone, Deserialize)]
pub struct Meeting {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub group_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "or_default")]
    pub start_at: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub zone: String,
    #[serde(default, deserialize_with = "or_default")]
    pub duration: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub place: String,
    #[serde(default, deserialize_with = "or_default")]
    pub video: String,
    #[serde(default, deserialize_with = "or_default")]
    pub agenda: String,
    #[serde(default)]
    pub organiser: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub organiser_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub sequence: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub attendance: String,
    #[serde(default, deserialize_with = "or_default")]
    pub revision: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub secret: String,
    #[serde(default)]
    pub reminder_timer: Option<String>,
    #[serde(default)]
    pub reminded_sequence: Option<i64>,
    #[serde(default)]
    pub from_poll: Option<String>,
}

impl Meeting {
    pub fn tz(&self) -> TimeZone {
        time::zone_or_default(&self.zone)
    }
    pub fn start(&self) -> Timestamp {
        time::from_seconds(self.start_at)
    }
    pub fn end_at(&self) -> i64 {
        self.start_at + self.duration.max(0) * 60
    }
    pub fn is_cancelled(&self) -> bool {
        self.status == CANCELLED
    }
    pub fn is_closed(&self) -> bool {
        self.attendance == CLOSED
    }
    pub fn has_started(&self, now: i64) -> bool {
        now >= self.start_at
    }
    /// « jeudi 3 décembre 2026, 20:00 » in the meeting's zone.
    pub fn when_fr(&self) -> String {
        time::instant_fr(self.start(), &self.tz())
    }
    /// « 20:00 » in the meeting's zone.
    pub fn time_fr(&self) -> String {
        time::time_fr(time::local(self.start(), &self.tz()))
    }
    /// The local date of the start, "2026-12-03".
    pub fn date_input(&self) -> String {
        time::date_input(time::local(self.start(), &self.tz()).date())
    }
    /// The date and, when the zone is not the structure's, the zone's name.
    pub fn when_with_zone(&self) -> String {
        let structure = maillage_sdk::context().time_zone;
        if time::zone_name(&self.tz()) == structure {
            self.when_fr()
        } else {
            format!("{} ({})", self.when_fr(), time::zone_name(&self.tz()))
        }
    }
    /// The same instant in the viewer's own zone, when they chose another one.
    pub fn in_viewer_zone(&self) -> Option<String> {
        let own = maillage_sdk::user_time_zone()?;
        let other = time::zone(&own).ok()?;
        if time::zone_name(&other) == time::zone_name(&self.tz()) {
            return None;
        }
        Some(time::instant_in_other_zone_fr(
            self.start(),
            &self.tz(),
            &other,
        ))
    }
    /// The group's name, or "Toute la structure".
    pub fn group_label(&self, viewer: &Viewer) -> String {
        match &self.group_id {
            None => "Toute la structure".into(),
            Some(id) => {
                if !self.group_name.is_empty() {
                    self.group_name.clone()
                } else {
                    viewer
                        .group(id)
                        .map(|g| g.name.clone())
                        .unwrap_or_else(|| "Groupe de travail".into())
                }
            }
        }
    }
    /// The module-relative path of its page.
    pub fn path(&self) -> String {
        format!("/r/{}", self.id)
    }
}

/// An invitee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Present,
    Absent,
    None,
}

impl Answer {
    pub const ALL: [Answer; 3] = [Answer::Present, Answer::Absent, Answer::None];

    /// From the form: "present", "absent", "sans-reponse".
    pub fn parse(text: &str) -> Option<Answer> {
        match text {
            "present" => Some(Answer::Present),
            "absent" => Some(Answer::Absent),
            "sans-reponse" => Some(Answer::None),
            _ => None,
        }
    }
    pub fn form_value(self) -> &'static str {
        match self {
            Answer::Present => "present",
            Answer::Absent => "absent",
            Answer::None => "sans-reponse",
        }
    }
    /// As stored in `invitations.answer`.
    pub fn stored(self) -> &'static str {
        match self {
            Answer::Present => "present",
            Answer::Absent => "absent",
            Answer::None => "",
        }
    }
    pub fn from_stored(text: &str) -> Answer {
        match text {
            "present" => Answer::Present,
            "absent" => Answer::Absent,
            _ => Answer::None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Answer::Present => "Présent",
            Answer::Absent => "Absent",
            Answer::None => "Sans réponse",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            Answer::Present => "answer answer-present",
            Answer::Absent => "answer answer-absent",
            Answer::None => "answer answer-none",
        }
    }
}

/// Whether an absence given at `now` for a meeting starting at `start_at` is late.
pub fn is_late_absence(answer: Answer, now: i64, start_at: i64) -> bool {
    answer == Answer::Absent && now > start_at - LATE_ABSENCE_SECS
}

#[derive(Debug, Clone, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub meeting: String,
    pub key: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub email: String,
    #[serde(default, deserialize_with = "or_default")]
    pub answer: String,
    #[serde(default)]
    pub answered_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub late: bool,
}

impl Invitation {
    pub fn answer(&self) -> Answer {
        Answer::from_stored(&self.answer)
    }
}

/// Someone recorded at a meeting (signed in, or recorded by a coordinator).
#[derive(Debug, Clone, Deserialize)]
pub struct Presence {
    pub id: String,
    pub meeting: String,
    pub key: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub invited: bool,
    #[serde(default)]
    pub signed_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub method: String,
    #[serde(default)]
    pub arrival: Option<i64>,
    #[serde(default)]
    pub departure: Option<i64>,
    #[serde(default)]
    pub minutes: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub recorded_by: String,
    #[serde(default, deserialize_with = "or_default")]
    pub role: String,
}

/// The actual duration of a presence, in minutes: the one recorded, else from the
/// arrival and leave times (the meeting's start and end standing in for a missing one),
/// else the meeting's planned duration.
pub fn actual_minutes(
    minutes: Option<i64>,
    arrival: Option<i64>,
    departure: Option<i64>,
    start_at: i64,
    duration: i64,
) -> i64 {
    if let Some(minutes) = minutes {
        return minutes.max(0);
    }
    let end = start_at + duration.max(0) * 60;
    match (arrival, departure) {
        (None, None) => duration.max(0),
        (a, d) => {
            let from = a.unwrap_or(start_at);
            let to = d.unwrap_or(end);
            ((to - from) / 60).max(0)
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct JournalLine {
    #[serde(default, deserialize_with = "or_default")]
    pub action: String,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub reason: String,
    #[serde(default, deserialize_with = "or_default")]
    pub by_name: String,
    #[serde(default)]
    pub created_at: i64,
}

/// The key of a member among a meeting's invitees and attendees.
pub fn member_key(user_id: &str) -> String {
    format!("u{user_id}")
}

/// The key of an external guest: the same name makes the same key.
pub fn guest_key(name: &str) -> String {
    format!(
        "e{:016x}",
        maillage_sdk::assets::fnv1a_64(maillage_sdk::text::fold(name).as_bytes())
    )
}

pub fn invitations(meeting_id: &str) -> Result<Vec<Invitation>, StoreError> {
    let query = Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting_id)
        .sort("name");
    query.fetch_all(INVITATIONS, MAX_INVITEES)
}

pub fn presences(meeting_id: &str) -> Result<Vec<Presence>, StoreError> {
    let query = Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting_id)
        .sort("name");
    query.fetch_all(ATTENDANCE, MAX_INVITEES)
}

pub fn invitation_of(meeting_id: &str, user_id: &str) -> Result<Option<Invitation>, StoreError> {
    Query::new()
        .filter("meeting = {:m} && key = {:k}")
        .param("m", meeting_id)
        .param("k", member_key(user_id))
        .first::<Invitation>(INVITATIONS)
}

pub fn presence_of(meeting_id: &str, key: &str) -> Result<Option<Presence>, StoreError> {
    Query::new()
        .filter("meeting = {:m} && key = {:k}")
        .param("m", meeting_id)
        .param("k", key)
        .first::<Presence>(ATTENDANCE)
}

/// The viewer's invitations among `meeting_ids`, by meeting id.
pub fn my_invitations(
    viewer: &Viewer,
    meeting_ids: &[String],
) -> Result<Vec<Invitation>, StoreError> {
    let Some(user) = viewer.id() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for chunk in meeting_ids.chunks(500) {
        let query = Query::new()
            .filter("user = {:u} && meeting in {:ids}")
            .param("u", user)
            .param("ids", chunk);
        out.extend(query.fetch_all::<Invitation>(INVITATIONS, 1000)?);
    }
    Ok(out)
}

/// Meetings by id, in start order.
pub fn meetings_by_id(ids: &[String]) -> Result<Vec<Meeting>, StoreError> {
    let mut out: Vec<Meeting> = Vec::new();
    for chunk in ids.chunks(500) {
        let query = Query::new()
            .filter("id in {:ids}")
            .param("ids", chunk)
            .sort("start_at");
        out.extend(query.fetch_all::<Meeting>(MEETINGS, 1000)?);
    }
    out.sort_by_key(|m| m.start_at);
    Ok(out)
}

/// The acting member, as the agenda sees them.
pub struct Viewer {
    pub user: Option<User>,
    /// Coordinators (and admins): every meeting, every group.
    pub coordinator: bool,
    /// The groups the member may read (open ones, their own; all for coordinators).
    pub groups: Vec<Group>,
}

impl Viewer {
    pub fn current() -> Viewer {
        let ctx = maillage_sdk::context();
        Viewer {
            coordinator: ctx.roles.iter().any(|r| r == "coordinator" || r == "admin"),
            user: ctx.user,
            groups: maillage_sdk::groups::visible_groups(),
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.id.as_str())
    }

    pub fn name(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default()
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    fn role_in(&self, meeting: &Meeting) -> Option<GroupRole> {
        meeting
            .group_id
            .as_deref()
            .and_then(|id| self.group(id))
            .and_then(|g| g.my_role)
    }

    pub fn is_referent(&self, meeting: &Meeting) -> bool {
        matches!(self.role_in(meeting), Some(GroupRole::Referent))
    }

    /// Invitees, members of the structure for its meetings, those who may read the
    /// group for a group's meeting, and coordinators.
    pub fn can_read(&self, meeting: &Meeting, invited: bool) -> bool {
        self.coordinator
            || invited
            || match &meeting.group_id {
                None => true,
                Some(id) => self.group(id).is_some(),
            }
    }

    /// Edits, cancels: the organiser, the group's référents, coordinators.
    pub fn manages(&self, meeting: &Meeting) -> bool {
        self.coordinator
            || self.is_referent(meeting)
            || (meeting.organiser.is_some() && meeting.organiser.as_deref() == self.id())
    }

    /// Records who attended and closes the attendance: référents and coordinators.
    pub fn records_attendance(&self, meeting: &Meeting) -> bool {
        self.coordinator || self.is_referent(meeting)
    }

    /// Groups the member may plan a meeting for: their own (as référent or membre
    /// actif), every group for coordinators.
    pub fn groups_for_new(&self) -> Vec<&Group> {
        self.groups
            .iter()
            .filter(|g| !g.archived)
            .filter(|g| {
                self.coordinator
                    || matches!(g.my_role, Some(GroupRole::Referent | GroupRole::Active))
            })
            .collect()
    }

    /// Whether the member may plan at least one meeting.
    pub fn may_create_any(&self) -> bool {
        self.coordinator || !self.groups_for_new().is_empty()
    }
}

/// A meeting the viewer may read, with their own invitation; none for an unknown id,
/// another structure's meeting or one they may not read (all answer 404).
pub struct Loaded {
    pub meeting: Meeting,
    pub mine: Option<Invitation>,
}

pub fn load(id: &str, viewer: &Viewer) -> Result<Option<Loaded>, StoreError> {
    if !records::valid_id(id) {
        return Ok(None);
    }
    let Some(meeting) = records::get::<Meeting>(MEETINGS, id)? else {
        return Ok(None);
    };
    let mine = match viewer.id() {
        Some(user) => invitation_of(id, user)?,
        None => None,
    };
    if !viewer.can_read(&meeting, mine.is_some()) {
        return Ok(None);
    }
    Ok(Some(Loaded { meeting, mine }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absences_within_48_hours_are_late() {
        let start = 1_000_000;
        assert!(!is_late_absence(Answer::Absent, start - 49 * 3600, start));
        assert!(is_late_absence(Answer::Absent, start - 47 * 3600, start));
        assert!(is_late_absence(Answer::Absent, start + 60, start));
        assert!(!is_late_absence(Answer::Present, start - 3600, start));
    }

    #[test]
    fn actual_durations() {
        let start = 10_000;
        assert_eq!(actual_minutes(None, None, None, start, 90), 90);
        assert_eq!(actual_minutes(Some(45), Some(start), None, start, 90), 45);
        assert_eq!(
            actual_minutes(None, Some(start + 600), Some(start + 3600), start, 90),
            50
        );
        assert_eq!(
            actual_minutes(None, Some(start + 1800), None, start, 90),
            60
        );
        assert_eq!(
            actual_minutes(None, None, Some(start + 1200), start, 90),
            20
        );
        assert_eq!(
            actual_minutes(None, Some(start + 600), Some(start), start, 90),
            0
        );
    }

    #[test]
    fn keys_and_answers() {
        assert_eq!(member_key("12"), "u12");
        assert_eq!(
            guest_key("Dr Chloé Martin"),
            guest_key("  dr chloe  martin ")
        );
        assert_ne!(guest_key("A"), guest_key("B"));
        for a in Answer::ALL {
            assert_eq!(Answer::parse(a.form_value()), Some(a));
            assert_eq!(Answer::from_stored(a.stored()), a);
        }
        assert_eq!(Answer::parse("peut-être"), None);
        assert_eq!(kind_label("bureau"), "Réunion du bureau");
    }
}
