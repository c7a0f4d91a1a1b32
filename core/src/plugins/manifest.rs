//! The plugin manifest as the host sees it, and its validation.
//! Plain Rust types: nothing outside `plugins` sees binding types.

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::storage::collections::CollectionDef;

/// The newest `maillage:plugin` WIT version this host implements.
pub const HOST_WIT_VERSION: Version = Version::new(0, 2, 7);

/// Every WIT version the host implements, each with its own bindings: a plugin built
/// against any semver-compatible version of one of them loads.
pub const PROVIDED_WIT_VERSIONS: [Version; 2] = [Version::new(0, 1, 1), HOST_WIT_VERSION];

/// The plugin WIT versions this host loads.
pub fn supported_wit_range() -> VersionReq {
    VersionReq::parse(">=0.1.0, <0.3.0").expect("static range")
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// The document store, scoped to (structure, plugin).
    Storage,
    /// Storing files (blobs), scoped to (structure, plugin).
    Blobs,
    /// Publishing into the durable event outbox.
    Events,
    /// Reading the structure's groups, their members and roles (and the members list).
    Groups,
    /// Changing the structure's groups as the acting member: create, rename, archive,
    /// members and join requests, under the host's group rules (WIT 0.2.6).
    GroupsWrite,
    /// Mailing members of the structure through the host's outbox (WIT 0.2.2).
    Mail,
    /// Mailing addresses outside the structure (guests), with `Mail` (WIT 0.2.2).
    MailExternal,
    /// Scheduling events for itself at an instant (WIT 0.2.2).
    Timers,
    /// Reading what the structure knows of its members: profession, exercise mode,
    /// employer convention, adhesions; suggesting defaults (WIT 0.2.3).
    People,
    /// Computing indemnities with the structure's rule sets (`maillage:indemnity`).
    IndemnityRules,
    /// Reading the national library of the module: the entries published through its id
    /// by every structure (WIT 0.2.7).
    Library,
    /// Proposing documents to the national library and withdrawing the structure's own,
    /// with `Library`; published once a member confirmed on the host's page (WIT 0.2.7).
    LibraryPublish,
    /// Outbound HTTP to one named host.
    Http(String),
}

impl Capability {
    pub fn parse(text: &str) -> Option<Capability> {
        match text {
            "storage" => Some(Capability::Storage),
            "blobs" => Some(Capability::Blobs),
            "events" => Some(Capability::Events),
            "groups" => Some(Capability::Groups),
            "groups-write" => Some(Capability::GroupsWrite),
            "mail" => Some(Capability::Mail),
            "mail-external" => Some(Capability::MailExternal),
            "timers" => Some(Capability::Timers),
            "people" => Some(Capability::People),
            "indemnity-rules" => Some(Capability::IndemnityRules),
            "library" => Some(Capability::Library),
            "library-publish" => Some(Capability::LibraryPublish),
            _ => text
                .strip_prefix("http:")
                .filter(|host| {
                    !host.is_empty()
                        && host
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                })
                .map(|host| Capability::Http(host.to_ascii_lowercase())),
        }
    }

    pub fn describe_fr(&self) -> String {
        match self {
            Capability::Storage => "Stocker ses données".into(),
            Capability::Blobs => "Stocker des fichiers".into(),
            Capability::Events => "Publier des événements".into(),
            Capability::Groups => "Lire les groupes et les membres".into(),
            Capability::GroupsWrite => {
                "Créer et modifier des groupes au nom du membre (membres, demandes, archivage)"
                    .into()
            }
            Capability::Mail => "Envoyer des courriels aux membres".into(),
            Capability::MailExternal => {
                "Envoyer des courriels à des invités extérieurs à la structure".into()
            }
            Capability::Timers => "Programmer des rappels".into(),
            Capability::People => {
                "Lire la fiche des membres (profession, mode d’exercice, adhésion)".into()
            }
            Capability::IndemnityRules => {
                "Calculer les indemnités avec le barème de la structure".into()
            }
            Capability::Library => "Lire la bibliothèque nationale".into(),
            Capability::LibraryPublish => {
                "Proposer des documents à la bibliothèque nationale (publiés après confirmation d’un coordinateur)"
                    .into()
            }
            Capability::Http(host) => format!("Appeler le service externe {host}"),
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capability::Storage => f.write_str("storage"),
            Capability::Blobs => f.write_str("blobs"),
            Capability::Events => f.write_str("events"),
            Capability::Groups => f.write_str("groups"),
            Capability::GroupsWrite => f.write_str("groups-write"),
            Capability::Mail => f.write_str("mail"),
            Capability::MailExternal => f.write_str("mail-external"),
            Capability::Timers => f.write_str("timers"),
            Capability::People => f.write_str("people"),
            Capability::IndemnityRules => f.write_str("indemnity-rules"),
            Capability::Library => f.write_str("library"),
            Capability::LibraryPublish => f.write_str("library-publish"),
            Capability::Http(host) => write!(f, "http:{host}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavEntry {
    pub label: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widget {
    pub id: String,
    pub title: String,
    pub path: String,
}

/// A role a module declares (WIT 0.2.3 `roles` export), granted per member by the
/// structure's admins and listed in the module's call context when held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    pub id: String,
    pub label: String,
    pub description: String,
}

/// Host role names a module cannot declare.
const HOST_ROLES: &[&str] = &["member", "coordinator", "admin"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub version: Version,
    pub name: String,
    pub wit_range: VersionReq,
    pub capabilities: Vec<Capability>,
    /// Typed tables (WIT 0.2); empty for 0.1 plugins, which use the document store.
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    pub subscriptions: Vec<String>,
    pub nav: Vec<NavEntry>,
    pub widgets: Vec<Widget>,
    /// Roles the module declares (WIT 0.2.3); empty before.
    #[serde(default)]
    pub roles: Vec<RoleDef>,
}

/// The manifest exactly as the plugin returned it, before validation.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub id: String,
    pub version: String,
    pub name: String,
    pub wit_range: String,
    pub capabilities: Vec<String>,
    pub collections: Vec<CollectionDef>,
    pub subscriptions: Vec<String>,
    pub nav: Vec<NavEntry>,
    pub widgets: Vec<Widget>,
    pub roles: Vec<RoleDef>,
}

/// Path segments the host serves inside a structure; a module cannot be mounted there.
const RESERVED_MODULE_IDS: &[&str] = &[
    "admin",
    "groupes",
    "fichiers",
    "imports",
    "bibliotheque",
    "plateforme",
];

fn valid_id(id: &str) -> bool {
    !RESERVED_MODULE_IDS.contains(&id)
        && !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && id.as_bytes()[0].is_ascii_lowercase()
}

fn valid_relative_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains("..") && !path.contains("//") && path.len() <= 256
}

impl RawManifest {
    /// Validates every field; errors are English, for logs and the CLI.
    pub fn validate(self) -> Result<Manifest, String> {
        if !valid_id(&self.id) {
            return Err(format!(
                "plugin id {:?} must be lowercase letters, digits and dashes",
                self.id
            ));
        }
        let version = Version::parse(&self.version).map_err(|e| {
            format!(
                "plugin {} has an invalid version {:?}: {e}",
                self.id, self.version
            )
        })?;
        let wit_range = VersionReq::parse(&self.wit_range).map_err(|e| {
            format!(
                "plugin {} has an invalid WIT range {:?}: {e}",
                self.id, self.wit_range
            )
        })?;
        if !PROVIDED_WIT_VERSIONS.iter().any(|v| wit_range.matches(v)) {
            return Err(format!(
                "plugin {} supports maillage:plugin {} but this host provides maillage:plugin@{}",
                self.id, self.wit_range, HOST_WIT_VERSION
            ));
        }
        let capabilities = self
            .capabilities
            .iter()
            .map(|c| {
                Capability::parse(c).ok_or_else(|| {
                    format!("plugin {} asks for an unknown capability {c:?}", self.id)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if capabilities.contains(&Capability::LibraryPublish)
            && !capabilities.contains(&Capability::Library)
        {
            return Err(format!(
                "plugin {} asks for \"library-publish\" without \"library\" (publishing needs reading)",
                self.id
            ));
        }
        if self.name.trim().is_empty() {
            return Err(format!("plugin {} has an empty name", self.id));
        }
        for path in self
            .nav
            .iter()
            .map(|n| &n.path)
            .chain(self.widgets.iter().map(|w| &w.path))
        {
            if !valid_relative_path(path) {
                return Err(format!(
                    "plugin {} declares an invalid path {path:?}",
                    self.id
                ));
            }
        }
        crate::storage::collections::validate(&self.id, &self.collections)
            .map_err(|e| format!("plugin {}: {e}", self.id))?;
        let mut seen = std::collections::HashSet::new();
        for role in &self.roles {
            let well_formed = !role.id.is_empty()
                && role.id.len() <= 40
                && role.id.as_bytes()[0].is_ascii_lowercase()
                && role
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed || HOST_ROLES.contains(&role.id.as_str()) {
                return Err(format!(
                    "plugin {} declares an invalid role id {:?} (lowercase letters, digits and dashes; not a host role)",
                    self.id, role.id
                ));
            }
            if role.label.trim().is_empty() || !seen.insert(role.id.as_str()) {
                return Err(format!(
                    "plugin {} declares role {:?} twice or without a label",
                    self.id, role.id
                ));
            }
        }
        Ok(Manifest {
            id: self.id,
            version,
            name: self.name,
            wit_range,
            capabilities,
            collections: self.collections,
            subscriptions: self.subscriptions,
            nav: self.nav,
            widgets: self.widgets,
            roles: self.roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawManifest {
        RawManifest {
            id: "polls".into(),
            version: "0.1.0".into(),
            name: "Sondages".into(),
            wit_range: "^0.1".into(),
            capabilities: vec!["storage".into(), "http:api.example.org".into()],
            collections: vec![],
            subscriptions: vec![],
            nav: vec![NavEntry {
                label: "Sondages".into(),
                path: "/".into(),
            }],
            widgets: vec![],
            roles: vec![],
        }
    }

    #[test]
    fn refuses_host_role_names_and_duplicate_roles() {
        let role = |id: &str| RoleDef {
            id: id.into(),
            label: "Trésorier".into(),
            description: String::new(),
        };
        assert!(
            RawManifest {
                roles: vec![role("tresorier")],
                ..raw()
            }
            .validate()
            .is_ok()
        );
        for bad in [
            vec![role("admin")],
            vec![role("Trésorier")],
            vec![role("a"), role("a")],
        ] {
            assert!(
                RawManifest {
                    roles: bad,
                    ..raw()
                }
                .validate()
                .is_err()
            );
        }
    }

    #[test]
    fn library_publish_needs_library() {
        let with = |caps: &[&str]| RawManifest {
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            ..raw()
        };
        let m = with(&["library", "library-publish"]).validate().unwrap();
        assert_eq!(
            m.capabilities,
            vec![Capability::Library, Capability::LibraryPublish]
        );
        assert!(with(&["library"]).validate().is_ok());
        let err = with(&["storage", "library-publish"])
            .validate()
            .unwrap_err();
        assert!(err.contains("library-publish"), "{err}");
        for cap in [Capability::Library, Capability::LibraryPublish] {
            assert_eq!(Capability::parse(&cap.to_string()), Some(cap));
        }
    }

    #[test]
    fn accepts_a_valid_manifest() {
        let m = raw().validate().unwrap();
        assert_eq!(
            m.capabilities,
            vec![
                Capability::Storage,
                Capability::Http("api.example.org".into())
            ]
        );
    }

    #[test]
    fn refuses_a_range_that_excludes_the_host_naming_both_versions() {
        let err = RawManifest {
            wit_range: "^0.3".into(),
            ..raw()
        }
        .validate()
        .unwrap_err();
        let host = HOST_WIT_VERSION.to_string();
        assert!(err.contains("^0.3") && err.contains(&host), "{err}");
    }

    #[test]
    fn refuses_bad_ids_versions_capabilities_and_paths() {
        // Host sections of a structure cannot be shadowed by a module.
        for reserved in ["admin", "groupes", "bibliotheque", "plateforme"] {
            assert!(
                RawManifest {
                    id: reserved.into(),
                    ..raw()
                }
                .validate()
                .is_err()
            );
        }
        assert!(
            RawManifest {
                id: "Polls!".into(),
                ..raw()
            }
            .validate()
            .is_err()
        );
        assert!(
            RawManifest {
                version: "1".into(),
                ..raw()
            }
            .validate()
            .is_err()
        );
        assert!(
            RawManifest {
                capabilities: vec!["root".into()],
                ..raw()
            }
            .validate()
            .is_err()
        );
        let nav = vec![NavEntry {
            label: "x".into(),
            path: "/../admin".into(),
        }];
        assert!(RawManifest { nav, ..raw() }.validate().is_err());
    }
}
