//! The search: postal codes (pre-filled with the territory), profession, savoir-faire,
//! prise en charge, matériel, status and name. The database ranks the professionals by
//! how many criteria they meet (`records.rank`); the 50 best are shown, split into
//! exact results (every criterion) and approaching ones (at least one).
//! Also the communication page: the e-mail addresses of the exact matches.

use maillage_sdk::form::{Form, encode};
use maillage_sdk::html::{Markup, href, html, script, stylesheet};
use maillage_sdk::records::{Query, StoreError};
use maillage_sdk::text::fold;
use maillage_sdk::{Request, Response};

use crate::import::{ImportRecord, latest};
use crate::model::{PROFESSIONALS, PROFESSIONS, Professional, SPECIALTIES, Status, Viewer};

/// Only the most relevant results are shown.
pub const MAX_RESULTS: u32 = 50;
/// The communication page gathers at most this many addresses.
const MAX_RECIPIENTS: usize = 5000;
const MAX_TEXT: usize = 100;

pub const HEALTH_DATA_WARNING: &str = "Une messagerie non sécurisée ne doit en aucun cas être utilisée pour échanger de la donnée de santé.";

/// A search as the database sees it (see [`Criteria::build`]).
struct Built {
    query: Query,
    criteria: Vec<String>,
    always_met: u32,
}

impl Built {
    /// How many criteria the search has in all.
    fn total(&self) -> usize {
        self.criteria.len() + self.always_met as usize
    }
}

/// What the search form asks.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    /// Selected postal codes; the territory unless the user removed some.
    pub codes: Vec<String>,
    /// Codes were edited: an empty `codes` then means none, not the territory.
    pub edited: bool,
    pub profession: String,
    pub specialty: String,
    pub care: String,
    pub equipment: String,
    pub status: Option<Status>,
    pub name: String,
    pub arrivals: bool,
    pub departures: bool,
}

fn short(text: String) -> String {
    text.trim().chars().take(MAX_TEXT).collect()
}

impl Criteria {
    pub fn from_query(query: &str, viewer: &Viewer, territory: &[String]) -> Criteria {
        let form = Form::parse(query.as_bytes());
        let edited = form.get("cp_modifies") == "1";
        let codes = if edited {
            let mut codes: Vec<String> = form
                .all("cp")
                .into_iter()
                .filter(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
                .collect();
            codes.dedup();
            codes.truncate(200);
            codes
        } else {
            territory.to_vec()
        };
        Criteria {
            codes,
            edited,
            profession: short(form.get("profession")),
            specialty: short(form.get("specialite")),
            care: short(form.get("prise_en_charge")),
            equipment: short(form.get("materiel")),
            status: Status::parse(&form.get("statut"))
                .filter(|s| viewer.searchable_statuses().contains(s)),
            name: short(form.get("nom")),
            arrivals: form.get("arrivants") == "1",
            departures: form.get("departs") == "1" && viewer.manager,
        }
    }

    /// The query string that gives these criteria back, without `skip_code`.
    pub fn to_query(&self, skip_code: Option<&str>) -> String {
        let mut parts: Vec<String> = Vec::new();
        let codes: Vec<&String> = self
            .codes
            .iter()
            .filter(|c| Some(c.as_str()) != skip_code)
            .collect();
        if self.edited || skip_code.is_some() {
            parts.push("cp_modifies=1".into());
            parts.extend(codes.iter().map(|c| format!("cp={}", encode(c))));
        }
        for (name, value) in [
            ("profession", &self.profession),
            ("specialite", &self.specialty),
            ("prise_en_charge", &self.care),
            ("materiel", &self.equipment),
            ("nom", &self.name),
        ] {
            if !value.is_empty() {
                parts.push(format!("{name}={}", encode(value)));
            }
        }
        if let Some(status) = self.status {
            parts.push(format!("statut={}", status.code()));
        }
        if self.arrivals {
            parts.push("arrivants=1".into());
        }
        if self.departures {
            parts.push("departs=1".into());
        }
        parts.join("&")
    }

    /// The query (hard filter, params) and the criteria the database must weigh, as
    /// filter expressions, plus how many criteria every candidate meets anyway: the
    /// postal codes, when they are the whole territory.
    fn build(&self, import: i64, territory: &[String]) -> Built {
        let mut query = Query::new().param("import", import);
        let mut criteria: Vec<String> = Vec::new();
        let whole_territory =
            !territory.is_empty() && territory.iter().all(|code| self.codes.contains(code));
        if !self.codes.is_empty() && !whole_territory {
            query = query.param("codes", &self.codes);
            criteria.push(
                "(cp1 in {:codes} || cp2 in {:codes} || cp3 in {:codes} || cp4 in {:codes})".into(),
            );
        }
        let mut add = |name: &str, value: String, expression: &str| {
            if !value.is_empty() {
                query = std::mem::take(&mut query).param(name, value);
                criteria.push(expression.to_string());
            }
        };
        add(
            "profession",
            self.profession.clone(),
            "profession_code = {:profession}",
        );
        add(
            "specialty",
            fold(&self.specialty),
            "specialties_key ~ {:specialty}",
        );
        add("care", fold(&self.care), "care_key ~ {:care}");
        add(
            "equipment",
            fold(&self.equipment),
            "equipment_key ~ {:equipment}",
        );
        add(
            "status",
            self.status
                .map(|s| s.code().to_string())
                .unwrap_or_default(),
            "status = {:status}",
        );
        add("name", fold(&self.name), "name_key ~ {:name}");
        Built {
            query: query.filter(self.presence()),
            criteria,
            always_met: u32::from(whole_territory),
        }
    }

    /// Who is looked at: those present at the latest import, its arrivals, or those
    /// who left.
    fn presence(&self) -> &'static str {
        if self.departures {
            "seen_in < {:import}"
        } else if self.arrivals {
            "arrived_in = {:import} && seen_in = {:import}"
        } else {
            "seen_in = {:import}"
        }
    }
}

/// The ranked results: (criteria met, professional), best first, at most 50.
fn ranked(criteria: &Criteria, built: Built) -> Result<Vec<(u32, Professional)>, StoreError> {
    let Built {
        query,
        criteria: expressions,
        always_met,
    } = built;
    let query = query.sort("last_name,first_name").limit(MAX_RESULTS);
    let mut results: Vec<(u32, Professional)> = if expressions.is_empty() {
        Vec::new()
    } else {
        query
            .rank::<Professional>(PROFESSIONALS, &expressions)?
            .into_iter()
            .map(|(score, p)| (score + always_met, p))
            .collect()
    };
    // Those meeting only the criteria met anyway come last, in name order.
    let room = MAX_RESULTS as usize - results.len();
    if always_met > 0 && room > 0 {
        let mut filter = criteria.presence().to_string();
        if !expressions.is_empty() {
            filter = format!("{filter} && !({})", expressions.join(" || "));
        }
        let (rest, _) = query
            .filter(&filter)
            .limit(room as u32)
            .fetch::<Professional>(PROFESSIONALS)?;
        results.extend(rest.into_iter().map(|p| (always_met, p)));
    }
    Ok(results)
}

/// Every professional meeting all criteria (the communication page), in name order.
fn exact_matches(
    criteria: &Criteria,
    import: i64,
    territory: &[String],
) -> Result<Vec<Professional>, StoreError> {
    let Built {
        query,
        criteria: expressions,
        ..
    } = criteria.build(import, territory);
    let mut filter = format!(
        "{} && status != \"{}\"",
        criteria.presence(),
        Status::DoNotContact.code()
    );
    for e in &expressions {
        filter.push_str(&format!(" && {e}"));
    }
    query
        .filter(&filter)
        .sort("last_name,first_name")
        .limit(500)
        .fetch_all::<Professional>(PROFESSIONALS, MAX_RECIPIENTS)
}

fn form_html(criteria: &Criteria, viewer: &Viewer, territory: &[String]) -> Markup {
    html! {
        form method="get" action=(href("/")) class="search stack" role="search" {
            fieldset {
                legend { "Codes postaux" }
                p class="chips" {
                    @if criteria.codes.is_empty() {
                        span class="muted" { "Aucun code postal sélectionné." }
                    }
                    @for code in &criteria.codes {
                        span class="chip" {
                            (code)
                            input type="hidden" name="cp" value=(code);
                            " "
                            a href={ (href("/")) "?" (criteria.to_query(Some(code))) }
                                class="chip-remove"
                                aria-label={ "Retirer le code postal " (code) }
                                title="Retirer" { "×" }
                        }
                        " "
                    }
                }
                input type="hidden" name="cp_modifies" value="1";
                @if criteria.edited && !territory.is_empty() {
                    a href=(href("/")) class="button secondary" {
                        "Réinitialiser les codes postaux"
                    }
                }
            }
            div class="grid" {
                label {
                    "Profession"
                    select name="profession" {
                        option value="" { "Toutes" }
                        @for (code, label) in PROFESSIONS {
                            option value=(code) selected[criteria.profession == *code] { (label) }
                        }
                    }
                }
                label {
                    "Spécialité (savoir-faire)"
                    input name="specialite" list="specialites" value=(criteria.specialty);
                }
                datalist id="specialites" {
                    @for specialty in SPECIALTIES {
                        option value=(specialty);
                    }
                }
                label {
                    "Prise en charge"
                    input name="prise_en_charge" value=(criteria.care)
                        placeholder="ex. : diabète, soins palliatifs";
                }
                label {
                    "Matériel"
                    input name="materiel" value=(criteria.equipment)
                        placeholder="ex. : ECG, échographe";
                }
                label {
                    "Statut"
                    select name="statut" {
                        option value="" { "Tous" }
                        @for status in viewer.searchable_statuses() {
                            option value=(status.code()) selected[criteria.status == Some(status)] {
                                (status.label())
                            }
                        }
                    }
                }
                label {
                    "Nom"
                    input name="nom" value=(criteria.name) autocomplete="off";
                }
            }
            @if criteria.arrivals {
                input type="hidden" name="arrivants" value="1";
            }
            @if criteria.departures {
                input type="hidden" name="departs" value="1";
            }
            button type="submit" { "Rechercher" }
        }
    }
}

fn result_rows(results: &[&(u32, Professional)], viewer: &Viewer, latest: i64) -> Markup {
    html! {
        table class="list results" {
            thead {
                tr {
                    th { "Professionnel" }
                    th { "Profession" }
                    th { "Lieux d’exercice" }
                    th { "Statut" }
                    th { "Fiche" }
                }
            }
            tbody {
                @for (_, p) in results {
                    tr {
                        td {
                            a href=(href(&format!("/p/{}", p.id))) { (p.full_name()) }
                            @if latest > 1 && p.arrived_in == latest && p.seen_in == latest {
                                " "
                                span class="badge new" { "Nouvel arrivant" }
                            }
                        }
                        td {
                            (p.profession)
                            @if !p.specialties.is_empty() {
                                br;
                                small { (p.specialties.join(", ")) }
                            }
                        }
                        td { (p.communes()) }
                        td {
                            @if let Some(status) = viewer
                                .visible_status(p)
                                .filter(|s| viewer.manager || *s != Status::Unknown)
                            {
                                (status.badge())
                            }
                        }
                        td {
                            @if p.fiche_filled {
                                span class="fiche filled" title="Fiche renseignée" {
                                    "● "
                                    span class="sr" { "Fiche renseignée" }
                                }
                            } @else {
                                span class="fiche empty" title="Fiche non renseignée" {
                                    "○ "
                                    span class="sr" { "Fiche non renseignée" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn empty_directory(viewer: &Viewer) -> Response {
    let body = html! {
        (stylesheet("annuaire.css"))
        h1 { "Annuaire" }
        p class="empty" {
            "L’annuaire est vide : l’extrait RPPS n’a pas encore été importé."
        }
        @if viewer.manager {
            a class="button" href=(href("/import")) { "Importer l’extrait RPPS" }
        }
    };
    Response::page("Annuaire", body)
}

fn manager_links(criteria: &Criteria, import: &ImportRecord, pending_links: i64) -> Markup {
    html! {
        nav class="toolbar-links" aria-label="Gestion de l’annuaire" {
            a href=(href("/import")) { "Importer l’extrait RPPS" }
            " · "
            a href=(href("/?arrivants=1")) { "Nouveaux arrivants (" (import.arrivals) ")" }
            " · "
            a href=(href("/?departs=1")) { "Départs (" (import.departures) ")" }
            " · "
            a href={ (href("/communication")) "?" (criteria.to_query(None)) } {
                "Communication (adresses e-mail)"
            }
            " · "
            a href=(href("/demandes")) { "Demandes de liaison (" (pending_links) ")" }
        }
    }
}

pub fn page(request: &Request) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    let Some(import) = latest()? else {
        return Ok(empty_directory(&viewer));
    };
    let territory = maillage_sdk::territory();
    let criteria = Criteria::from_query(&request.query, &viewer, &territory);
    let built = criteria.build(import.number, &territory);
    let total = built.total();
    let no_criterion = total == 0 && !criteria.arrivals && !criteria.departures;
    let results = if no_criterion {
        Vec::new()
    } else {
        ranked(&criteria, built)?
    };
    let pending_links = if viewer.manager {
        Some(crate::links::pending_count()?)
    } else {
        None
    };
    let (exact, approaching): (Vec<_>, Vec<_>) = results
        .iter()
        .partition(|(score, _)| *score as usize == total);
    let body = html! {
        (stylesheet("annuaire.css"))
        div class="toolbar" { h1 { "Annuaire" } }
        @if let Some(pending_links) = pending_links {
            (manager_links(&criteria, &import, pending_links))
        }
        @if criteria.arrivals {
            p class="notice" { "Nouveaux arrivants sur le territoire depuis l’import précédent." }
        }
        @if criteria.departures {
            p class="notice" {
                "Professionnels absents du dernier import (partis du territoire). \
                 Leurs statuts et notes sont conservés."
            }
        }
        (form_html(&criteria, &viewer, &territory))
        @if no_criterion {
            p class="empty" { "Indiquez au moins un critère." }
        } @else {
            p class="muted" {
                "Seuls les " (MAX_RESULTS) " résultats les plus pertinents sont affichés."
            }
            section aria-labelledby="exact" {
                h2 id="exact" { "Résultats exacts (" (exact.len()) ")" }
                @if exact.is_empty() {
                    p class="empty" { "Aucun professionnel ne remplit tous les critères." }
                } @else {
                    (result_rows(&exact, &viewer, import.number))
                }
            }
            @if total > 1 {
                section aria-labelledby="approaching" {
                    h2 id="approaching" { "Résultats approchants (" (approaching.len()) ")" }
                    p class="muted" { "Au moins un critère rempli, les plus proches d’abord." }
                    @if approaching.is_empty() {
                        p class="empty" { "Aucun résultat approchant." }
                    } @else {
                        (result_rows(&approaching, &viewer, import.number))
                    }
                }
            }
            @if viewer.manager {
                p class="alert warning" role="note" { (HEALTH_DATA_WARNING) }
            }
        }
    };
    Ok(Response::page("Annuaire", body))
}

/// The addresses of the professionals meeting every criterion, to copy into a mail
/// client; never those who no longer want to be contacted. An address a member typed
/// (`fiche_email`) is there only through an approved link: a pending request cannot
/// write the fiche (links.rs).
pub fn communication(request: &Request) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    if !viewer.manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent accéder à la communication.",
        ));
    }
    let Some(import) = latest()? else {
        return Ok(empty_directory(&viewer));
    };
    let territory = maillage_sdk::territory();
    let criteria = Criteria::from_query(&request.query, &viewer, &territory);
    let people = exact_matches(&criteria, import.number, &territory)?;
    let mut emails: Vec<String> = Vec::new();
    let mut without: Vec<&Professional> = Vec::new();
    for p in &people {
        let email = p.email().trim().to_lowercase();
        if email.is_empty() {
            without.push(p);
        } else if !emails.contains(&email) {
            emails.push(email);
        }
    }
    let body = html! {
        (stylesheet("annuaire.css"))
        h1 { "Communication" }
        p class="alert warning" role="note" {
            strong { "Attention :" }
            " "
            (HEALTH_DATA_WARNING)
        }
        p {
            (people.len())
            " professionnel(s) remplissent tous les critères de la recherche (hors « "
            (Status::DoNotContact.label())
            " »). "
            a href={ (href("/")) "?" (criteria.to_query(None)) } { "Modifier la recherche" }
        }
        h2 { "Adresses e-mail (" (emails.len()) ")" }
        textarea id="emails" readonly rows="6" aria-label="Adresses e-mail" {
            (emails.join("; "))
        }
        p {
            button type="button" id="copy-emails" data-copy="emails"
                data-copy-status="copy-status" {
                "Copier les adresses e-mail"
            }
            " "
            span id="copy-status" role="status" {}
        }
        // Copies the textarea into the clipboard (assets/communication.js).
        (script("communication.js"))
        h2 { "Sans adresse e-mail (" (without.len()) ")" }
        @if without.is_empty() {
            p class="empty" { "Tous ont une adresse e-mail." }
        } @else {
            ul class="without-email" {
                @for professional in &without {
                    li {
                        a href=(href(&format!("/p/{}", professional.id))) {
                            (professional.full_name())
                        }
                        " — "
                        (professional.profession)
                    }
                }
            }
        }
    };
    Ok(Response::page("Communication", body))
}
