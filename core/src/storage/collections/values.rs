//! Field values: JSON in, typed SQL parameters out, and back. Dates and instants are
//! parsed here (no time-zone database needed: instants carry their offset).

use sea_query::Value;

use super::{FieldDef, FieldType};

const MAX_TEXT: usize = 64 * 1024;
const MAX_JSON: usize = 256 * 1024;

/// The SQL values of one field: its column, and for a datetime its instant column.
#[derive(Debug)]
pub struct Stored {
    pub main: Value,
    pub instant: Option<Value>,
}

fn null_of(kind: FieldType) -> Value {
    match kind {
        FieldType::Integer | FieldType::Money => Value::BigInt(None),
        FieldType::Boolean => Value::Bool(None),
        _ => Value::String(None),
    }
}

/// Converts a JSON value for `field`; the error says what was expected.
pub fn to_sql(field: &FieldDef, value: &serde_json::Value) -> Result<Stored, String> {
    use serde_json::Value as J;
    let name = &field.name;
    if value.is_null() {
        return Ok(Stored {
            main: null_of(field.kind),
            instant: (field.kind == FieldType::Datetime).then_some(Value::BigInt(None)),
        });
    }
    let text = |v: &J| -> Result<String, String> {
        match v {
            J::String(s) if s.len() <= MAX_TEXT => Ok(s.clone()),
            J::String(_) => Err(format!("{name}: text longer than {MAX_TEXT} bytes")),
            _ => Err(format!("{name}: expected a string")),
        }
    };
    let main = match field.kind {
        FieldType::Text => Value::String(Some(text(value)?)),
        FieldType::Integer => Value::BigInt(Some(
            value
                .as_i64()
                .ok_or_else(|| format!("{name}: expected an integer"))?,
        )),
        FieldType::Money => {
            Value::BigInt(Some(value.as_i64().ok_or_else(|| {
                format!("{name}: expected an amount in integer cents")
            })?))
        }
        FieldType::Boolean => Value::Bool(Some(
            value
                .as_bool()
                .ok_or_else(|| format!("{name}: expected true or false"))?,
        )),
        FieldType::Date => {
            let s = text(value)?;
            parse_date(&s).ok_or_else(|| format!("{name}: expected a date YYYY-MM-DD"))?;
            Value::String(Some(s))
        }
        FieldType::Datetime => {
            let s = text(value)?;
            let at = parse_datetime(&s).ok_or_else(|| {
                format!("{name}: expected an RFC 3339 date-time with offset, e.g. 2026-11-24T18:30:00+01:00[Europe/Paris]")
            })?;
            return Ok(Stored {
                main: Value::String(Some(s)),
                instant: Some(Value::BigInt(Some(at))),
            });
        }
        FieldType::Json => {
            let s = value.to_string();
            if s.len() > MAX_JSON {
                return Err(format!("{name}: JSON larger than {MAX_JSON} bytes"));
            }
            Value::String(Some(s))
        }
        FieldType::UserRef | FieldType::GroupRef => {
            let s = match value {
                J::Number(n) if n.is_u64() => n.to_string(),
                _ => text(value)?,
            };
            if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{name}: expected a user or group id"));
            }
            Value::String(Some(s))
        }
        FieldType::RecordRef => {
            let s = text(value)?;
            if !valid_record_id(&s) {
                return Err(format!("{name}: expected a record id"));
            }
            Value::String(Some(s))
        }
    };
    Ok(Stored {
        main,
        instant: None,
    })
}

/// A declared default must be valid JSON of the field's type.
pub fn check_default(field: &FieldDef, default: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(default).map_err(|e| format!("not JSON: {e}"))?;
    to_sql(field, &value).map(|_| ())
}

/// Record ids: given by the plugin or made by the host; safe in URLs.
pub fn valid_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = s[0..4].parse().ok()?;
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)[Zone/Name]".
pub fn parse_datetime(s: &str) -> Option<i64> {
    let (stamp, zone) = match s.find('[') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    if let Some(zone) = zone {
        let name = zone.strip_prefix('[')?.strip_suffix(']')?;
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        if !ok {
            return None;
        }
    }
    if stamp.len() < 20 || !stamp.is_char_boundary(10) || !matches!(&stamp[10..11], "T" | "t") {
        return None;
    }
    let days = parse_date(&stamp[..10])?;
    let rest = &stamp[11..];
    let b = rest.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let hour: i64 = rest[0..2].parse().ok()?;
    let minute: i64 = rest[3..5].parse().ok()?;
    let second: i64 = rest[6..8].parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut offset_part = &rest[8..];
    if let Some(fraction) = offset_part.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        offset_part = &fraction[digits..];
    }
    let offset = match offset_part {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(&o[0..1], "+" | "-") && &o[3..4] == ":" => {
            let h: i64 = o[1..3].parse().ok()?;
            let m: i64 = o[4..6].parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if o.starts_with('-') { -secs } else { secs }
        }
        _ => return None,
    };
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Lowercase, accents removed, anything else than letters and digits becomes a space:
/// "Évreux — Saint-Étienne" → "evreux saint etienne".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let mapped: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'ç' => "c",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ÿ' | 'ý' => "y",
            'ñ' => "n",
            'œ' => "oe",
            'æ' => "ae",
            c if c.is_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => " ",
        };
        out.push_str(mapped);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_carry_their_offset() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_datetime("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_datetime("2026-11-24T18:30:00-03:00[America/Cayenne]"),
            parse_datetime("2026-11-24T21:30:00Z")
        );
        assert_eq!(
            parse_datetime("2026-11-24T18:30:00.250+04:00[Indian/Reunion]"),
            parse_datetime("2026-11-24T14:30:00Z")
        );
        assert_eq!(parse_datetime("2026-11-24 18:30:00Z"), None);
        assert_eq!(parse_datetime("2026-11-24T18:30:00"), None);
        assert_eq!(parse_datetime("2026-02-30T18:30:00Z"), None);
        assert_eq!(parse_datetime("2026-11-24T18:30:00Z[bad zone]"), None);
        assert_eq!(parse_datetime("2026-11-24T18:30:00é"), None);
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
    }

    #[test]
    fn folding_drops_accents_case_and_punctuation() {
        assert_eq!(fold("Évreux — Saint-Étienne"), "evreux saint etienne");
        assert_eq!(fold("Cœur  ÇA"), "coeur ca");
    }

    #[test]
    fn money_is_integer_cents() {
        let f = FieldDef {
            name: "amount".into(),
            kind: FieldType::Money,
            required: true,
            default: None,
            full_text: false,
            references: None,
        };
        assert!(to_sql(&f, &serde_json::json!(1250)).is_ok());
        assert!(
            to_sql(&f, &serde_json::json!(12.5))
                .unwrap_err()
                .contains("cents")
        );
    }
}
