//! The directory's collections, its records and who may see what.

use maillage_sdk::html::{Markup, html};
use maillage_sdk::records::{
    CollectionDef, FieldDef, FieldType, field, index, or_default, with_default,
};
use serde::{Deserialize, Serialize};

pub const PROFESSIONALS: &str = "professionals";
pub const STATUS_HISTORY: &str = "status_history";
pub const NOTES: &str = "notes";
pub const FICHES: &str = "fiches";
pub const IMPORTS: &str = "imports";
/// Members' requests to link their account to a professional (see links.rs).
pub const LINK_REQUESTS: &str = "link_requests";

/// The tables the host keeps for the directory, per structure.
pub fn collections() -> Vec<CollectionDef> {
    use maillage_sdk::records::{required, text};
    let professional_ref = || FieldDef {
        required: true,
        references: Some(PROFESSIONALS.into()),
        ..field("professional", FieldType::RecordRef)
    };
    vec![
        CollectionDef {
            name: PROFESSIONALS.into(),
            fields: vec![
                // From the RPPS extract, rewritten by every import.
                required(text("rpps_id")),
                text("civility"),
                required(text("last_name")),
                text("first_name"),
                text("name_key"),
                text("profession_code"),
                text("profession"),
                field("specialties", FieldType::Json),
                text("specialties_key"),
                field("sites", FieldType::Json),
                text("postal_codes"),
                // The first four postal codes of the territory among the sites, so
                // that a code criterion is four `in` tests (see search.rs).
                text("cp1"),
                text("cp2"),
                text("cp3"),
                text("cp4"),
                text("rpps_email"),
                field("seen_in", FieldType::Integer),
                field("arrived_in", FieldType::Integer),
                // The structure's own data, which imports keep. `user_id` is the
                // approved link only: a member's request waits in `link_requests`.
                FieldDef {
                    default: Some("\"inconnu\"".into()),
                    ..text("status")
                },
                field("user_id", FieldType::UserRef),
                FieldDef {
                    default: Some("false".into()),
                    ..field("fiche_filled", FieldType::Boolean)
                },
                text("fiche_email"),
                text("care_key"),
                text("equipment_key"),
            ],
            indexes: vec![
                index(&["rpps_id"], true),
                index(&["user_id"], true),
                // Covers the search: `records.rank` scores a territory from this
                // index alone, in name order (see search.rs).
                index(
                    &[
                        "seen_in",
                        "last_name",
                        "first_name",
                        "id",
                        "profession_code",
                        "status",
                        "cp1",
                        "cp2",
                        "cp3",
                        "cp4",
                        "name_key",
                        "specialties_key",
                        "care_key",
                        "equipment_key",
                        "arrived_in",
                    ],
                    false,
                ),
                index(&["arrived_in"], false),
                index(&["status"], false),
            ],
        },
        CollectionDef {
            name: STATUS_HISTORY.into(),
            fields: vec![
                professional_ref(),
                text("from_status"),
                required(text("to_status")),
                field("by_user", FieldType::UserRef),
                text("by_name"),
            ],
            indexes: vec![index(&["professional", "created_at"], false)],
        },
        CollectionDef {
            name: NOTES.into(),
            fields: vec![professional_ref(), text("text"), text("by_name")],
            indexes: vec![index(&["professional"], true)],
        },
        CollectionDef {
            name: FICHES.into(),
            fields: vec![
                professional_ref(),
                required(text("kind")),
                field("user_id", FieldType::UserRef),
                text("phone"),
                text("email"),
                text("appointment"),
                text("website"),
                text("activity"),
                text("specialties"),
                text("care"),
                text("equipment"),
                text("photo"),
            ],
            indexes: vec![index(&["professional", "kind"], true)],
        },
        // A new collection: an additive change, applied without asking at install.
        // Links made before requests existed stay as they were (`professionals.user_id`,
        // approved), so existing data needs no migration.
        CollectionDef {
            name: LINK_REQUESTS.into(),
            fields: vec![
                professional_ref(),
                required(field("user_id", FieldType::UserRef)),
                // The account's display name when it asked, for the gestionnaires.
                text("by_name"),
                with_default(text("status"), "\"en-attente\""),
                text("decided_by_name"),
                // The professional's id while the request is the approved one, null
                // otherwise: its unique key makes a second approved link for the same
                // professional a conflict, even when two gestionnaires race.
                text("approved_for"),
            ],
            indexes: vec![
                // One request per account and professional: asking again after a
                // refusal reopens the same record.
                index(&["professional", "user_id"], true),
                index(&["approved_for"], true),
                index(&["status", "updated_at"], false),
                index(&["user_id"], false),
            ],
        },
        CollectionDef {
            name: IMPORTS.into(),
            fields: vec![
                required(field("number", FieldType::Integer)),
                text("file_name"),
                text("by_name"),
                field("lines", FieldType::Integer),
                field("kept_lines", FieldType::Integer),
                field("people", FieldType::Integer),
                field("arrivals", FieldType::Integer),
                field("departures", FieldType::Integer),
                field("errors", FieldType::Integer),
                field("error_sample", FieldType::Json),
                // ADELI identifiers gone and RPPS ones new in this import (since 0.2.0).
                field("adeli_gone", FieldType::Integer),
                field("rpps_new", FieldType::Integer),
            ],
            indexes: vec![index(&["number"], true)],
        },
    ]
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Site {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub phone: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Professional {
    pub id: String,
    pub rpps_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub civility: String,
    #[serde(default, deserialize_with = "or_default")]
    pub last_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub first_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub profession: String,
    #[serde(default, deserialize_with = "or_default")]
    pub specialties: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub sites: Vec<Site>,
    #[serde(default, deserialize_with = "or_default")]
    pub rpps_email: String,
    #[serde(default, deserialize_with = "or_default")]
    pub seen_in: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub arrived_in: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub fiche_filled: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub fiche_email: String,
}

impl Professional {
    pub fn full_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        name.trim().to_string()
    }

    /// The address to write to: the one of their fiche, else the extract's.
    pub fn email(&self) -> &str {
        if self.fiche_email.is_empty() {
            &self.rpps_email
        } else {
            &self.fiche_email
        }
    }

    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Unknown)
    }

    pub fn communes(&self) -> String {
        let mut places: Vec<String> = Vec::new();
        for site in &self.sites {
            let place = format!("{} {}", site.postal_code, site.commune);
            if !places.contains(&place) {
                places.push(place);
            }
        }
        places.join(", ")
    }
}

/// A professional's relation to the structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unknown,
    Adherent,
    Member,
    Refused,
    DoNotContact,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Unknown,
        Status::Adherent,
        Status::Member,
        Status::Refused,
        Status::DoNotContact,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Unknown => "inconnu",
            Status::Adherent => "adherent",
            Status::Member => "membre",
            Status::Refused => "refus",
            Status::DoNotContact => "ne-plus-contacter",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What this status says of an adhesion, when a member links their account (the
    /// `adherent` of `people.suggest`): adhérent yes; refus or ne plus contacter no;
    /// inconnu or membre says nothing.
    pub fn known_adhesion(self) -> Option<bool> {
        match self {
            Status::Adherent => Some(true),
            Status::Refused | Status::DoNotContact => Some(false),
            Status::Unknown | Status::Member => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Unknown => "Inconnu",
            Status::Adherent => "Adhérent",
            Status::Member => "Membre",
            Status::Refused => "Refus d’adhérer",
            Status::DoNotContact => "Ne veut plus être contacté",
        }
    }

    /// A status badge: an icon and the label (never the icon alone, for screen readers).
    pub fn badge(self) -> Markup {
        let icon = match self {
            Status::Unknown => "?",
            Status::Adherent => "★",
            Status::Member => "●",
            Status::Refused => "✕",
            Status::DoNotContact => "⊘",
        };
        html! {
            span class={ "badge status-" (self.code()) } title=(self.label()) {
                span aria-hidden="true" { (icon) }
                " "
                (self.label())
            }
        }
    }
}

/// Where a member's request to link their account to a professional stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Pending,
    Approved,
    Refused,
}

impl LinkStatus {
    pub fn code(self) -> &'static str {
        match self {
            LinkStatus::Pending => "en-attente",
            LinkStatus::Approved => "approuvee",
            LinkStatus::Refused => "refusee",
        }
    }

    /// An unknown code reads as pending: it gives no rights.
    pub fn parse(code: &str) -> LinkStatus {
        match code {
            "approuvee" => LinkStatus::Approved,
            "refusee" => LinkStatus::Refused,
            _ => LinkStatus::Pending,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LinkStatus::Pending => "en attente",
            LinkStatus::Approved => "approuvée",
            LinkStatus::Refused => "refusée",
        }
    }
}

/// A member's request to link their account to a professional. The link itself is
/// `Professional::user_id`, set only when the request is approved.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkRequest {
    pub id: String,
    pub professional: String,
    pub user_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub decided_by_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub updated_at: i64,
}

impl LinkRequest {
    pub fn status(&self) -> LinkStatus {
        LinkStatus::parse(&self.status)
    }
}

/// The directory's own role (WIT 0.2.3 module roles, see `Directory::roles` in lib.rs),
/// granted per member by the structure's admins on the « Fiche membre ».
pub const MANAGER_ROLE: &str = "gestionnaire";

/// Whether these context roles make a gestionnaire of the directory: the module's
/// role or a structure admin. (The host's older "directory-manager" right is gone: it
/// became this module role.)
pub fn is_manager(roles: &[String]) -> bool {
    roles.iter().any(|r| r == MANAGER_ROLE || r == "admin")
}

/// The acting user, as the directory sees them.
pub struct Viewer {
    /// Gestionnaire: sees and sets every status, reads and writes private notes,
    /// imports, communicates. Structure admins are managers too.
    pub manager: bool,
    /// A structure admin: the only one who may approve their own link request.
    pub admin: bool,
    pub user_id: Option<String>,
}

impl Viewer {
    pub fn current() -> Viewer {
        let ctx = maillage_sdk::context();
        Viewer {
            manager: is_manager(&ctx.roles),
            admin: ctx.roles.iter().any(|r| r == "admin"),
            user_id: ctx.user.map(|u| u.id),
        }
    }

    /// What this viewer may know of a professional's status: managers everything; the
    /// professional their own adhérent/membre status; everyone else only "adhérent".
    pub fn visible_status(&self, p: &Professional) -> Option<Status> {
        let status = p.status();
        if self.manager {
            return Some(status);
        }
        let own = self.user_id.is_some() && p.user_id == self.user_id;
        match status {
            Status::Adherent => Some(status),
            Status::Member if own => Some(status),
            _ => None,
        }
    }

    /// Statuses this viewer may search by.
    pub fn searchable_statuses(&self) -> Vec<Status> {
        if self.manager {
            Status::ALL.to_vec()
        } else {
            vec![Status::Adherent]
        }
    }
}

/// TRE-G15 professions (code, label), in the order of the search form.
pub const PROFESSIONS: &[(&str, &str)] = &[
    ("10", "Médecin"),
    ("21", "Pharmacien"),
    ("40", "Chirurgien-dentiste"),
    ("50", "Sage-femme"),
    ("60", "Infirmier"),
    ("70", "Masseur-kinésithérapeute"),
    ("80", "Pédicure-podologue"),
    ("91", "Orthophoniste"),
    ("92", "Orthoptiste"),
    ("94", "Ergothérapeute"),
    ("96", "Psychomotricien"),
    ("98", "Diététicien"),
    ("26", "Audioprothésiste"),
    ("28", "Opticien-lunetier"),
];

/// Common savoir-faire (TRE-R38), suggested in the search form.
pub const SPECIALTIES: &[&str] = &[
    "Médecine générale",
    "Pédiatrie",
    "Psychiatrie",
    "Cardiologie et maladies vasculaires",
    "Gynécologie médicale",
    "Gynécologie-obstétrique",
    "Dermatologie et vénéréologie",
    "Ophtalmologie",
    "Oto-rhino-laryngologie",
    "Radio-diagnostic",
    "Anesthésie-réanimation",
    "Gériatrie",
];

/// "|medecine generale|pediatrie|": folded, with separators, so that `~ "|x|"`
/// matches one whole item.
pub fn list_key(items: &[String]) -> String {
    let mut key = String::from("|");
    for item in items {
        key.push_str(&maillage_sdk::text::fold(item));
        key.push('|');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|r| (*r).to_string()).collect()
    }

    #[test]
    fn managers_hold_the_module_role_or_are_admins() {
        assert!(is_manager(&roles(&["member", "gestionnaire"])));
        assert!(!is_manager(&roles(&["member", "directory-manager"])));
        assert!(is_manager(&roles(&["member", "coordinator", "admin"])));
        assert!(!is_manager(&roles(&["member", "coordinator"])));
        assert!(!is_manager(&roles(&[])));
    }

    #[test]
    fn link_statuses_round_trip_and_unknown_ones_give_no_rights() {
        for status in [
            LinkStatus::Pending,
            LinkStatus::Approved,
            LinkStatus::Refused,
        ] {
            assert_eq!(LinkStatus::parse(status.code()), status);
        }
        assert_eq!(LinkStatus::parse(""), LinkStatus::Pending);
        assert_eq!(LinkStatus::parse("approuvée"), LinkStatus::Pending);
    }

    #[test]
    fn only_explicit_statuses_say_something_of_an_adhesion() {
        assert_eq!(Status::Adherent.known_adhesion(), Some(true));
        assert_eq!(Status::Refused.known_adhesion(), Some(false));
        assert_eq!(Status::DoNotContact.known_adhesion(), Some(false));
        assert_eq!(Status::Unknown.known_adhesion(), None);
        assert_eq!(Status::Member.known_adhesion(), None);
    }
}
