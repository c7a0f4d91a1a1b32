//! The default indemnity rule set, « Forfait par réunion de groupe de travail » (CPTS Sud
//! Bassin 2024): a flat amount per working-group meeting, 80 € for an adhérent exercising
//! in libéral, 100 € for a référent of the group. Salaried professionals are paid (the
//! same amounts) only when their employer has a convention with the structure;
//! non-adhérents and external guests are not paid. Plénières, bureaux and formations are
//! paid only if the structure says so. Every amount and condition is a setting.
//!
//! A pure component (no_std, imports nothing): see `maillage-rules`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use maillage_rules::{
    Attendee, Description, ExerciseMode, GROUPE_DE_TRAVAIL, GroupRole, Meeting, Outcome, RuleSet,
    Setting, SettingDef, cents, duration, euros, flag, minutes,
};

pub const ID: &str = "forfait";
pub const VERSION: &str = "1.0.0";

const FORFAIT_MEMBRE: &str = "forfait_membre";
const FORFAIT_REFERENT: &str = "forfait_referent";
const SALARIES_SOUS_CONVENTION: &str = "salaries_sous_convention";
const AUTRES_REUNIONS: &str = "autres_reunions";
const PRESENCE_MINIMALE: &str = "presence_minimale";

const DEFAULT_MEMBRE: i64 = 8_000;
const DEFAULT_REFERENT: i64 = 10_000;
const DEFAULT_SALARIES: bool = true;
const DEFAULT_AUTRES_REUNIONS: bool = false;
const DEFAULT_PRESENCE: i64 = 0;
/// Largest flat amount (1 000 €).
const MAX_FORFAIT: i64 = 100_000;
/// Largest minimum presence (24 h).
const MAX_PRESENCE: i64 = 24 * 60;

/// Reasons, as the member and the treasurer read them.
pub const INVITE_EXTERNE: &str = "Invité externe : non indemnisé";
pub const NON_ADHERENT: &str = "Non adhérent à la date de la réunion";
pub const SALARIE_SANS_CONVENTION: &str = "Salarié sans convention avec l'employeur";
pub const SALARIES_EXCLUS: &str = "Salarié : non indemnisé selon les réglages de la structure";
pub const MODE_INCONNU: &str = "Mode d'exercice non renseigné";
pub const MODE_AUTRE: &str = "Mode d'exercice non indemnisé (ni libéral, ni salarié)";
pub const TYPE_NON_INDEMNISE: &str = "Type de réunion non indemnisé par ce barème";

pub struct Forfait;

impl RuleSet for Forfait {
    fn describe() -> Description {
        Description {
            id: ID.into(),
            version: VERSION.into(),
            name: "Forfait par réunion de groupe de travail".into(),
            summary: "Un forfait par réunion de groupe de travail : par défaut 80 € pour un \
                      adhérent exerçant en libéral et 100 € pour un référent du groupe. Les \
                      salariés sont indemnisés si leur employeur a signé une convention avec \
                      la structure ; les non-adhérents et les invités externes ne le sont pas."
                .into(),
            settings: vec![
                SettingDef::cents(
                    FORFAIT_MEMBRE,
                    "Forfait par réunion (membre actif)",
                    "Montant versé à un adhérent pour chaque réunion de groupe de travail \
                     à laquelle il a participé.",
                    DEFAULT_MEMBRE,
                    0,
                    MAX_FORFAIT,
                ),
                SettingDef::cents(
                    FORFAIT_REFERENT,
                    "Forfait par réunion (référent)",
                    "Montant versé à un référent du groupe pour chaque réunion du groupe.",
                    DEFAULT_REFERENT,
                    0,
                    MAX_FORFAIT,
                ),
                SettingDef::boolean(
                    SALARIES_SOUS_CONVENTION,
                    "Indemniser les salariés sous convention",
                    "Un professionnel salarié est indemnisé, aux mêmes montants, si son \
                     employeur a signé une convention avec la structure.",
                    DEFAULT_SALARIES,
                ),
                SettingDef::boolean(
                    AUTRES_REUNIONS,
                    "Indemniser aussi plénières, bureaux et formations",
                    "Sinon, seules les réunions de groupe de travail sont indemnisées.",
                    DEFAULT_AUTRES_REUNIONS,
                ),
                SettingDef::hours(
                    PRESENCE_MINIMALE,
                    "Présence minimale",
                    "Temps de présence en dessous duquel la réunion n'est pas indemnisée \
                     (0 : aucune condition).",
                    DEFAULT_PRESENCE,
                    0,
                    MAX_PRESENCE,
                ),
            ],
        }
    }

    fn compute(
        meeting: Meeting,
        attendee: Attendee,
        settings: Vec<Setting>,
    ) -> Result<Outcome, String> {
        let settings = Settings::read(&settings)?;
        Ok(outcome(&meeting, &attendee, &settings))
    }
}

// Natively (the unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_rules::export_rule_set!(Forfait);

/// The settings, defaults for any the host did not pass (it fills them in anyway).
struct Settings {
    membre: i64,
    referent: i64,
    salaries: bool,
    autres_reunions: bool,
    presence_minimale: i64,
}

impl Settings {
    fn read(settings: &[Setting]) -> Result<Self, String> {
        let read = Settings {
            membre: cents(settings, FORFAIT_MEMBRE).unwrap_or(DEFAULT_MEMBRE),
            referent: cents(settings, FORFAIT_REFERENT).unwrap_or(DEFAULT_REFERENT),
            salaries: flag(settings, SALARIES_SOUS_CONVENTION).unwrap_or(DEFAULT_SALARIES),
            autres_reunions: flag(settings, AUTRES_REUNIONS).unwrap_or(DEFAULT_AUTRES_REUNIONS),
            presence_minimale: minutes(settings, PRESENCE_MINIMALE).unwrap_or(DEFAULT_PRESENCE),
        };
        // The host checks the bounds; a negative amount would be refused as garbage, so
        // say why instead.
        if read.membre < 0 || read.referent < 0 {
            return Err("Les forfaits ne peuvent pas être négatifs".into());
        }
        if read.presence_minimale < 0 {
            return Err("La présence minimale ne peut pas être négative".into());
        }
        Ok(read)
    }
}

/// The meeting kind as said in a rationale; None for kinds this rule set never pays.
fn kind_label(kind: &str) -> Option<&'static str> {
    match kind {
        GROUPE_DE_TRAVAIL => Some("groupe de travail"),
        "pleniere" => Some("plénière"),
        "bureau" => Some("bureau"),
        "formation" => Some("formation"),
        _ => None,
    }
}

fn outcome(meeting: &Meeting, attendee: &Attendee, s: &Settings) -> Outcome {
    // The meeting: working groups, and the others only if the structure says so
    // (« autre » and unknown kinds never).
    let Some(kind) = kind_label(&meeting.kind) else {
        return Outcome::not_eligible(TYPE_NON_INDEMNISE);
    };
    if meeting.kind != GROUPE_DE_TRAVAIL && !s.autres_reunions {
        return Outcome::not_eligible(format!(
            "Seules les réunions de groupe de travail sont indemnisées (ici : {kind})"
        ));
    }

    // Who: members of the structure only, no external guest.
    if attendee.person_id.is_none() {
        return Outcome::not_eligible(INVITE_EXTERNE);
    }
    let (amount, forfait) = match attendee.role {
        GroupRole::Guest => return Outcome::not_eligible(INVITE_EXTERNE),
        GroupRole::Referent => (s.referent, "Forfait référent"),
        GroupRole::Active => (s.membre, "Forfait membre"),
    };
    if !attendee.adherent {
        return Outcome::not_eligible(NON_ADHERENT);
    }
    let salarie = match attendee.exercise_mode {
        ExerciseMode::Liberal => false,
        ExerciseMode::Salarie if !s.salaries => return Outcome::not_eligible(SALARIES_EXCLUS),
        ExerciseMode::Salarie if !attendee.employer_convention => {
            return Outcome::not_eligible(SALARIE_SANS_CONVENTION);
        }
        ExerciseMode::Salarie => true,
        ExerciseMode::Autre => return Outcome::not_eligible(MODE_AUTRE),
        ExerciseMode::Inconnu => return Outcome::not_eligible(MODE_INCONNU),
    };

    // How long.
    if s.presence_minimale > 0 && i64::from(attendee.minutes) < s.presence_minimale {
        return Outcome::not_eligible(format!(
            "Présence de {}, inférieure au minimum de {}",
            duration(i64::from(attendee.minutes)),
            duration(s.presence_minimale)
        ));
    }

    let detail = if salarie {
        format!("{kind}, salarié sous convention")
    } else {
        String::from(kind)
    };
    Outcome::eligible(
        amount,
        attendee.minutes,
        format!("{forfait} ({detail}) : {}", euros(amount)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillage_rules::{SettingKind, SettingValue, defaults};

    fn meeting(kind: &str) -> Meeting {
        Meeting {
            id: "r-42".into(),
            title: "Parcours diabète".into(),
            date: "2024-03-12".into(),
            duration_minutes: 120,
            kind: kind.into(),
            group_id: Some("g-7".into()),
            group_name: Some("Parcours diabète".into()),
            mission: Some("2".into()),
            action: None,
        }
    }

    fn attendee(mode: ExerciseMode, role: GroupRole) -> Attendee {
        Attendee {
            person_id: Some("p-1".into()),
            profession: Some("Infirmier".into()),
            exercise_mode: mode,
            employer_convention: false,
            adherent: true,
            role,
            minutes: 110,
        }
    }

    fn liberal() -> Attendee {
        attendee(ExerciseMode::Liberal, GroupRole::Active)
    }

    /// The defaults, as the host passes them, with some values changed.
    fn settings(changes: &[(&str, SettingValue)]) -> Vec<Setting> {
        let mut all = defaults(&Forfait::describe());
        for (key, value) in changes {
            let setting = all
                .iter_mut()
                .find(|s| s.key == *key)
                .expect("declared setting");
            setting.value = value.clone();
        }
        all
    }

    fn compute(meeting: Meeting, attendee: Attendee, settings: Vec<Setting>) -> Outcome {
        Forfait::compute(meeting, attendee, settings).expect("computes")
    }

    fn gt(attendee: Attendee) -> Outcome {
        compute(meeting(GROUPE_DE_TRAVAIL), attendee, settings(&[]))
    }

    #[track_caller]
    fn paid(outcome: Outcome) -> (i64, u32, String) {
        match outcome {
            Outcome::Eligible(p) => (p.cents, p.minutes, p.rationale),
            Outcome::NotEligible(reason) => panic!("not eligible: {reason}"),
        }
    }

    #[track_caller]
    fn refused(outcome: Outcome) -> String {
        match outcome {
            Outcome::NotEligible(reason) => reason,
            Outcome::Eligible(p) => panic!("paid {} cents: {}", p.cents, p.rationale),
        }
    }

    #[test]
    fn describes_itself_with_valid_settings() {
        let d = Forfait::describe();
        assert_eq!((d.id.as_str(), d.version.as_str()), ("forfait", "1.0.0"));
        assert_eq!(d.name, "Forfait par réunion de groupe de travail");
        assert!(!d.summary.is_empty());
        let keys: Vec<&str> = d.settings.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "forfait_membre",
                "forfait_referent",
                "salaries_sous_convention",
                "autres_reunions",
                "presence_minimale"
            ]
        );
        for def in &d.settings {
            assert!(
                def.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
            assert!(!def.label.is_empty() && !def.help.is_empty());
            let n = match (&def.kind, &def.default) {
                (SettingKind::Cents, SettingValue::Cents(n))
                | (SettingKind::Hours, SettingValue::Hours(n)) => *n,
                (SettingKind::Boolean, SettingValue::Boolean(_)) => continue,
                _ => panic!("{}: default of the wrong kind", def.key),
            };
            assert!(def.min.is_some_and(|min| min <= n), "{}", def.key);
            assert!(def.max.is_some_and(|max| n <= max), "{}", def.key);
        }
        let all = defaults(&d);
        assert_eq!(cents(&all, FORFAIT_MEMBRE), Some(8000));
        assert_eq!(cents(&all, FORFAIT_REFERENT), Some(10000));
        assert_eq!(flag(&all, SALARIES_SOUS_CONVENTION), Some(true));
        assert_eq!(flag(&all, AUTRES_REUNIONS), Some(false));
        assert_eq!(minutes(&all, PRESENCE_MINIMALE), Some(0));
    }

    #[test]
    fn pays_80_euros_to_a_liberal_adherent() {
        let (cents, minutes, rationale) = paid(gt(liberal()));
        assert_eq!(cents, 8000);
        assert_eq!(minutes, 110);
        assert_eq!(rationale, "Forfait membre (groupe de travail) : 80 €");
    }

    #[test]
    fn pays_100_euros_to_a_referent() {
        let (cents, minutes, rationale) =
            paid(gt(attendee(ExerciseMode::Liberal, GroupRole::Referent)));
        assert_eq!(cents, 10000);
        assert_eq!(minutes, 110);
        assert_eq!(rationale, "Forfait référent (groupe de travail) : 100 €");
    }

    #[test]
    fn pays_salaried_members_only_under_an_employer_convention() {
        let mut salarie = attendee(ExerciseMode::Salarie, GroupRole::Active);
        assert_eq!(refused(gt(salarie.clone())), SALARIE_SANS_CONVENTION);

        salarie.employer_convention = true;
        let (cents, _, rationale) = paid(gt(salarie.clone()));
        assert_eq!(cents, 8000);
        assert_eq!(
            rationale,
            "Forfait membre (groupe de travail, salarié sous convention) : 80 €"
        );

        let mut referent = attendee(ExerciseMode::Salarie, GroupRole::Referent);
        referent.employer_convention = true;
        assert_eq!(paid(gt(referent)).0, 10000);

        // The structure may refuse salaried members altogether.
        let no_salaried = settings(&[(SALARIES_SOUS_CONVENTION, SettingValue::Boolean(false))]);
        assert_eq!(
            refused(compute(
                meeting(GROUPE_DE_TRAVAIL),
                salarie,
                no_salaried.clone()
            )),
            SALARIES_EXCLUS
        );
        // Libéraux are not affected.
        assert_eq!(
            paid(compute(meeting(GROUPE_DE_TRAVAIL), liberal(), no_salaried)).0,
            8000
        );
    }

    #[test]
    fn does_not_pay_non_adherents() {
        let mut member = liberal();
        member.adherent = false;
        assert_eq!(refused(gt(member)), NON_ADHERENT);
        let mut referent = attendee(ExerciseMode::Liberal, GroupRole::Referent);
        referent.adherent = false;
        assert_eq!(refused(gt(referent)), NON_ADHERENT);
    }

    #[test]
    fn does_not_pay_external_guests() {
        assert_eq!(
            refused(gt(attendee(ExerciseMode::Liberal, GroupRole::Guest))),
            INVITE_EXTERNE
        );
        // Without an account, even if everything else would pay.
        let mut no_account = liberal();
        no_account.person_id = None;
        assert_eq!(refused(gt(no_account)), INVITE_EXTERNE);
    }

    #[test]
    fn does_not_pay_other_or_unknown_exercise_modes() {
        assert_eq!(
            refused(gt(attendee(ExerciseMode::Inconnu, GroupRole::Active))),
            MODE_INCONNU
        );
        assert_eq!(
            refused(gt(attendee(ExerciseMode::Autre, GroupRole::Referent))),
            MODE_AUTRE
        );
    }

    #[test]
    fn pays_other_meetings_only_when_the_structure_says_so() {
        for (kind, label) in [
            ("pleniere", "plénière"),
            ("bureau", "bureau"),
            ("formation", "formation"),
        ] {
            assert_eq!(
                refused(compute(meeting(kind), liberal(), settings(&[]))),
                format!(
                    "Seules les réunions de groupe de travail sont indemnisées (ici : {label})"
                )
            );
            let allowed = settings(&[(AUTRES_REUNIONS, SettingValue::Boolean(true))]);
            let (cents, _, rationale) = paid(compute(meeting(kind), liberal(), allowed));
            assert_eq!(cents, 8000);
            assert_eq!(rationale, format!("Forfait membre ({label}) : 80 €"));
        }
        // « autre » and unknown kinds: never.
        for kind in ["autre", "apero", ""] {
            let allowed = settings(&[(AUTRES_REUNIONS, SettingValue::Boolean(true))]);
            assert_eq!(
                refused(compute(meeting(kind), liberal(), allowed)),
                TYPE_NON_INDEMNISE
            );
        }
    }

    #[test]
    fn requires_the_minimum_presence() {
        let one_hour = settings(&[(PRESENCE_MINIMALE, SettingValue::Hours(60))]);
        let mut short = liberal();
        short.minutes = 45;
        assert_eq!(
            refused(compute(meeting(GROUPE_DE_TRAVAIL), short, one_hour.clone())),
            "Présence de 45 min, inférieure au minimum de 1 h"
        );
        let mut exact = liberal();
        exact.minutes = 60;
        let (cents, minutes, _) = paid(compute(meeting(GROUPE_DE_TRAVAIL), exact, one_hour));
        assert_eq!((cents, minutes), (8000, 60));
        // 0 (the default): no condition, even for a very short presence.
        let mut brief = liberal();
        brief.minutes = 5;
        assert_eq!(paid(gt(brief)).0, 8000);
    }

    #[test]
    fn uses_the_structure_amounts() {
        let custom = settings(&[
            (FORFAIT_MEMBRE, SettingValue::Cents(8250)),
            (FORFAIT_REFERENT, SettingValue::Cents(12000)),
        ]);
        let (cents, _, rationale) = paid(compute(
            meeting(GROUPE_DE_TRAVAIL),
            liberal(),
            custom.clone(),
        ));
        assert_eq!(cents, 8250);
        assert_eq!(rationale, "Forfait membre (groupe de travail) : 82,50 €");
        let (cents, _, rationale) = paid(compute(
            meeting(GROUPE_DE_TRAVAIL),
            attendee(ExerciseMode::Liberal, GroupRole::Referent),
            custom,
        ));
        assert_eq!(cents, 12000);
        assert_eq!(rationale, "Forfait référent (groupe de travail) : 120 €");
        // A structure may set an amount to zero: paid 0 €, still eligible.
        let zero = settings(&[(FORFAIT_MEMBRE, SettingValue::Cents(0))]);
        assert_eq!(
            paid(compute(meeting(GROUPE_DE_TRAVAIL), liberal(), zero)).0,
            0
        );
    }

    #[test]
    fn falls_back_to_defaults_for_missing_settings() {
        let (cents, _, _) = paid(compute(meeting(GROUPE_DE_TRAVAIL), liberal(), Vec::new()));
        assert_eq!(cents, 8000);
        let referent = attendee(ExerciseMode::Liberal, GroupRole::Referent);
        assert_eq!(
            paid(compute(meeting(GROUPE_DE_TRAVAIL), referent, Vec::new())).0,
            10000
        );
        let mut salarie = attendee(ExerciseMode::Salarie, GroupRole::Active);
        salarie.employer_convention = true;
        assert_eq!(
            paid(compute(meeting(GROUPE_DE_TRAVAIL), salarie, Vec::new())).0,
            8000
        );
        assert_eq!(
            refused(compute(meeting("pleniere"), liberal(), Vec::new())),
            "Seules les réunions de groupe de travail sont indemnisées (ici : plénière)"
        );
    }

    #[test]
    fn refuses_negative_settings() {
        let negative = settings(&[(FORFAIT_MEMBRE, SettingValue::Cents(-1))]);
        assert!(Forfait::compute(meeting(GROUPE_DE_TRAVAIL), liberal(), negative).is_err());
    }
}
