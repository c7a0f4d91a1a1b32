//! Indemnités (module id `indemnites`): the ledger of the indemnities paid to members
//! for their work in the CPTS's groups. A closed attendance (`meeting.attendance-closed`,
//! docs/agenda-contract.md) writes one line per attendee, computed by the rule set the
//! structure has in force at the meeting's date (`maillage:indemnity`, imported through
//! [`ledger_bindings`]); lines move brouillon → approuvée → payée under the treasurer
//! (« Trésorier », a role this module declares), capped per person and year (PASS by
//! default). Routes, fields, statuses and CSS hooks: docs/indemnity-contract.md.
//!
//! [`model`]: collections, lines, who sees what; [`ledger`]: the event, corrections,
//! the cap; [`rules`]: the bridge to the rule sets; [`pages`]: « Mon compte » and a
//! line's page; [`treasurer`]: the treasurer's list and actions; [`bareme`]: the rule
//! set in force and the dry-run; [`budgets`]: cap and budgets; [`export`]: xlsx, CSV;
//! [`task_time`]: the time logged on the projects module's tasks (`task.time-logged`),
//! added to the meetings' time in « Mon compte ».

pub mod bareme;
pub mod budgets;
pub mod export;
pub mod ledger;
pub mod model;
pub mod money;
pub mod pages;
pub mod rules;
pub mod task_time;
pub mod treasurer;
pub mod ui;

/// The `maillage:indemnity@0.1.0` imports (`rules`, `engine`), besides the SDK's.
pub mod ledger_bindings {
    wit_bindgen::generate!({
        path: "../../wit/indemnity/v0.1.0",
        world: "maillage:indemnity/ledger",
        generate_all,
    });
}

use maillage_sdk::form::Form;
use maillage_sdk::records::StoreError;
use maillage_sdk::{
    Asset, Event, Manifest, Method, NavEntry, Plugin, Request, Response, RoleDef, Widget,
};

/// The module's id: its URL segment (`/{structure}/indemnites/…`).
pub const MODULE_ID: &str = "indemnites";

const ASSETS: &[Asset] = &[Asset {
    name: "indemnites.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../assets/indemnites.css"),
}];

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Indemnity;

impl Plugin for Indemnity {
    fn manifest() -> Manifest {
        Manifest {
            id: MODULE_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Indemnités".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec![
                "storage".into(),
                // Expense notes.
                "blobs".into(),
                // Group names, the members list of the filters.
                "groups".into(),
                // Profession, exercise mode, convention, adhesion of each attendee.
                "people".into(),
                // The structure's rule sets (`maillage:indemnity` rules and engine).
                "indemnity-rules".into(),
            ],
            collections: model::collections(),
            subscriptions: vec![
                ledger::ATTENDANCE_CLOSED.into(),
                // Time logged on the projects module's tasks.
                task_time::TIME_LOGGED.into(),
            ],
            nav: vec![
                NavEntry {
                    label: "Mon compte".into(),
                    path: "/mon-compte".into(),
                },
                NavEntry {
                    label: "Trésorerie".into(),
                    path: "/tresorerie".into(),
                },
                NavEntry {
                    label: "Barème".into(),
                    path: "/bareme".into(),
                },
                NavEntry {
                    label: "Budgets".into(),
                    path: "/budgets".into(),
                },
            ],
            widgets: vec![Widget {
                // The host shows "account" widgets on its « Mon compte » page.
                id: "account".into(),
                title: "Mes indemnités".into(),
                path: "/mon-compte/widget".into(),
            }],
        }
    }

    fn roles() -> Vec<RoleDef> {
        vec![RoleDef {
            id: model::TREASURER.into(),
            label: "Trésorier".into(),
            description: "Approuve et marque payées les indemnités, choisit le barème, gère plafond et budgets.".into(),
        }]
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    /// Expense notes: their line's member and the treasurers (see `model::may_read_note`).
    fn may_read_file(blob_id: &str) -> bool {
        model::may_read_note(blob_id)
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let query = request.query.as_str();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => Ok(Response::see_other("/mon-compte")),
            (Method::Get, ["mon-compte"]) => pages::my_account(query),
            (Method::Get, ["mon-compte.xlsx"]) => export::my_account(query),
            (Method::Get, ["mon-compte", "widget"]) => pages::widget(),
            (Method::Get, ["tresorerie"]) => treasurer::ledger_page(query),
            (Method::Get, ["tresorerie", "export.xlsx"]) => export::ledger_xlsx(query),
            (Method::Get, ["tresorerie", "export.csv"]) => export::ledger_csv(query),
            (Method::Post, ["tresorerie", "approuver"]) => treasurer::approve_many(&request.form()),
            (Method::Get, ["lignes", id]) => pages::line_page(id, query),
            (Method::Post, ["lignes", id, "approuver"]) => treasurer::approve(id),
            (Method::Post, ["lignes", id, "payer"]) => treasurer::pay(id, &request.form()),
            (Method::Post, ["lignes", id, "decision"]) => treasurer::decide(id, &request.form()),
            (Method::Post, ["lignes", id, "note"]) => treasurer::attach_note(id, &request),
            (Method::Get, ["bareme"]) => bareme::page(query),
            (Method::Post, ["bareme"]) => bareme::save(&request.form()),
            (Method::Get, ["bareme", "simulation"]) => {
                bareme::simulation(&Form::parse(query.as_bytes()))
            }
            (Method::Post, ["bareme", "simulation"]) => bareme::simulation(&request.form()),
            (Method::Get, ["bareme", "simulation.csv"]) => bareme::simulation_csv(query),
            (Method::Get, ["plafond"]) => budgets::cap_page(query),
            (Method::Post, ["plafond"]) => budgets::save_cap(&request.form()),
            (Method::Get, ["budgets"]) => budgets::page(query),
            (Method::Post, ["budgets"]) => budgets::save(&request.form()),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }

    fn on_event(event: Event) -> Result<(), String> {
        match event.topic.as_str() {
            ledger::ATTENDANCE_CLOSED => ledger::on_attendance_closed(&event.payload),
            task_time::TIME_LOGGED => task_time::on_time_logged(&event.source, &event.payload),
            _ => Ok(()),
        }
    }
}

// Natively (the unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_sdk::export_plugin!(Indemnity);
