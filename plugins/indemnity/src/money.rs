//! Pure arithmetic of the ledger, with no host call (unit-tested natively): euros and
//! hours as members type and read them, the yearly cap (PASS by default) and the
//! adjustments of a corrected attendance.

/// Largest amount a form accepts: 1 000 000,00 € (anything above is a typing error).
pub const MAX_CENTS: i64 = 100_000_000;
/// Largest duration a form accepts, in minutes (one year of days).
pub const MAX_MINUTES: i64 = 366 * 24 * 60;

/// The plafond annuel de la sécurité sociale (PASS), in cents, per year: the default
/// yearly cap of the indemnities paid to one member (décret n° 2022-375).
pub const PASS: [(i32, i64); 5] = [
    (2022, 4_113_600),
    (2023, 4_399_200),
    (2024, 4_636_800),
    (2025, 4_710_000),
    (2026, 4_806_000),
];

/// Where the cap comes from, shown on the settings page.
pub const CAP_SOURCE: &str = "Article D. 1434-44 du code de la santé publique (décret n° 2022-375 du 16 mars 2022) : le cumul annuel des indemnités et rémunérations versées à un membre ne peut excéder le plafond annuel de la sécurité sociale.";

/// The PASS of `year`: the last known value for later years, the first for earlier ones.
pub fn pass(year: i32) -> i64 {
    let mut value = PASS[0].1;
    for (y, cents) in PASS {
        if y <= year {
            value = cents;
        }
    }
    value
}

/// Why a typed amount or duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    Empty,
    Malformed,
    Negative,
    TooLarge,
}

/// Parses euros as typed: "80", "80,5", "1 234,50", "1234.50 €" → cents. At most two
/// decimals; spaces (also no-break ones) may separate thousands; negative amounts and
/// amounts over [`MAX_CENTS`] are refused.
pub fn parse_euros(text: &str) -> Result<i64, NumberError> {
    let hundredths = parse_decimal(text.trim().trim_end_matches('€'))?;
    if hundredths > MAX_CENTS {
        return Err(NumberError::TooLarge);
    }
    Ok(hundredths)
}

/// Parses hours as typed: "1", "1,5", "2.25" → minutes (rounded to the nearest one).
pub fn parse_hours(text: &str) -> Result<i64, NumberError> {
    let text = text.trim();
    let text = text
        .strip_suffix('h')
        .or_else(|| text.strip_suffix('H'))
        .unwrap_or(text);
    let hundredths = parse_decimal(text)?;
    let minutes = (hundredths * 60 + 50) / 100;
    if minutes > MAX_MINUTES {
        return Err(NumberError::TooLarge);
    }
    Ok(minutes)
}

/// A non-negative decimal with at most two decimals, in hundredths.
fn parse_decimal(text: &str) -> Result<i64, NumberError> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if cleaned.is_empty() {
        return Err(NumberError::Empty);
    }
    let negative = cleaned.starts_with(['-', '−']);
    let cleaned: String = if negative {
        cleaned.chars().skip(1).collect()
    } else {
        cleaned
    };
    let (whole, fraction) = match cleaned.split_once([',', '.']) {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
    {
        return Err(NumberError::Malformed);
    }
    if whole.len() > 12 {
        return Err(NumberError::TooLarge);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| NumberError::Malformed)?
    };
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => {
            fraction
                .parse::<i64>()
                .map_err(|_| NumberError::Malformed)?
                * 10
        }
        _ => fraction.parse().map_err(|_| NumberError::Malformed)?,
    };
    let value = whole * 100 + fraction;
    if negative && value != 0 {
        return Err(NumberError::Negative);
    }
    Ok(value)
}

/// "1 234,50 €", "-12,00 €", "0,00 €": French digits grouping (plain spaces: cells
/// showing amounts do not wrap, see `td.montant` in the stylesheet).
pub fn euros(cents: i64) -> String {
    format!("{} €", euros_number(cents))
}

/// "1 234,50" (no currency sign), for form fields and CSV cells.
pub fn euros_number(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}", abs % 100)
}

/// "80,00" without grouping, for an input the member edits.
pub fn euros_input(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

/// Minutes as decimal hours: 90 → "1,5" (the SDK's French hours).
pub fn hours(minutes: i64) -> String {
    maillage_sdk::fr::hours(minutes)
}

/// Minutes as hours for a spreadsheet cell (a number).
pub fn hours_value(minutes: i64) -> f64 {
    minutes as f64 / 60.0
}

/// Cents as euros for a spreadsheet cell (a number).
pub fn euros_value(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Whether adding `amount` to a year total of `counted` goes over `cap`. Only a
/// positive amount can cross it.
pub fn crosses_cap(counted: i64, amount: i64, cap: i64) -> bool {
    amount > 0 && counted.saturating_add(amount) > cap
}

/// What is left under the cap after `counted`, never negative.
pub fn remaining(counted: i64, cap: i64) -> i64 {
    (cap - counted).max(0)
}

/// The adjustment a correction needs for a person whose lines of that meeting were
/// already approved or paid for `settled` cents: the new amount minus what was settled,
/// none when they are equal.
pub fn adjustment(new_amount: i64, settled: i64) -> Option<i64> {
    let diff = new_amount - settled;
    (diff != 0).then_some(diff)
}

/// The share of a budget spent, in whole percent (rounded down); none without budget.
pub fn percent_spent(spent: i64, budget: i64) -> Option<i64> {
    (budget > 0).then(|| spent.max(0).saturating_mul(100) / budget)
}

/// Whether spending `spent` of `budget` reaches the alert threshold (percent).
pub fn budget_alert(spent: i64, budget: i64, threshold: i64) -> bool {
    match percent_spent(spent, budget) {
        Some(_) => spent.max(0).saturating_mul(100) >= threshold.saturating_mul(budget),
        None => false,
    }
}

/// "2026-12-03" → "03/12/2026" (as the seed's « Date de début »); as is when not a date.
pub fn date_short(date: &str) -> String {
    maillage_sdk::fr::date_short(date)
}

/// The year of a "YYYY-MM-DD" date.
pub fn year_of(date: &str) -> Option<i32> {
    date.get(0..4)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_euros_as_typed() {
        assert_eq!(parse_euros("80"), Ok(8000));
        assert_eq!(parse_euros("80,5"), Ok(8050));
        assert_eq!(parse_euros("80.05"), Ok(8005));
        assert_eq!(parse_euros(" 1 234,50 € "), Ok(123_450));
        assert_eq!(parse_euros("1\u{a0}234,50"), Ok(123_450));
        assert_eq!(parse_euros(",5"), Ok(50));
        assert_eq!(parse_euros("0"), Ok(0));
        assert_eq!(parse_euros("-0"), Ok(0));
        assert_eq!(parse_euros(""), Err(NumberError::Empty));
        assert_eq!(parse_euros("-5"), Err(NumberError::Negative));
        assert_eq!(parse_euros("−5,00"), Err(NumberError::Negative));
        assert_eq!(parse_euros("80,505"), Err(NumberError::Malformed));
        assert_eq!(parse_euros("quatre-vingts"), Err(NumberError::Malformed));
        assert_eq!(parse_euros("1,2,3"), Err(NumberError::Malformed));
        assert_eq!(parse_euros("1e5"), Err(NumberError::Malformed));
        assert_eq!(parse_euros(","), Err(NumberError::Malformed));
        assert_eq!(parse_euros("1000000"), Ok(MAX_CENTS));
        assert_eq!(parse_euros("1000000,01"), Err(NumberError::TooLarge));
        assert_eq!(
            parse_euros("99999999999999999999"),
            Err(NumberError::TooLarge)
        );
    }

    #[test]
    fn parses_hours_as_minutes() {
        assert_eq!(parse_hours("1"), Ok(60));
        assert_eq!(parse_hours("1,5"), Ok(90));
        assert_eq!(parse_hours("2.25 h"), Ok(135));
        assert_eq!(parse_hours("0,33"), Ok(20));
        assert_eq!(parse_hours("-1"), Err(NumberError::Negative));
        assert_eq!(parse_hours("deux"), Err(NumberError::Malformed));
        assert_eq!(parse_hours("10000"), Err(NumberError::TooLarge));
    }

    #[test]
    fn formats_euros_and_hours_the_french_way() {
        assert_eq!(euros(8000), "80,00 €");
        assert_eq!(euros(123_450), "1 234,50 €");
        assert_eq!(euros(100_000_000), "1 000 000,00 €");
        assert_eq!(euros(5), "0,05 €");
        assert_eq!(euros(0), "0,00 €");
        assert_eq!(euros(-1200), "-12,00 €");
        assert_eq!(euros(-123_456), "-1 234,56 €");
        assert_eq!(euros_number(4_710_000), "47 100,00");
        assert_eq!(euros_input(123_450), "1234,50");
        assert_eq!(hours(90), "1,5");
        assert_eq!(hours(60), "1");
        assert_eq!(hours(50), "0,83");
        assert_eq!(hours(0), "0");
        assert_eq!(hours(-30), "-0,5");
        assert_eq!(hours(360), "6");
        for cents in [0, 1, 99, 8000, 123_450, MAX_CENTS] {
            assert_eq!(parse_euros(&euros(cents)), Ok(cents));
            assert_eq!(parse_euros(&euros_input(cents)), Ok(cents));
        }
        for minutes in [0, 30, 60, 90, 135, 600] {
            assert_eq!(parse_hours(&hours(minutes)), Ok(minutes));
        }
    }

    #[test]
    fn pass_by_year() {
        assert_eq!(pass(2025), 4_710_000);
        assert_eq!(pass(2026), 4_806_000);
        assert_eq!(pass(2031), 4_806_000);
        assert_eq!(pass(2022), 4_113_600);
        assert_eq!(pass(2019), 4_113_600);
        assert_eq!(pass(2024), 4_636_800);
    }

    #[test]
    fn cap_crossing() {
        let cap = 4_710_000;
        assert!(!crosses_cap(0, 8000, cap));
        assert!(!crosses_cap(cap - 8000, 8000, cap));
        assert!(crosses_cap(cap - 7999, 8000, cap));
        assert!(crosses_cap(cap, 1, cap));
        assert!(!crosses_cap(cap + 500, -1000, cap));
        assert!(!crosses_cap(cap + 500, 0, cap));
        assert_eq!(remaining(cap - 3000, cap), 3000);
        assert_eq!(remaining(cap + 3000, cap), 0);
    }

    #[test]
    fn adjustments_of_a_correction() {
        assert_eq!(adjustment(10_000, 8000), Some(2000));
        assert_eq!(adjustment(0, 8000), Some(-8000));
        assert_eq!(adjustment(8000, 8000), None);
        assert_eq!(adjustment(8000, 0), Some(8000));
    }

    #[test]
    fn budgets_and_dates() {
        assert_eq!(percent_spent(8000, 10_000), Some(80));
        assert_eq!(percent_spent(1, 0), None);
        assert!(budget_alert(8000, 10_000, 80));
        assert!(!budget_alert(7999, 10_000, 80));
        assert!(budget_alert(12_000, 10_000, 100));
        assert!(!budget_alert(5000, 0, 80));
        assert_eq!(date_short("2020-11-16"), "16/11/2020");
        assert_eq!(year_of("2026-03-01"), Some(2026));
        assert_eq!(year_of("x"), None);
    }
}
