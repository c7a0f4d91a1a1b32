//! Recurring tasks: the rule a task repeats by, and the due date of the next occurrence
//! when one is done. Pure date arithmetic on civil dates (jiff), no clock.

use maillage_sdk::time::jiff::ToSpan;
use maillage_sdk::time::jiff::civil::Date;

/// How a task repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every `n` weeks.
    Weeks(i64),
    /// Every `n` months, on the anchor day (clamped to the month's last day).
    Months(i64),
}

/// The form's choices: code, label.
pub const CHOICES: [(&str, &str); 6] = [
    ("aucune", "Aucune"),
    ("hebdomadaire", "Toutes les semaines"),
    ("toutes-les-2-semaines", "Toutes les deux semaines"),
    ("mensuelle", "Tous les mois"),
    ("trimestrielle", "Tous les trois mois"),
    ("annuelle", "Tous les ans"),
];

impl Rule {
    /// From the form's `recurrence`: none for « aucune », an error for an unknown code.
    pub fn parse(code: &str) -> Result<Option<Rule>, crate::ui::Invalid> {
        Ok(Some(match code {
            "" | "aucune" => return Ok(None),
            "hebdomadaire" => Rule::Weeks(1),
            "toutes-les-2-semaines" => Rule::Weeks(2),
            "mensuelle" => Rule::Months(1),
            "trimestrielle" => Rule::Months(3),
            "annuelle" => Rule::Months(12),
            _ => return Err(crate::ui::Invalid),
        }))
    }

    /// As stored: (`recurrence_unit`, `recurrence_every`).
    pub fn stored(self) -> (&'static str, i64) {
        match self {
            Rule::Weeks(n) => ("semaine", n),
            Rule::Months(n) => ("mois", n),
        }
    }

    /// From the stored unit and count.
    pub fn from_stored(unit: &str, every: i64) -> Option<Rule> {
        match (unit, every) {
            ("semaine", n) if (1..=52).contains(&n) => Some(Rule::Weeks(n)),
            ("mois", n) if (1..=24).contains(&n) => Some(Rule::Months(n)),
            _ => None,
        }
    }

    /// The form's code.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Weeks(1) => "hebdomadaire",
            Rule::Weeks(_) => "toutes-les-2-semaines",
            Rule::Months(1) => "mensuelle",
            Rule::Months(3) => "trimestrielle",
            Rule::Months(_) => "annuelle",
        }
    }

    /// « Tous les mois »…
    pub fn label(self) -> &'static str {
        let code = self.code();
        CHOICES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l)
            .unwrap_or("")
    }

    /// The rule's date after `date`; months keep `anchor` (the day of month of the
    /// series' first due date), clamped to the month's last day.
    fn step(self, date: Date, anchor: i8) -> Option<Date> {
        match self {
            Rule::Weeks(n) => date.checked_add((7 * n).days()).ok(),
            Rule::Months(n) => {
                let first = date.first_of_month().checked_add(n.months()).ok()?;
                let day = anchor.clamp(1, 31).min(first.days_in_month());
                Date::new(first.year(), first.month(), day).ok()
            }
        }
    }
}

/// The due date of the occurrence after one due on `due` and done on `done`: the rule's
/// next date after `due`, applied again while it is not after the done date (a weekly
/// task due 10 January done on 25 January is next due 31 January).
pub fn next_due(rule: Rule, due: Date, anchor: i8, done: Date) -> Option<Date> {
    let mut next = rule.step(due, anchor)?;
    // At most a few thousand steps (a weekly task done decades late).
    for _ in 0..10_000 {
        if next > done {
            return Some(next);
        }
        next = rule.step(next, anchor)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillage_sdk::time::jiff::civil::date;

    #[test]
    fn monthly_tasks_keep_their_day_clamped_to_short_months() {
        let rule = Rule::Months(1);
        let early = date(2027, 1, 1);
        let feb = next_due(rule, date(2027, 1, 31), 31, early).unwrap();
        assert_eq!(feb, date(2027, 2, 28));
        let mar = next_due(rule, feb, 31, early).unwrap();
        assert_eq!(mar, date(2027, 3, 31));
        assert_eq!(
            next_due(rule, date(2028, 1, 31), 31, early).unwrap(),
            date(2028, 2, 29)
        );
        assert_eq!(
            next_due(Rule::Months(3), date(2027, 11, 30), 30, early).unwrap(),
            date(2028, 2, 29)
        );
        assert_eq!(
            next_due(Rule::Months(12), date(2028, 2, 29), 29, early).unwrap(),
            date(2029, 2, 28)
        );
    }

    #[test]
    fn a_late_task_skips_to_the_first_date_after_it_was_done() {
        let weekly = Rule::Weeks(1);
        assert_eq!(
            next_due(weekly, date(2027, 1, 10), 10, date(2027, 1, 25)).unwrap(),
            date(2027, 1, 31)
        );
        // Done on the very next due date: the one after.
        assert_eq!(
            next_due(weekly, date(2027, 1, 10), 10, date(2027, 1, 17)).unwrap(),
            date(2027, 1, 24)
        );
        // Done early: simply the next period.
        assert_eq!(
            next_due(Rule::Weeks(2), date(2027, 1, 10), 10, date(2027, 1, 2)).unwrap(),
            date(2027, 1, 24)
        );
        assert_eq!(
            next_due(Rule::Months(1), date(2027, 1, 15), 15, date(2027, 3, 20)).unwrap(),
            date(2027, 4, 15)
        );
    }

    #[test]
    fn parses_and_stores_rules() {
        for (code, _) in CHOICES.iter().skip(1) {
            let rule = Rule::parse(code).unwrap().unwrap();
            assert_eq!(rule.code(), *code);
            let (unit, every) = rule.stored();
            assert_eq!(Rule::from_stored(unit, every), Some(rule));
        }
        assert_eq!(Rule::parse("aucune"), Ok(None));
        assert_eq!(Rule::parse(""), Ok(None));
        assert!(Rule::parse("quotidienne").is_err());
        assert_eq!(Rule::from_stored("jour", 1), None);
        assert_eq!(Rule::Months(1).label(), "Tous les mois");
    }
}
