//! The treasurer's work: the structure's lines filtered and grouped, bulk approval,
//! approval and payment of one line, decisions on held lines, and the expense note
//! (which the line's person may attach too). Every step is written to the structure's
//! audit log in the same call.

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{Request, Response, blobs, groups, log, time};
use serde_json::{Value, json};

use crate::ledger;
use crate::model::{
    self, APPROVED, DRAFT, HELD, HOLD_CAP, LINES, Line, MAX_LINES, NOT_ELIGIBLE, PAID, Viewer,
};
use crate::money;
use crate::pages;
use crate::ui::{self, PageResult};
use maillage_sdk::multipart;

/// Lines matching a filter, with the missions set per group (group id, mission code).
pub type FilteredLines = (Vec<Line>, Vec<(String, String)>);

/// Rows shown on the page at most (totals and exports take every line).
const MAX_SHOWN: usize = 2000;
const MAX_REFERENCE: usize = 200;
/// The expense notes accepted: PDF and photos.
const NOTE_TYPES: [&str; 6] = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
];

/// How the lines are grouped (`par`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Person,
    Project,
    Mission,
    Status,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [
        GroupBy::Person,
        GroupBy::Project,
        GroupBy::Mission,
        GroupBy::Status,
    ];
    pub fn code(self) -> &'static str {
        match self {
            GroupBy::Person => "personne",
            GroupBy::Project => "projet",
            GroupBy::Mission => "mission",
            GroupBy::Status => "statut",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Person => "Personne",
            GroupBy::Project => "Projet",
            GroupBy::Mission => "Mission",
            GroupBy::Status => "Statut",
        }
    }
    fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.code() == text)
    }
}

/// The filters of `/tresorerie` and its exports.
#[derive(Debug, Clone)]
pub struct Filters {
    pub status: String,
    pub person: String,
    pub group: String,
    pub mission: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: GroupBy,
}

impl Filters {
    /// From the query string; a French message for a malformed one.
    pub fn parse(query: &str) -> Result<Filters, String> {
        let status = ui::param(query, "statut");
        if !status.is_empty() && !model::STATUSES.contains(&status.as_str()) {
            return Err(format!("Statut inconnu : « {status} »."));
        }
        let person = ui::param(query, "personne");
        if !person.is_empty() && !records::valid_ref(&person) {
            return Err("Personne inconnue.".into());
        }
        let group = ui::param(query, "groupe");
        if !group.is_empty() && !records::valid_ref(&group) {
            return Err("Projet inconnu.".into());
        }
        let mission = ui::param(query, "mission");
        if !mission.is_empty() && !model::MISSIONS.iter().any(|(c, _)| *c == mission) {
            return Err("Mission inconnue.".into());
        }
        let from = ui::optional_date(&ui::param(query, "du"), "Du")?;
        let to = ui::optional_date(&ui::param(query, "au"), "Au")?;
        if let (Some(f), Some(t)) = (&from, &to)
            && f > t
        {
            return Err("La période est vide : la date de début suit la date de fin.".into());
        }
        let by_text = ui::param(query, "par");
        let by = if by_text.is_empty() {
            GroupBy::Person
        } else {
            GroupBy::parse(&by_text)
                .ok_or_else(|| format!("Regroupement inconnu : « {by_text} »."))?
        };
        Ok(Filters {
            status,
            person,
            group,
            mission,
            from,
            to,
            by,
        })
    }

    /// The same filters as a query string (for the export links).
    pub fn query(&self) -> String {
        ui::query_string(&[
            ("statut", self.status.as_str()),
            ("personne", self.person.as_str()),
            ("groupe", self.group.as_str()),
            ("mission", self.mission.as_str()),
            ("du", self.from.as_deref().unwrap_or("")),
            ("au", self.to.as_deref().unwrap_or("")),
            ("par", self.by.code()),
        ])
    }

    /// The matching lines, by date.
    pub fn lines(&self) -> Result<FilteredLines, StoreError> {
        let mut conditions: Vec<&str> = Vec::new();
        let mut query = Query::new();
        if !self.status.is_empty() {
            conditions.push("status = {:s}");
            query = query.param("s", &self.status);
        }
        if !self.person.is_empty() {
            conditions.push("person = {:p}");
            query = query.param("p", &self.person);
        }
        if !self.group.is_empty() {
            conditions.push("group_id = {:g}");
            query = query.param("g", &self.group);
        }
        if let Some(from) = &self.from {
            conditions.push("date >= {:du}");
            query = query.param("du", from);
        }
        if let Some(to) = &self.to {
            conditions.push("date <= {:au}");
            query = query.param("au", to);
        }
        let query = query
            .filter(&conditions.join(" && "))
            .sort("date,person_name");
        let missions = model::missions()?;
        let lines: Vec<Line> = query
            .fetch_all::<Line>(LINES, MAX_LINES)?
            .into_iter()
            .filter(|l| {
                self.mission.is_empty() || model::line_mission(l, &missions) == self.mission
            })
            .collect();
        Ok((lines, missions))
    }
}

/// A group of lines on the page: key, label, lines.
pub struct Bucket<'a> {
    pub key: String,
    pub label: String,
    pub lines: Vec<&'a Line>,
}

impl Bucket<'_> {
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

pub fn buckets<'a>(
    lines: &'a [Line],
    by: GroupBy,
    missions: &[(String, String)],
) -> Vec<Bucket<'a>> {
    let mut out: Vec<Bucket<'a>> = Vec::new();
    for line in lines {
        let (key, label) = match by {
            GroupBy::Person => (line.person_key(), line.person_name.clone()),
            GroupBy::Project => (line.project_key(), line.project()),
            GroupBy::Mission => {
                let code = model::line_mission(line, missions);
                let label = model::mission_label(&code);
                (code, label)
            }
            GroupBy::Status => (
                line.status.clone(),
                model::status_label(&line.status).to_string(),
            ),
        };
        match out.iter_mut().find(|b| b.key == key) {
            Some(bucket) => bucket.lines.push(line),
            None => out.push(Bucket {
                key,
                label,
                lines: vec![line],
            }),
        }
    }
    match by {
        GroupBy::Status => out.sort_by_key(|b| {
            model::STATUSES
                .iter()
                .position(|s| *s == b.key)
                .unwrap_or(usize::MAX)
        }),
        GroupBy::Mission => {
            out.sort_by(|a, b| (a.key.is_empty(), &a.key).cmp(&(b.key.is_empty(), &b.key)))
        }
        _ => out.sort_by(|a, b| {
            maillage_sdk::text::fold(&a.label).cmp(&maillage_sdk::text::fold(&b.label))
        }),
    }
    out
}

/// `GET /tresorerie?statut=&personne=&groupe=&mission=&du=&au=&par=`.
pub fn ledger_page(query: &str) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let filters = match Filters::parse(query) {
        Ok(filters) => filters,
        Err(message) => return Ok(filter_error(&message)),
    };
    let (lines, missions) = filters.lines()?;
    let groups = buckets(&lines, filters.by, &missions);
    let total: i64 = lines.iter().map(|l| l.amount).sum();
    let drafts = lines.iter().filter(|l| l.status == DRAFT).count();
    let exports = filters.query();
    // How many rows of each group the page shows (MAX_SHOWN in all).
    let mut left = MAX_SHOWN;
    let mut shown: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for bucket in &groups {
        let n = bucket.lines.len().min(left);
        left -= n;
        shown.insert(bucket.key.clone(), n);
    }
    let body = html! {
        (ui::head())
        (ui::toolbar("Trésorerie", &[
            ("/bareme", "Barème"),
            ("/plafond", "Plafond annuel"),
            ("/budgets", "Budgets"),
        ]))
        (ui::notice_block(query))
        (filter_form(&filters))
        p class="exports" {
            "Exporter ces lignes : "
            a class="export-xlsx" href=(href(&format!("/tresorerie/export.xlsx?{exports}"))) { "Excel (.xlsx)" }
            " · "
            a class="export-csv" href=(href(&format!("/tresorerie/export.csv?{exports}"))) { "CSV" }
        }
        p class="resume" {
            (lines.len()) " ligne(s), total " span class="montant" data-cents=(total) { (money::euros(total)) }
            " ; " (drafts) " en brouillon à approuver."
        }
        @if lines.is_empty() {
            p class="empty" { "Aucune ligne ne correspond à ces critères." }
        } @else {
            @if lines.len() > MAX_SHOWN {
                p class="alert warning" {
                    "Seules les " (MAX_SHOWN) " premières lignes sont affichées ; "
                    "les totaux comptent toutes les lignes. Affinez les filtres ou exportez."
                }
            }
            form id="approbation" method="post" action=(href("/tresorerie/approuver")) {
                (csrf_field())
                div class="table-scroll" {
                    table class="tresorerie list" {
                        thead {
                            tr {
                                th scope="col" { span class="sr-only" { "Sélection" } }
                                th scope="col" { "Date" }
                                th scope="col" { "Personne" }
                                th scope="col" { "Réunion" }
                                th scope="col" { "Projet" }
                                th scope="col" { "Statut" }
                                th scope="col" class="nombre" { "Montant" }
                                th scope="col" class="nombre" { "Temps (h)" }
                            }
                        }
                        @for bucket in &groups {
                            tbody class="groupe" data-groupe=(bucket.key) {
                                tr class="groupe-titre" {
                                    th scope="rowgroup" colspan="8" { (filters.by.label()) " : " (bucket.label) }
                                }
                                @for line in bucket.lines.iter().take(*shown.get(&bucket.key).unwrap_or(&0)) {
                                    (ledger_row(line, &viewer))
                                }
                                tr class="sous-total" {
                                    th scope="row" colspan="6" { "Sous-total (" (bucket.lines.len()) " ligne(s))" }
                                    (ui::amount_cell(bucket.total()))
                                    td {}
                                }
                            }
                        }
                        tfoot {
                            tr class="total" {
                                th scope="row" colspan="6" { "Total" }
                                (ui::amount_cell(total))
                                td {}
                            }
                        }
                    }
                }
                @if drafts > 0 {
                    button type="submit" { "Approuver la sélection" }
                }
            }
        }
    };
    Ok(Response::page("Trésorerie", body))
}

fn ledger_row(line: &Line, viewer: &Viewer) -> Markup {
    html! {
        tr data-ligne=(line.id) data-statut=(line.status) {
            td {
                @if line.status == DRAFT && viewer.owns(line) {
                    span class="muted" title="Un autre trésorier approuve vos propres lignes." { "Votre ligne" }
                } @else if line.status == DRAFT {
                    input type="checkbox" name="ligne" value=(line.id) id={ "ligne-" (line.id) }
                        aria-label={ "Sélectionner la ligne de " (line.person_name) };
                }
            }
            td class="date" { (money::date_short(&line.date)) }
            td { (line.person_name) }
            td {
                a href=(href(&line.path())) { (line.title) }
                @if line.is_adjustment() { " " span class="badge ajustement" { "Ajustement" } }
            }
            td { (line.project()) }
            td {
                (ui::status_badge(&line.status))
                @if !line.hold_reason.is_empty() {
                    br;
                    span class="motif-attente" { (line.hold_reason) }
                }
            }
            (ui::amount_cell(line.amount))
            (ui::hours_cell(line.minutes))
        }
    }
}

fn filter_form(filters: &Filters) -> Markup {
    let members = maillage_sdk::members();
    let visible = groups::visible_groups();
    html! {
        form method="get" action=(href("/tresorerie")) class="filters" {
            label for="statut" { "Statut" }
            select id="statut" name="statut" {
                option value="" { "Tous" }
                @for (code, label) in ledger::statuses() {
                    option value=(code) selected[filters.status == code] { (label) }
                }
            }
            label for="personne" { "Personne" }
            select id="personne" name="personne" {
                option value="" { "Toutes" }
                @for m in &members {
                    option value=(m.user_id) selected[filters.person == m.user_id] { (m.display_name) }
                }
            }
            label for="groupe" { "Projet" }
            select id="groupe" name="groupe" {
                option value="" { "Tous" }
                @for g in &visible {
                    option value=(g.id) selected[filters.group == g.id] { (g.name) }
                }
            }
            label for="mission" { "Mission" }
            select id="mission" name="mission" {
                option value="" { "Toutes" }
                @for (code, label) in model::MISSIONS {
                    option value=(code) selected[filters.mission == code] { (label) }
                }
            }
            label for="du" { "Du" }
            input id="du" type="date" name="du" value=(filters.from.as_deref().unwrap_or(""));
            label for="au" { "Au" }
            input id="au" type="date" name="au" value=(filters.to.as_deref().unwrap_or(""));
            label for="par" { "Regrouper par" }
            select id="par" name="par" {
                @for by in GroupBy::ALL {
                    option value=(by.code()) selected[filters.by == by] { (by.label()) }
                }
            }
            button type="submit" { "Filtrer" }
        }
    }
}

fn filter_error(message: &str) -> Response {
    let body = html! {
        (ui::head())
        h1 { "Trésorerie" }
        (alert(Some(message)))
        p { a href=(href("/tresorerie")) { "Revenir à toutes les lignes" } }
    };
    Response::page("Trésorerie", body).with_status(422)
}

/// Writes the audit entry of a step; a failure rolls the whole call back (503).
fn audit(action: &str, line: &Line, details: Value) -> Result<(), StoreError> {
    let target = format!("{} — {} ({})", line.person_name, line.title, line.id);
    maillage_sdk::audit::write(action, &target, &details).map_err(|e| {
        log::error(&format!(
            "indemnites: audit {action} of {} failed: {e}",
            line.id
        ));
        StoreError::Unavailable(e)
    })
}

fn update(line: &Line, patch: &Value) -> Result<(), StoreError> {
    records::update::<Value>(LINES, &line.id, patch)?;
    Ok(())
}

fn approval_patch(viewer: &Viewer) -> Value {
    json!({
        "status": APPROVED,
        "approved_by": viewer.id(),
        "approved_by_name": viewer.name(),
        "approved_at": time::now_seconds(),
    })
}

/// A treasurer's own line: another treasurer approves it.
fn own_line(line: &Line) -> Response {
    ui::conflict(&format!(
        "La ligne « {} » est la vôtre : un autre trésorier doit l’approuver. Rien n’a été modifié.",
        line.title
    ))
}

fn not_draft(line: &Line) -> Response {
    ui::conflict(&format!(
        "La ligne de {} n’est pas en brouillon ({}) : elle ne peut pas être approuvée. Rien n’a été modifié.",
        line.person_name,
        model::status_label(&line.status).to_lowercase()
    ))
}

/// `POST /lignes/{id}/approuver`.
pub fn approve(id: &str) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let Some(line) = model::load_line(id)? else {
        return Ok(Response::not_found());
    };
    if line.status != DRAFT {
        return Ok(not_draft(&line));
    }
    if viewer.owns(&line) {
        return Ok(own_line(&line));
    }
    update(&line, &approval_patch(&viewer))?;
    audit(
        "ligne.approuver",
        &line,
        json!({ "montant": line.amount, "avant": line.status, "apres": APPROVED }),
    )?;
    Ok(Response::see_other(&format!("{}?ok=approuve", line.path())))
}

/// `POST /tresorerie/approuver`: `ligne` repeated; all or nothing.
pub fn approve_many(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let mut ids: Vec<String> = form
        .all("ligne")
        .into_iter()
        .filter(|i| !i.is_empty())
        .collect();
    ids.dedup();
    if ids.is_empty() {
        return Ok(ui::unprocessable(
            "Sélectionnez au moins une ligne à approuver.",
        ));
    }
    if ids.len() > MAX_LINES {
        return Ok(ui::unprocessable("Trop de lignes sélectionnées à la fois."));
    }
    let mut lines: Vec<Line> = Vec::with_capacity(ids.len());
    for id in &ids {
        let Some(line) = model::load_line(id)? else {
            return Ok(Response::not_found());
        };
        if lines.iter().any(|l| l.id == line.id) {
            continue;
        }
        if line.status != DRAFT {
            return Ok(not_draft(&line));
        }
        if viewer.owns(&line) {
            return Ok(own_line(&line));
        }
        lines.push(line);
    }
    let patch = approval_patch(&viewer);
    for line in &lines {
        update(line, &patch)?;
        audit(
            "ligne.approuver",
            line,
            json!({ "montant": line.amount, "avant": DRAFT, "apres": APPROVED, "groupee": true }),
        )?;
    }
    Ok(Response::see_other(&format!(
        "/tresorerie?ok=approuve&n={}",
        lines.len()
    )))
}

/// `POST /lignes/{id}/payer`: `date` (YYYY-MM-DD), `reference`.
pub fn pay(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let Some(line) = model::load_line(id)? else {
        return Ok(Response::not_found());
    };
    if line.status == PAID {
        return Ok(ui::conflict(&format!(
            "Cette ligne est déjà payée (le {}) : rien n’a été modifié.",
            line.paid_on
                .as_deref()
                .map(ui::date_long)
                .unwrap_or_default()
        )));
    }
    if line.status != APPROVED {
        return Ok(ui::conflict(
            "Seule une ligne approuvée peut être marquée payée : rien n’a été modifié.",
        ));
    }
    let date_text = form.get("date");
    let paid_on = match ui::optional_date(&date_text, "Date du paiement") {
        Ok(Some(date)) => date,
        Ok(None) => {
            return Ok(
                pages::line_view(&line, &viewer, "", Some("Indiquez la date du paiement."))
                    .with_status(422),
            );
        }
        Err(message) => {
            return Ok(
                pages::line_view(&line, &viewer, "", Some(message.as_str())).with_status(422)
            );
        }
    };
    let reference = form.get("reference");
    if reference.chars().count() > MAX_REFERENCE || reference.chars().any(char::is_control) {
        return Ok(pages::line_view(
            &line,
            &viewer,
            "",
            Some("La référence du paiement est trop longue (200 caractères au plus)."),
        )
        .with_status(422));
    }
    update(
        &line,
        &json!({
            "status": PAID,
            "paid_on": paid_on,
            "payment_ref": reference,
            "paid_by": viewer.id(),
            "paid_by_name": viewer.name(),
            "paid_at": time::now_seconds(),
        }),
    )?;
    audit(
        "ligne.payer",
        &line,
        json!({
            "montant": line.amount,
            "avant": APPROVED,
            "apres": PAID,
            "date": paid_on,
            "reference": reference,
        }),
    )?;
    Ok(Response::see_other(&format!("{}?ok=paye", line.path())))
}

/// `POST /lignes/{id}/decision`: `decision` = plafond | refuser | valider | recalculer.
pub fn decide(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let Some(line) = model::load_line(id)? else {
        return Ok(Response::not_found());
    };
    let decision = form.get("decision");
    if !["plafond", "refuser", "valider", "recalculer"].contains(&decision.as_str()) {
        return Ok(ui::unprocessable(
            "Décision inconnue : choisissez ramener au plafond, refuser, valider ou recalculer.",
        ));
    }
    if line.status != HELD {
        return Ok(ui::conflict(
            "Cette ligne n’est pas en attente : aucune décision n’est à prendre. Rien n’a été modifié.",
        ));
    }
    let decided = json!({
        "decision": decision,
        "decided_by_name": viewer.name(),
        "decided_at": time::now_seconds(),
    });
    let mut patch = match decision.as_str() {
        "refuser" => json!({
            "status": NOT_ELIGIBLE,
            "amount": 0,
            "rationale": appended(&line.rationale, "Refusée par le trésorier."),
        }),
        "plafond" | "valider" => {
            if line.hold_kind != HOLD_CAP {
                return Ok(ui::conflict(
                    "Cette ligne n’attend pas une décision sur le plafond : recalculez-la ou refusez-la.",
                ));
            }
            let Some(person) = &line.person else {
                return Ok(ui::conflict("Cette ligne ne concerne aucun membre."));
            };
            let counted = model::counted_total(person, line.year, &line)?;
            let (cap, _) = model::cap_of(line.year as i32)?;
            if decision == "valider" {
                if money::crosses_cap(counted, line.amount, cap) {
                    return Ok(ui::conflict(&format!(
                        "{} : la ligne ne peut pas être validée. Ramenez-la au plafond ou refusez-la.",
                        ledger::cap_reason(counted + line.amount, cap)
                    )));
                }
                json!({
                    "status": DRAFT,
                    "rationale": appended(&line.rationale, "Validée par le trésorier : le plafond annuel n’est plus dépassé."),
                })
            } else {
                let left = money::remaining(counted, cap);
                if left <= 0 {
                    return Ok(ui::conflict(&format!(
                        "Le plafond annuel est déjà atteint ({} sur {}) : refusez la ligne.",
                        money::euros(counted),
                        money::euros(cap)
                    )));
                }
                let amount = line.amount.min(left);
                json!({
                    "status": DRAFT,
                    "amount": amount,
                    "rationale": appended(
                        &line.rationale,
                        &format!(
                            "Ramenée au plafond annuel : {} au lieu de {}.",
                            money::euros(amount),
                            money::euros(line.amount)
                        ),
                    ),
                })
            }
        }
        _ => match ledger::recompute(&line)? {
            Ok(patch) => patch,
            Err(reason) => return Ok(ui::conflict(&reason)),
        },
    };
    if let (Some(target), Some(extra)) = (patch.as_object_mut(), decided.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
        if target.get("status").and_then(Value::as_str) != Some(HELD) {
            target.insert("hold_kind".into(), Value::Null);
            target.insert("hold_reason".into(), Value::Null);
        }
    }
    update(&line, &patch)?;
    audit(
        "ligne.decision",
        &line,
        json!({
            "decision": decision,
            "avant": { "statut": line.status, "montant": line.amount, "motif": line.hold_reason },
            "apres": { "statut": patch.get("status"), "montant": patch.get("amount").cloned().unwrap_or(json!(line.amount)) },
        }),
    )?;
    Ok(Response::see_other(&format!("{}?ok=decision", line.path())))
}

fn appended(rationale: &str, text: &str) -> String {
    if rationale.is_empty() {
        text.to_string()
    } else {
        format!("{rationale} — {text}")
    }
}

/// An upload's answer: htmx follows `HX-Redirect`; a plain request gets 303 or the
/// error page.
fn upload_answer(request: &Request, line: &Line, error: Option<(&str, &str)>) -> Response {
    let htmx = request.header("hx-request").is_some();
    match (error, htmx) {
        (None, false) => Response::see_other(&format!("{}?ok=note", line.path())),
        (None, true) => hx_redirect(&format!("{}?ok=note", line.path())),
        (Some((code, _)), true) => hx_redirect(&format!("{}?erreur={code}", line.path())),
        (Some((_, message)), false) => {
            pages::line_view(line, &Viewer::current(), "", Some(message)).with_status(422)
        }
    }
}

fn hx_redirect(relative: &str) -> Response {
    Response {
        status: 200,
        headers: vec![(
            "hx-redirect".into(),
            format!("{}{relative}", maillage_sdk::context().base_path),
        )],
        body: Vec::new(),
    }
}

/// `POST /lignes/{id}/note`: `multipart/form-data` with the file in `fichier`. The CSRF
/// token is the form's first part (a plain form, without JavaScript) or, through htmx,
/// the `x-csrf-token` header; the host checks it before the body reaches the module.
pub fn attach_note(id: &str, request: &Request) -> PageResult {
    let viewer = Viewer::current();
    let Some(line) = model::load_line(id)? else {
        return Ok(Response::not_found());
    };
    if !viewer.may_read(&line) {
        return Ok(Response::not_found());
    }
    let refuse = |code: &str| -> PageResult {
        let message = pages::note_error(&format!("erreur={code}")).unwrap_or("Erreur.");
        Ok(upload_answer(request, &line, Some((code, message))))
    };
    let Some(upload) = multipart::Upload::read(request.header("content-type"), &request.body)
    else {
        return refuse("note-envoi");
    };
    // The field `fichier`, else the first file of the form.
    let file = upload
        .parts
        .iter()
        .find(|p| p.name == "fichier" && p.file_name.is_some());
    let Some(file) = file.or_else(|| upload.parts.iter().find(|p| p.file_name.is_some())) else {
        return refuse("note-vide");
    };
    let name = multipart::clean_file_name(file.file_name.as_deref().unwrap_or_default());
    if name.is_empty() || file.data.is_empty() {
        return refuse("note-vide");
    }
    let content_type = file
        .content_type
        .clone()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !NOTE_TYPES.contains(&content_type.as_str()) {
        return refuse("note-format");
    }
    let info = match blobs::put(&name, &content_type, file.data) {
        Ok(info) => info,
        Err(e) => {
            log::warn(&format!(
                "indemnites: expense note of {} not stored: {e}",
                line.id
            ));
            return refuse("note-stockage");
        }
    };
    let path = blobs::download_path(&info.id);
    update(
        &line,
        &json!({ "note_blob": info.id, "note_name": name, "note_path": path }),
    )?;
    audit(
        "ligne.note",
        &line,
        json!({ "fichier": name, "taille": info.size, "sha256": info.sha256 }),
    )?;
    // The previous note is no longer linked: removed last, once everything else worked.
    if !line.note_blob.is_empty()
        && line.note_blob != info.id
        && let Err(e) = blobs::delete(&line.note_blob)
    {
        log::warn(&format!(
            "indemnites: previous expense note {} not deleted: {e}",
            line.note_blob
        ));
    }
    Ok(upload_answer(request, &line, None))
}
