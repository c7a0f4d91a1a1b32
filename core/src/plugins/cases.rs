//! Plain types of the operator's rule-set tools (`maillage plugin run|check|install`): a
//! case as a JSON file gives it (a meeting, an attendee, settings, the expected outcome),
//! the outcome of one call, a rule set's description as the tools print it. No binding
//! types here: `rules.rs` converts to and from the component's.
//!
//! A case file:
//!
//! ```json
//! {
//!   "name": "libéral adhérent",
//!   "meeting": {"id": "m1", "title": "…", "date": "2026-03-12", "duration_minutes": 90,
//!               "kind": "groupe-de-travail", "group_id": null, "group_name": "Soins non programmés",
//!               "mission": "2", "action": null},
//!   "attendee": {"person_id": "a1", "profession": "Infirmier", "exercise_mode": "liberal",
//!                "employer_convention": false, "adherent": true, "role": "active", "minutes": 90},
//!   "settings": {"forfait": 5000},
//!   "expected": {"eligible": {"cents": 5000, "minutes": 90}}
//! }
//! ```
//!
//! `name`, `settings` and `expected` are optional (`expected` is required of a fixture).
//! Settings: integers for amounts (cents) and durations (minutes), `true`/`false`,
//! strings for choices; the declared defaults stand in for the others, and the values are
//! checked against the declared kinds and bounds as `engine.assign` checks them.
//! `expected` is one of `{"eligible": {"cents": N, "minutes": N, "rationale"?: "…"}}`,
//! `{"not_eligible": "reason"}`, `{"error": "message"}`.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

/// One rule-set call to make.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: Option<String>,
    pub meeting: Meeting,
    pub attendee: Attendee,
    /// Setting values by key, as the file gives them (checked by the host at run time,
    /// against the rule set's declarations).
    pub settings: Map<String, Json>,
    pub expected: Option<Expected>,
}

/// `rules.meeting`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meeting {
    pub id: String,
    pub title: String,
    /// "YYYY-MM-DD".
    pub date: String,
    pub duration_minutes: u32,
    /// "groupe-de-travail" | "pleniere" | "bureau" | "formation" | "autre".
    pub kind: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub mission: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

/// `rules.attendee`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    #[serde(default)]
    pub person_id: Option<String>,
    #[serde(default)]
    pub profession: Option<String>,
    pub exercise_mode: ExerciseMode,
    #[serde(default)]
    pub employer_convention: bool,
    pub adherent: bool,
    pub role: GroupRole,
    pub minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseMode {
    Liberal,
    Salarie,
    Autre,
    Inconnu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Referent,
    Active,
    Guest,
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Paid `cents` for `minutes`; the rationale is compared only when given.
    Eligible {
        cents: i64,
        minutes: u32,
        rationale: Option<String>,
    },
    /// Not paid, for exactly this reason.
    NotEligible(String),
    /// The call fails with exactly this (French) message: the rule set's own error, a
    /// refusal of the settings by the host, or a fault.
    Error(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ExpectedJson {
    Eligible(EligibleJson),
    NotEligible(String),
    Error(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EligibleJson {
    cents: i64,
    minutes: u32,
    #[serde(default)]
    rationale: Option<String>,
}

impl From<ExpectedJson> for Expected {
    fn from(json: ExpectedJson) -> Self {
        match json {
            ExpectedJson::Eligible(e) => Expected::Eligible {
                cents: e.cents,
                minutes: e.minutes,
                rationale: e.rationale,
            },
            ExpectedJson::NotEligible(reason) => Expected::NotEligible(reason),
            ExpectedJson::Error(message) => Expected::Error(message),
        }
    }
}

const CASE_FIELDS: [&str; 5] = ["name", "meeting", "attendee", "settings", "expected"];

/// The field `key` of the case, parsed; None when absent or null. Errors name the field.
fn section<T: DeserializeOwned>(
    top: &mut Map<String, Json>,
    key: &str,
) -> Result<Option<T>, String> {
    match top.remove(key) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| format!("{key}: {e}")),
    }
}

impl Case {
    /// A case from its JSON text. The error names the field (`meeting.date: …`); the
    /// caller adds the file.
    pub fn parse(text: &str) -> Result<Case, String> {
        let value: Json = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Json::Object(mut top) = value else {
            return Err(
                "a case is a JSON object with \"meeting\", \"attendee\" and optionally \"name\", \"settings\", \"expected\"".into(),
            );
        };
        if let Some(unknown) = top.keys().find(|k| !CASE_FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "{unknown}: unknown field (a case has {})",
                CASE_FIELDS.join(", ")
            ));
        }
        let name: Option<String> = section(&mut top, "name")?;
        let meeting: Meeting = section(&mut top, "meeting")?.ok_or("meeting: missing")?;
        let attendee: Attendee = section(&mut top, "attendee")?.ok_or("attendee: missing")?;
        let settings = match top.remove("settings") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(map)) => map,
            Some(other) => {
                return Err(format!(
                    "settings: expected an object {{\"key\": value, …}}, got {other}"
                ));
            }
        };
        let expected = section::<ExpectedJson>(&mut top, "expected")?.map(Expected::from);
        if !crate::people::valid_date(&meeting.date) {
            return Err(format!(
                "meeting.date: {:?} is not a date (YYYY-MM-DD)",
                meeting.date
            ));
        }
        Ok(Case {
            name,
            meeting,
            attendee,
            settings,
            expected,
        })
    }
}

/// What one call gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Eligible {
        cents: i64,
        minutes: u32,
        rationale: String,
    },
    NotEligible(String),
    /// French, as the treasurer would read it.
    Error(String),
}

impl Outcome {
    /// One line: `eligible 80.00 € for 90 min, rationale «…»`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Eligible {
                cents,
                minutes,
                rationale,
            } => format!(
                "eligible {} for {minutes} min, rationale «{rationale}»",
                euros(*cents)
            ),
            Outcome::NotEligible(reason) => format!("not eligible «{reason}»"),
            Outcome::Error(message) => format!("error «{message}»"),
        }
    }
}

impl Expected {
    pub fn matches(&self, got: &Outcome) -> bool {
        match (self, got) {
            (
                Expected::Eligible {
                    cents,
                    minutes,
                    rationale,
                },
                Outcome::Eligible {
                    cents: got_cents,
                    minutes: got_minutes,
                    rationale: got_rationale,
                },
            ) => {
                cents == got_cents
                    && minutes == got_minutes
                    && rationale.as_ref().is_none_or(|r| r == got_rationale)
            }
            (Expected::NotEligible(reason), Outcome::NotEligible(got)) => reason == got,
            (Expected::Error(message), Outcome::Error(got)) => message == got,
            _ => false,
        }
    }

    /// One line, as [`Outcome::describe`] (the rationale only when expected).
    pub fn describe(&self) -> String {
        match self {
            Expected::Eligible {
                cents,
                minutes,
                rationale,
            } => {
                let mut text = format!("eligible {} for {minutes} min", euros(*cents));
                if let Some(r) = rationale {
                    text.push_str(&format!(", rationale «{r}»"));
                }
                text
            }
            Expected::NotEligible(reason) => format!("not eligible «{reason}»"),
            Expected::Error(message) => format!("error «{message}»"),
        }
    }
}

/// One call of `maillage plugin run` (or one fixture).
#[derive(Debug, Clone)]
pub struct RunReport {
    pub outcome: Outcome,
    /// English detail of a fault or refusal (deadline, memory, trap, garbage answer,
    /// settings refused before the call), for the developer.
    pub fault: Option<String>,
    /// Wall time of instantiate + compute (zero when the host refused the settings).
    pub elapsed: Duration,
    /// Fuel (roughly, WebAssembly instructions) the instance consumed, instantiation
    /// included.
    pub fuel: u64,
}

/// A setting value, plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Cents(i64),
    /// Minutes.
    Hours(i64),
    Boolean(bool),
    Choice(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Cents(n) => write!(f, "{} ({n} cents)", euros(*n)),
            Value::Hours(n) => write!(f, "{n} min"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Choice(v) => write!(f, "{v:?}"),
        }
    }
}

/// The kind of a declared setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingKind {
    Cents,
    Hours,
    Boolean,
    /// (value, French label) of each option.
    Choice(Vec<(String, String)>),
}

impl SettingKind {
    /// What a case file gives for it.
    pub fn describe(&self) -> String {
        match self {
            SettingKind::Cents => "amount (integer cents)".into(),
            SettingKind::Hours => "duration (integer minutes)".into(),
            SettingKind::Boolean => "true/false".into(),
            SettingKind::Choice(options) => format!(
                "choice of {}",
                options
                    .iter()
                    .map(|(value, _)| format!("{value:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A declared setting.
#[derive(Debug, Clone)]
pub struct SettingInfo {
    pub key: String,
    /// French.
    pub label: String,
    pub help: String,
    pub kind: SettingKind,
    pub default: Value,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// A rule set's description, plain.
#[derive(Debug, Clone)]
pub struct RuleSetInfo {
    pub id: String,
    pub version: String,
    pub name: String,
    pub summary: String,
    pub settings: Vec<SettingInfo>,
}

/// A rule set version put in force from a date (`maillage plugin install --from`).
#[derive(Debug, Clone)]
pub struct AssignedRuleSet {
    pub id: String,
    pub version: String,
    pub name: String,
    pub effective_from: String,
    /// Every declared setting (its default), by key.
    pub settings: Vec<(String, Value)>,
}

/// Cents in euros, for the English tools: "80.00 €", "-12.50 €".
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02} €", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = r#"{
      "name": "libéral adhérent",
      "meeting": {"id": "m1", "title": "Groupe", "date": "2026-03-12", "duration_minutes": 90,
                  "kind": "groupe-de-travail", "group_id": null, "group_name": "Soins non programmés",
                  "mission": "2", "action": null},
      "attendee": {"person_id": "a1", "profession": "Infirmier", "exercise_mode": "liberal",
                   "employer_convention": false, "adherent": true, "role": "active", "minutes": 90},
      "settings": {"forfait": 5000},
      "expected": {"eligible": {"cents": 5000, "minutes": 90}}
    }"#;

    #[test]
    fn reads_a_case_and_compares_outcomes() {
        let case = Case::parse(CASE).unwrap();
        assert_eq!(case.name.as_deref(), Some("libéral adhérent"));
        assert_eq!(case.meeting.duration_minutes, 90);
        assert_eq!(case.attendee.exercise_mode, ExerciseMode::Liberal);
        assert_eq!(case.attendee.role, GroupRole::Active);
        assert_eq!(case.settings["forfait"], serde_json::json!(5000));
        let expected = case.expected.unwrap();
        let paid = |cents, rationale: &str| Outcome::Eligible {
            cents,
            minutes: 90,
            rationale: rationale.into(),
        };
        // No rationale expected: any rationale matches.
        assert!(expected.matches(&paid(5000, "Forfait : 50 €")));
        assert!(!expected.matches(&paid(8000, "Forfait : 80 €")));
        assert!(!expected.matches(&Outcome::NotEligible("Non adhérent".into())));
        let with_rationale = Expected::Eligible {
            cents: 5000,
            minutes: 90,
            rationale: Some("Forfait : 50 €".into()),
        };
        assert!(with_rationale.matches(&paid(5000, "Forfait : 50 €")));
        assert!(!with_rationale.matches(&paid(5000, "Forfait : 50,00 €")));
        assert_eq!(
            with_rationale.describe(),
            "eligible 50.00 € for 90 min, rationale «Forfait : 50 €»"
        );
    }

    #[test]
    fn optional_parts_and_other_expectations() {
        let case = Case::parse(
            r#"{"meeting": {"id": "m", "title": "t", "date": "2024-02-29", "duration_minutes": 60, "kind": "pleniere"},
                "attendee": {"exercise_mode": "inconnu", "adherent": false, "role": "guest", "minutes": 0},
                "expected": {"not_eligible": "Invité externe : non indemnisé"}}"#,
        )
        .unwrap();
        assert!(case.name.is_none() && case.settings.is_empty());
        assert!(case.attendee.person_id.is_none() && !case.attendee.employer_convention);
        assert_eq!(
            case.expected,
            Some(Expected::NotEligible(
                "Invité externe : non indemnisé".into()
            ))
        );
        let case = Case::parse(
            r#"{"meeting": {"id": "m", "title": "t", "date": "2024-02-29", "duration_minutes": 60, "kind": "autre"},
                "attendee": {"exercise_mode": "autre", "adherent": true, "role": "referent", "minutes": 5},
                "expected": {"error": "le barème s’est arrêté sur une erreur"}}"#,
        )
        .unwrap();
        assert!(case.expected.unwrap().matches(&Outcome::Error(
            "le barème s’est arrêté sur une erreur".into()
        )));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                CASE.replace("\"date\": \"2026-03-12\", ", ""),
                "meeting: missing field `date`",
            ),
            (CASE.replace("2026-03-12", "2026-02-30"), "meeting.date"),
            (
                CASE.replace("\"liberal\"", "\"libéral\""),
                "attendee: unknown variant",
            ),
            (
                CASE.replace("\"role\": \"active\"", "\"role\": \"active\", \"age\": 3"),
                "attendee: unknown field `age`",
            ),
            (CASE.replace("\"name\"", "\"nom\""), "nom: unknown field"),
            (
                CASE.replace("{\"forfait\": 5000}", "[5000]"),
                "settings: expected an object",
            ),
            (
                CASE.replace("\"eligible\": {", "\"payé\": {"),
                "expected: unknown variant",
            ),
            (
                CASE.replace("\"minutes\": 90}}", "\"minute\": 90}}"),
                "expected: ",
            ),
            ("[1, 2]".to_string(), "a case is a JSON object"),
            ("{".to_string(), "not valid JSON"),
        ];
        for (text, wanted) in cases {
            let e = Case::parse(&text).unwrap_err();
            assert!(e.contains(wanted), "{wanted:?} not in {e:?}");
        }
    }

    #[test]
    fn euros_for_the_tools() {
        assert_eq!(euros(8000), "80.00 €");
        assert_eq!(euros(5), "0.05 €");
        assert_eq!(euros(-1250), "-12.50 €");
        assert_eq!(euros(123_456), "1234.56 €");
    }
}
