//! Guest-side SDK for Maillage indemnity rule sets (`maillage:indemnity/rule-set`).
//!
//! A rule set says what one attendance of one meeting pays. It implements [`RuleSet`]
//! and calls [`export_rule_set!`]; [`describe`](RuleSet::describe) declares its settings
//! (amounts, durations, switches, choices) that each structure's administrators fill in,
//! and [`compute`](RuleSet::compute) reads them with [`cents`], [`minutes`], [`flag`] and
//! [`choice`]. Rationales and reasons are French; [`euros`] and [`duration`] format
//! amounts and times the French way.
//!
//! A rule set is a pure function: the world exports `rules` and imports nothing (no
//! clock, no randomness, no storage), and the host refuses at install a component that
//! imports anything. std on wasm32-wasip2 imports WASI, so rule sets are `no_std` with
//! `alloc`: this crate brings what std would (allocator, panic handler, `cabi_realloc`,
//! see `runtime.rs`), compiled for wasm32 only. A rule-set crate starts with
//!
//! ```text
//! #![cfg_attr(target_arch = "wasm32", no_std)]
//! extern crate alloc;
//! ```
//!
//! so that its unit tests run natively with std, while the component has none. Do not
//! link std into a rule-set component through another dependency (it would clash with
//! this crate's panic handler and bring WASI imports back).
//!
//! The host makes a fresh instance for every call, with a small memory cap and a
//! deadline: a rule set that traps, loops or runs out of memory fails that one case.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/indemnity/v0.1.0",
        world: "maillage:indemnity/rule-set",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_rule_set_world",
        default_bindings_module: "maillage_rules::bindings",
    });
}

#[cfg(target_arch = "wasm32")]
mod runtime;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

pub use bindings::exports::maillage::indemnity::rules::{
    Attendee, ChoiceOption, Description, ExerciseMode, GroupRole, Meeting, Outcome, Payment,
    Setting, SettingDef, SettingKind, SettingValue,
};

/// The meeting kind a working-group meeting has ([`Meeting::kind`]).
pub const GROUPE_DE_TRAVAIL: &str = "groupe-de-travail";

/// What a rule set implements.
pub trait RuleSet {
    /// Who the rule set is (id, version, French name and summary) and its settings.
    /// Must always answer the same.
    fn describe() -> Description;

    /// What this attendee gets for this meeting. `settings` has one value per declared
    /// setting, defaults filled in by the host (and checked against the bounds). An
    /// error (French) means the rule set cannot compute with these settings; an
    /// attendee who is simply not paid is `Ok(Outcome::NotEligible(reason))`.
    fn compute(
        meeting: Meeting,
        attendee: Attendee,
        settings: Vec<Setting>,
    ) -> Result<Outcome, String>;
}

#[doc(hidden)]
pub mod __glue {
    pub use crate::bindings::exports::maillage::indemnity::rules::Guest as RulesExport;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}

/// Exports a [`RuleSet`] implementation as a Maillage rule-set component.
#[macro_export]
macro_rules! export_rule_set {
    ($rules:ty) => {
        struct __MaillageRuleSet;

        impl $crate::__glue::RulesExport for __MaillageRuleSet {
            fn describe() -> $crate::Description {
                <$rules as $crate::RuleSet>::describe()
            }
            fn compute(
                meeting: $crate::Meeting,
                attendee: $crate::Attendee,
                settings: $crate::__glue::Vec<$crate::Setting>,
            ) -> ::core::result::Result<$crate::Outcome, $crate::__glue::String> {
                <$rules as $crate::RuleSet>::compute(meeting, attendee, settings)
            }
        }

        $crate::bindings::__export_rule_set_world!(__MaillageRuleSet with_types_in $crate::bindings);
    };
}

/// The usual imports of a rule set: the types, the trait, the setting readers and the
/// French formatting, and the `alloc` names std's prelude would give.
pub mod prelude {
    pub use crate::{
        Attendee, ChoiceOption, Description, ExerciseMode, GROUPE_DE_TRAVAIL, GroupRole, Meeting,
        Outcome, Payment, RuleSet, Setting, SettingDef, SettingKind, SettingValue, cents, choice,
        defaults, duration, euros, flag, minutes, value,
    };
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

// ---------------------------------------------------------------------------------------
// Reading settings.

/// The value of a setting, if the host passed one under this key.
pub fn value<'a>(settings: &'a [Setting], key: &str) -> Option<&'a SettingValue> {
    settings.iter().find(|s| s.key == key).map(|s| &s.value)
}

/// An amount setting, in cents; None if absent or of another kind.
pub fn cents(settings: &[Setting], key: &str) -> Option<i64> {
    match value(settings, key)? {
        SettingValue::Cents(n) => Some(*n),
        _ => None,
    }
}

/// A duration setting (shown in hours), in minutes; None if absent or of another kind.
pub fn minutes(settings: &[Setting], key: &str) -> Option<i64> {
    match value(settings, key)? {
        SettingValue::Hours(n) => Some(*n),
        _ => None,
    }
}

/// A boolean setting; None if absent or of another kind.
pub fn flag(settings: &[Setting], key: &str) -> Option<bool> {
    match value(settings, key)? {
        SettingValue::Boolean(b) => Some(*b),
        _ => None,
    }
}

/// A choice setting's value; None if absent or of another kind.
pub fn choice<'a>(settings: &'a [Setting], key: &str) -> Option<&'a str> {
    match value(settings, key)? {
        SettingValue::Choice(v) => Some(v.as_str()),
        _ => None,
    }
}

/// Every declared setting with its default, as the host would fill them in: handy in
/// unit tests and for rule sets that complete a partial list themselves.
pub fn defaults(description: &Description) -> Vec<Setting> {
    description
        .settings
        .iter()
        .map(|def| Setting {
            key: def.key.clone(),
            value: def.default.clone(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Declaring settings and answering.

impl SettingDef {
    /// An amount in cents, shown in euros, within `[min, max]`.
    pub fn cents(key: &str, label: &str, help: &str, default: i64, min: i64, max: i64) -> Self {
        SettingDef {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            kind: SettingKind::Cents,
            default: SettingValue::Cents(default),
            min: Some(min),
            max: Some(max),
        }
    }

    /// A duration in minutes, shown in hours, within `[min, max]` minutes.
    pub fn hours(key: &str, label: &str, help: &str, default: i64, min: i64, max: i64) -> Self {
        SettingDef {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            kind: SettingKind::Hours,
            default: SettingValue::Hours(default),
            min: Some(min),
            max: Some(max),
        }
    }

    /// A yes/no switch.
    pub fn boolean(key: &str, label: &str, help: &str, default: bool) -> Self {
        SettingDef {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            kind: SettingKind::Boolean,
            default: SettingValue::Boolean(default),
            min: None,
            max: None,
        }
    }

    /// One of `options`, given as (value, French label); `default` is one of the values.
    pub fn choice(
        key: &str,
        label: &str,
        help: &str,
        options: &[(&str, &str)],
        default: &str,
    ) -> Self {
        SettingDef {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            kind: SettingKind::Choice(
                options
                    .iter()
                    .map(|(value, label)| ChoiceOption {
                        value: (*value).into(),
                        label: (*label).into(),
                    })
                    .collect(),
            ),
            default: SettingValue::Choice(default.into()),
            min: None,
            max: None,
        }
    }
}

impl Outcome {
    /// Paid: `cents` (never negative, or the host refuses the answer) for `minutes`
    /// counted, with the French rationale shown to the member and the treasurer.
    pub fn eligible(cents: i64, minutes: u32, rationale: impl Into<String>) -> Self {
        Outcome::Eligible(Payment {
            cents,
            minutes,
            rationale: rationale.into(),
        })
    }

    /// Not paid, with the French reason.
    pub fn not_eligible(reason: impl Into<String>) -> Self {
        Outcome::NotEligible(reason.into())
    }
}

// ---------------------------------------------------------------------------------------
// French formatting.

/// An amount the French way: "80 €", "82,50 €", "1 200 €", "-5 €" (cents shown only
/// when there are some).
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = grouped(abs / 100);
    match abs % 100 {
        0 => format!("{sign}{whole} €"),
        rest => format!("{sign}{whole},{rest:02} €"),
    }
}

/// Digits grouped by three with spaces: 1234567 → "1 234 567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A duration the French way: "45 min", "2 h", "1 h 30".
pub fn duration(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let abs = minutes.unsigned_abs();
    let (hours, rest) = (abs / 60, abs % 60);
    match (hours, rest) {
        (0, _) => format!("{sign}{abs} min"),
        (_, 0) => format!("{sign}{hours} h"),
        _ => format!("{sign}{hours} h {rest:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_euros() {
        assert_eq!(euros(8000), "80 €");
        assert_eq!(euros(8250), "82,50 €");
        assert_eq!(euros(8205), "82,05 €");
        assert_eq!(euros(0), "0 €");
        assert_eq!(euros(5), "0,05 €");
        assert_eq!(euros(120_000), "1 200 €");
        assert_eq!(euros(123_456_789), "1 234 567,89 €");
        assert_eq!(euros(-500), "-5 €");
        assert_eq!(euros(i64::MIN), "-92 233 720 368 547 758,08 €");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(duration(0), "0 min");
        assert_eq!(duration(45), "45 min");
        assert_eq!(duration(120), "2 h");
        assert_eq!(duration(90), "1 h 30");
        assert_eq!(duration(65), "1 h 05");
    }

    #[test]
    fn reads_settings_by_kind() {
        let settings = vec![
            Setting {
                key: "montant".into(),
                value: SettingValue::Cents(8000),
            },
            Setting {
                key: "duree".into(),
                value: SettingValue::Hours(90),
            },
            Setting {
                key: "actif".into(),
                value: SettingValue::Boolean(true),
            },
            Setting {
                key: "mode".into(),
                value: SettingValue::Choice("demi-journee".into()),
            },
        ];
        assert_eq!(cents(&settings, "montant"), Some(8000));
        assert_eq!(minutes(&settings, "duree"), Some(90));
        assert_eq!(flag(&settings, "actif"), Some(true));
        assert_eq!(choice(&settings, "mode"), Some("demi-journee"));
        // Absent, or of another kind.
        assert_eq!(cents(&settings, "absent"), None);
        assert_eq!(cents(&settings, "duree"), None);
        assert_eq!(flag(&settings, "mode"), None);
    }

    #[test]
    fn declares_settings_with_defaults() {
        let description = Description {
            id: "essai".into(),
            version: "1.0.0".into(),
            name: "Essai".into(),
            summary: "Essai.".into(),
            settings: vec![
                SettingDef::cents("montant", "Montant", "", 8000, 0, 100_000),
                SettingDef::hours("duree", "Durée", "", 60, 0, 1440),
                SettingDef::boolean("actif", "Actif", "", false),
                SettingDef::choice(
                    "mode",
                    "Mode",
                    "",
                    &[("heure", "À l'heure"), ("forfait", "Au forfait")],
                    "forfait",
                ),
            ],
        };
        let filled = defaults(&description);
        assert_eq!(cents(&filled, "montant"), Some(8000));
        assert_eq!(minutes(&filled, "duree"), Some(60));
        assert_eq!(flag(&filled, "actif"), Some(false));
        assert_eq!(choice(&filled, "mode"), Some("forfait"));
        let def = &description.settings[0];
        assert_eq!((def.min, def.max), (Some(0), Some(100_000)));
        match &description.settings[3].kind {
            SettingKind::Choice(options) => {
                assert_eq!(options.len(), 2);
                assert_eq!(options[0].value, "heure");
                assert_eq!(options[0].label, "À l'heure");
            }
            other => panic!("not a choice: {other:?}"),
        }
    }
}
