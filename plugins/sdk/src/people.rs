//! What the structure knows of its members (capability "people", WIT 0.2.3): profession,
//! exercise mode, employer convention and adhesion periods, set on the administration's
//! « Fiche membre ».

pub use crate::bindings::maillage::plugin::people::{
    Adhesion, ExerciseMode, Person, Suggestion, all, get, suggest,
};

/// Whether `person` was adhérent of the structure on `date` ("YYYY-MM-DD"): one of their
/// adhesion periods contains it (both ends included; an open period lasts).
pub fn adherent_on(person: &Person, date: &str) -> bool {
    person
        .adhesions
        .iter()
        .any(|a| a.start.as_str() <= date && a.end.as_deref().is_none_or(|end| date <= end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(adhesions: &[(&str, Option<&str>)]) -> Person {
        Person {
            user_id: "1".into(),
            display_name: "Claire Martin".into(),
            profession: None,
            exercise_mode: ExerciseMode::Liberal,
            employer_convention: false,
            adhesions: adhesions
                .iter()
                .map(|(start, end)| Adhesion {
                    start: (*start).into(),
                    end: end.map(Into::into),
                })
                .collect(),
        }
    }

    #[test]
    fn adhesion_periods_include_both_ends_and_open_ones_last() {
        let p = person(&[("2024-01-01", Some("2024-12-31")), ("2026-03-15", None)]);
        assert!(adherent_on(&p, "2024-01-01"));
        assert!(adherent_on(&p, "2024-12-31"));
        assert!(!adherent_on(&p, "2025-06-01"));
        assert!(!adherent_on(&p, "2026-03-14"));
        assert!(adherent_on(&p, "2030-01-01"));
        assert!(!adherent_on(&person(&[]), "2026-01-01"));
    }
}
