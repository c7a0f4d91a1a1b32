//! Synthetic RPPS "Personne activité" extracts (`../shared/rpps-format.md`) for tests and
//! benchmarks of the directory: `maillage dev rpps-fixture --lines N`. Deterministic for
//! a seed. Distributions are rough but realistic: about 1.65 activity lines per person,
//! professions weighted like the national register, e-mails rare, phones common.

use std::io::Write;

/// The 52 header labels, in the order of the national extract.
pub const HEADER: [&str; 52] = [
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
];

/// (code, label, weight in ‰, registration authority) — TRE-G15.
const PROFESSIONS: &[(&str, &str, u32, &str)] = &[
    ("60", "Infirmier", 300, "OI"),
    ("10", "Médecin", 250, "CNOM"),
    ("70", "Masseur-Kinésithérapeute", 150, "CNOMK"),
    ("21", "Pharmacien", 120, "CNOP"),
    ("40", "Chirurgien-Dentiste", 70, "CNOCD"),
    ("50", "Sage-Femme", 40, "CNOSF"),
    ("80", "Pédicure-Podologue", 25, "CNOPP"),
    ("91", "Orthophoniste", 25, "ARS"),
    ("96", "Psychomotricien", 10, "ARS"),
    ("28", "Opticien-Lunetier", 10, "ARS"),
];

/// Médecins' savoir-faire (TRE-R38 subset), weighted in ‰.
const SPECIALTIES: &[(&str, &str, u32)] = &[
    ("SM54", "Médecine générale", 520),
    ("SM53", "Pédiatrie", 60),
    ("SM04", "Cardiologie et maladies vasculaires", 50),
    ("SM15", "Gynécologie médicale", 40),
    ("SM42", "Psychiatrie", 60),
    ("SM08", "Dermatologie et vénéréologie", 30),
    ("SM38", "Ophtalmologie", 40),
    ("SM26", "Radio-diagnostic", 60),
    ("SM02", "Anesthésie-réanimation", 70),
    ("SM32", "Oto-rhino-laryngologie", 70),
];

const MODES: &[(&str, &str, u32)] = &[
    ("L", "Libéral", 600),
    ("S", "Salarié", 380),
    ("B", "Bénévole", 20),
];

const LAST_NAMES: &[&str] = &[
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFÈVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MÜLLER",
    "FAURE",
    "ANDRÉ",
    "MERCIER",
    "BLANC",
    "GUÉRIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
    "N'DIAYE",
    "LE GALL",
    "DA SILVA",
    "NGUYEN",
    "HOARAU",
    "PAYET",
    "BIABIANY",
];
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Marie", "MME"),
    ("Jean", "M"),
    ("Nathalie", "MME"),
    ("Pierre", "M"),
    ("Isabelle", "MME"),
    ("Michel", "M"),
    ("Sylvie", "MME"),
    ("Philippe", "M"),
    ("Catherine", "MME"),
    ("Éric", "M"),
    ("Hélène", "MME"),
    ("François", "M"),
    ("Céline", "MME"),
    ("Jérôme", "M"),
    ("Chloé", "MME"),
    ("Anaïs", "MME"),
    ("Loïc", "M"),
    ("Zoé", "MME"),
    ("Noël", "M"),
    ("Maëlle", "MME"),
];
const STREETS: &[(&str, &str)] = &[
    ("R", "Rue"),
    ("AV", "Avenue"),
    ("BD", "Boulevard"),
    ("PL", "Place"),
    ("CHE", "Chemin"),
];
const STREET_NAMES: &[&str] = &[
    "de la République",
    "Victor Hugo",
    "du Général de Gaulle",
    "des Écoles",
    "Jean Jaurès",
    "Pasteur",
    "de l'Église",
    "du Moulin",
    "des Lilas",
    "Émile Zola",
];
/// Default postal codes (commune code, name, department code, name).
const PLACES: &[(&str, &str, &str, &str, &str)] = &[
    ("74000", "74010", "Annecy", "74", "Haute-Savoie"),
    ("74960", "74010", "Annecy", "74", "Haute-Savoie"),
    ("74100", "74012", "Annemasse", "74", "Haute-Savoie"),
    ("27000", "27229", "Évreux", "27", "Eure"),
    ("69003", "69383", "Lyon", "69", "Rhône"),
    ("75011", "75111", "Paris", "75", "Paris"),
    ("13005", "13205", "Marseille", "13", "Bouches-du-Rhône"),
    ("97300", "97302", "Cayenne", "973", "Guyane"),
    ("97400", "97411", "Saint-Denis", "974", "La Réunion"),
    ("35000", "35238", "Rennes", "35", "Ille-et-Vilaine"),
];

/// Departments (code, name) over which most sites are spread, 100 postal codes each (as
/// in the real extract, where ~6,000 codes share 2 M lines).
const DEPARTMENTS: &[(&str, &str)] = &[
    ("01", "Ain"),
    ("06", "Alpes-Maritimes"),
    ("13", "Bouches-du-Rhône"),
    ("14", "Calvados"),
    ("21", "Côte-d'Or"),
    ("22", "Côtes-d'Armor"),
    ("25", "Doubs"),
    ("27", "Eure"),
    ("29", "Finistère"),
    ("31", "Haute-Garonne"),
    ("33", "Gironde"),
    ("34", "Hérault"),
    ("35", "Ille-et-Vilaine"),
    ("38", "Isère"),
    ("44", "Loire-Atlantique"),
    ("49", "Maine-et-Loire"),
    ("57", "Moselle"),
    ("59", "Nord"),
    ("62", "Pas-de-Calais"),
    ("63", "Puy-de-Dôme"),
    ("67", "Bas-Rhin"),
    ("69", "Rhône"),
    ("73", "Savoie"),
    ("74", "Haute-Savoie"),
    ("76", "Seine-Maritime"),
    ("83", "Var"),
    ("86", "Vienne"),
    ("87", "Haute-Vienne"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("2A", "Corse-du-Sud"),
    ("2B", "Haute-Corse"),
];

const COMMUNES: &[&str] = &[
    "Saint-Martin",
    "Villeneuve",
    "Beaulieu",
    "Fontaine",
    "Montagny",
    "La Roche",
    "Bellevue",
    "Saint-Julien",
    "Les Granges",
    "Champagne",
];

/// xorshift64*: tiny, deterministic, good enough for fixtures.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u32 = items.iter().map(&weight).sum();
        let mut roll = self.below(u64::from(total)) as u32;
        for item in items {
            let w = weight(item);
            if roll < w {
                return item;
            }
            roll -= w;
        }
        &items[items.len() - 1]
    }
}

/// Options of a generated extract.
#[derive(Debug, Clone)]
pub struct FixtureOptions {
    pub lines: usize,
    pub seed: u64,
    /// Restrict sites to these postal codes (default: a spread over mainland and overseas).
    pub postal_codes: Vec<String>,
}

/// Writes the header and `lines` activity lines; returns the number of people.
pub fn write(out: &mut impl Write, options: &FixtureOptions) -> std::io::Result<usize> {
    let mut rng = Rng(options.seed.max(1) ^ 0x9E37_79B9_7F4A_7C15);
    writeln!(out, "{}|", HEADER.join("|"))?;
    let mut written = 0;
    let mut people = 0;
    while written < options.lines {
        people += 1;
        let (first, civility) = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let (code, label, _, authority) = *rng.weighted(PROFESSIONS, |p| p.2);
        let specialty = (code == "10").then(|| *rng.weighted(SPECIALTIES, |s| s.2));
        // 1 site for most, up to 4: about 1.65 lines per person overall. A few people
        // have no site at all (one line, empty address): they are on no territory.
        let no_site = rng.chance(40);
        let sites = match rng.below(100) {
            _ if no_site => 1,
            0..=54 => 1,
            55..=84 => 2,
            85..=96 => 3,
            _ => 4,
        };
        let mut places = Vec::with_capacity(sites);
        for _ in 0..sites.min(options.lines - written) {
            let place = if no_site {
                Default::default()
            } else if !options.postal_codes.is_empty() {
                // The commune of a named place, else one named after the code, so
                // that a code always reads with the same commune.
                let postal = rng.pick(&options.postal_codes).clone();
                let named = PLACES.iter().find(|p| p.0 == postal);
                let commune = named.map(|p| p.2.to_uppercase()).unwrap_or_else(|| {
                    let n: usize = postal.bytes().map(usize::from).sum();
                    format!(
                        "{} {}",
                        COMMUNES[n % COMMUNES.len()],
                        postal.get(3..).unwrap_or("")
                    )
                    .to_uppercase()
                });
                let (department, department_name) = named
                    .map(|p| (p.3, p.4))
                    .or_else(|| {
                        DEPARTMENTS
                            .iter()
                            .find(|d| postal.starts_with(d.0))
                            .map(|d| (d.0, d.1))
                    })
                    .unwrap_or(("", ""));
                let commune_code = format!(
                    "{department}{}",
                    postal.get(department.len()..).unwrap_or("")
                );
                (postal, commune_code, commune, department, department_name)
            } else if rng.chance(100) {
                // A tenth of the sites in the named cities, the rest spread out.
                let place = *rng.pick(PLACES);
                (
                    place.0.to_string(),
                    place.1.to_string(),
                    place.2.to_uppercase(),
                    place.3,
                    place.4,
                )
            } else {
                let (code, name) = *rng.pick(DEPARTMENTS);
                let n = rng.below(100);
                let postal = match code {
                    // Corsica's postal codes start with 20 (200xx-201xx, 202xx-206xx).
                    "2A" => format!("20{:03}", n % 20 * 10),
                    "2B" => format!("20{:03}", 200 + n % 40 * 10),
                    _ if code.len() == 3 => format!("{code}{:02}", n % 10 * 10),
                    _ => format!("{code}{:03}", n * 10),
                };
                let commune = format!("{} {}", rng.pick(COMMUNES), n);
                (
                    postal,
                    format!("{code}{:03}", n),
                    commune.to_uppercase(),
                    code,
                    name,
                )
            };
            places.push(place);
        }
        // Most professionals are under the RPPS; professions registered by the ARS are
        // still partly under ADELI, whose numbers start with the department (2A / 2B in
        // Corsica). « Identification nationale PP » = type (8 or 0) + number.
        let adeli_share = if authority == "ARS" { 500 } else { 20 };
        let (id_type, number) = if rng.chance(adeli_share) {
            let department = places.first().and_then(|p| p.3.get(..2)).unwrap_or("75");
            ("0", format!("{department}{:07}", people % 10_000_000))
        } else {
            (
                "8",
                format!("1{:010}", 1_000_000 + people * 7 + rng.below(7) as usize),
            )
        };
        let national = format!("{id_type}{number}");
        for (postal, commune_code, commune, department, department_name) in places {
            let (mode_code, mode_label, _) = *rng.weighted(MODES, |m| m.2);
            let (street_code, street_label) = *rng.pick(STREETS);
            let mut f: Vec<String> = vec![String::new(); 52];
            f[0] = id_type.into();
            f[1] = number.clone();
            f[2] = national.clone();
            f[3] = if civility == "M" {
                "DR".into()
            } else {
                "MME".into()
            };
            f[4] = if civility == "M" {
                "Docteur".into()
            } else {
                "Madame".into()
            };
            f[5] = civility.into();
            f[6] = if civility == "M" {
                "Monsieur".into()
            } else {
                "Madame".into()
            };
            f[7] = last.into();
            f[8] = first.into();
            f[9] = code.into();
            f[10] = label.into();
            f[11] = "C".into();
            f[12] = "Civil".into();
            if let Some((s_code, s_label, _)) = specialty {
                f[13] = "S".into();
                f[14] = "Spécialité ordinale".into();
                f[15] = s_code.into();
                f[16] = s_label.into();
            }
            if postal.is_empty() {
                // No activity site: nothing of a site on the line.
                writeln!(out, "{}|", f.join("|"))?;
                written += 1;
                continue;
            }
            f[17] = mode_code.into();
            f[18] = mode_label.into();
            if rng.chance(700) {
                f[19] = format!("{:014}", rng.below(100_000_000_000_000));
                f[20] = f[19][..9].to_string();
            }
            if rng.chance(150) {
                f[21] = format!("{department}{:07}", rng.below(10_000_000));
            }
            f[23] = format!("{}", 10_000_000 + rng.below(90_000_000));
            f[24] = format!("Cabinet {} {}", label, last);
            f[28] = format!("{}", 1 + rng.below(120));
            f[30] = street_code.into();
            f[31] = street_label.into();
            f[32] = rng.pick(STREET_NAMES).to_string();
            f[35] = postal;
            f[36] = commune_code;
            f[37] = commune;
            f[38] = "99000".into();
            f[39] = "France".into();
            if rng.chance(600) {
                f[40] = format!("0{}{:08}", 1 + rng.below(5), rng.below(100_000_000));
            }
            if rng.chance(100) {
                let user =
                    crate::storage::collections::fold(&format!("{first}.{last}")).replace(' ', "-");
                f[43] = format!("{user}@exemple-sante.fr");
            }
            f[44] = department.into();
            f[45] = department_name.into();
            f[47] = authority.into();
            f[48] = "SA07".into();
            f[49] = "Cabinet individuel".into();
            writeln!(out, "{}|", f.join("|"))?;
            written += 1;
        }
    }
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(lines: usize, seed: u64, codes: &[&str]) -> (String, usize) {
        let mut out = Vec::new();
        let options = FixtureOptions {
            lines,
            seed,
            postal_codes: codes.iter().map(|c| c.to_string()).collect(),
        };
        let people = write(&mut out, &options).unwrap();
        (String::from_utf8(out).unwrap(), people)
    }

    #[test]
    fn lines_follow_the_national_layout() {
        let (text, people) = generate(5000, 7, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5001, "header plus every activity line");
        assert!(
            lines[0]
                .starts_with("Type d'identifiant PP|Identifiant PP|Identification nationale PP|")
        );
        for line in &lines {
            assert!(line.ends_with('|'));
            assert_eq!(
                line.split('|').count(),
                53,
                "52 fields and the trailing empty one: {line}"
            );
        }
        // Several activities per person on average, as in the real extract (~1.65).
        let ratio = 5000.0 / people as f64;
        assert!((1.4..1.9).contains(&ratio), "{ratio}");
        // Rare e-mails, common phones, médecins with a savoir-faire.
        let emails = lines[1..]
            .iter()
            .filter(|l| l.split('|').nth(43) != Some(""))
            .count();
        assert!((200..900).contains(&emails), "{emails}");
        let doctor = lines[1..]
            .iter()
            .find(|l| l.split('|').nth(9) == Some("10"))
            .unwrap();
        assert!(!doctor.split('|').nth(16).unwrap().is_empty());
    }

    /// The person key of the national file (`shared/rpps-format.md`): type `8` + the
    /// 11-digit RPPS number, or type `0` + the 9-character ADELI number whose first two
    /// characters are the department (2A / 2B in Corsica); mostly RPPS.
    #[test]
    fn identifiers_have_the_shapes_and_proportions_of_the_national_file() {
        let (text, people) = generate(60_000, 11, &[]);
        let mut rpps = std::collections::BTreeSet::new();
        let mut adeli = std::collections::BTreeSet::new();
        let mut corsican = 0;
        let mut no_site = 0;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split('|').collect();
            let (id_type, number, national) = (f[0], f[1], f[2]);
            assert_eq!(national, format!("{id_type}{number}"), "{line}");
            match id_type {
                "8" => {
                    assert_eq!(number.len(), 11, "{line}");
                    assert!(number.bytes().all(|b| b.is_ascii_digit()), "{line}");
                    rpps.insert(national.to_string());
                }
                "0" => {
                    assert_eq!(number.len(), 9, "{line}");
                    let (department, serial) = number.split_at(2);
                    assert!(
                        department.bytes().all(|b| b.is_ascii_digit())
                            || department == "2A"
                            || department == "2B",
                        "{line}"
                    );
                    assert!(serial.bytes().all(|b| b.is_ascii_digit()), "{line}");
                    corsican +=
                        usize::from(department.starts_with("2A") || department.starts_with("2B"));
                    adeli.insert(national.to_string());
                }
                other => panic!("type {other:?}: {line}"),
            }
            if f[35].is_empty() {
                no_site += 1;
                assert!(
                    f[24].is_empty() && f[32].is_empty() && f[37].is_empty(),
                    "{line}"
                );
            }
        }
        assert_eq!(rpps.len() + adeli.len(), people, "one key per person");
        let adeli_share = adeli.len() as f64 / people as f64;
        assert!((0.01..0.15).contains(&adeli_share), "{adeli_share}");
        assert!(corsican > 0, "some Corsican ADELI numbers");
        assert!(no_site > 0 && no_site < people / 10, "{no_site}");
    }

    #[test]
    fn a_seed_gives_the_same_extract_and_codes_can_be_imposed() {
        assert_eq!(generate(300, 1, &[]).0, generate(300, 1, &[]).0);
        assert_ne!(generate(300, 1, &[]).0, generate(300, 2, &[]).0);
        let (text, _) = generate(300, 3, &["74000", "74960"]);
        assert!(text.lines().skip(1).all(|l| {
            let code = l.split('|').nth(35).unwrap();
            // Or no site at all.
            code == "74000" || code == "74960" || code.is_empty()
        }));
    }
}
