//! The bridge to the structure's rule sets (`maillage:indemnity@0.1.0`, generated in
//! [`crate::ledger_bindings`]): the facts a line keeps, turned into the rule set's
//! `meeting` and `attendee`; settings to and from the JSON a line stores; outcomes
//! turned into what the ledger writes.

use maillage_sdk::people::{self, ExerciseMode as PersonMode};

pub use crate::ledger_bindings::maillage::indemnity::engine::{self, Assignment, Case};
pub use crate::ledger_bindings::maillage::indemnity::rules::{
    Attendee, ChoiceOption, Description, ExerciseMode, GroupRole, Meeting, Outcome, Setting,
    SettingDef, SettingKind, SettingValue, compute,
};
use crate::model::{self, HOLD_NO_RULES, HOLD_RULES_ERROR, Line};
use crate::money;

/// Cases sent to `engine.compute-with` at once.
pub const BATCH: usize = 500;

/// The meeting's side of a line.
#[derive(Debug, Clone)]
pub struct MeetingFacts {
    pub id: String,
    pub title: String,
    pub date: String,
    pub duration: i64,
    pub kind: String,
    pub group_id: Option<String>,
    pub group_name: String,
    pub mission: String,
}

/// The attendee's side of a line.
#[derive(Debug, Clone)]
pub struct Facts {
    pub person: Option<String>,
    pub profession: String,
    /// "liberal" | "salarie" | "autre" | "inconnu".
    pub exercise_mode: String,
    pub convention: bool,
    pub adherent: bool,
    /// "referent" | "active" | "guest".
    pub role: String,
    pub minutes: i64,
}

impl MeetingFacts {
    pub fn of_line(line: &Line) -> MeetingFacts {
        MeetingFacts {
            id: line.meeting_id.clone(),
            title: line.title.clone(),
            date: line.date.clone(),
            duration: line.meeting_duration.unwrap_or(line.minutes).max(0),
            kind: line.meeting_kind.clone(),
            group_id: line.group_id.clone(),
            group_name: line.group_name.clone(),
            mission: line.mission.clone(),
        }
    }
}

impl Facts {
    /// What a member's fiche says (people), or nothing for a guest or a former member.
    pub fn of_person(
        person: Option<&people::Person>,
        account: Option<&str>,
        role: &str,
        minutes: i64,
        date: &str,
    ) -> Facts {
        Facts {
            person: account.map(str::to_string),
            profession: person
                .and_then(|p| p.profession.clone())
                .unwrap_or_default(),
            exercise_mode: person
                .map(|p| exercise_code(p.exercise_mode))
                .unwrap_or("inconnu")
                .to_string(),
            convention: person.is_some_and(|p| p.employer_convention),
            adherent: person.is_some_and(|p| people::adherent_on(p, date)),
            role: role.to_string(),
            minutes: minutes.max(0),
        }
    }

    pub fn of_line(line: &Line) -> Facts {
        Facts {
            person: line.person.clone(),
            profession: line.profession.clone(),
            exercise_mode: if line.exercise_mode.is_empty() {
                "inconnu".to_string()
            } else {
                line.exercise_mode.clone()
            },
            convention: line.convention,
            adherent: line.adherent,
            role: if line.role.is_empty() {
                "guest".to_string()
            } else {
                line.role.clone()
            },
            minutes: line.attended_minutes.unwrap_or(line.minutes).max(0),
        }
    }
}

pub fn exercise_code(mode: PersonMode) -> &'static str {
    match mode {
        PersonMode::Liberal => "liberal",
        PersonMode::Salarie => "salarie",
        PersonMode::Autre => "autre",
        PersonMode::Inconnu => "inconnu",
    }
}

fn exercise_mode(code: &str) -> ExerciseMode {
    match code {
        "liberal" => ExerciseMode::Liberal,
        "salarie" => ExerciseMode::Salarie,
        "autre" => ExerciseMode::Autre,
        _ => ExerciseMode::Inconnu,
    }
}

fn group_role(code: &str) -> GroupRole {
    match code {
        "referent" => GroupRole::Referent,
        "active" => GroupRole::Active,
        _ => GroupRole::Guest,
    }
}

fn minutes_u32(minutes: i64) -> u32 {
    u32::try_from(minutes.max(0)).unwrap_or(u32::MAX)
}

fn some_text(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

pub fn meeting(m: &MeetingFacts) -> Meeting {
    Meeting {
        id: m.id.clone(),
        title: m.title.clone(),
        date: m.date.clone(),
        duration_minutes: minutes_u32(m.duration),
        kind: m.kind.clone(),
        group_id: m.group_id.clone(),
        group_name: some_text(&m.group_name),
        mission: some_text(&m.mission),
        action: some_text(&m.group_name),
    }
}

pub fn attendee(f: &Facts) -> Attendee {
    Attendee {
        person_id: f.person.clone(),
        profession: some_text(&f.profession),
        exercise_mode: exercise_mode(&f.exercise_mode),
        employer_convention: f.convention,
        adherent: f.adherent,
        role: group_role(&f.role),
        minutes: minutes_u32(f.minutes),
    }
}

/// The case of a stored line, to compute it again (dry-run, « Recalculer »).
/// The fields of a line [`case_of`] reads: a dry-run reads only those (and what it
/// adds up), through `Query::fields`.
pub const CASE_FIELDS: [&str; 16] = [
    "meeting_id",
    "title",
    "date",
    "meeting_duration",
    "minutes",
    "meeting_kind",
    "group_id",
    "group_name",
    "mission",
    "person",
    "profession",
    "exercise_mode",
    "convention",
    "adherent",
    "role",
    "attended_minutes",
];

pub fn case_of(line: &Line) -> Case {
    Case {
        meeting: meeting(&MeetingFacts::of_line(line)),
        attendee: attendee(&Facts::of_line(line)),
    }
}

/// Settings as a line stores them: `[{"key", "kind", "value"}]`.
pub fn settings_json(settings: &[Setting]) -> serde_json::Value {
    serde_json::Value::Array(
        settings
            .iter()
            .map(|s| {
                let (kind, value) = match &s.value {
                    SettingValue::Cents(v) => ("cents", serde_json::json!(v)),
                    SettingValue::Hours(v) => ("hours", serde_json::json!(v)),
                    SettingValue::Boolean(v) => ("boolean", serde_json::json!(v)),
                    SettingValue::Choice(v) => ("choice", serde_json::json!(v)),
                };
                serde_json::json!({ "key": s.key, "kind": kind, "value": value })
            })
            .collect(),
    )
}

/// The rule set a line was computed with.
#[derive(Debug, Clone)]
pub struct Applied {
    pub rule_set: String,
    pub version: String,
    pub settings: serde_json::Value,
}

impl Applied {
    pub fn of(assignment: &Assignment) -> Applied {
        Applied {
            rule_set: assignment.rule_set.id.clone(),
            version: assignment.rule_set.version.clone(),
            settings: settings_json(&assignment.settings),
        }
    }
}

/// What the rule set said, as the ledger writes it.
#[derive(Debug, Clone)]
pub enum Computed {
    Eligible {
        cents: i64,
        counted_minutes: i64,
        rationale: String,
    },
    NotEligible(String),
    /// The line waits (no rule set in force, or the rule set failed).
    Held {
        kind: &'static str,
        reason: String,
    },
}

pub fn rules_error(reason: &str) -> Computed {
    Computed::Held {
        kind: HOLD_RULES_ERROR,
        reason: format!("Erreur du barème : {reason}"),
    }
}

/// An outcome (or the error of the call) as the ledger writes it.
pub fn computed(result: Result<Outcome, String>) -> Computed {
    match result {
        Ok(Outcome::Eligible(payment)) => {
            if payment.cents < 0 || payment.cents > money::MAX_CENTS {
                rules_error(&format!(
                    "montant hors limites ({})",
                    money::euros(payment.cents)
                ))
            } else {
                Computed::Eligible {
                    cents: payment.cents,
                    counted_minutes: i64::from(payment.minutes),
                    rationale: payment.rationale,
                }
            }
        }
        Ok(Outcome::NotEligible(reason)) => Computed::NotEligible(reason),
        Err(reason) => rules_error(&reason),
    }
}

/// Computes a case with the rule set in force (none: the line waits for a barème).
pub fn compute_in_force(
    assignment: Option<&Assignment>,
    meeting_facts: &MeetingFacts,
    facts: &Facts,
) -> (Computed, Option<Applied>) {
    let Some(assignment) = assignment else {
        return (
            Computed::Held {
                kind: HOLD_NO_RULES,
                reason: model::NO_RULES_REASON.to_string(),
            },
            None,
        );
    };
    let result = compute(
        &meeting(meeting_facts),
        &attendee(facts),
        &assignment.settings,
    );
    (computed(result), Some(Applied::of(assignment)))
}

/// A setting's value for people: « 80,00 € », « 1,5 h », « Oui », the choice's label.
pub fn value_text(def: Option<&SettingDef>, value: &SettingValue) -> String {
    match value {
        SettingValue::Cents(v) => money::euros(*v),
        SettingValue::Hours(v) => format!("{} h", money::hours(*v)),
        SettingValue::Boolean(true) => "Oui".to_string(),
        SettingValue::Boolean(false) => "Non".to_string(),
        SettingValue::Choice(v) => match def.map(|d| &d.kind) {
            Some(SettingKind::Choice(options)) => options
                .iter()
                .find(|o| &o.value == v)
                .map(|o| o.label.clone())
                .unwrap_or_else(|| v.clone()),
            _ => v.clone(),
        },
    }
}

/// A setting's value as a form field shows it (what [`crate::bareme`] parses back).
pub fn value_input(value: &SettingValue) -> String {
    match value {
        SettingValue::Cents(v) => money::euros_input(*v),
        SettingValue::Hours(v) => money::hours(*v),
        SettingValue::Boolean(true) => "1".to_string(),
        SettingValue::Boolean(false) => "0".to_string(),
        SettingValue::Choice(v) => v.clone(),
    }
}

/// « Forfait membre : 80,00 € ; Forfait référent : 100,00 € ».
pub fn settings_text(description: &Description, settings: &[Setting]) -> String {
    settings
        .iter()
        .map(|s| {
            let def = description.settings.iter().find(|d| d.key == s.key);
            let label = def
                .map(|d| d.label.clone())
                .unwrap_or_else(|| s.key.clone());
            format!("{label} : {}", value_text(def, &s.value))
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// The settings a line stored, for people: « forfait_membre : 80,00 € ; … ».
pub fn stored_settings_text(value: &serde_json::Value) -> String {
    let Some(items) = value.as_array() else {
        return String::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let key = item.get("key")?.as_str()?;
            let kind = item.get("kind")?.as_str()?;
            let value = item.get("value")?;
            let shown = match kind {
                "cents" => money::euros(value.as_i64()?),
                "hours" => format!("{} h", money::hours(value.as_i64()?)),
                "boolean" => (if value.as_bool()? { "Oui" } else { "Non" }).to_string(),
                _ => value.as_str()?.to_string(),
            };
            Some(format!("{key} : {shown}"))
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line read with only [`CASE_FIELDS`] makes the same case as the whole line: a
    /// field `case_of` reads but the list forgets would change it.
    #[test]
    fn a_line_read_with_the_case_fields_makes_the_same_case() {
        let whole = serde_json::json!({
            "id": "l1", "meeting_id": "m7", "revision": 2, "kind": "ligne",
            "attendee_key": "u12", "title": "Groupe de travail SNP", "date": "2026-03-12",
            "year": 2026, "group_id": "4", "group_name": "Soins non programmés",
            "mission": "2", "person": "12", "person_name": "Anne Martin", "amount": 8000,
            "computed_amount": 8000, "minutes": 90, "counted_minutes": 75,
            "rationale": "Forfait", "rule_set": "forfait", "rule_version": "1.0.0",
            "status": "brouillon", "profession": "Infirmier", "exercise_mode": "salarie",
            "convention": true, "adherent": true, "role": "referent",
            "attended_minutes": 75, "meeting_duration": 120, "meeting_kind": "pleniere"
        });
        let mut projected = serde_json::Map::new();
        projected.insert("id".into(), whole["id"].clone());
        for field in CASE_FIELDS {
            projected.insert(field.into(), whole[field].clone());
        }
        let whole: Line = serde_json::from_value(whole).unwrap();
        let projected: Line = serde_json::from_value(serde_json::Value::Object(projected)).unwrap();
        assert_eq!(
            format!("{:?}", case_of(&projected)),
            format!("{:?}", case_of(&whole))
        );
    }
}
