//! Reading the national RPPS "Personne activité" extract (`shared/rpps-format.md`):
//! columns found by header label (labels changed between releases, so they are
//! compared folded, with known aliases), one line per activity, people keyed by
//! "Identification nationale PP". Malformed lines are reported with their numbers.

use std::collections::BTreeMap;

/// The columns the directory uses, with the labels they have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
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
}

const COLUMNS: [(Column, &[&str], bool); 17] = [
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
];

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
    if id.len() != 11 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid Identification nationale PP {id:?}"));
    }
    let postal = activity.get(Column::PostalCode);
    if !postal.is_empty()
        && (postal.len() != 5 || !postal.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
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
        f[2] = id;
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
        let martin = &extract.people["10000000001"];
        assert_eq!(martin.sites.len(), 2);
        assert_eq!(martin.specialties, ["Médecine générale"]);
        assert_eq!(martin.sites[0].address, "12 Rue des Écoles");
        assert_eq!(martin.sites[1].email, "a@b.fr");
    }

    #[test]
    fn columns_are_found_by_label_even_reordered_or_relabelled() {
        // Columns in another order, labels without the "(coord. structure)" suffix and
        // with other case and apostrophes: still found.
        let header = "Code postal|Nom d’exercice|PRÉNOM D'EXERCICE|Identification nationale PP|Code profession|Libellé profession|";
        let layout = Layout::from_header(header).unwrap();
        let a = parse_line(&layout, "74000|DUPONT|Zoé|10000000009|21|Pharmacien|").unwrap();
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
        latin1.extend_from_slice(b"\xe9"); // "é" in Latin-1
        let text = [
            HEADER.to_string(),
            line("10000000001", "MARTIN", ("10", "Médecin"), "", "74000", ""),
            "10000000002|trop|court".to_string(),
            line("ABC", "X", ("10", "Médecin"), "", "74000", ""),
            line("10000000004", "X", ("10", "Médecin"), "", "740", ""),
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
        assert_eq!(numbers, [3, 4, 5, 6], "{:?}", extract.errors);
        assert!(extract.errors[0].1.contains("fields instead of 53"));
        assert!(extract.errors[3].1.contains("UTF-8"));
        assert_eq!(extract.people.len(), 1);
    }
}
