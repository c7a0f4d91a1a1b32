//! Projets (module id `projets`): the structure's projet de santé — its missions
//! ([`model`]), the projects bound to the host's groups and their actions
//! ([`projects`]), tasks with assignees, due dates and recurrence ([`tasks`],
//! [`recurrence`]), time spent with the date the work was done, for oneself or traced on
//! someone's behalf, published as `task.time-logged` ([`timelog`]), and the project's
//! discussion thread with its unread marks, poller and mentions ([`discussion`], over
//! `maillage_sdk::thread`); the structure's announcements ([`announcements`]) and
//! « Écrire au groupe » ([`group_mail`]); copies of the agenda's meetings and the cloud's
//! documents of groups, from their events ([`meetings`], [`documents`], [`copies`]).
//! docs/projects-contract.md.

pub mod announcements;
pub mod copies;
pub mod digest;
pub mod discussion;
pub mod documents;
pub mod group_mail;
pub mod meetings;
pub mod membership;
pub mod model;
pub mod preferences;
pub mod projects;
pub mod recurrence;
pub mod settings;
pub mod tasks;
pub mod timelog;
pub mod ui;

use maillage_sdk::records::StoreError;
use maillage_sdk::{Asset, Manifest, Method, NavEntry, Plugin, Request, Response, RoleDef, Widget};

/// The module's id: its URL segment (`/{structure}/projets/…`).
pub const MODULE_ID: &str = "projets";

const ASSETS: &[Asset] = &[Asset {
    name: "projets.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../assets/projets.css"),
}];

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Projects;

impl Plugin for Projects {
    fn manifest() -> Manifest {
        let nav = |label: &str, path: &str| NavEntry {
            label: label.into(),
            path: path.into(),
        };
        Manifest {
            id: MODULE_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Projets".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec![
                "storage".into(),
                "events".into(),
                "groups".into(),
                "groups-write".into(),
                "mail".into(),
                "timers".into(),
            ],
            collections: model::collections(),
            // The agenda's meetings of groups, for the project page and the tasks; the
            // cloud's documents of groups, for the project page.
            subscriptions: vec![
                meetings::MEETING_SAVED.into(),
                documents::DOCUMENT_SAVED.into(),
            ],
            nav: vec![
                nav("Projets", "/"),
                nav("Mes projets", "/mes-projets"),
                nav("Mes tâches", "/mes-taches"),
                nav("Projet de santé", "/projet-de-sante"),
                nav("Annonces", "/annonces"),
            ],
            widgets: vec![
                Widget {
                    id: "my-projects".into(),
                    title: "Mes projets".into(),
                    path: "/widget/projets".into(),
                },
                Widget {
                    id: "my-tasks".into(),
                    title: "Mes tâches".into(),
                    path: "/widget/taches".into(),
                },
                Widget {
                    id: "announcements".into(),
                    title: "Annonces de la structure".into(),
                    path: "/widget/annonces".into(),
                },
                Widget {
                    id: "unread-threads".into(),
                    title: "Discussions non lues".into(),
                    path: "/widget/fils".into(),
                },
            ],
        }
    }

    /// Coordinators publish announcements without it.
    fn roles() -> Vec<RoleDef> {
        vec![RoleDef {
            id: announcements::ROLE.into(),
            label: "Rédaction des annonces".into(),
            description: "Publie et envoie les annonces de la structure.".into(),
        }]
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    /// The daily digest's timer (`digest::TOPIC`), the agenda's `meeting.saved` and the
    /// cloud's `document.saved`.
    fn on_event(event: maillage_sdk::Event) -> Result<(), String> {
        match event.topic.as_str() {
            digest::TOPIC => digest::on_event(&event),
            meetings::MEETING_SAVED => meetings::on_saved(&event.source, &event.payload),
            documents::DOCUMENT_SAVED => documents::on_saved(&event.source, &event.payload),
            _ => Ok(()),
        }
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let query = request.query.as_str();
        let form = || request.form();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => projects::list(query, false),
            (Method::Get, ["mes-projets"]) => projects::list(query, true),
            (Method::Get, ["export.csv"]) => projects::export(query, false, ui::FileKind::Csv),
            (Method::Get, ["export.xlsx"]) => projects::export(query, false, ui::FileKind::Xlsx),
            (Method::Get, ["projet-de-sante"]) => projects::health_project(query),
            (Method::Get, ["missions"]) => projects::missions_page(query),
            (Method::Post, ["missions"]) => projects::save_missions(&form()),
            (Method::Get, ["nouveau"]) => projects::new_page(query),
            (Method::Post, ["nouveau"]) => projects::create(&form()),
            (Method::Get, ["mes-taches"]) => tasks::mine(query),
            (Method::Get, ["mes-taches.csv"]) => tasks::mine_export(query, ui::FileKind::Csv),
            (Method::Get, ["mes-taches.xlsx"]) => tasks::mine_export(query, ui::FileKind::Xlsx),
            (Method::Get, ["mon-temps"]) => timelog::mine(query),
            (Method::Get, ["mon-temps.csv"]) => timelog::mine_export(query, ui::FileKind::Csv),
            (Method::Get, ["mon-temps.xlsx"]) => timelog::mine_export(query, ui::FileKind::Xlsx),
            (Method::Get, ["temps"]) => timelog::structure_page(query),
            (Method::Get, ["temps.csv"]) => timelog::structure_export(query, ui::FileKind::Csv),
            (Method::Get, ["temps.xlsx"]) => timelog::structure_export(query, ui::FileKind::Xlsx),
            (Method::Post, ["temps", "republier"]) => timelog::republish(),
            (Method::Get, ["preferences"]) => preferences::page(query),
            (Method::Post, ["preferences"]) => preferences::save(&form()),
            (Method::Get, ["reglages"]) => settings::page(query),
            (Method::Post, ["reglages"]) => settings::save(&form()),
            (Method::Get, ["widget", "projets"]) => tasks::projects_widget(),
            (Method::Get, ["widget", "taches"]) => tasks::widget(),
            (Method::Get, ["widget", "fils"]) => discussion::widget(),
            (Method::Get, ["widget", "annonces"]) => announcements::widget(),
            (Method::Get, ["annonces"]) => announcements::list(query),
            (Method::Get, ["annonces", "nouvelle"]) => announcements::new_page(),
            (Method::Post, ["annonces", "nouvelle"]) => announcements::create(&form()),
            (Method::Get, ["annonces", a, "modifier"]) => announcements::edit_page(a),
            (Method::Post, ["annonces", a, "modifier"]) => announcements::update(a, &form()),
            (Method::Post, ["annonces", a, "supprimer"]) => announcements::delete(a),
            (Method::Post, ["annonces", a, "envoyer"]) => announcements::send(a),
            (Method::Get, ["p", g]) => projects::page(g, query),
            (Method::Get, ["p", g, "modifier"]) => projects::edit_page(g),
            (Method::Post, ["p", g, "modifier"]) => projects::update(g, &form()),
            (Method::Post, ["p", g, "rejoindre"]) => membership::request_join(g, &form()),
            (Method::Post, ["p", g, "demandes", r, "accepter"]) => membership::decide(g, r, true),
            (Method::Post, ["p", g, "demandes", r, "refuser"]) => membership::decide(g, r, false),
            (Method::Post, ["p", g, "membres"]) => membership::add(g, &form()),
            (Method::Post, ["p", g, "membres", u]) => membership::set_role(g, u, &form()),
            (Method::Post, ["p", g, "membres", u, "retirer"]) => membership::remove(g, u),
            (Method::Post, ["p", g, "archiver"]) => membership::archive(g, &form()),
            (Method::Get, ["p", g, "ecrire"]) => group_mail::page(g),
            (Method::Post, ["p", g, "ecrire"]) => group_mail::send(g, &form()),
            (Method::Get, ["p", g, "actions", "nouvelle"]) => projects::action_page(g, None),
            (Method::Post, ["p", g, "actions", "nouvelle"]) => {
                projects::save_action(g, None, &form())
            }
            (Method::Get, ["p", g, "actions", a, "modifier"]) => projects::action_page(g, Some(a)),
            (Method::Post, ["p", g, "actions", a, "modifier"]) => {
                projects::save_action(g, Some(a), &form())
            }
            (Method::Post, ["p", g, "actions", a, "supprimer"]) => projects::delete_action(g, a),
            (Method::Post, ["p", g, "taches"]) => tasks::create(g, &form()),
            (Method::Get, ["p", g, "taches", t]) => tasks::page(g, t, query),
            (Method::Get, ["p", g, "taches", t, "modifier"]) => tasks::edit_page(g, t),
            (Method::Post, ["p", g, "taches", t, "modifier"]) => tasks::update(g, t, &form()),
            (Method::Post, ["p", g, "taches", t, "faite"]) => tasks::done(g, t),
            (Method::Post, ["p", g, "taches", t, "rouvrir"]) => tasks::reopen(g, t),
            (Method::Post, ["p", g, "taches", t, "supprimer"]) => tasks::delete(g, t),
            (Method::Post, ["p", g, "taches", t, "temps"]) => timelog::log(g, t, &form()),
            (Method::Get, ["p", g, "temps"]) => timelog::project_page(g, query),
            (Method::Get, ["p", g, "temps.csv"]) => {
                timelog::project_export(g, query, ui::FileKind::Csv)
            }
            (Method::Get, ["p", g, "temps.xlsx"]) => {
                timelog::project_export(g, query, ui::FileKind::Xlsx)
            }
            (Method::Get, ["p", g, "temps", e, "modifier"]) => timelog::edit_page(g, e),
            (Method::Post, ["p", g, "temps", e, "modifier"]) => timelog::update(g, e, &form()),
            (Method::Post, ["p", g, "temps", e, "supprimer"]) => timelog::delete(g, e),
            (Method::Get, ["p", g, "fil", "suivi"]) => discussion::poll(g, query),
            (Method::Post, ["p", g, "fil", rest @ ..]) => discussion::act(g, rest, &request),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }
}

// Natively (the unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_sdk::export_plugin!(Projects);
