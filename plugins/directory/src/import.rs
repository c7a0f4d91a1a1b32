//! Importing the national RPPS extract, in two passes that the host drives
//! (`maillage import rpps FILE` or the upload page) over a file far larger than one call
//! may hold:
//!
//! 1. `POST /import/filter?first_line=N`, once per chunk of lines (header first): keeps
//!    the lines of the structure's territory and reports malformed ones. Writes nothing.
//! 2. `POST /import/apply`, once, with the kept lines: updates the professionals, marks
//!    arrivals and who left, keeps statuses, notes and fiches. One call, so one
//!    transaction: an import that fails anywhere changes nothing.

use std::collections::BTreeSet;

use maillage_sdk::form::Form;
use maillage_sdk::html::{href, html, stylesheet};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Request, Response};
use serde::Deserialize;
use serde_json::json;

use crate::model::{IMPORTS, PROFESSIONALS, Viewer, list_key};
use crate::rpps::{self, Extract, Layout, Register};

#[derive(Debug, Clone, Deserialize)]
pub struct ImportRecord {
    pub number: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub file_name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub by_name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub lines: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub people: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub arrivals: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub departures: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub errors: i64,
    pub created_at: i64,
}

/// The newest import, if any: its number tells who is present (`seen_in`).
pub fn latest() -> Result<Option<ImportRecord>, StoreError> {
    Query::new().sort("-number").first(IMPORTS)
}

fn refuse(status: u16, message: &str) -> Response {
    Response::json(&json!({ "error": message })).with_status(status)
}

/// The header line and the lines after it.
fn split_header(body: &[u8]) -> Result<(Layout, &[u8]), Response> {
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let header = std::str::from_utf8(&body[..end])
        .map_err(|_| refuse(422, "the header line is not UTF-8"))?;
    let layout = Layout::from_header(header).map_err(|e| refuse(422, &e))?;
    Ok((layout, body.get(end + 1..).unwrap_or(&[])))
}

fn territory() -> Result<BTreeSet<String>, Response> {
    let codes: BTreeSet<String> = maillage_sdk::territory().into_iter().collect();
    if codes.is_empty() {
        return Err(refuse(
            422,
            "the structure has no territory: set its postal codes in its administration first",
        ));
    }
    Ok(codes)
}

/// Pass 1: the territory's lines of one chunk.
pub fn filter(request: &Request) -> Response {
    if !Viewer::current().manager {
        return refuse(403, "only the directory's managers may import");
    }
    let codes = match territory() {
        Ok(c) => c,
        Err(response) => return response,
    };
    let (layout, lines) = match split_header(&request.body) {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let first_line = Form::parse(request.query.as_bytes())
        .get("first_line")
        .parse()
        .unwrap_or(2);
    let mut extract = Extract::default();
    let mut kept = Vec::new();
    rpps::filter_lines(
        &layout,
        lines,
        first_line,
        &|code| codes.contains(code),
        &mut extract,
        &mut kept,
    );
    Response::json(&json!({
        // Kept lines passed the UTF-8 check.
        "kept": String::from_utf8_lossy(&kept),
        "lines": extract.lines,
        "errors": extract.errors,
        "error_total": extract.error_total,
        "encoding_errors": extract.encoding_errors,
    }))
}

/// Pass 2: writes the kept lines.
pub fn apply(request: &Request) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    if !viewer.manager {
        return Ok(refuse(403, "only the directory's managers may import"));
    }
    let codes = match territory() {
        Ok(c) => c,
        Err(response) => return Ok(response),
    };
    let (layout, lines) = match split_header(&request.body) {
        Ok(parts) => parts,
        Err(response) => return Ok(response),
    };
    let query = Form::parse(request.query.as_bytes());
    let mut extract = Extract::default();
    rpps::read_lines(
        &layout,
        lines,
        2,
        &|code| codes.contains(code),
        &mut extract,
    );
    if extract.error_count() > 0 {
        return Ok(refuse(
            422,
            "the lines to apply must have passed the filter",
        ));
    }
    if extract.people.is_empty() {
        // Everyone would be marked as gone: surely the wrong file or territory.
        return Ok(refuse(
            422,
            "no professional of the territory in this file: nothing was changed",
        ));
    }
    let number = latest()?.map(|i| i.number).unwrap_or(0) + 1;
    // Who was there at the previous import: the others are arrivals.
    let previous: BTreeSet<String> = Query::new()
        .filter("seen_in = {:n}")
        .param("n", number - 1)
        .aggregate(PROFESSIONALS, Some("rpps_id"), None)?
        .into_iter()
        .filter_map(|g| g.key.as_str().map(str::to_string))
        .collect();
    for person in extract.people.values() {
        let specialties = &person.specialties;
        let postal_codes: BTreeSet<&str> = person
            .sites
            .iter()
            .map(|s| s.postal_code.as_str())
            .collect();
        let postal_codes: Vec<&str> = postal_codes.into_iter().collect();
        let mut on_territory = postal_codes.iter().filter(|c| codes.contains(**c));
        let mut data = json!({
            "seen_in": number,
            "cp1": on_territory.next(),
            "cp2": on_territory.next(),
            "cp3": on_territory.next(),
            "cp4": on_territory.next(),
            "rpps_id": person.id,
            "civility": person.civility,
            "last_name": person.last_name,
            "first_name": person.first_name,
            "name_key": maillage_sdk::text::fold(&format!("{} {}", person.last_name, person.first_name)),
            "profession_code": person.profession_code,
            "profession": person.profession,
            "specialties": specialties,
            "specialties_key": list_key(specialties),
            "sites": person.sites.iter().map(|s| json!({
                "name": s.name,
                "address": s.address,
                "postal_code": s.postal_code,
                "commune": s.commune,
                "mode": s.mode,
                "phone": s.phone,
            })).collect::<Vec<_>>(),
            "postal_codes": format!(" {} ", postal_codes.join(" ")),
            "rpps_email": person.sites.iter().map(|s| s.email.as_str()).find(|e| !e.is_empty()).unwrap_or(""),
        });
        if !previous.contains(&person.id) {
            data["arrived_in"] = json!(number);
        }
        // Only these fields: status, notes, fiche and account link stay as they were.
        records::upsert::<_, serde_json::Value>(PROFESSIONALS, &["rpps_id"], &data)?;
    }
    let count = |filter: &str, value: i64| {
        Query::new()
            .filter(filter)
            .param("n", value)
            .count(PROFESSIONALS)
    };
    let (arrivals, departures) = if number > 1 {
        (
            count("arrived_in = {:n}", number)?,
            count("seen_in = {:n}", number - 1)?,
        )
    } else {
        (0, 0)
    };
    // The extract links no ADELI identifier to the RPPS one that replaces it: a
    // professional who moved register leaves under the old key and arrives under the
    // new one, without their status, note or fiche. Say so, for the gestionnaire.
    let adeli_gone = previous
        .iter()
        .filter(|id| {
            !extract.people.contains_key(*id)
                && rpps::parse_national_id(id).is_some_and(|(r, _)| r == Register::Adeli)
        })
        .count();
    let rpps_new = extract
        .people
        .keys()
        .filter(|id| {
            !previous.contains(*id)
                && rpps::parse_national_id(id).is_some_and(|(r, _)| r == Register::Rpps)
        })
        .count();
    let mut notices = Vec::new();
    if number > 1 && adeli_gone > 0 && rpps_new > 0 {
        notices.push(format!(
            "{adeli_gone} professionnel{s1} ADELI disparu{s1}, {rpps_new} nouveau{x} RPPS : \
             l’extrait ne relie pas les anciens numéros ADELI aux numéros RPPS. Vérifiez \
             parmi les départs et les nouveaux arrivants qui a changé de numéro : statut, \
             note et fiche restent attachés à l’ancien numéro.",
            s1 = if adeli_gone > 1 { "s" } else { "" },
            x = if rpps_new > 1 { "x" } else { "" },
        ));
    }
    let by_name = maillage_sdk::context()
        .user
        .map(|u| u.display_name)
        .unwrap_or_else(|| "ligne de commande".into());
    let record = json!({
        "number": number,
        "file_name": query.get("file"),
        "by_name": by_name,
        "lines": query.get("lines").parse::<i64>().unwrap_or(0),
        "kept_lines": extract.lines,
        "people": extract.people.len(),
        "arrivals": arrivals,
        "departures": departures,
        "errors": query.get("errors").parse::<i64>().unwrap_or(0),
        "adeli_gone": adeli_gone,
        "rpps_new": rpps_new,
    });
    records::insert::<_, serde_json::Value>(IMPORTS, &record)?;
    Ok(Response::json(&json!({
        "import": number,
        "people": extract.people.len(),
        "kept_lines": extract.lines,
        "arrivals": arrivals,
        "departures": departures,
        "adeli_gone": adeli_gone,
        "rpps_new": rpps_new,
        // Shown as they are by the host (job page, command line).
        "notices": notices,
    })))
}

/// The import page: the history and the upload form (streamed to the host, which
/// drives the two passes and shows the progress).
pub fn page() -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent importer l’extrait RPPS.",
        ));
    }
    let ctx = maillage_sdk::context();
    let territory = maillage_sdk::territory();
    let history = Query::new()
        .sort("-number")
        .limit(20)
        .fetch::<ImportRecord>(IMPORTS)?
        .0;
    let upload = format!(
        "/{}/imports/{}?csrf={}",
        ctx.structure,
        crate::MODULE_ID,
        maillage_sdk::form::encode(&ctx.csrf_token)
    );
    let body = html! {
        (stylesheet("annuaire.css"))
        h1 { "Importer l’extrait RPPS" }
        p {
            "Téléchargez l’extrait « Personne activité » de l’annuaire santé (fichier texte, \
             séparateur « | », UTF-8), puis envoyez-le ici. Seuls les professionnels des codes \
             postaux du territoire sont importés ; statuts, notes et fiches sont conservés."
        }
        @if territory.is_empty() {
            div class="alert" role="alert" {
                "Le territoire de la structure n’a aucun code postal : un administrateur doit \
                 le renseigner avant l’import."
            }
        } @else {
            p { "Territoire : " (territory.join(", ")) }
            form method="post" enctype="multipart/form-data" action=(upload) class="stack" {
                label for="file" { "Fichier de l’extrait" }
                input id="file" name="file" type="file" required accept=".txt,.csv,text/plain";
                button type="submit" { "Importer" }
            }
        }
        h2 { "Imports précédents" }
        @if history.is_empty() {
            p class="empty" { "Aucun import pour le moment." }
        } @else {
            table class="list" {
                thead {
                    tr {
                        th { "N°" }
                        th { "Fichier" }
                        th { "Par" }
                        th { "Lignes lues" }
                        th { "Professionnels" }
                        th { "Nouveaux arrivants" }
                        th { "Départs" }
                        th { "Lignes invalides" }
                    }
                }
                tbody {
                    @for i in &history {
                        tr {
                            td { (i.number) }
                            td { (i.file_name) }
                            td { (i.by_name) }
                            td { (i.lines) }
                            td { (i.people) }
                            td { a href=(href("/?arrivants=1")) { (i.arrivals) } }
                            td { a href=(href("/?departs=1")) { (i.departures) } }
                            td { (i.errors) }
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page("Importer l’extrait RPPS", body))
}
