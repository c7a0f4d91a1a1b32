//! The member's pages: « Mon compte » (per project, as the seed's table, then the
//! detailed lines), its widget, and a line's page (with the treasurer's forms).

use std::collections::BTreeSet;

use maillage_sdk::Response;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{Query, StoreError};

use crate::model::{self, APPROVED, DRAFT, HELD, HOLD_CAP, LINES, Line, MAX_LINES, PAID, Viewer};
use crate::money;
use crate::rules;
use crate::ui::{self, PageResult};

/// One project of « Mon compte ».
pub struct ProjectRow {
    pub name: String,
    /// The first meeting date of the project among the lines, "YYYY-MM-DD".
    pub start: String,
    /// Draft, approved and paid amounts.
    pub cents: i64,
    /// Time spent, every line.
    pub minutes: i64,
}

/// The lines grouped per project, by first date.
pub fn project_rows(lines: &[&Line]) -> Vec<ProjectRow> {
    let mut rows: Vec<(String, ProjectRow)> = Vec::new();
    for line in lines {
        let key = line.project_key();
        let index = match rows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                rows.push((
                    key,
                    ProjectRow {
                        name: line.project(),
                        start: line.date.clone(),
                        cents: 0,
                        minutes: 0,
                    },
                ));
                rows.len() - 1
            }
        };
        let row = &mut rows[index].1;
        if line.date < row.start {
            row.start = line.date.clone();
        }
        if line.counts() {
            row.cents += line.amount;
        }
        row.minutes += line.minutes;
    }
    let mut rows: Vec<ProjectRow> = rows.into_iter().map(|(_, r)| r).collect();
    rows.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// The acting member's lines, by date.
pub fn my_lines(me: &str) -> Result<Vec<Line>, StoreError> {
    let query = Query::new()
        .filter("person = {:p}")
        .param("p", me)
        .sort("date,created_at");
    query.fetch_all(LINES, MAX_LINES)
}

/// The year asked in `annee` (none: every year), or the 422 answer.
pub fn year_filter(query: &str) -> Result<Option<i32>, Response> {
    let text = ui::param(query, "annee");
    if text.is_empty() {
        return Ok(None);
    }
    match ui::parse_year(&text) {
        Some(year) => Ok(Some(year)),
        None => Err(ui::unprocessable(&format!(
            "« {text} » n’est pas une année valide."
        ))),
    }
}

fn not_signed_in() -> Response {
    Response::error(403, "Veuillez vous connecter.")
}

/// `GET /mon-compte[?annee=YYYY]`.
pub fn my_account(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(me) = viewer.id().map(str::to_string) else {
        return Ok(not_signed_in());
    };
    let year = match year_filter(query) {
        Ok(year) => year,
        Err(refused) => return Ok(refused),
    };
    let all = my_lines(&me)?;
    let years: BTreeSet<i64> = all.iter().map(|l| l.year).collect();
    let lines: Vec<&Line> = all
        .iter()
        .filter(|l| year.is_none_or(|y| l.year == i64::from(y)))
        .collect();
    let rows = project_rows(&lines);
    let total_cents: i64 = rows.iter().map(|r| r.cents).sum();
    let total_minutes: i64 = rows.iter().map(|r| r.minutes).sum();
    let chosen = year.map(|y| y.to_string()).unwrap_or_default();
    let export = if chosen.is_empty() {
        href("/mon-compte.xlsx")
    } else {
        href(&format!("/mon-compte.xlsx?annee={chosen}"))
    };
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Mes indemnités" }
            a class="button export" href=(export) { "Exporter en Excel (.xlsx)" }
        }
        (ui::notice_block(query))
        form method="get" action=(href("/mon-compte")) class="filters" {
            label for="annee" { "Année" }
            select id="annee" name="annee" {
                option value="" selected[chosen.is_empty()] { "Toutes les années" }
                @for y in years.iter().rev() {
                    option value=(y) selected[chosen == y.to_string()] { (y) }
                }
            }
            button type="submit" { "Afficher" }
        }
        p class="muted" {
            "Les indemnités liées aux groupes de travail auxquels vous participez, par projet. "
            "L’indemnité compte les lignes en brouillon, approuvées et payées ; "
            "les lignes en attente ou non éligibles n’y figurent pas."
        }
        @if rows.is_empty() {
            p class="empty" { "Aucune indemnité pour le moment." }
        } @else {
            div class="table-scroll" {
                table class="mon-compte list" {
                    thead {
                        tr {
                            th scope="col" { "Nom du projet" }
                            th scope="col" { "Date de début" }
                            th scope="col" class="nombre" { "Indemnité (€)" }
                            th scope="col" class="nombre" { "Temps passé (h)" }
                        }
                    }
                    tbody {
                        @for row in &rows {
                            tr class="projet" {
                                th scope="row" { (row.name) }
                                td class="date" data-date=(row.start) { (money::date_short(&row.start)) }
                                td class="montant" data-cents=(row.cents) { (money::euros_number(row.cents)) }
                                (ui::hours_cell(row.minutes))
                            }
                        }
                    }
                    tfoot {
                        tr class="total" {
                            th scope="row" { "Total" }
                            td {}
                            td class="montant" data-cents=(total_cents) { (money::euros_number(total_cents)) }
                            (ui::hours_cell(total_minutes))
                        }
                    }
                }
            }
            h2 { "Détail des lignes" }
            (lines_table(&lines, false))
        }
        p class="muted" {
            "La note de frais se joint à la ligne concernée (ouvrez la ligne) ; "
            "le trésorier approuve puis verse les indemnités."
        }
    };
    Ok(Response::page("Mes indemnités", body))
}

/// The detailed lines: `table.lignes`, a row `tr[data-ligne][data-statut]` each.
pub fn lines_table(lines: &[&Line], with_person: bool) -> Markup {
    html! {
        div class="table-scroll" {
            table class="lignes list" {
                thead {
                    tr {
                        th scope="col" { "Date" }
                        th scope="col" { "Réunion" }
                        th scope="col" { "Projet" }
                        @if with_person { th scope="col" { "Personne" } }
                        th scope="col" class="nombre" { "Montant" }
                        th scope="col" class="nombre" { "Temps (h)" }
                        th scope="col" { "Statut" }
                        th scope="col" { "Note de frais" }
                    }
                }
                tbody {
                    @for line in lines {
                        tr data-ligne=(line.id) data-statut=(line.status) {
                            td class="date" { (money::date_short(&line.date)) }
                            td {
                                a href=(href(&line.path())) { (line.title) }
                                @if line.is_adjustment() {
                                    " " span class="badge ajustement" { "Ajustement" }
                                }
                            }
                            td { (line.project()) }
                            @if with_person { td { (line.person_name) } }
                            (ui::amount_cell(line.amount))
                            (ui::hours_cell(line.minutes))
                            td {
                                (ui::status_badge(&line.status))
                                @if !line.hold_reason.is_empty() {
                                    br;
                                    span class="motif-attente" { (line.hold_reason) }
                                }
                            }
                            td {
                                @if !line.note_path.is_empty() {
                                    a class="note-de-frais" href=(line.note_path) { (line.note_name) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /mon-compte/widget`: the year's total, the lines not paid yet, a link.
pub fn widget() -> PageResult {
    let viewer = Viewer::current();
    let Some(me) = viewer.id().map(str::to_string) else {
        return Ok(Response::fragment(
            html! { p class="muted" { "Aucune indemnité." } },
        ));
    };
    let year = money::year_of(&model::today()).unwrap_or(0);
    let lines = my_lines(&me)?;
    let total: i64 = lines
        .iter()
        .filter(|l| l.year == i64::from(year) && l.counts())
        .map(|l| l.amount)
        .sum();
    let pending = lines
        .iter()
        .filter(|l| [DRAFT, APPROVED, HELD].contains(&l.status.as_str()))
        .count();
    Ok(Response::fragment(html! {
        div class="indemnites-widget" {
            p {
                "Indemnités " (year) " : "
                strong class="montant" data-cents=(total) { (money::euros(total)) }
            }
            p {
                span class="en-attente" data-count=(pending) {
                    @if pending == 0 {
                        "Aucune ligne en attente de paiement."
                    } @else if pending == 1 {
                        "1 ligne en attente de paiement."
                    } @else {
                        (pending) " lignes en attente de paiement."
                    }
                }
            }
            p { a href=(href("/mon-compte")) { "Voir mes indemnités" } }
        }
    }))
}

/// The message of a failed expense note upload (`?erreur=…` after htmx's redirect).
pub fn note_error(query: &str) -> Option<&'static str> {
    Some(match ui::param(query, "erreur").as_str() {
        "note-vide" => "Choisissez un fichier à joindre.",
        "note-format" => {
            "Ce format n’est pas accepté : joignez un PDF ou une image (PNG, JPEG, WebP, HEIC)."
        }
        "note-envoi" => "L’envoi du fichier a échoué. Veuillez réessayer.",
        "note-stockage" => "Le fichier n’a pas pu être enregistré (taille maximale dépassée ?).",
        _ => return None,
    })
}

/// `GET /lignes/{id}`: its person and treasurers; 404 for anyone else.
pub fn line_page(id: &str, query: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(line) = model::load_line(id)? else {
        return Ok(Response::not_found());
    };
    if !viewer.may_read(&line) {
        return Ok(Response::not_found());
    }
    Ok(line_view(&line, &viewer, query, None))
}

/// The line with its history and the forms the viewer may use.
pub fn line_view(line: &Line, viewer: &Viewer, query: &str, error: Option<&str>) -> Response {
    let path = line.path();
    let csrf_json = format!(
        "{{\"x-csrf-token\": \"{}\"}}",
        maillage_sdk::context().csrf_token
    );
    let may_attach =
        viewer.treasurer || (line.person.is_some() && line.person.as_deref() == viewer.id());
    let error = error.or_else(|| note_error(query));
    let body = html! {
        (ui::head())
        p {
            @if viewer.treasurer {
                a href=(href("/tresorerie")) { "← Trésorerie" }
                " · "
            }
            a href=(href("/mon-compte")) { "Mes indemnités" }
        }
        h1 {
            @if line.is_adjustment() { "Ajustement — " } @else { "Indemnité — " }
            (line.title)
        }
        (ui::notice_block(query))
        (alert(error))
        dl class="ligne" {
            dt { "Statut" }
            dd id="statut" { (ui::status_badge(&line.status)) }
            @if !line.hold_reason.is_empty() {
                dt { "Motif de l’attente" }
                dd { p class="motif-attente" { (line.hold_reason) } }
            }
            dt { "Personne" }
            dd {
                (line.person_name)
                @if line.person.is_none() { " " span class="badge" { "Invité externe" } }
            }
            dt { "Réunion" }
            dd { (line.title) " — " (ui::date_long(&line.date)) }
            dt { "Projet" }
            dd { (line.project()) }
            dt { "Montant" }
            dd class="montant" data-cents=(line.amount) { (money::euros(line.amount)) }
            @if let Some(computed) = line.computed_amount {
                @if computed != line.amount && !line.is_adjustment() {
                    dt { "Montant calculé par le barème" }
                    dd class="montant-calcule" data-cents=(computed) { (money::euros(computed)) }
                }
            }
            dt { "Temps passé" }
            dd class="heures" data-minutes=(line.minutes) { (money::hours(line.minutes)) " h" }
            @if !line.rationale.is_empty() {
                dt { "Justification" }
                dd class="justification" { (line.rationale) }
            }
            dt { "Barème" }
            dd {
                @if line.rule_set.is_empty() {
                    "Aucun"
                } @else {
                    span class="bareme" { (line.rule_set) " " (line.rule_version) }
                    @let text = rules::stored_settings_text(&line.settings);
                    @if !text.is_empty() {
                        br;
                        span class="muted" { (text) }
                    }
                }
            }
            dt { "Éléments du calcul" }
            dd {
                (model::role_label(&line.role))
                @if !line.profession.is_empty() { " · " (line.profession) }
                " · exercice " (model::exercise_label(&line.exercise_mode).to_lowercase())
                " · " @if line.adherent { "adhérent(e)" } @else { "non adhérent(e)" }
                @if line.exercise_mode == "salarie" {
                    " · " @if line.convention { "convention employeur" } @else { "sans convention employeur" }
                }
                " · révision " (line.revision)
            }
            @if let Some(at) = line.approved_at {
                dt { "Approuvée" }
                dd class="approbation" { "par " (line.approved_by_name) ", le " (ui::instant_text(at)) }
            }
            @if let Some(paid_on) = &line.paid_on {
                dt { "Payée" }
                dd class="paiement" {
                    "le " (ui::date_long(paid_on))
                    @if !line.payment_ref.is_empty() { ", référence " (line.payment_ref) }
                    @if !line.paid_by_name.is_empty() { ", par " (line.paid_by_name) }
                }
            }
            @if !line.decision.is_empty() {
                dt { "Décision" }
                dd { (decision_label(&line.decision)) " par " (line.decided_by_name) }
            }
            dt { "Note de frais" }
            dd {
                @if line.note_path.is_empty() {
                    "Aucune"
                } @else {
                    a class="note-de-frais" href=(line.note_path) { (line.note_name) }
                }
            }
        }
        @if viewer.treasurer {
            (treasurer_forms(line))
        }
        @if may_attach {
            section class="note" {
                h2 { "Joindre une note de frais" }
                form class="note stack" method="post" enctype="multipart/form-data"
                    action=(href(&format!("{path}/note")))
                    hx-post=(href(&format!("{path}/note")))
                    hx-encoding="multipart/form-data"
                    hx-headers=(csrf_json) {
                    (csrf_field())
                    label for="fichier" { "Fichier (PDF ou image)" }
                    input id="fichier" type="file" name="fichier" required
                        accept="application/pdf,image/png,image/jpeg,image/webp,image/heic,.pdf,.png,.jpg,.jpeg,.webp,.heic";
                    button type="submit" {
                        @if line.note_path.is_empty() { "Joindre la note de frais" } @else { "Remplacer la note de frais" }
                    }
                }
            }
        }
    };
    Response::page("Ligne d’indemnité", body)
}

pub fn decision_label(decision: &str) -> &'static str {
    match decision {
        "plafond" => "Ramenée au plafond",
        "refuser" => "Refusée",
        "valider" => "Validée malgré l’attente",
        "recalculer" => "Recalculée",
        _ => "Décision",
    }
}

/// Approve, pay, decide: what the line's status allows.
fn treasurer_forms(line: &Line) -> Markup {
    let path = line.path();
    let today = model::today();
    html! {
        section class="tresorier" {
            h2 { "Trésorerie" }
            @if line.status == DRAFT {
                form class="approuver" method="post" action=(href(&format!("{path}/approuver"))) {
                    (csrf_field())
                    button type="submit" { "Approuver" }
                }
            } @else if line.status == APPROVED {
                form class="payer stack" method="post" action=(href(&format!("{path}/payer"))) {
                    (csrf_field())
                    label for="date" { "Date du paiement" }
                    input id="date" type="date" name="date" required value=(today);
                    label for="reference" { "Référence du paiement (virement, chèque…)" }
                    input id="reference" name="reference" maxlength="200";
                    button type="submit" { "Marquer payée" }
                }
            } @else if line.status == HELD {
                form class="decision stack" method="post" action=(href(&format!("{path}/decision"))) {
                    (csrf_field())
                    p { "Cette ligne est en attente : choisissez la suite à lui donner." }
                    div class="actions" {
                        @if line.hold_kind == HOLD_CAP {
                            button type="submit" name="decision" value="plafond" { "Ramener au plafond" }
                            button type="submit" name="decision" value="valider" class="secondary" { "Valider malgré tout" }
                        } @else {
                            button type="submit" name="decision" value="recalculer" { "Recalculer" }
                        }
                        button type="submit" name="decision" value="refuser" class="secondary"
                            data-confirm="Refuser cette ligne ? Son montant sera ramené à zéro." { "Refuser" }
                    }
                }
            } @else if line.status == PAID {
                p class="muted" { "Cette ligne est payée : elle ne peut plus être modifiée." }
            } @else {
                p class="muted" { "Cette ligne n’est pas éligible : rien n’est à verser." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        group: Option<&str>,
        name: &str,
        date: &str,
        amount: i64,
        minutes: i64,
        status: &str,
    ) -> Line {
        serde_json::from_value(serde_json::json!({
            "id": format!("{date}-{amount}"),
            "meeting_id": "m",
            "revision": 1,
            "kind": "ligne",
            "attendee_key": "u1",
            "date": date,
            "year": 2026,
            "group_id": group,
            "group_name": name,
            "amount": amount,
            "minutes": minutes,
            "status": status,
            "settings": null,
            "person": "1",
        }))
        .expect("a line")
    }

    #[test]
    fn groups_lines_per_project_by_first_date() {
        let lines = [
            line(Some("2"), "HAD", "2026-03-02", 8000, 60, DRAFT),
            line(
                Some("1"),
                "Soins non programmés",
                "2026-01-10",
                10_000,
                90,
                PAID,
            ),
            line(
                Some("2"),
                "HAD",
                "2026-02-01",
                8000,
                120,
                model::NOT_ELIGIBLE,
            ),
            line(None, "", "2026-04-01", 8000, 30, HELD),
        ];
        let refs: Vec<&Line> = lines.iter().collect();
        let rows = project_rows(&refs);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].name, "Soins non programmés");
        assert_eq!(rows[0].cents, 10_000);
        assert_eq!(rows[1].name, "HAD");
        assert_eq!(rows[1].start, "2026-02-01");
        // The non-eligible line counts its time, not its amount.
        assert_eq!(rows[1].cents, 8000);
        assert_eq!(rows[1].minutes, 180);
        // Held lines are not counted in the indemnity.
        assert_eq!(rows[2].name, "Hors projet");
        assert_eq!(rows[2].cents, 0);
        assert_eq!(rows[2].minutes, 30);
    }
}
