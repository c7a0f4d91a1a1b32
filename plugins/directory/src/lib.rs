//! The directory (annuaire): the territory's health professionals from the national
//! RPPS extract ([`rpps`], [`import`]), their status with the structure and the
//! managers' private notes ([`fiche`]), the ranked search and the communication page
//! ([`search`]), each member's own fiches, and the verified links between accounts and
//! professionals ([`links`]).

pub mod fiche;
pub mod files;
pub mod import;
pub mod links;
pub mod model;
pub mod rpps;
pub mod search;

use maillage_sdk::records::StoreError;
use maillage_sdk::{Asset, Manifest, Method, NavEntry, Plugin, Request, Response, RoleDef, Widget};

/// The module's id: its URL segment (`/{structure}/annuaire/…`) and blob scope.
pub const MODULE_ID: &str = "annuaire";

/// The directory's static files, served by the SDK under content-hashed names and
/// included with `maillage_sdk::html::{script, stylesheet}`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "annuaire.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/annuaire.css"),
    },
    // The copy button of the communication page.
    Asset {
        name: "communication.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/communication.js"),
    },
    // The photo upload of "Ma fiche".
    Asset {
        name: "photo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/photo.js"),
    },
];

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Directory;

impl Plugin for Directory {
    fn manifest() -> Manifest {
        Manifest {
            id: MODULE_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Annuaire".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            // "people": the profession and adhesion of a member who linked their
            // account are proposed to the « Fiche membre » (fiche.rs).
            capabilities: vec!["storage".into(), "blobs".into(), "people".into()],
            collections: model::collections(),
            subscriptions: vec![],
            nav: vec![
                NavEntry {
                    label: "Annuaire".into(),
                    path: "/".into(),
                },
                NavEntry {
                    label: "Ma fiche".into(),
                    path: "/ma-fiche".into(),
                },
            ],
            // "account" widgets are shown on "Mon compte", not on the dashboard.
            widgets: vec![Widget {
                id: "account".into(),
                title: "Mes fiches (annuaire)".into(),
                path: "/mon-compte".into(),
            }],
        }
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    /// A fiche's photo, for every member (see `files`).
    fn may_read_file(blob_id: &str) -> bool {
        files::may_read(blob_id)
    }

    fn may_upload_file() -> bool {
        files::may_upload()
    }

    /// The gestionnaire, granted per member by the structure's admins on the « Fiche
    /// membre » (admins count too: `model::is_manager`).
    fn roles() -> Vec<RoleDef> {
        vec![RoleDef {
            id: model::MANAGER_ROLE.into(),
            label: "Gestionnaire annuaire".into(),
            description: "Gère les statuts des professionnels de l’annuaire, leurs notes privées, l’import RPPS et les demandes de liaison des comptes.".into(),
        }]
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => search::page(&request),
            (Method::Get, ["communication"]) => search::communication(&request),
            (Method::Get, ["p", id]) => fiche::professional_page(id),
            (Method::Post, ["p", id, "statut"]) => fiche::set_status(id, &request.form()),
            (Method::Post, ["p", id, "note"]) => fiche::set_note(id, &request.form()),
            (Method::Post, ["p", id, "delier"]) => fiche::unlink(id),
            (Method::Get, ["demandes"]) => links::page(&request.query),
            (Method::Post, ["demandes", id, "approuver"]) => links::approve(id),
            (Method::Post, ["demandes", id, "refuser"]) => links::refuse(id),
            (Method::Get, ["ma-fiche"]) => fiche::my_fiche_page(None),
            (Method::Post, ["ma-fiche", "lien"]) => fiche::link(&request.form()),
            (Method::Post, ["ma-fiche", kind]) => fiche::save(kind, &request.form()),
            (Method::Get, ["mon-compte"]) => fiche::account_fragment(),
            (Method::Get, ["import"]) => import::page(),
            (Method::Post, ["import", "filter"]) => Ok(import::filter(&request)),
            (Method::Post, ["import", "apply"]) => import::apply(&request),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }
}

// Natively (the reader's unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_sdk::export_plugin!(Directory);
