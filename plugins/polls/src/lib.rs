//! Date polls (« sondages de date », replacing Doodle): the organiser proposes slots
//! (timed, in an IANA zone, or whole days), the invitees answer Oui / Non / Si besoin,
//! the organiser retains a date and `poll.closed` lets other modules create the meeting.
//! Invitations, the reminder (a timer), the chosen date and « tout le monde a répondu »
//! go by mail. Routes, fields, CSS hooks and events: docs/polls-contract.md.
//!
//! [`model`]: collections, records, who sees what; [`input`]: form checks; [`actions`]:
//! the writes; [`pages`]: the HTML; [`export`]: CSV and XLSX; [`notify`]: mails, timer.

mod actions;
mod export;
mod input;
mod model;
mod notify;
mod pages;

use maillage_sdk::form::Form;
use maillage_sdk::records::StoreError;
use maillage_sdk::{Asset, Event, Manifest, Method, NavEntry, Plugin, Request, Response, Widget};

/// The module's stylesheet (results table, facts, forms), linked by every page.
const ASSETS: &[Asset] = &[Asset {
    name: "polls.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../assets/polls.css"),
}];

struct Polls;

impl Plugin for Polls {
    fn manifest() -> Manifest {
        Manifest {
            id: "polls".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            name: "Sondages de date".into(),
            wit_range: maillage_sdk::WIT_RANGE.into(),
            capabilities: vec![
                "storage".into(),
                "events".into(),
                "groups".into(),
                "mail".into(),
                "timers".into(),
            ],
            collections: model::collections(),
            subscriptions: vec![],
            nav: vec![NavEntry {
                label: "Sondages".into(),
                path: "/".into(),
            }],
            widgets: vec![Widget {
                id: "open-polls".into(),
                title: "Sondages en attente".into(),
                path: "/widget".into(),
            }],
        }
    }

    fn assets() -> &'static [Asset] {
        ASSETS
    }

    fn handle(request: Request) -> Response {
        let segments = request.segments();
        let result: Result<Response, StoreError> = match (request.method, segments.as_slice()) {
            (Method::Get, []) => pages::list(),
            (Method::Get, ["widget"]) => pages::widget(),
            (Method::Get, ["new"]) => Ok(pages::new_form(
                &Form::parse(request.query.as_bytes()),
                None,
            )),
            (Method::Post, ["new"]) => actions::create(&request.form()),
            (Method::Get, ["p", id]) => pages::poll(id),
            (Method::Post, ["p", id, "answer"]) => actions::answer(id, &request.form()),
            (Method::Get, ["p", id, "modifier"]) => pages::edit(id),
            (Method::Post, ["p", id, "modifier"]) => actions::edit(id, &request.form()),
            (Method::Post, ["p", id, "cloturer"]) => actions::close(id, &request.form()),
            (Method::Get, ["p", id, "export.csv"]) => export::csv(id),
            (Method::Get, ["p", id, "export.xlsx"]) => export::xlsx(id),
            _ => Ok(Response::not_found()),
        };
        maillage_sdk::records::or_unavailable(result)
    }

    fn on_event(event: Event) -> Result<(), String> {
        notify::on_event(&event)
    }
}

maillage_sdk::export_plugin!(Polls);
