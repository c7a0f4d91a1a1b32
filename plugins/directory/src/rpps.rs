//! Reading the national RPPS "Personne activité" extract (`shared/rpps-format.md`):
//! columns found by header label (labels changed between releases, so they are
//! compared folded, with known aliases), one line per activity, people keyed by
//! "Identification nationale PP". Malformed lines are reported with their numbers.

use std::collections::BTreeMap;

/// The columns the directory uses, with the labels they have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    IdType,
    Identifier,
    PersonId,
    Civility,
    LastName,
    FirstName,
    ProfessionCode,
    ProfessionLabel,
    SkillCode,
    SkillLabel,
    ModeLabel,
    SiteName,
    StreetNumber,
    StreetType,
    StreetLabel,
    PostalCode,
    Commune,
    Phone,
    Email,
    CountryCode,
}

const COLUMNS: [(Column, &[&str], bool); 20] = [
    (Column::IdType, &["Type d'identifiant PP"], false),
    (Column::Identifier, &["Identifiant PP"], false),
    (Column::PersonId, &["Identification nationale PP"], true),
    (
        Column::Civility,
        &["Libellé civilité d'exercice", "Libellé civilité"],
        false,
    ),
    (Column::LastName, &["Nom d'exercice"], true),
    (Column::FirstName, &["Prénom d'exercice"], true),
    (Column::ProfessionCode, &["Code profession"], true),
    (Column::ProfessionLabel, &["Libellé profession"], true),
    (Column::SkillCode, &["Code savoir-faire"], false),
    (Column::SkillLabel, &["Libellé savoir-faire"], false),
    (Column::ModeLabel, &["Libellé mode exercice"], false),
    (
        Column::SiteName,
        &["Raison sociale site", "Raison sociale"],
        false,
    ),
    (
        Column::StreetNumber,
        &["Numéro Voie (coord. structure)", "Numéro Voie"],
        false,
    ),
    (
        Column::StreetType,
        &[
            "Libellé type de voie (coord. structure)",
            "Libellé type de voie",
        ],
        false,
    ),
    (
        Column::StreetLabel,
        &["Libellé Voie (coord. structure)", "Libellé Voie"],
        false,
    ),
    (
        Column::PostalCode,
        &["Code postal (coord. structure)", "Code postal"],
        true,
    ),
    (
        Column::Commune,
        &["Libellé commune (coord. structure)", "Libellé commune"],
        false,
    ),
    (
        Column::Phone,
        &["Téléphone (coord. structure)", "Téléphone"],
        false,
    ),
    (
        Column::Email,
        &[
            "Adresse e-mail (coord. structure)",
            "Adresse e-mail",
            "Adresse mail",
        ],
        false,
    ),
    (
        Column::CountryCode,
        &["Code pays (coord. structure)", "Code pays"],
        false,
    ),
];

/// The register a person is known in, from their « Identification nationale PP ».
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    /// `8` + the 11-digit RPPS number.
    Rpps,
    /// `0` + the 9-character ADELI number (Corsican ones hold `2A` or `2B`).
    Adeli,
}

/// Type of the « Identification nationale PP » for each register (« Type d'identifiant PP »).
impl Register {
    pub fn type_code(self) -> &'static str {
        match self {
            Register::Rpps => "8",
            Register::Adeli => "0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Register::Rpps => "RPPS",
            Register::Adeli => "ADELI",
        }
    }
}

/// An ADELI number: the department (two digits, or `2A` / `2B` for Corsica), then
/// seven digits.
fn is_adeli(number: &str) -> bool {
    let b = number.as_bytes();
    b.len() == 9
        && (b[..2].iter().all(u8::is_ascii_digit) || matches!(&b[..2], b"2A" | b"2B"))
        && b[2..].iter().all(u8::is_ascii_digit)
}

fn is_rpps(number: &str) -> bool {
    number.len() == 11 && number.bytes().all(|b| b.is_ascii_digit())
}

/// The register and the number (« Identifiant PP ») of a national identifier
/// (`810001234567`, `0022802441`, `02A1234567`), or `None` if it is neither shape.
pub fn parse_national_id(id: &str) -> Option<(Register, &str)> {
    if let Some(number) = id.strip_prefix('8').filter(|n| is_rpps(n)) {
        return Some((Register::Rpps, number));
    }
    if let Some(number) = id.strip_prefix('0').filter(|n| is_adeli(n)) {
        return Some((Register::Adeli, number));
    }
    None
}

/// The national identifier for what a professional types: their RPPS number (11
/// digits), their ADELI number (9 characters), or the national identifier itself.
pub fn national_id_from_input(input: &str) -> Option<String> {
    let input = input.trim().replace(' ', "").to_ascii_uppercase();
    if parse_national_id(&input).is_some() {
        return Some(input);
    }
    if is_rpps(&input) {
        return Some(format!("8{input}"));
    }
    if is_adeli(&input) {
        return Some(format!("0{input}"));
    }
    None
}

/// « RPPS 10001234567 » or « ADELI 022802441 » for a stored national identifier.
pub fn describe_national_id(id: &str) -> String {
    match parse_national_id(id) {
        Some((register, number)) => format!("{} {number}", register.label()),
        None => id.to_string(),
    }
}

/// Postal codes of sites in France (no country code, or 99000).
fn in_france(country: &str) -> bool {
    country.is_empty() || country == "99000"
}

/// Labels compared without case, accents, apostrophe style or extra spaces.
fn normalize(label: &str) -> String {
    maillage_sdk::text::fold(label)
}

/// Where each used column sits in this extract.
#[derive(Debug, Clone)]
pub struct Layout {
    positions: BTreeMap<Column, usize>,
    /// Fields per line, the trailing empty one included.
    width: usize,
}

impl Layout {
    /// Reads the header line; names every required column it lacks.
    pub fn from_header(header: &str) -> Result<Layout, String> {
        let header = header
            .trim_end_matches(['\r', '\n'])
            .trim_start_matches('\u{feff}');
        let labels: Vec<String> = header.split('|').map(normalize).collect();
        let mut positions = BTreeMap::new();
        let mut missing = Vec::new();
        for (column, names, required) in COLUMNS {
            let found = names
                .iter()
                .find_map(|n| labels.iter().position(|l| *l == normalize(n)));
            match (found, required) {
                (Some(i), _) => {
                    positions.insert(column, i);
                }
                (None, true) => missing.push(names[0]),
                (None, false) => {}
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "this is not an RPPS \"Personne activité\" extract, or its layout changed: missing column(s) {}",
                missing.join(", ")
            ));
        }
        Ok(Layout {
            positions,
            width: labels.len(),
        })
    }
}

/// One activity line, borrowed from the extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity<'a> {
    pub fields: BTreeMap<Column, &'a str>,
}

impl<'a> Activity<'a> {
    pub fn get(&self, column: Column) -> &'a str {
        self.fields.get(&column).copied().unwrap_or("")
    }
}

/// Parses one line (without its end of line).
pub fn parse_line<'a>(layout: &Layout, line: &'a str) -> Result<Activity<'a>, String> {
    let line = line.trim_end_matches('\r');
    let fields: Vec<&str> = line.split('|').collect();
    if fields.len() != layout.width {
        return Err(format!(
            "{} fields instead of {}",
            fields.len(),
            layout.width
        ));
    }
    let mut activity = BTreeMap::new();
    for (column, &i) in &layout.positions {
        activity.insert(*column, fields[i].trim());
    }
    let activity = Activity { fields: activity };
    let id = activity.get(Column::PersonId);
    let Some((register, number)) = parse_national_id(id) else {
        return Err(format!(
            "invalid Identification nationale PP {id:?} (expected 8 + an 11-digit RPPS number, or 0 + a 9-character ADELI number)"
        ));
    };
    // When the extract also gives the type and the number, they must agree.
    let id_type = activity.get(Column::IdType);
    if !id_type.is_empty() && id_type != register.type_code() {
        return Err(format!(
            "Type d'identifiant PP {id_type:?} does not match Identification nationale PP {id:?}"
        ));
    }
    let identifier = activity.get(Column::Identifier);
    if !identifier.is_empty() && identifier != number {
        return Err(format!(
            "Identifiant PP {identifier:?} does not match Identification nationale PP {id:?}"
        ));
    }
    let postal = activity.get(Column::PostalCode);
    // A site abroad keeps its own postal code (it is on no territory); a French one has
    // five characters. No site at all (empty address) is not an error either.
    let valid_postal = if in_france(activity.get(Column::CountryCode)) {
        postal.len() == 5 && postal.bytes().all(|b| b.is_ascii_alphanumeric())
    } else {
        postal.len() <= 16 && !postal.chars().any(char::is_control)
    };
    if !postal.is_empty() && !valid_postal {
        return Err(format!("invalid postal code {postal:?}"));
    }
    Ok(activity)
}

/// A professional and their activity sites, as read from the extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub civility: String,
    pub last_name: String,
    pub first_name: String,
    pub profession_code: String,
    pub profession: String,
    pub specialties: Vec<String>,
    pub sites: Vec<Site>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
    pub mode: String,
    pub phone: String,
    pub email: String,
}

/// What reading an extract gave: the people on the territory and the bad lines.
#[derive(Debug, Default)]
pub struct Extract {
    pub people: BTreeMap<String, Person>,
    /// The first bad lines: (line number, 1-based, the header being line 1; reason).
    pub errors: Vec<(usize, String)>,
    /// Bad lines in all, listed or not.
    pub error_total: usize,
    /// Of which not UTF-8: a sign that the whole file was re-encoded.
    pub encoding_errors: usize,
    pub lines: usize,
}

/// At most this many bad lines are listed; the count goes on.
pub const MAX_LISTED_ERRORS: usize = 100;

pub const NOT_UTF8: &str = "not UTF-8 (the extract must stay UTF-8; was it re-encoded as Latin-1?)";

impl Extract {
    pub fn error_count(&self) -> usize {
        self.error_total
    }

    fn fail(&mut self, number: usize, reason: String) {
        self.error_total += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push((number, reason));
        }
    }
}

/// Reads lines `first_line..` of an extract (the header excluded) and keeps the
/// activities whose postal code `keep` accepts. Lines that are not UTF-8 are errors.
pub fn read_lines(
    layout: &Layout,
    bytes: &[u8],
    first_line: usize,
    keep: &dyn Fn(&str) -> bool,
    into: &mut Extract,
) {
    scan(layout, bytes, first_line, into, &mut |into, activity, _| {
        if keep(activity.get(Column::PostalCode)) {
            add(into, activity);
        }
    });
}

/// Like [`read_lines`], but copies the kept lines as they are into `kept` (each ending
/// with a newline) instead of gathering people: the first pass of an import.
pub fn filter_lines(
    layout: &Layout,
    bytes: &[u8],
    first_line: usize,
    keep: &dyn Fn(&str) -> bool,
    into: &mut Extract,
    kept: &mut Vec<u8>,
) {
    scan(layout, bytes, first_line, into, &mut |_, activity, raw| {
        if keep(activity.get(Column::PostalCode)) {
            kept.extend_from_slice(raw);
            kept.push(b'\n');
        }
    });
}

fn scan(
    layout: &Layout,
    bytes: &[u8],
    first_line: usize,
    into: &mut Extract,
    each: &mut dyn FnMut(&mut Extract, &Activity<'_>, &[u8]),
) {
    for (offset, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let number = first_line + offset;
        into.lines += 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            into.encoding_errors += 1;
            into.fail(number, NOT_UTF8.into());
            continue;
        };
        match parse_line(layout, line) {
            Ok(activity) => each(into, &activity, raw),
            Err(reason) => into.fail(number, reason),
        }
    }
}

fn add(into: &mut Extract, a: &Activity<'_>) {
    let id = a.get(Column::PersonId).to_string();
    let person = into.people.entry(id.clone()).or_insert_with(|| Person {
        id,
        civility: a.get(Column::Civility).to_string(),
        last_name: a.get(Column::LastName).to_string(),
        first_name: a.get(Column::FirstName).to_string(),
        profession_code: a.get(Column::ProfessionCode).to_string(),
        profession: a.get(Column::ProfessionLabel).to_string(),
        specialties: Vec::new(),
        sites: Vec::new(),
    });
    let specialty = a.get(Column::SkillLabel);
    if !specialty.is_empty() && !person.specialties.iter().any(|s| s == specialty) {
        person.specialties.push(specialty.to_string());
    }
    let address = [
        a.get(Column::StreetNumber),
        a.get(Column::StreetType),
        a.get(Column::StreetLabel),
    ]
    .iter()
    .filter(|p| !p.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    let site = Site {
        name: a.get(Column::SiteName).to_string(),
        address,
        postal_code: a.get(Column::PostalCode).to_string(),
        commune: a.get(Column::Commune).to_string(),
        mode: a.get(Column::ModeLabel).to_string(),
        phone: a.get(Column::Phone).to_string(),
        email: a.get(Column::Email).to_string(),
    };
    // The same activity listed twice (duplicate lines) counts once.
    if !person.sites.contains(&site) {
        person.sites.push(site);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau pharmaciens|";

    fn line(
        id: &str,
        name: &str,
        profession: (&str, &str),
        skill: &str,
        postal: &str,
        email: &str,
    ) -> String {
        let mut f = vec![""; 53];
        let national = national_id_from_input(id).unwrap_or_else(|| id.to_string());
        let (id_type, number) = match parse_national_id(&national) {
            Some((register, number)) => (register.type_code(), number.to_string()),
            None => ("", String::new()),
        };
        f[0] = id_type;
        f[1] = &number;
        f[2] = &national;
        f[4] = "Madame";
        f[7] = name;
        f[8] = "Anaïs";
        f[9] = profession.0;
        f[10] = profession.1;
        f[16] = skill;
        f[18] = "Libéral";
        f[24] = "Cabinet du Lac";
        f[28] = "12";
        f[31] = "Rue";
        f[32] = "des Écoles";
        f[35] = postal;
        f[37] = "ANNECY";
        f[43] = email;
        f.join("|")
    }

    fn read(text: &str, codes: &[&str]) -> Result<Extract, String> {
        let mut lines = text.splitn(2, '\n');
        let layout = Layout::from_header(lines.next().unwrap())?;
        let mut extract = Extract::default();
        read_lines(
            &layout,
            lines.next().unwrap_or("").as_bytes(),
            2,
            &|code| codes.contains(&code),
            &mut extract,
        );
        Ok(extract)
    }

    #[test]
    fn people_gather_their_sites_and_the_territory_filters() {
        let text = [
            HEADER.to_string(),
            line(
                "10000000001",
                "MARTIN",
                ("10", "Médecin"),
                "Médecine générale",
                "74000",
                "",
            ),
            line(
                "10000000001",
                "MARTIN",
                ("10", "Médecin"),
                "Médecine générale",
                "74960",
                "a@b.fr",
            ),
            // A duplicate line: counted once.
            line(
                "10000000001",
                "MARTIN",
                ("10", "Médecin"),
                "Médecine générale",
                "74960",
                "a@b.fr",
            ),
            line("10000000002", "PAYET", ("60", "Infirmier"), "", "97400", ""),
        ]
        .join("\n");
        let extract = read(&text, &["74000", "74960"]).unwrap();
        assert_eq!(extract.lines, 4);
        assert!(extract.errors.is_empty());
        assert_eq!(
            extract.people.len(),
            1,
            "the Réunion nurse is off the territory"
        );
        let martin = &extract.people["810000000001"];
        assert_eq!(martin.sites.len(), 2);
        assert_eq!(martin.specialties, ["Médecine générale"]);
        assert_eq!(martin.sites[0].address, "12 Rue des Écoles");
        assert_eq!(martin.sites[1].email, "a@b.fr");
    }

    #[test]
    fn columns_are_found_by_label_even_reordered_or_relabelled() {
        // Columns in another order, labels without the "(coord. structure)" suffix and
        // with other case, apostrophes and extra spaces: still found.
        let header = " Code postal |Nom d’exercice|PRÉNOM  D'EXERCICE|Identification nationale PP|Code profession|Libellé  profession |";
        let layout = Layout::from_header(header).unwrap();
        let a = parse_line(&layout, "74000|DUPONT|Zoé|810000000009|21|Pharmacien|").unwrap();
        assert_eq!(a.get(Column::LastName), "DUPONT");
        assert_eq!(a.get(Column::PostalCode), "74000");
        // A file that is not the extract: the missing columns are named.
        let err = Layout::from_header("Nom|Prénom|Ville").unwrap_err();
        assert!(
            err.contains("Identification nationale PP") && err.contains("Code postal"),
            "{err}"
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_numbers() {
        let mut latin1 = line("10000000003", "GU", ("10", "Médecin"), "", "74000", "").into_bytes();
        // The 11-digit number alone is not the national identifier.
        let mut bare = line("10000000005", "X", ("10", "Médecin"), "", "74000", "");
        bare = bare.replacen("|810000000005|", "|10000000005|", 1);
        latin1.extend_from_slice(b"\xe9"); // "é" in Latin-1
        let text = [
            HEADER.to_string(),
            line("10000000001", "MARTIN", ("10", "Médecin"), "", "74000", ""),
            "10000000002|trop|court".to_string(),
            line("ABC", "X", ("10", "Médecin"), "", "74000", ""),
            line("10000000004", "X", ("10", "Médecin"), "", "740", ""),
            bare,
        ]
        .join("\n");
        let mut bytes = text.into_bytes();
        bytes.push(b'\n');
        bytes.extend_from_slice(&latin1);
        let mut lines = bytes.splitn(2, |&b| b == b'\n');
        let layout =
            Layout::from_header(std::str::from_utf8(lines.next().unwrap()).unwrap()).unwrap();
        let mut extract = Extract::default();
        read_lines(&layout, lines.next().unwrap(), 2, &|_| true, &mut extract);
        let numbers: Vec<usize> = extract.errors.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [3, 4, 5, 6, 7], "{:?}", extract.errors);
        assert!(extract.errors[0].1.contains("fields instead of 53"));
        assert!(extract.errors[1].1.contains("Identification nationale PP"));
        assert!(extract.errors[2].1.contains("postal code"));
        assert!(extract.errors[3].1.contains("\"10000000005\""));
        assert!(extract.errors[4].1.contains("UTF-8"));
        assert_eq!(extract.people.len(), 1);
    }

    /// Lines shaped as in the national file: `8` + RPPS, `0` + ADELI (Corsican ADELI
    /// numbers hold 2A / 2B), and the type and number columns that agree with them.
    #[test]
    fn both_identifier_shapes_of_the_national_file_are_read() {
        let text = [
            HEADER.to_string(),
            line("10003456789", "MARTIN", ("10", "Médecin"), "", "74000", ""),
            line(
                "022802441",
                "LEROY",
                ("91", "Orthophoniste"),
                "",
                "74000",
                "",
            ),
            line("2A1234567", "SANTONI", ("60", "Infirmier"), "", "74000", ""),
            line(
                "2B0000042",
                "CASANOVA",
                ("70", "Masseur-Kinésithérapeute"),
                "",
                "74000",
                "",
            ),
        ]
        .join("\n");
        let extract = read(&text, &["74000"]).unwrap();
        assert!(extract.errors.is_empty(), "{:?}", extract.errors);
        let ids: Vec<&str> = extract.people.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            ["0022802441", "02A1234567", "02B0000042", "810003456789"]
        );
        assert_eq!(describe_national_id("810003456789"), "RPPS 10003456789");
        assert_eq!(describe_national_id("02A1234567"), "ADELI 2A1234567");
    }

    #[test]
    fn identifiers_that_disagree_or_are_not_identifiers_are_refused_by_line() {
        let good = line("10003456789", "MARTIN", ("10", "Médecin"), "", "74000", "");
        let wrong_type = good.replacen("8|10003456789|", "0|10003456789|", 1);
        let wrong_number = good.replacen("8|10003456789|", "8|10003456780|", 1);
        let adeli_as_rpps =
            good.replacen("8|10003456789|810003456789|", "8|022802441|8022802441|", 1);
        let corsica_in_rpps = good.replacen(
            "8|10003456789|810003456789|",
            "8|2A003456789|82A003456789|",
            1,
        );
        let text = [
            HEADER.to_string(),
            wrong_type,
            wrong_number,
            adeli_as_rpps,
            corsica_in_rpps,
            good.replacen("|810003456789|", "|NULL|", 1),
            good.replacen("|810003456789|", "||", 1),
        ]
        .join("\n");
        let extract = read(&text, &["74000"]).unwrap();
        let numbers: Vec<usize> = extract.errors.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [2, 3, 4, 5, 6, 7], "{:?}", extract.errors);
        assert!(extract.errors[0].1.contains("Type d'identifiant PP"));
        assert!(
            extract.errors[1]
                .1
                .contains("Identifiant PP \"10003456780\"")
        );
        assert!(extract.people.is_empty());
    }

    #[test]
    fn what_the_real_file_holds_is_not_an_error() {
        // A professional with no site at all (empty address and postal code), empty
        // optional codes, a site abroad, and names with apostrophes and spaces.
        let no_site = line("10000000001", "N'DIAYE", ("10", "Médecin"), "", "", "");
        let mut fields: Vec<String> = line(
            "10000000002",
            "LE GALL",
            ("60", "Infirmier"),
            "",
            "74000",
            "",
        )
        .split('|')
        .map(str::to_string)
        .collect();
        for i in [3, 4, 5, 6, 13, 14, 15, 16, 17, 18] {
            fields[i].clear();
        }
        fields[37] = "L'HAŸ-LES-ROSES".into();
        let empty_codes = fields.join("|");
        let mut abroad: Vec<String> = line(
            "022802441",
            "D'ALMEIDA",
            ("21", "Pharmacien"),
            "",
            "1000",
            "",
        )
        .split('|')
        .map(str::to_string)
        .collect();
        abroad[38] = "99131".into();
        abroad[39] = "Belgique".into();
        let text = [HEADER.to_string(), no_site, empty_codes, abroad.join("|")].join("\n");
        let extract = read(&text, &["74000"]).unwrap();
        assert!(extract.errors.is_empty(), "{:?}", extract.errors);
        assert_eq!(extract.lines, 3);
        let ids: Vec<&str> = extract.people.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            ["810000000002"],
            "only the site of the territory is kept"
        );
        let le_gall = &extract.people["810000000002"];
        assert_eq!(le_gall.last_name, "LE GALL");
        assert_eq!(le_gall.civility, "");
        assert!(le_gall.specialties.is_empty());
        assert_eq!(le_gall.sites[0].commune, "L'HAŸ-LES-ROSES");
        assert_eq!(le_gall.sites[0].mode, "");
    }

    #[test]
    fn windows_line_endings_a_byte_order_mark_and_no_final_newline() {
        let text = format!(
            "\u{feff}{HEADER}\r\n{}\r\n{}",
            line("10000000001", "MARTIN", ("10", "Médecin"), "", "74000", ""),
            line(
                "022802441",
                "LEROY",
                ("91", "Orthophoniste"),
                "",
                "74000",
                ""
            ),
        );
        let extract = read(&text, &["74000"]).unwrap();
        assert!(extract.errors.is_empty(), "{:?}", extract.errors);
        assert_eq!(extract.lines, 2);
        assert_eq!(extract.people.len(), 2);
        // The last field before the end of line is read without its "\r".
        let layout = Layout::from_header(&format!("\u{feff}{HEADER}\r")).unwrap();
        let crlf = format!(
            "{}\r",
            line("10000000001", "MARTIN", ("10", "Médecin"), "", "74000", "")
        );
        let a = parse_line(&layout, &crlf).unwrap();
        assert_eq!(a.get(Column::PersonId), "810000000001");
    }

    #[test]
    fn what_a_professional_types_becomes_their_national_identifier() {
        assert_eq!(
            national_id_from_input("10003456789").as_deref(),
            Some("810003456789")
        );
        assert_eq!(
            national_id_from_input(" 810003456789 ").as_deref(),
            Some("810003456789")
        );
        assert_eq!(
            national_id_from_input("022802441").as_deref(),
            Some("0022802441")
        );
        assert_eq!(
            national_id_from_input("2a1234567").as_deref(),
            Some("02A1234567")
        );
        assert_eq!(
            national_id_from_input("0022802441").as_deref(),
            Some("0022802441")
        );
        assert_eq!(national_id_from_input("12"), None);
        assert_eq!(national_id_from_input("2C1234567"), None);
        assert_eq!(national_id_from_input("1000345678X"), None);
    }
}
