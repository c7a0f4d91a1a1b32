//! Documents (crate `cloud`, module id `documents`): the documents of each project (a
//! host group) in folders ([`pages`], [`model`]); several files added in one form
//! without JavaScript, content types sniffed from the bytes, names kept as display text
//! only ([`upload`], `maillage_sdk::multipart`, [`files`]), or, with the pages' script
//! (`assets/documents.js`), large files streamed to the host's upload route and then
//! deposited ([`upload::deposit`]); every replacement kept as a version,
//! restored as a new version, named versions apart from the automatic history; comments
//! with @mentions over `maillage_sdk::thread` ([`comments`]); the structure's per-file
//! limit and quota ([`settings`]). Who downloads a file: whoever may read the project of
//! a document one of whose versions it is ([`model::may_read_file`]); `document.saved`
//! published again for every document, for a module enabled later ([`republish`]).
//! Collaborative Markdown texts ([`texts`]): documents of kind `markdown` whose revisions
//! are saved from the member's base revision, merged by lines with the head when it moved
//! (`maillage_sdk::merge`), a conflict answered 409 with a conflict view that saves
//! nothing until the member resolves it; rendered safely (`maillage_sdk::markdown`), with
//! their history, each revision, its changes and restores. The national library
//! (« Bibliothèque nationale », WIT 0.2.7 `library`): coordinators and holders of the
//! module role « bibliotheque » publish a text's revision or a file's version, confirmed
//! on the host's page, and withdraw it ([`publish`]); every member reads what every
//! structure published, read-only ([`catalog`]).
//! docs/cloud-contract.md.

pub mod catalog;
pub mod comments;
pub mod files;
pub mod model;
pub mod pages;
pub mod publish;
pub mod republish;
pub mod settings;
pub mod texts;
pub mod ui;
pub mod upload;

use maillage_sdk::records::StoreError;
use maillage_sdk::{Asset, Event, Manifest, Method, NavEntry, Plugin, Request, Response, RoleDef};

/// The module's id: its URL segment (`/{structure}/documents/…`).
pub const MODULE_ID: &str = "documents";

const ASSETS: &[Asset] = &[
    Asset {
        name: "documents.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/documents.css"),
    },
    // The add and new-version forms' progressive enhancement: drag and drop, files sent
    // to the host's streamed route with progress, then a deposit (`upload::deposit`).
    Asset {
        name: "documents.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/documents.js"),
    },
];

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Cloud;

impl Plugin for Cloud {
    fn manifest() -> Manifest {
        Manifest {
            id: MODULE_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Documents".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec![
                "storage".into(),
                // The documents' files.
                "blobs".into(),
                // Projects are groups: who reads, who adds; the people a comment mentions.
                "groups".into(),
                // @mentions.
                "mail".into(),
                // `document.saved`, for the projects module's copy.
                "events".into(),
                // The republication's next batches (`republish::REPUBLISH_TOPIC`).
                "timers".into(),
                // The national library: read what every structure published…
                "library".into(),
                // …and publish (after the host's confirmation) and withdraw.
                "library-publish".into(),
            ],
            collections: model::collections(),
            subscriptions: Vec::new(),
            nav: vec![
                NavEntry {
                    label: "Documents".into(),
                    path: "/".into(),
                },
                NavEntry {
                    label: "Bibliothèque nationale".into(),
                    path: "/bibliotheque".into(),
                },
            ],
            widgets: Vec::new(),
        }
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    /// Coordinators publish to the national library without it.
    fn roles() -> Vec<RoleDef> {
        vec![RoleDef {
            id: publish::ROLE.into(),
            label: "Publication dans la bibliothèque nationale".into(),
            description:
                "Publie des documents de la structure dans la bibliothèque nationale et les retire."
                    .into(),
        }]
    }

    /// A file of a version of a document whose project the member may read.
    fn may_read_file(blob_id: &str) -> bool {
        model::may_read_file(blob_id)
    }

    /// Whoever may add documents or versions somewhere (coordinators, référents and
    /// membres actifs of a current project) sends files to the host's streamed route;
    /// a deposit (`/g/{g}/deposes`, `/d/{d}/versions/depose`) then makes them documents
    /// under the same checks as the module's own forms. Until then nobody reads them.
    fn may_upload_file() -> bool {
        model::may_upload()
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let query = request.query.as_str();
        let form = || request.form();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => pages::home(query),
            (Method::Post, ["republier"]) => republish::republish(),
            (Method::Get, ["g", g]) => pages::group(g, query),
            (Method::Post, ["g", g, "documents"]) => upload::add(g, &request),
            // Files already sent to the host's streamed route (`documents.js`).
            (Method::Post, ["g", g, "deposes"]) => upload::deposit(g, &form()),
            (Method::Post, ["g", g, "dossiers"]) => upload::create_folder(g, &form()),
            (Method::Post, ["g", g, "textes"]) => texts::create(g, &form()),
            (Method::Get, ["d", d]) => pages::document(d, query),
            (Method::Post, ["d", d, "versions"]) => upload::new_version_of(d, &request),
            (Method::Post, ["d", d, "versions", "depose"]) => upload::deposit_version(d, &form()),
            (Method::Post, ["d", d, "versions", n, "restaurer"]) => upload::restore(d, n),
            (Method::Post, ["d", d, "versions", n, "nommer"]) => {
                upload::name_version(d, n, &form())
            }
            (Method::Post, ["d", d, "fil", rest @ ..]) => comments::act(d, rest, &request),
            // Markdown texts; 404 on a file document (and the file routes above answer
            // 404 on a text).
            (Method::Get, ["d", d, "modifier"]) => texts::edit(d),
            (Method::Post, ["d", d, "modifier"]) => texts::save(d, &form()),
            (Method::Get, ["d", d, "historique"]) => texts::history(d),
            (Method::Get, ["d", d, "v", n]) => texts::revision_page(d, n),
            (Method::Get, ["d", d, "v", n, "diff"]) => texts::diff_page(d, n),
            (Method::Post, ["d", d, "v", n, "restaurer"]) => texts::restore(d, n),
            // The national library: publishing and withdrawing a document (coordinators
            // and `bibliotheque`), reading what every structure published (members).
            (Method::Get, ["d", d, "publier"]) => publish::form_page(d),
            (Method::Post, ["d", d, "publier"]) => publish::propose(d, &form()),
            (Method::Post, ["d", d, "retirer"]) => publish::withdraw(d, &form()),
            (Method::Get, ["bibliotheque"]) => catalog::search_page(query),
            (Method::Get, ["bibliotheque", e]) => catalog::entry_page(e, None),
            (Method::Get, ["bibliotheque", e, "v", n]) => catalog::entry_page(e, Some(n)),
            (Method::Get, ["reglages"]) => settings::page(query),
            (Method::Post, ["reglages"]) => settings::save(&form()),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }

    /// The module subscribes to nothing: its only events are its own timers.
    fn on_event(event: Event) -> Result<(), String> {
        match event.topic.as_str() {
            republish::REPUBLISH_TOPIC => republish::on_republish(&event.payload),
            _ => Ok(()),
        }
    }
}

// Natively (the unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_sdk::export_plugin!(Cloud);
