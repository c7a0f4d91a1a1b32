//! Small pieces shared by the agenda's pages.

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, html, script, stylesheet};
use maillage_sdk::records::StoreError;
use maillage_sdk::time;

use crate::model::{Answer, Invitation};

pub type PageResult = Result<maillage_sdk::Response, StoreError>;

/// The module's stylesheet and script, at the top of every page.
pub fn head() -> Markup {
    html! {
        (stylesheet("agenda.css"))
        (script("agenda.js"))
    }
}

/// A query-string parameter, decoded; empty when absent.
pub fn param(query: &str, name: &str) -> String {
    Form::parse(query.as_bytes()).get(name)
}

/// The confirmation a redirect asked for with `?ok=…` (and `n`, a count, for
/// `republie`).
pub fn notice(query: &str) -> Option<String> {
    let text = match param(query, "ok").as_str() {
        "cree" => "La réunion est créée ; les invitations sont envoyées.",
        "modifie" => "La réunion est modifiée.",
        "annule" => "La réunion est annulée ; les invités sont prévenus.",
        "reponse" => "Votre réponse est enregistrée.",
        "signe" => "Votre présence est enregistrée.",
        "emargement" => "L’émargement est enregistré.",
        "cloture" => "L’émargement est clos.",
        "rouvert" => "L’émargement est rouvert.",
        "compte-rendu" => "Le compte-rendu est enregistré.",
        "message" => "La discussion est à jour.",
        "republie" => {
            let count = param(query, "n").parse::<i64>().unwrap_or(0).max(0);
            return Some(crate::republish::confirmation(count));
        }
        _ => return None,
    };
    Some(text.to_string())
}

/// The confirmation a redirect asked for, as a notice (nothing when none).
pub fn notice_block(query: &str) -> Markup {
    maillage_sdk::html::notice(notice(query).as_deref())
}

pub fn answer_badge(answer: Answer) -> Markup {
    html! { span class=(answer.css()) { (answer.label()) } }
}

/// The invitee's answer, with the late-absence flag when `show_late` (coordinators).
pub fn invitation_answer(invitation: &Invitation, show_late: bool) -> Markup {
    html! {
        (answer_badge(invitation.answer()))
        @if show_late && invitation.late && invitation.answer() == Answer::Absent {
            " "
            span class="late-absence" title="Absence annoncée moins de 48 h avant la réunion" {
                "Absence tardive"
            }
        }
    }
}

/// « 20:35 » in `zone` for Unix seconds.
pub fn clock(seconds: i64, zone: &time::jiff::tz::TimeZone) -> String {
    time::time_fr(time::local(time::from_seconds(seconds), zone))
}

/// Text with its line breaks kept, each line escaped.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 {
                br;
            }
            (line)
        }
    }
}
