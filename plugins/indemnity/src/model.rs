//! The ledger's collections, its lines, statuses and who may do what.

use std::collections::HashMap;

use maillage_sdk::User;
use maillage_sdk::records::{
    self, CollectionDef, FieldDef, FieldType, Query, StoreError, field, index, or_default,
};
use serde::Deserialize;
use serde_json::json;

use crate::money;

/// One line per attendee and meeting revision, plus adjustments.
pub const LINES: &str = "lignes";
/// The attendance closings already turned into lines: (meeting, revision).
pub const PROCESSED: &str = "clotures";
/// Key → value settings of the structure: "plafond:{year}" (cents), "mission:{group}".
pub const SETTINGS: &str = "reglages";
/// Planned budget per group and year.
pub const BUDGETS: &str = "budgets";
/// Other expenses of a group, entered by hand.
pub const EXPENSES: &str = "depenses";
/// Time logged on the projects module's tasks (`task.time-logged`), one record per entry.
pub const TASK_TIME: &str = "temps";

/// `lignes.status`.
pub const DRAFT: &str = "brouillon";
pub const APPROVED: &str = "approuve";
pub const PAID: &str = "paye";
pub const HELD: &str = "en_attente";
pub const NOT_ELIGIBLE: &str = "non_eligible";
pub const STATUSES: [&str; 5] = [DRAFT, APPROVED, PAID, HELD, NOT_ELIGIBLE];
/// The statuses whose amounts count towards the yearly cap and the member's totals.
pub const COUNTED: [&str; 3] = [DRAFT, APPROVED, PAID];
/// Lines a correction of the attendance replaces.
pub const REPLACEABLE: [&str; 3] = [DRAFT, HELD, NOT_ELIGIBLE];
/// Lines a correction never changes.
pub const SETTLED: [&str; 2] = [APPROVED, PAID];

/// `lignes.kind`.
pub const KIND_LINE: &str = "ligne";
pub const KIND_ADJUSTMENT: &str = "ajustement";

/// `lignes.hold_kind`: why a line is held.
pub const HOLD_CAP: &str = "plafond";
pub const HOLD_RULES_ERROR: &str = "bareme";
pub const HOLD_NO_RULES: &str = "aucun_bareme";

/// The treasurer role this module declares.
pub const TREASURER: &str = "tresorier";

/// Most lines read for one page or export.
pub const MAX_LINES: usize = 20_000;

pub const NO_RULES_REASON: &str = "Aucun barème n’est en vigueur à cette date";

/// Missions of the projet de santé (ACI): code, label.
pub const MISSIONS: [(&str, &str); 6] = [
    ("1", "Mission 1 – Accès aux soins"),
    ("2", "Mission 2 – Parcours pluriprofessionnels"),
    ("3", "Mission 3 – Prévention"),
    ("4", "Mission 4 – Crises sanitaires"),
    ("5", "Mission 5 – Qualité et pertinence des soins"),
    (
        "6",
        "Mission 6 – Accompagnement des professionnels de santé",
    ),
];

pub fn mission_label(code: &str) -> String {
    MISSIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| label.to_string())
        .unwrap_or_else(|| {
            if code.is_empty() {
                "Mission non renseignée".to_string()
            } else {
                format!("Mission {code}")
            }
        })
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        DRAFT => "Brouillon",
        APPROVED => "Approuvée",
        PAID => "Payée",
        HELD => "En attente",
        NOT_ELIGIBLE => "Non éligible",
        _ => "Inconnu",
    }
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "referent" => "Référent",
        "active" => "Membre actif",
        "guest" => "Invité",
        _ => "",
    }
}

pub fn exercise_label(mode: &str) -> &'static str {
    match mode {
        "liberal" => "Libéral",
        "salarie" => "Salarié",
        "autre" => "Autre",
        _ => "Inconnu",
    }
}

/// The tables the host keeps for the module, per structure.
pub fn collections() -> Vec<CollectionDef> {
    use maillage_sdk::records::{integer, required, text, with_default};
    let money_field = |name: &str| field(name, FieldType::Money);
    let boolean = |name: &str| field(name, FieldType::Boolean);
    vec![
        CollectionDef {
            name: LINES.into(),
            fields: vec![
                // The agenda's meeting and the closing's revision.
                required(text("meeting_id")),
                required(integer("revision")),
                // "ligne" or "ajustement".
                required(text("kind")),
                // "u{account id}" for members, "e{hash of the name}" for guests.
                required(text("attendee_key")),
                FieldDef {
                    full_text: true,
                    ..text("title")
                },
                required(field("date", FieldType::Date)),
                required(integer("year")),
                field("group_id", FieldType::GroupRef),
                text("group_name"),
                text("mission"),
                field("person", FieldType::UserRef),
                FieldDef {
                    full_text: true,
                    ..text("person_name")
                },
                // Cents; negative for an adjustment that takes back.
                required(money_field("amount")),
                // What the rule set computed, before any treasurer decision.
                money_field("computed_amount"),
                // Time spent in the meeting (an adjustment: the difference).
                with_default(integer("minutes"), "0"),
                // Time the rule set counted.
                integer("counted_minutes"),
                text("rationale"),
                text("rule_set"),
                text("rule_version"),
                field("settings", FieldType::Json),
                required(text("status")),
                text("hold_kind"),
                text("hold_reason"),
                field("approved_by", FieldType::UserRef),
                text("approved_by_name"),
                integer("approved_at"),
                field("paid_on", FieldType::Date),
                text("payment_ref"),
                field("paid_by", FieldType::UserRef),
                text("paid_by_name"),
                integer("paid_at"),
                text("decision"),
                text("decided_by_name"),
                integer("decided_at"),
                // The expense note (a blob of this module).
                text("note_blob"),
                text("note_name"),
                text("note_path"),
                // The facts the amount was computed from, to compute it again.
                text("profession"),
                text("exercise_mode"),
                with_default(boolean("convention"), "false"),
                with_default(boolean("adherent"), "false"),
                text("role"),
                integer("attended_minutes"),
                integer("meeting_duration"),
                text("meeting_kind"),
            ],
            indexes: vec![
                // A re-delivered closing never pays twice.
                index(&["meeting_id", "revision", "attendee_key", "kind"], true),
                index(&["person", "year"], false),
                index(&["status", "date"], false),
                index(&["date"], false),
                index(&["group_id", "year"], false),
            ],
        },
        CollectionDef {
            name: PROCESSED.into(),
            fields: vec![
                required(text("meeting_id")),
                required(integer("revision")),
                with_default(integer("lines"), "0"),
            ],
            indexes: vec![index(&["meeting_id", "revision"], true)],
        },
        CollectionDef {
            name: SETTINGS.into(),
            fields: vec![required(text("key")), integer("amount"), text("text")],
            indexes: vec![index(&["key"], true)],
        },
        CollectionDef {
            name: BUDGETS.into(),
            fields: vec![
                required(field("group_id", FieldType::GroupRef)),
                text("group_name"),
                required(integer("year")),
                with_default(money_field("fixed_planned"), "0"),
                with_default(money_field("variable_planned"), "0"),
                // Percent of the budget spent from which the page shows an alert.
                with_default(integer("threshold"), "80"),
            ],
            indexes: vec![index(&["group_id", "year"], true)],
        },
        CollectionDef {
            name: EXPENSES.into(),
            fields: vec![
                required(field("group_id", FieldType::GroupRef)),
                required(integer("year")),
                required(text("label")),
                required(money_field("amount")),
                required(field("date", FieldType::Date)),
                text("by_name"),
            ],
            indexes: vec![index(&["group_id", "year"], false)],
        },
        CollectionDef {
            name: TASK_TIME.into(),
            fields: vec![
                // The projects module's entry id and its revision (a deleted entry keeps
                // its last one: a late, older event does not bring it back).
                required(text("entry")),
                required(integer("revision")),
                with_default(boolean("deleted"), "false"),
                field("group_id", FieldType::GroupRef),
                text("group_name"),
                required(field("person", FieldType::UserRef)),
                // The date worked and its year.
                required(field("date", FieldType::Date)),
                required(integer("year")),
                // 0 once deleted.
                with_default(integer("minutes"), "0"),
                text("task_title"),
                text("entered_by_name"),
                // The project's start date (YYYY-MM-DD), when the projects module knows it.
                text("project_start"),
            ],
            indexes: vec![
                // Two deliveries of an event write one record.
                index(&["entry"], true),
                index(&["person", "year"], false),
            ],
        },
    ]
}

/// A line of the ledger.
#[derive(Debug, Clone, Deserialize)]
pub struct Line {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub meeting_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub revision: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "or_default")]
    pub attendee_key: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub year: i64,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub group_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub mission: String,
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub person_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub amount: i64,
    #[serde(default)]
    pub computed_amount: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub minutes: i64,
    #[serde(default)]
    pub counted_minutes: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub rationale: String,
    #[serde(default, deserialize_with = "or_default")]
    pub rule_set: String,
    #[serde(default, deserialize_with = "or_default")]
    pub rule_version: String,
    #[serde(default)]
    pub settings: serde_json::Value,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub hold_kind: String,
    #[serde(default, deserialize_with = "or_default")]
    pub hold_reason: String,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub approved_by_name: String,
    #[serde(default)]
    pub approved_at: Option<i64>,
    #[serde(default)]
    pub paid_on: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub payment_ref: String,
    #[serde(default)]
    pub paid_by: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub paid_by_name: String,
    #[serde(default)]
    pub paid_at: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub decision: String,
    #[serde(default, deserialize_with = "or_default")]
    pub decided_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub note_blob: String,
    #[serde(default, deserialize_with = "or_default")]
    pub note_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub note_path: String,
    #[serde(default, deserialize_with = "or_default")]
    pub profession: String,
    #[serde(default, deserialize_with = "or_default")]
    pub exercise_mode: String,
    #[serde(default, deserialize_with = "or_default")]
    pub convention: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub adherent: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub role: String,
    #[serde(default)]
    pub attended_minutes: Option<i64>,
    #[serde(default)]
    pub meeting_duration: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub meeting_kind: String,
}

impl Line {
    pub fn is_adjustment(&self) -> bool {
        self.kind == KIND_ADJUSTMENT
    }
    pub fn counts(&self) -> bool {
        COUNTED.contains(&self.status.as_str())
    }
    pub fn is_settled(&self) -> bool {
        SETTLED.contains(&self.status.as_str())
    }
    /// The project's name, or « Hors projet » for a meeting of the whole structure.
    pub fn project(&self) -> String {
        if !self.group_name.is_empty() {
            self.group_name.clone()
        } else if self.group_id.is_some() {
            "Projet sans nom".to_string()
        } else {
            "Hors projet".to_string()
        }
    }
    /// The key grouping the lines of one project.
    pub fn project_key(&self) -> String {
        self.group_id.clone().unwrap_or_default()
    }
    /// The key grouping the lines of one person (members by account, guests by name).
    pub fn person_key(&self) -> String {
        match &self.person {
            Some(id) => format!("u{id}"),
            None => self.attendee_key.clone(),
        }
    }
    pub fn path(&self) -> String {
        format!("/lignes/{}", self.id)
    }
}

/// Time a member logged on a task of the projects module, as its last event told it.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskTime {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub entry: String,
    #[serde(default, deserialize_with = "or_default")]
    pub revision: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub deleted: bool,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub group_name: String,
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub year: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub minutes: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub task_title: String,
    #[serde(default, deserialize_with = "or_default")]
    pub entered_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub project_start: String,
    /// When the record was last written (Unix seconds, the host's).
    #[serde(default, deserialize_with = "or_default")]
    pub updated_at: i64,
}

impl TaskTime {
    /// The project's name, as [`Line::project`] names it.
    pub fn project(&self) -> String {
        if !self.group_name.is_empty() {
            self.group_name.clone()
        } else if self.group_id.is_some() {
            "Projet sans nom".to_string()
        } else {
            "Hors projet".to_string()
        }
    }
    /// The key grouping it with the lines of its project ([`Line::project_key`]).
    pub fn project_key(&self) -> String {
        self.group_id.clone().unwrap_or_default()
    }
}

/// The acting member, as the ledger sees them.
pub struct Viewer {
    pub user: Option<User>,
    pub treasurer: bool,
}

impl Viewer {
    pub fn current() -> Viewer {
        Viewer {
            user: maillage_sdk::context().user,
            treasurer: maillage_sdk::has_role(TREASURER),
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
    /// Whether the line is this viewer's own: a treasurer does not approve it (another
    /// treasurer does).
    pub fn owns(&self, line: &Line) -> bool {
        self.id().is_some() && line.person.as_deref() == self.id()
    }
    /// The line's person, or a treasurer.
    pub fn may_read(&self, line: &Line) -> bool {
        self.treasurer || (line.person.is_some() && line.person.as_deref() == self.id())
    }
}

/// A line by id; none for an unknown id (or another structure's: the host scopes).
pub fn load_line(id: &str) -> Result<Option<Line>, StoreError> {
    if !records::valid_id(id) {
        return Ok(None);
    }
    records::get::<Line>(LINES, id)
}

/// Lines read at most to find those an expense note belongs to (one, in practice).
const NOTE_LINES: u32 = 20;

/// Whether the acting member may download the module's file `blob_id` (the host asks,
/// `Plugin::may_read_file`): the expense note of a line they may read, i.e. their own
/// line, or any line for a treasurer, as the line's page. A file no line refers to (a
/// replaced note, an unknown id) is read by nobody.
pub fn may_read_note(blob_id: &str) -> bool {
    if blob_id.is_empty() {
        return false;
    }
    let viewer = Viewer::current();
    let found = Query::new()
        .filter("note_blob = {:b}")
        .param("b", blob_id)
        .limit(NOTE_LINES)
        .fetch::<Line>(LINES);
    match found {
        Ok((lines, _)) => lines.iter().any(|line| viewer.may_read(line)),
        Err(e) => {
            maillage_sdk::log::warn(&format!(
                "indemnites: expense note {blob_id} not checked: {e:?}"
            ));
            false
        }
    }
}

/// Every line of a meeting, any revision.
pub fn lines_of_meeting(meeting_id: &str) -> Result<Vec<Line>, StoreError> {
    let query = Query::new()
        .filter("meeting_id = {:m}")
        .param("m", meeting_id)
        .sort("revision,date");
    query.fetch_all(LINES, MAX_LINES)
}

/// Persons asked about at once in [`counted_totals`].
const PERSONS_AT_ONCE: usize = 100;

/// What counts towards the cap in `year` (draft, approved and paid lines) for each of
/// `persons`, summed by the host (one aggregate per hundred persons); 0 for those with
/// no line.
pub fn counted_totals(persons: &[String], year: i64) -> Result<HashMap<String, i64>, StoreError> {
    let mut totals: HashMap<String, i64> = persons.iter().map(|p| (p.clone(), 0)).collect();
    for chunk in persons.chunks(PERSONS_AT_ONCE) {
        let groups = Query::new()
            .filter("person in {:p} && year = {:y} && status in {:s}")
            .param("p", chunk)
            .param("y", year)
            .param("s", COUNTED)
            .aggregate(LINES, Some("person"), Some("amount"))?;
        for group in groups {
            if let Some(person) = group.key.as_str()
                && let Some(total) = totals.get_mut(person)
            {
                *total = group.sum;
            }
        }
    }
    Ok(totals)
}

/// What counts towards a person's cap in a year (draft, approved and paid lines),
/// without the line `except` (the one being decided on).
pub fn counted_total(person: &str, year: i64, except: &Line) -> Result<i64, StoreError> {
    let total = counted_totals(&[person.to_string()], year)?
        .remove(person)
        .unwrap_or(0);
    let excepted =
        if except.counts() && except.year == year && except.person.as_deref() == Some(person) {
            except.amount
        } else {
            0
        };
    Ok(total - excepted)
}

/// What was approved or paid for one attendee of one meeting, without the line
/// `except`: (cents, minutes).
pub fn settled_of(
    meeting_id: &str,
    attendee_key: &str,
    except: Option<&str>,
) -> Result<(i64, i64), StoreError> {
    let lines = lines_of_meeting(meeting_id)?;
    Ok(lines
        .iter()
        .filter(|l| l.attendee_key == attendee_key && l.is_settled())
        .filter(|l| Some(l.id.as_str()) != except)
        .fold((0, 0), |(c, m), l| (c + l.amount, m + l.minutes)))
}

#[derive(Debug, Clone, Deserialize)]
pub struct SettingRecord {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub key: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub text: String,
}

fn setting(key: &str) -> Result<Option<SettingRecord>, StoreError> {
    Query::new()
        .filter("key = {:k}")
        .param("k", key)
        .first::<SettingRecord>(SETTINGS)
}

fn cap_key(year: i32) -> String {
    format!("plafond:{year}")
}

/// The cap of a year (cents) and whether the structure set it (else the PASS).
pub fn cap_of(year: i32) -> Result<(i64, bool), StoreError> {
    Ok(match setting(&cap_key(year))?.and_then(|s| s.amount) {
        Some(cents) => (cents, true),
        None => (money::pass(year), false),
    })
}

pub fn set_cap(year: i32, cents: i64) -> Result<(), StoreError> {
    records::upsert::<_, serde_json::Value>(
        SETTINGS,
        &["key"],
        &json!({ "key": cap_key(year), "amount": cents }),
    )?;
    Ok(())
}

/// The caps the structure set: (year, cents).
pub fn custom_caps() -> Result<Vec<(i32, i64)>, StoreError> {
    let query = Query::new().filter("key ~ {:p}").param("p", "plafond:");
    let mut out: Vec<(i32, i64)> = query
        .fetch_all::<SettingRecord>(SETTINGS, 1000)?
        .into_iter()
        .filter_map(|s| {
            let year = s.key.strip_prefix("plafond:")?.parse().ok()?;
            Some((year, s.amount?))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The mission each group belongs to (set on the budgets page): (group id, code).
pub fn missions() -> Result<Vec<(String, String)>, StoreError> {
    let query = Query::new().filter("key ~ {:p}").param("p", "mission:");
    Ok(query
        .fetch_all::<SettingRecord>(SETTINGS, 5000)?
        .into_iter()
        .filter_map(|s| {
            let group = s.key.strip_prefix("mission:")?.to_string();
            Some((group, s.text))
        })
        .collect())
}

pub fn mission_of_group(group_id: &str) -> Result<String, StoreError> {
    Ok(setting(&format!("mission:{group_id}"))?
        .map(|s| s.text)
        .unwrap_or_default())
}

pub fn set_mission(group_id: &str, code: &str) -> Result<(), StoreError> {
    records::upsert::<_, serde_json::Value>(
        SETTINGS,
        &["key"],
        &json!({ "key": format!("mission:{group_id}"), "text": code }),
    )?;
    Ok(())
}

/// The mission of a line: its group's current one, else what the line recorded.
pub fn line_mission(line: &Line, missions: &[(String, String)]) -> String {
    line.group_id
        .as_deref()
        .and_then(|g| missions.iter().find(|(id, _)| id == g))
        .map(|(_, code)| code.clone())
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| line.mission.clone())
}

/// The key of a member among a meeting's attendees.
pub fn member_key(user_id: &str) -> String {
    format!("u{user_id}")
}

/// The key of an external guest: the same name makes the same key (as the agenda's).
pub fn guest_key(name: &str) -> String {
    format!(
        "e{:016x}",
        maillage_sdk::assets::fnv1a_64(maillage_sdk::text::fold(name).as_bytes())
    )
}

/// Today in the structure's zone, "YYYY-MM-DD".
pub fn today() -> String {
    use maillage_sdk::time;
    let tz = time::zone_or_default(&maillage_sdk::context().time_zone);
    time::date_input(time::local(time::now(), &tz).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_keys() {
        assert_eq!(status_label(DRAFT), "Brouillon");
        assert_eq!(status_label(PAID), "Payée");
        assert_eq!(status_label(HELD), "En attente");
        assert_eq!(status_label(NOT_ELIGIBLE), "Non éligible");
        assert_eq!(mission_label("3"), "Mission 3 – Prévention");
        assert_eq!(mission_label(""), "Mission non renseignée");
        assert_eq!(member_key("12"), "u12");
        assert_eq!(
            guest_key("Dr Chloé Martin"),
            guest_key("  dr chloe  martin ")
        );
    }
}
