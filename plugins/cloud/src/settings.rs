//! The structure's storage limits (docs/cloud-contract.md, « Limits »): the largest file
//! one document version may be (`limite_fichier_mo`, default 10 Mo) and the space every
//! version of every document may take together (`quota_mo`, default 1 024 Mo), on
//! `GET|POST /reglages` « Limites des documents » (the structure's admins). The host has
//! its own ceilings before these (its request body limit, its blob limit): an upload over
//! them is refused by the host or by the module, and nothing is kept either way.

use maillage_sdk::form::Form;
use maillage_sdk::html::{alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Response, audit};
use serde::Deserialize;
use serde_json::json;

use crate::files::{mb, size_fr};
use crate::model::{self, SETTINGS};
use crate::ui::{self, PageResult};

pub const FILE_LIMIT: &str = "limite_fichier_mo";
pub const QUOTA: &str = "quota_mo";
pub const DEFAULT_FILE_MB: i64 = 10;
pub const DEFAULT_QUOTA_MB: i64 = 1024;
/// The largest values the form takes.
pub const MAX_FILE_MB: i64 = 1024;
pub const MAX_QUOTA_MB: i64 = 10_000_000;

const ONLY_ADMINS: &str =
    "Seuls les administrateurs de la structure modifient les limites des documents.";
const BAD_FILE: &str =
    "La taille maximale d’un fichier doit être un nombre entier de Mo, de 1 à 1024.";
const BAD_QUOTA: &str =
    "L’espace total des documents doit être un nombre entier de Mo, de 1 à 10 000 000.";

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub file_mb: i64,
    pub quota_mb: i64,
}

impl Limits {
    pub fn file_bytes(&self) -> u64 {
        mb(self.file_mb)
    }
    pub fn quota_bytes(&self) -> u64 {
        mb(self.quota_mb)
    }
}

#[derive(Deserialize)]
struct Setting {
    #[serde(default)]
    value: Option<i64>,
}

fn get(key: &str) -> Result<Option<i64>, StoreError> {
    Ok(Query::new()
        .filter("key = {:k}")
        .param("k", key)
        .first::<Setting>(SETTINGS)?
        .and_then(|s| s.value))
}

fn set(key: &str, value: i64) -> Result<(), StoreError> {
    records::upsert::<_, serde_json::Value>(
        SETTINGS,
        &["key"],
        &json!({ "key": key, "value": value }),
    )?;
    Ok(())
}

/// The structure's limits: its admins' choice, else the defaults.
pub fn limits() -> Result<Limits, StoreError> {
    Ok(Limits {
        file_mb: get(FILE_LIMIT)?
            .filter(|v| (1..=MAX_FILE_MB).contains(v))
            .unwrap_or(DEFAULT_FILE_MB),
        quota_mb: get(QUOTA)?
            .filter(|v| (1..=MAX_QUOTA_MB).contains(v))
            .unwrap_or(DEFAULT_QUOTA_MB),
    })
}

/// A whole number typed in the form, within `1..=max`.
pub fn parse_mb(text: &str, max: i64) -> Option<i64> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|v| (1..=max).contains(v))
}

fn admin() -> bool {
    maillage_sdk::context().user.is_some() && maillage_sdk::has_role("admin")
}

fn form_page(file: &str, quota: &str, error: Option<&str>, query: &str) -> PageResult {
    let used = model::used_bytes()?;
    let saved = ui::param(query, "ok") == "reglages";
    let body = html! {
        (ui::head())
        (ui::breadcrumb(&[("Documents", "/".to_string())], "Limites des documents"))
        h1 { "Limites des documents" }
        (maillage_sdk::html::notice(saved.then_some("Les limites des documents sont enregistrées.")))
        (alert(error))
        p class="usage" data-octets=(used) {
            "Espace utilisé par les documents de la structure : " (size_fr(used)) "."
        }
        form class="reglages stack" method="post" action=(href("/reglages")) {
            (csrf_field())
            label for="limite_fichier_mo" { "Taille maximale d’un fichier (en Mo)" }
            input id="limite_fichier_mo" name="limite_fichier_mo" type="number" min="1"
                max=(MAX_FILE_MB) step="1" required value=(file);
            label for="quota_mo" { "Espace total des documents de la structure (en Mo)" }
            input id="quota_mo" name="quota_mo" type="number" min="1" max=(MAX_QUOTA_MB)
                step="1" required value=(quota);
            p class="muted" {
                "1 Mo vaut 1 048 576 octets. Chaque version d’un document compte dans l’espace "
                "total ; restaurer une version n’en ajoute pas. La plateforme peut imposer une "
                "limite plus basse à chaque envoi."
            }
            button type="submit" { "Enregistrer" }
        }
    };
    let response = Response::page("Limites des documents", body);
    Ok(if error.is_some() {
        response.with_status(422)
    } else {
        response
    })
}

/// `GET /reglages` (admins).
pub fn page(query: &str) -> PageResult {
    if !admin() {
        return Ok(ui::refused(403, ONLY_ADMINS, "/"));
    }
    let limits = limits()?;
    form_page(
        &limits.file_mb.to_string(),
        &limits.quota_mb.to_string(),
        None,
        query,
    )
}

/// `POST /reglages`: `limite_fichier_mo`, `quota_mo`. A bad value re-shows the form
/// (422), nothing stored; audited `reglages.modifier`.
pub fn save(form: &Form) -> PageResult {
    if !admin() {
        return Ok(ui::refused(403, ONLY_ADMINS, "/"));
    }
    let file_text = form.get("limite_fichier_mo");
    let quota_text = form.get("quota_mo");
    let Some(file) = parse_mb(&file_text, MAX_FILE_MB) else {
        return form_page(&file_text, &quota_text, Some(BAD_FILE), "");
    };
    let Some(quota) = parse_mb(&quota_text, MAX_QUOTA_MB) else {
        return form_page(&file_text, &quota_text, Some(BAD_QUOTA), "");
    };
    let before = limits()?;
    set(FILE_LIMIT, file)?;
    set(QUOTA, quota)?;
    if let Err(e) = audit::write(
        "reglages.modifier",
        "documents",
        &json!({
            "avant": { "limite_fichier_mo": before.file_mb, "quota_mo": before.quota_mb },
            "apres": { "limite_fichier_mo": file, "quota_mo": quota },
        }),
    ) {
        maillage_sdk::log::warn(&format!("documents: settings change not audited: {e}"));
    }
    Ok(Response::see_other("/reglages?ok=reglages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_typed_as_whole_megabytes() {
        assert_eq!(parse_mb("10", MAX_FILE_MB), Some(10));
        assert_eq!(parse_mb(" 1 024 ", MAX_FILE_MB), Some(1024));
        assert_eq!(parse_mb("1025", MAX_FILE_MB), None);
        assert_eq!(parse_mb("0", MAX_FILE_MB), None);
        assert_eq!(parse_mb("1,5", MAX_FILE_MB), None);
        assert_eq!(parse_mb("-3", MAX_FILE_MB), None);
        assert_eq!(parse_mb("", MAX_FILE_MB), None);
    }

    #[test]
    fn limits_convert_to_bytes() {
        let limits = Limits {
            file_mb: 2,
            quota_mb: 3,
        };
        assert_eq!(limits.file_bytes(), 2 << 20);
        assert_eq!(limits.quota_bytes(), 3 << 20);
    }
}
