//! The module's settings for the structure (docs/projects-contract.md, « Settings »):
//! who creates projects (`creation`: `membres`, the default, or `coordinateurs`) and the
//! hour of the daily digest (`digest_hour`, 0–23, default 7), on `GET|POST /reglages`
//! « Réglages des projets » (coordinators). The `settings` collection (one record per
//! key) also keeps the digest timer's state for [`crate::digest`] (`digest_timer`,
//! `digest_day`, `digest_batch`).

use maillage_sdk::form::Form;
use maillage_sdk::html::{alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Response, audit, time};
use serde::Deserialize;
use serde_json::json;

use crate::model::SETTINGS;
use crate::ui::{self, PageResult};

/// Who may create a project: [`Creation`].
pub const CREATION: &str = "creation";
/// The hour of the daily digest in the structure's zone, `0`–`23`.
pub const DIGEST_HOUR: &str = "digest_hour";
/// The id of the pending digest timer.
pub const DIGEST_TIMER: &str = "digest_timer";
/// The day ("YYYY-MM-DD") the pending (or last fired) digest timer is for.
pub const DIGEST_DAY: &str = "digest_day";
/// "{day}.{account id}": the last batch continuation scheduled, so that a redelivered
/// batch does not schedule the next one twice.
pub const DIGEST_BATCH: &str = "digest_batch";

/// The digest hour when the coordinators chose none.
pub const DEFAULT_DIGEST_HOUR: u8 = 7;

const ONLY_COORDINATORS: &str = "Seuls les coordinateurs modifient les réglages des projets.";
const BAD_CREATION: &str =
    "Choisissez qui peut créer un projet : tous les membres ou seulement les coordinateurs.";
const BAD_HOUR: &str =
    "L’heure du résumé quotidien doit être un nombre entier d’heures, de 0 à 23.";

/// Who may create a project (`creation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Creation {
    /// Every member of the structure (the default: the seeds' autonomy).
    #[default]
    Membres,
    /// Coordinators only.
    Coordinateurs,
}

impl Creation {
    /// From its stored or posted code; none for anything else.
    pub fn parse(code: &str) -> Option<Creation> {
        match code.trim() {
            "membres" => Some(Creation::Membres),
            "coordinateurs" => Some(Creation::Coordinateurs),
            _ => None,
        }
    }

    /// `membres` | `coordinateurs`.
    pub fn code(self) -> &'static str {
        match self {
            Creation::Membres => "membres",
            Creation::Coordinateurs => "coordinateurs",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Creation::Membres => "Tous les membres peuvent créer un projet",
            Creation::Coordinateurs => "Seuls les coordinateurs créent les projets",
        }
    }

    /// Whether someone may create a project under this policy (`coordinator`: host
    /// role `coordinator` or `admin`).
    pub fn permits(self, coordinator: bool) -> bool {
        coordinator || self == Creation::Membres
    }
}

#[derive(Deserialize)]
struct Setting {
    #[serde(default)]
    text: Option<String>,
}

/// The stored value of `key`, if any.
pub fn get(key: &str) -> Result<Option<String>, StoreError> {
    Ok(Query::new()
        .filter("key = {:k}")
        .param("k", key)
        .first::<Setting>(SETTINGS)?
        .and_then(|s| s.text))
}

/// Stores `value` under `key`.
pub fn set(key: &str, value: &str) -> Result<(), StoreError> {
    records::upsert::<_, serde_json::Value>(
        SETTINGS,
        &["key"],
        &json!({ "key": key, "text": value }),
    )?;
    Ok(())
}

/// Who may create a project: [`Creation::Membres`] unless the coordinators chose
/// otherwise on `/reglages`.
pub fn creation_policy() -> Result<Creation, StoreError> {
    Ok(get(CREATION)?
        .as_deref()
        .and_then(Creation::parse)
        .unwrap_or_default())
}

/// The hour of the daily digest in the structure's zone ([`DEFAULT_DIGEST_HOUR`] unless
/// set).
pub fn digest_hour() -> Result<u8, StoreError> {
    Ok(get(DIGEST_HOUR)?
        .as_deref()
        .and_then(parse_hour)
        .unwrap_or(DEFAULT_DIGEST_HOUR))
}

/// An hour as typed: one or two digits, 0 to 23.
pub fn parse_hour(text: &str) -> Option<u8> {
    let text = text.trim();
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|h| *h <= 23)
}

/// Coordinators and admins (as [`crate::model::Viewer`] tells them).
fn coordinator() -> bool {
    let ctx = maillage_sdk::context();
    ctx.user.is_some() && ctx.roles.iter().any(|r| r == "coordinator" || r == "admin")
}

/// What the form carries, as typed.
struct Input {
    creation: String,
    digest_hour: String,
}

fn form_page(input: &Input, error: Option<&str>, query: &str) -> Response {
    let zone = maillage_sdk::context().time_zone;
    let saved = ui::param(query, "ok") == "reglages";
    let body = html! {
        (ui::head())
        h1 { "Réglages des projets" }
        (maillage_sdk::html::notice(saved.then_some("Les réglages des projets sont enregistrés.")))
        (alert(error))
        form class="reglages stack" method="post" action=(href("/reglages")) {
            (csrf_field())
            fieldset class="creation" {
                legend { "Création des projets" }
                @for choice in [Creation::Membres, Creation::Coordinateurs] {
                    label {
                        input type="radio" name="creation" value=(choice.code())
                            checked[input.creation == choice.code()];
                        " " (choice.label())
                    }
                }
            }
            label for="digest_hour" { "Heure du résumé quotidien des discussions (de 0 à 23)" }
            input id="digest_hour" name="digest_hour" type="number" min="0" max="23" step="1"
                required value=(input.digest_hour);
            p class="muted" {
                "Dans le fuseau horaire de la structure (" (zone) "). Le résumé n’est envoyé "
                "qu’aux membres qui l’ont demandé dans « Mes notifications », et seulement "
                "quand ils ont des messages non lus."
            }
            button type="submit" { "Enregistrer" }
        }
        p { a href=(href("/")) { "Tous les projets" } }
    };
    let response = Response::page("Réglages des projets", body);
    if error.is_some() {
        response.with_status(422)
    } else {
        response
    }
}

/// `GET /reglages` « Réglages des projets » (coordinators).
pub fn page(query: &str) -> PageResult {
    if !coordinator() {
        return ui::forbidden(ONLY_COORDINATORS);
    }
    let input = Input {
        creation: creation_policy()?.code().to_string(),
        digest_hour: digest_hour()?.to_string(),
    };
    Ok(form_page(&input, None, query))
}

/// `POST /reglages`: `creation`, `digest_hour`. A bad value re-shows the form (422),
/// nothing stored; a new hour moves the pending digest; audited `reglages.modifier`.
pub fn save(form: &Form) -> PageResult {
    if !coordinator() {
        return ui::forbidden(ONLY_COORDINATORS);
    }
    let input = Input {
        creation: form.get("creation"),
        digest_hour: form.get("digest_hour"),
    };
    let Some(creation) = Creation::parse(&input.creation) else {
        return Ok(form_page(&input, Some(BAD_CREATION), ""));
    };
    let Some(hour) = parse_hour(&input.digest_hour) else {
        return Ok(form_page(&input, Some(BAD_HOUR), ""));
    };
    let (creation_before, hour_before) = (creation_policy()?, digest_hour()?);
    set(CREATION, creation.code())?;
    set(DIGEST_HOUR, &hour.to_string())?;
    if hour != hour_before {
        crate::digest::reschedule()?;
    }
    let details = json!({
        "creation": creation.code(),
        "digest_hour": hour,
        "before": { "creation": creation_before.code(), "digest_hour": hour_before },
        "at": time::now_seconds(),
    });
    if let Err(e) = audit::write("reglages.modifier", "reglages", &details) {
        maillage_sdk::log::warn(&format!("audit failed: {e}"));
    }
    Ok(Response::see_other("/reglages?ok=reglages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_is_for_members_unless_reserved_to_coordinators() {
        assert_eq!(Creation::default(), Creation::Membres);
        assert_eq!(Creation::parse("membres"), Some(Creation::Membres));
        assert_eq!(
            Creation::parse(" coordinateurs "),
            Some(Creation::Coordinateurs)
        );
        for bad in ["", "tous", "Membres", "coordinateur"] {
            assert_eq!(Creation::parse(bad), None, "{bad}");
        }
        for c in [Creation::Membres, Creation::Coordinateurs] {
            assert_eq!(Creation::parse(c.code()), Some(c));
            assert!(c.permits(true));
        }
        assert!(Creation::Membres.permits(false));
        assert!(!Creation::Coordinateurs.permits(false));
    }

    #[test]
    fn hours_are_whole_numbers_from_0_to_23() {
        assert_eq!(parse_hour("0"), Some(0));
        assert_eq!(parse_hour("07"), Some(7));
        assert_eq!(parse_hour(" 23 "), Some(23));
        for bad in ["", "24", "-1", "7.5", "7,5", "sept", "007", "+7", "7h"] {
            assert_eq!(parse_hour(bad), None, "{bad}");
        }
    }
}
