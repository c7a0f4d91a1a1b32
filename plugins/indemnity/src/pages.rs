//! The member's pages: « Mon compte » (per project, as the seed's table, then the
//! detailed lines), its widget, and a line's page (with the treasurer's forms).

use std::collections::BTreeSet;

use maillage_sdk::Response;
use maillage_sdk::fr;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{Query, StoreError};

use crate::model::{
    self, APPROVED, DRAFT, HELD, HOLD_CAP, LINES, Line, MAX_LINES, PAID, TaskTime, Viewer,
};
use crate::money;
use crate::rules;
use crate::task_time;
use crate::ui::{self, PageResult};

/// One project of « Mon compte ».
pub struct ProjectRow {
    /// The group's id ("" for « Hors projet »): [`Line::project_key`].
    pub key: String,
    pub name: String,
    /// « Date de début »: the project's start date as the projects module gave it, else
    /// the first date among the lines and task time shown, "YYYY-MM-DD".
    pub start: String,
    /// Draft, approved and paid amounts.
    pub cents: i64,
    /// Time spent in meetings, every line.
    pub meeting_minutes: i64,
    /// Time logged on the projects module's tasks.
    pub task_minutes: i64,
}

impl ProjectRow {
    /// « Temps passé »: meetings and tasks.
    pub fn minutes(&self) -> i64 {
        self.meeting_minutes + self.task_minutes
    }
}

/// A row being gathered by [`project_rows`].
struct Gathered {
    row: ProjectRow,
    /// Whether `row.name` is a real name (the group's, or « Hors projet »), not
    /// « Projet sans nom ».
    named: bool,
    /// The project's start date from the task time, with when its record was written.
    project_start: Option<(i64, String)>,
}

/// The index of the row of `key`, made when missing; its first date lowered to `date`.
fn gathered(
    rows: &mut Vec<Gathered>,
    key: String,
    date: &str,
    name: impl FnOnce() -> (String, bool),
) -> usize {
    match rows.iter().position(|g| g.row.key == key) {
        Some(i) => {
            if date < rows[i].row.start.as_str() {
                rows[i].row.start = date.to_string();
            }
            i
        }
        None => {
            let (name, named) = name();
            rows.push(Gathered {
                row: ProjectRow {
                    key,
                    name,
                    start: date.to_string(),
                    cents: 0,
                    meeting_minutes: 0,
                    task_minutes: 0,
                },
                named,
                project_start: None,
            });
            rows.len() - 1
        }
    }
}

/// The lines and the time logged on tasks grouped per project, by start date. Both are
/// keyed by group ([`Line::project_key`], [`TaskTime::project_key`]): a project with
/// meetings and task time is one row; a project with task time only shows no amount.
pub fn project_rows(lines: &[&Line], time: &[&TaskTime]) -> Vec<ProjectRow> {
    let mut rows: Vec<Gathered> = Vec::new();
    for line in lines {
        let i = gathered(&mut rows, line.project_key(), &line.date, || {
            (
                line.project(),
                !line.group_name.is_empty() || line.group_id.is_none(),
            )
        });
        let row = &mut rows[i].row;
        if line.counts() {
            row.cents += line.amount;
        }
        row.meeting_minutes += line.minutes;
    }
    for entry in time.iter().filter(|t| !t.deleted) {
        let i = gathered(&mut rows, entry.project_key(), &entry.date, || {
            (
                entry.project(),
                !entry.group_name.is_empty() || entry.group_id.is_none(),
            )
        });
        let g = &mut rows[i];
        if !g.named && !entry.group_name.is_empty() {
            g.row.name = entry.group_name.clone();
            g.named = true;
        }
        g.row.task_minutes += entry.minutes;
        // The newest record knows the project's current start date.
        if !entry.project_start.is_empty()
            && g.project_start
                .as_ref()
                .is_none_or(|(at, _)| entry.updated_at >= *at)
        {
            g.project_start = Some((entry.updated_at, entry.project_start.clone()));
        }
    }
    let mut rows: Vec<ProjectRow> = rows
        .into_iter()
        .map(|g| match g.project_start {
            Some((_, start)) => ProjectRow { start, ..g.row },
            None => g.row,
        })
        .collect();
    rows.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// The lines and the task time of the chosen year (none: every year); task time by the
/// year of the date worked.
pub fn of_year<'a>(
    lines: &'a [Line],
    time: &'a [TaskTime],
    year: Option<i32>,
) -> (Vec<&'a Line>, Vec<&'a TaskTime>) {
    let chosen = |y: i64| year.is_none_or(|wanted| y == i64::from(wanted));
    (
        lines.iter().filter(|l| chosen(l.year)).collect(),
        time.iter()
            .filter(|t| !t.deleted && chosen(t.year))
            .collect(),
    )
}

/// The years with lines or task time, for the year selector.
pub fn years_of(lines: &[Line], time: &[TaskTime]) -> BTreeSet<i64> {
    lines
        .iter()
        .map(|l| l.year)
        .chain(time.iter().filter(|t| !t.deleted).map(|t| t.year))
        .collect()
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
    let all_time = task_time::my_task_time(&me)?;
    let years = years_of(&all, &all_time);
    let (lines, time) = of_year(&all, &all_time, year);
    let rows = project_rows(&lines, &time);
    let total_cents: i64 = rows.iter().map(|r| r.cents).sum();
    let total_meetings: i64 = rows.iter().map(|r| r.meeting_minutes).sum();
    let total_tasks: i64 = rows.iter().map(|r| r.task_minutes).sum();
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
            "les lignes en attente ou non éligibles n’y figurent pas. "
            "Le temps passé compte les réunions émargées et le temps saisi sur les tâches des projets."
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
                            tr class="projet" data-groupe=(row.key) {
                                th scope="row" { (row.name) }
                                td class="date" data-date=(row.start) { (money::date_short(&row.start)) }
                                td class="montant" data-cents=(row.cents) { (money::euros_number(row.cents)) }
                                (ui::project_hours_cell(row.meeting_minutes, row.task_minutes))
                            }
                        }
                    }
                    tfoot {
                        tr class="total" {
                            th scope="row" { "Total" }
                            td {}
                            td class="montant" data-cents=(total_cents) { (money::euros_number(total_cents)) }
                            (ui::project_hours_cell(total_meetings, total_tasks))
                        }
                    }
                }
            }
            @if !lines.is_empty() {
                h2 { "Détail des lignes" }
                (lines_table(&lines, false))
            }
            @if !time.is_empty() {
                h2 { "Temps saisi sur les tâches" }
                (task_time_table(&time))
            }
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

/// The time logged on the projects module's tasks: `table.temps-taches`, a row
/// `tr[data-entry={entry id}]` each (date worked, project, task, `span.duree`, who
/// entered it).
pub fn task_time_table(time: &[&TaskTime]) -> Markup {
    html! {
        div class="table-scroll" {
            table class="temps-taches list" {
                thead {
                    tr {
                        th scope="col" { "Date du travail" }
                        th scope="col" { "Projet" }
                        th scope="col" { "Tâche" }
                        th scope="col" class="nombre" { "Durée" }
                        th scope="col" { "Saisi par" }
                    }
                }
                tbody {
                    @for entry in time {
                        tr data-entry=(entry.entry) {
                            td class="date" data-date=(entry.date) { (money::date_short(&entry.date)) }
                            td { (entry.project()) }
                            td { (entry.task_title) }
                            td class="nombre" {
                                span class="duree" data-minutes=(entry.minutes) { (fr::duration(entry.minutes)) }
                            }
                            td { (entry.entered_by_name) }
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
        let rows = project_rows(&refs, &[]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].name, "Soins non programmés");
        assert_eq!(rows[0].cents, 10_000);
        assert_eq!(rows[1].name, "HAD");
        assert_eq!(rows[1].start, "2026-02-01");
        // The non-eligible line counts its time, not its amount.
        assert_eq!(rows[1].cents, 8000);
        assert_eq!(rows[1].minutes(), 180);
        // Held lines are not counted in the indemnity.
        assert_eq!(rows[2].name, "Hors projet");
        assert_eq!(rows[2].cents, 0);
        assert_eq!(rows[2].minutes(), 30);
        assert_eq!(rows[2].task_minutes, 0);
    }

    fn logged(
        group: Option<&str>,
        name: &str,
        date: &str,
        minutes: i64,
        project_start: &str,
        updated_at: i64,
        deleted: bool,
    ) -> TaskTime {
        let project_start = (!project_start.is_empty()).then_some(project_start);
        serde_json::from_value(serde_json::json!({
            "id": format!("t-{date}-{minutes}-{updated_at}"),
            "entry": format!("e-{date}-{minutes}-{updated_at}"),
            "revision": 1,
            "deleted": deleted,
            "group_id": group,
            "group_name": name,
            "person": "1",
            "date": date,
            "year": money::year_of(date),
            "minutes": minutes,
            "task_title": "Tâche",
            "entered_by_name": "Marc Médecin",
            "project_start": project_start,
            "updated_at": updated_at,
        }))
        .expect("task time")
    }

    #[test]
    fn merges_task_time_into_the_projects_of_the_lines() {
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
            line(Some("5"), "", "2026-04-01", 8000, 30, DRAFT),
        ];
        let time = [
            // Two entries of a project that also has a meeting: one row; the newest
            // record's start date.
            logged(
                Some("1"),
                "Soins non programmés",
                "2026-02-03",
                90,
                "2020-11-01",
                100,
                false,
            ),
            logged(
                Some("1"),
                "Soins non programmés",
                "2026-02-10",
                30,
                "2020-11-16",
                200,
                false,
            ),
            // Time only, no start date known: the first date worked.
            logged(
                Some("3"),
                "Prévention santé mentale",
                "2026-01-20",
                60,
                "",
                100,
                false,
            ),
            logged(
                Some("4"),
                "Cicat Breilh",
                "2026-05-04",
                60,
                "2021-08-02",
                100,
                false,
            ),
            // Deleted: counts nothing.
            logged(Some("2"), "HAD", "2026-03-05", 0, "2021-08-02", 300, true),
            // Names a project whose lines had no name.
            logged(
                Some("5"),
                "Gestion administrative",
                "2026-04-02",
                45,
                "",
                100,
                false,
            ),
        ];
        let line_refs: Vec<&Line> = lines.iter().collect();
        let time_refs: Vec<&TaskTime> = time.iter().collect();
        let rows = project_rows(&line_refs, &time_refs);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Soins non programmés",
                "Cicat Breilh",
                "Prévention santé mentale",
                "HAD",
                "Gestion administrative",
            ]
        );
        let soins = &rows[0];
        assert_eq!(soins.start, "2020-11-16");
        assert_eq!(soins.cents, 10_000);
        assert_eq!(soins.meeting_minutes, 90);
        assert_eq!(soins.task_minutes, 120);
        assert_eq!(soins.minutes(), 210);
        // Time only: no amount.
        assert_eq!(rows[1].start, "2021-08-02");
        assert_eq!(rows[1].cents, 0);
        assert_eq!(rows[1].minutes(), 60);
        assert_eq!(rows[2].start, "2026-01-20");
        assert_eq!(rows[2].cents, 0);
        // The deleted entry changes neither the time nor the start date.
        assert_eq!(rows[3].start, "2026-03-02");
        assert_eq!(rows[3].minutes(), 60);
        assert_eq!(rows[4].meeting_minutes, 30);
        assert_eq!(rows[4].task_minutes, 45);
    }

    #[test]
    fn the_year_is_the_date_worked() {
        let lines = [line(
            Some("1"),
            "Soins non programmés",
            "2026-01-10",
            10_000,
            90,
            PAID,
        )];
        let time = [
            logged(Some("3"), "Prévention", "2025-12-20", 60, "", 100, false),
            logged(Some("3"), "Prévention", "2024-06-01", 60, "", 100, true),
        ];
        let years: Vec<i64> = years_of(&lines, &time).into_iter().collect();
        // A deleted entry adds no year.
        assert_eq!(years, [2025, 2026]);
        let (l, t) = of_year(&lines, &time, Some(2025));
        assert!(l.is_empty());
        assert_eq!(t.len(), 1);
        let (l, t) = of_year(&lines, &time, None);
        assert_eq!((l.len(), t.len()), (1, 1));
    }
}
