//! Réunions (module id `agenda`): meetings of a group or of the whole structure, made by
//! hand or from a closed date poll ([`polls`]); answers with the 48 h rule and the
//! meeting's page ([`meeting`]); the émargement, its rotating QR code and the closing
//! that publishes `meeting.attendance-closed` ([`attendance`]); invitations, updates,
//! cancellations and reminders mailed with their `.ics`, and the personal feed
//! ([`calendar`]); the compte-rendu ([`minutes`]) and the discussion thread
//! (`maillage_sdk::thread`); `meeting.saved` republished for modules enabled later
//! ([`republish`]).
//!
//! Routes (module-relative): `/`, `/mois`, `/semaine`, `/mes-reunions`, `/widget`,
//! `/flux`, `/nouvelle`, `/republier`, `/r/{id}` and below it `modifier`, `annuler`,
//! `reponse`, `signer`, `presence/{code}`, `qr`, `qr/code`, `emargement`, `cloturer`,
//! `rouvrir`, `invitation.ics`, `compte-rendu`, `fil`.

pub mod attendance;
pub mod calendar;
pub mod code;
pub mod meeting;
pub mod minutes;
pub mod model;
pub mod pages;
pub mod polls;
pub mod republish;
pub mod ui;

use maillage_sdk::records::StoreError;
use maillage_sdk::{
    Asset, Event, Manifest, Method, NavEntry, Plugin, Request, Response, Widget, thread,
};

/// The module's id: its URL segment (`/{structure}/agenda/…`).
pub const MODULE_ID: &str = "agenda";

const ASSETS: &[Asset] = &[
    Asset {
        name: "agenda.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/agenda.css"),
    },
    // Copies the feed's address; selects it on focus.
    Asset {
        name: "agenda.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/agenda.js"),
    },
];

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Agenda;

impl Plugin for Agenda {
    fn manifest() -> Manifest {
        Manifest {
            id: MODULE_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Réunions".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec![
                "storage".into(),
                "events".into(),
                "groups".into(),
                "mail".into(),
                // External guests get the invitation too, when the structure allows it.
                "mail-external".into(),
                "timers".into(),
            ],
            collections: model::collections(),
            subscriptions: vec![polls::POLL_CLOSED.into()],
            nav: vec![
                NavEntry {
                    label: "Réunions".into(),
                    path: "/".into(),
                },
                NavEntry {
                    label: "Mes réunions".into(),
                    path: "/mes-reunions".into(),
                },
            ],
            widgets: vec![Widget {
                id: "my-meetings".into(),
                title: "Mes prochaines réunions".into(),
                path: "/widget".into(),
            }],
        }
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let query = request.query.as_str();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => pages::list(query),
            (Method::Get, ["mois"]) => pages::month(query),
            (Method::Get, ["semaine"]) => pages::week(query),
            (Method::Get, ["mes-reunions"]) => pages::mine(query),
            (Method::Get, ["widget"]) => pages::widget(),
            (Method::Get, ["flux"]) => pages::feed(),
            (Method::Get, ["nouvelle"]) => meeting::new_page(),
            (Method::Post, ["nouvelle"]) => meeting::create(&request.form()),
            (Method::Post, ["republier"]) => republish::republish(),
            (Method::Get, ["r", id]) => meeting::page(id, query),
            (Method::Get, ["r", id, "modifier"]) => meeting::edit_page(id),
            (Method::Post, ["r", id, "modifier"]) => meeting::update(id, &request.form()),
            (Method::Post, ["r", id, "annuler"]) => meeting::cancel(id),
            (Method::Post, ["r", id, "reponse"]) => meeting::answer(id, &request.form()),
            (Method::Get, ["r", id, "invitation.ics"]) => meeting::download(id),
            (Method::Post, ["r", id, "signer"]) => attendance::sign(id, &request.form()),
            (Method::Get, ["r", id, "presence", typed]) => attendance::presence_page(id, typed),
            (Method::Get, ["r", id, "qr"]) => attendance::qr_page(id),
            (Method::Get, ["r", id, "qr", "code"]) => attendance::qr_fragment(id),
            (Method::Get, ["r", id, "emargement"]) => attendance::register_page(id, query),
            (Method::Post, ["r", id, "emargement"]) => {
                attendance::save_register(id, &request.form())
            }
            (Method::Post, ["r", id, "cloturer"]) => attendance::close(id),
            (Method::Post, ["r", id, "rouvrir"]) => attendance::reopen(id, &request.form()),
            (Method::Get, ["r", id, "compte-rendu"]) => minutes::page(id, query),
            (Method::Post, ["r", id, "compte-rendu"]) => minutes::save(id, &request.form()),
            (Method::Post, ["r", id, "fil", rest @ ..]) => discussion(id, rest, &request),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }

    fn on_event(event: Event) -> Result<(), String> {
        match event.topic.as_str() {
            polls::POLL_CLOSED => polls::on_poll_closed(&event.payload),
            calendar::REMINDER_TOPIC => calendar::on_reminder(&event.payload),
            republish::REPUBLISH_TOPIC => republish::on_republish(&event.payload),
            _ => Ok(()),
        }
    }
}

/// The meeting's discussion thread (shared guest code, `maillage_sdk::thread`): anyone
/// who may read the meeting posts; authors edit and delete their own messages; those
/// who manage the meeting may delete any.
fn discussion(id: &str, rest: &[&str], request: &Request) -> Result<Response, StoreError> {
    let viewer = model::Viewer::current();
    let Some(loaded) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let Some(action) = thread::Action::parse(rest) else {
        return Ok(Response::not_found());
    };
    let Some(user) = viewer.user.clone() else {
        return Ok(Response::error(403, "Veuillez vous connecter."));
    };
    let moderator = viewer.manages(&loaded.meeting);
    match thread::apply(id, &action, &request.form(), &user, moderator) {
        Ok(()) => Ok(Response::see_other(&format!(
            "{}?ok=message#discussion",
            loaded.meeting.path()
        ))),
        Err(e) => Ok(e.response()),
    }
}

// Natively (the unit tests) there is no component to export.
#[cfg(target_arch = "wasm32")]
maillage_sdk::export_plugin!(Agenda);
