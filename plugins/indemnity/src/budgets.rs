//! Money management around the ledger: the yearly cap per person (`/plafond`, the PASS
//! by default, with its legal source) and the budgets per project and year
//! (`/budgets`): the ACI fixed and variable parts planned, other expenses entered by
//! hand, what was spent (approved and paid indemnities plus those expenses), what is
//! left, and an alert past a threshold.

use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, csrf_field, href, html};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::{Response, groups};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{self, APPROVED, BUDGETS, EXPENSES, LINES, Line, PAID, Viewer};
use crate::money::{self, NumberError};
use crate::ui::{self, PageResult};

const MAX_LABEL: usize = 200;

fn this_year() -> i32 {
    money::year_of(&model::today()).unwrap_or(2026)
}

fn amount_error(label: &str, raw: &str, e: NumberError) -> String {
    match e {
        NumberError::Empty => format!("{label} : indiquez un montant."),
        NumberError::Malformed => {
            format!("{label} : « {raw} » n’est pas un montant valide (par exemple 1 500,00).")
        }
        NumberError::Negative => format!("{label} : le montant ne peut pas être négatif."),
        NumberError::TooLarge => {
            format!("{label} : le montant est trop élevé (1 000 000,00 € au plus).")
        }
    }
}

/// An amount above zero typed in a form (euros): the cents, or none with the French
/// error pushed to `errors` (`zero` for an amount of zero).
fn positive_amount(raw: &str, label: &str, zero: &str, errors: &mut Vec<String>) -> Option<i64> {
    match money::parse_euros(raw) {
        Ok(0) => {
            errors.push(zero.into());
            None
        }
        Ok(cents) => Some(cents),
        Err(e) => {
            errors.push(amount_error(label, raw, e));
            None
        }
    }
}

// ---------------------------------------------------------------- plafond

/// `GET /plafond`.
pub fn cap_page(query: &str) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    cap_render(query, None, &[])
}

fn cap_render(query: &str, form: Option<&Form>, errors: &[String]) -> PageResult {
    let current = this_year();
    let custom = model::custom_caps()?;
    let mut years: Vec<i32> = (2022..=current + 1).collect();
    for (y, _) in &custom {
        if !years.contains(y) {
            years.push(*y);
        }
    }
    years.sort();
    // (year, cap, set by the structure), newest first.
    let caps: Vec<(i32, i64, bool)> = years
        .iter()
        .rev()
        .map(|y| match custom.iter().find(|(cy, _)| cy == y) {
            Some((_, cents)) => (*y, *cents, true),
            None => (*y, money::pass(*y), false),
        })
        .collect();
    let typed_year = form
        .map(|f| f.get("annee"))
        .unwrap_or_else(|| current.to_string());
    let typed_amount = form.map(|f| f.get("montant")).unwrap_or_default();
    let body = html! {
        (ui::head())
        (ui::toolbar("Plafond annuel par personne", &[("/tresorerie", "Trésorerie")]))
        (ui::notice_block(query))
        (ui::alerts(errors))
        p class="source" { (money::CAP_SOURCE) }
        p class="muted" {
            "Par défaut, le plafond d’une année est le plafond annuel de la sécurité sociale (PASS) de cette année-là. "
            "Une ligne qui ferait dépasser le plafond à une personne est mise en attente, jamais réduite sans votre décision."
        }
        div class="table-scroll" {
            table class="plafonds list" {
                thead {
                    tr {
                        th scope="col" { "Année" }
                        th scope="col" class="nombre" { "Plafond" }
                        th scope="col" { "Origine" }
                    }
                }
                tbody {
                    @for (y, cents, set) in &caps {
                        tr data-annee=(y) {
                            th scope="row" { (y) }
                            (ui::amount_cell(*cents))
                            td class="origine" {
                                @if *set { "Fixé par la structure" } @else { "PASS" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Fixer le plafond d’une année" }
        form class="plafond stack" method="post" action=(href("/plafond")) {
            (csrf_field())
            label for="annee" { "Année" }
            input id="annee" name="annee" type="number" min="2000" max="2100" step="1" required value=(typed_year);
            label for="montant" { "Plafond (€)" }
            input id="montant" name="montant" type="text" inputmode="decimal" required value=(typed_amount)
                placeholder="47 100,00";
            button type="submit" { "Enregistrer le plafond" }
        }
    };
    let status = if errors.is_empty() { 200 } else { 422 };
    Ok(Response::page("Plafond annuel", body).with_status(status))
}

/// `POST /plafond`: `annee`, `montant` (euros).
pub fn save_cap(form: &Form) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    let mut errors = Vec::new();
    let year = ui::parse_year(&form.get("annee"));
    if year.is_none() {
        errors.push(format!(
            "« {} » n’est pas une année valide (de 2000 à 2100).",
            form.get("annee")
        ));
    }
    let cents = positive_amount(
        &form.get("montant"),
        "Plafond",
        "Le plafond doit être supérieur à zéro.",
        &mut errors,
    );
    let (Some(year), Some(cents)) = (year, cents) else {
        return cap_render("", Some(form), &errors);
    };
    let (before, _) = model::cap_of(year)?;
    model::set_cap(year, cents)?;
    maillage_sdk::audit::write(
        "plafond.modifier",
        &format!("Plafond {year}"),
        &json!({ "annee": year, "avant": before, "apres": cents }),
    )
    .map_err(StoreError::Unavailable)?;
    Ok(Response::see_other("/plafond?ok=plafond"))
}

// ---------------------------------------------------------------- budgets

#[derive(Debug, Clone, Deserialize)]
struct Budget {
    #[serde(default, deserialize_with = "or_default")]
    group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    group_name: String,
    #[serde(default, deserialize_with = "or_default")]
    fixed_planned: i64,
    #[serde(default, deserialize_with = "or_default")]
    variable_planned: i64,
    #[serde(default)]
    threshold: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
struct Expense {
    id: String,
    #[serde(default, deserialize_with = "or_default")]
    group_id: String,
    #[serde(default, deserialize_with = "or_default")]
    label: String,
    #[serde(default, deserialize_with = "or_default")]
    amount: i64,
    #[serde(default, deserialize_with = "or_default")]
    date: String,
    #[serde(default, deserialize_with = "or_default")]
    by_name: String,
}

/// One project's budget for the year.
struct Row {
    group_id: String,
    name: String,
    mission: String,
    fixed: i64,
    variable: i64,
    threshold: i64,
    indemnities: i64,
    other: i64,
}

impl Row {
    fn budget(&self) -> i64 {
        self.fixed + self.variable
    }
    fn spent(&self) -> i64 {
        self.indemnities + self.other
    }
    fn alert(&self) -> Option<String> {
        if money::budget_alert(self.spent(), self.budget(), self.threshold) {
            let percent = money::percent_spent(self.spent(), self.budget()).unwrap_or(0);
            Some(format!("Alerte : {percent} % du budget consommé"))
        } else {
            None
        }
    }
}

/// Every project the treasurer may budget: the groups, plus those known from budgets
/// and lines; (id, name).
fn known_groups(
    budgets: &[Budget],
    spent: &[(String, i64)],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out: Vec<(String, String)> = groups::visible_groups()
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    for b in budgets {
        if !out.iter().any(|(id, _)| *id == b.group_id) {
            out.push((b.group_id.clone(), b.group_name.clone()));
        }
    }
    for (id, _) in spent {
        if !out.iter().any(|(known, _)| known == id) {
            let name = Query::new()
                .filter("group_id = {:g} && group_name != {:e}")
                .param("g", id)
                .param("e", "")
                .sort("-date")
                .first::<Line>(LINES)?
                .map(|l| l.group_name)
                .unwrap_or_else(|| "Projet sans nom".into());
            out.push((id.clone(), name));
        }
    }
    out.sort_by_key(|g| maillage_sdk::text::fold(&g.1));
    Ok(out)
}

fn budgets_of(year: i32) -> Result<Vec<Budget>, StoreError> {
    let query = Query::new().filter("year = {:y}").param("y", year);
    query.fetch_all(BUDGETS, 5000)
}

fn all_budgets() -> Result<Vec<Budget>, StoreError> {
    Query::new().fetch_all(BUDGETS, 20_000)
}

fn expenses_of(year: i32) -> Result<Vec<Expense>, StoreError> {
    let query = Query::new()
        .filter("year = {:y}")
        .param("y", year)
        .sort("date");
    query.fetch_all(EXPENSES, 20_000)
}

/// Approved and paid indemnities of the year, per group: (group id, cents).
fn indemnities_of(year: i32) -> Result<Vec<(String, i64)>, StoreError> {
    let groups = Query::new()
        .filter("year = {:y} && status in {:s} && group_id != null")
        .param("y", year)
        .param("s", [APPROVED, PAID])
        .aggregate(LINES, Some("group_id"), Some("amount"))?;
    Ok(groups
        .into_iter()
        .filter_map(|g| {
            let id = match &g.key {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((id, g.sum))
        })
        .collect())
}

/// `GET /budgets[?annee=YYYY][&groupe=id]`.
pub fn page(query: &str) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    let text = ui::param(query, "annee");
    let year = if text.is_empty() {
        this_year()
    } else {
        match ui::parse_year(&text) {
            Some(y) => y,
            None => {
                return Ok(ui::unprocessable(&format!(
                    "« {text} » n’est pas une année valide."
                )));
            }
        }
    };
    render(year, query, None, &[])
}

fn render(year: i32, query: &str, form: Option<&Form>, errors: &[String]) -> PageResult {
    let budgets = budgets_of(year)?;
    let everything = all_budgets()?;
    let spent = indemnities_of(year)?;
    let expenses = expenses_of(year)?;
    let missions = model::missions()?;
    let known = known_groups(&everything, &spent)?;
    let mut rows: Vec<Row> = Vec::new();
    for (id, name) in &known {
        let budget = budgets.iter().find(|b| b.group_id == *id);
        let indemnities = spent
            .iter()
            .find(|(g, _)| g == id)
            .map(|(_, c)| *c)
            .unwrap_or(0);
        let other: i64 = expenses
            .iter()
            .filter(|e| e.group_id == *id)
            .map(|e| e.amount)
            .sum();
        let mission = missions
            .iter()
            .find(|(g, _)| g == id)
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        rows.push(Row {
            group_id: id.clone(),
            name: name.clone(),
            mission,
            fixed: budget.map(|b| b.fixed_planned).unwrap_or(0),
            variable: budget.map(|b| b.variable_planned).unwrap_or(0),
            threshold: budget.and_then(|b| b.threshold).unwrap_or(80),
            indemnities,
            other,
        });
    }
    // The form starts from the chosen group's budget (`?groupe=`), or what was sent.
    let chosen = form
        .map(|f| f.get("groupe"))
        .unwrap_or_else(|| ui::param(query, "groupe"));
    let chosen_row = rows.iter().find(|r| r.group_id == chosen);
    let value = |name: &str, fallback: String| -> String {
        match form {
            Some(f) if f.get("action") == "budget" => f.get(name),
            _ => fallback,
        }
    };
    let fixed = value(
        "part_fixe",
        chosen_row
            .map(|r| money::euros_input(r.fixed))
            .unwrap_or_default(),
    );
    let variable = value(
        "part_variable",
        chosen_row
            .map(|r| money::euros_input(r.variable))
            .unwrap_or_default(),
    );
    let threshold = value(
        "seuil",
        chosen_row
            .map(|r| r.threshold.to_string())
            .unwrap_or_else(|| "80".into()),
    );
    let mission = value(
        "mission",
        chosen_row.map(|r| r.mission.clone()).unwrap_or_default(),
    );
    let expense_value = |name: &str| -> String {
        match form {
            Some(f) if f.get("action") == "depense" => f.get(name),
            _ => String::new(),
        }
    };
    let totals = (
        rows.iter().map(Row::budget).sum::<i64>(),
        rows.iter().map(|r| r.indemnities).sum::<i64>(),
        rows.iter().map(|r| r.other).sum::<i64>(),
    );
    let body = html! {
        (ui::head())
        (ui::toolbar(&format!("Budgets {year}"), &[("/tresorerie", "Trésorerie")]))
        (ui::notice_block(query))
        (ui::alerts(errors))
        form method="get" action=(href("/budgets")) class="filters" {
            label for="annee-filtre" { "Année" }
            input id="annee-filtre" name="annee" type="number" min="2000" max="2100" value=(year);
            button type="submit" { "Afficher" }
        }
        p class="muted" {
            "Dépensé : indemnités approuvées et payées du projet sur l’année, plus les autres dépenses saisies. "
            "L’ACI fixe une part fixe (versée en deux fois) et une part variable (selon l’atteinte des objectifs)."
        }
        @if rows.is_empty() {
            p class="empty" { "Aucun projet pour le moment." }
        } @else {
            div class="table-scroll" {
                table class="budgets list" {
                    thead {
                        tr {
                            th scope="col" { "Projet" }
                            th scope="col" { "Mission" }
                            th scope="col" class="nombre" { "Part fixe prévue" }
                            th scope="col" class="nombre" { "Part variable prévue" }
                            th scope="col" class="nombre" { "Budget" }
                            th scope="col" class="nombre" { "Indemnités" }
                            th scope="col" class="nombre" { "Autres dépenses" }
                            th scope="col" class="nombre" { "Dépensé" }
                            th scope="col" class="nombre" { "Reste" }
                            th scope="col" { "Alerte" }
                        }
                    }
                    tbody {
                        @for row in &rows {
                            tr data-groupe=(row.group_id) {
                                th scope="row" {
                                    a href=(href(&format!("/budgets?annee={year}&groupe={}", row.group_id))) { (row.name) }
                                }
                                td { @if !row.mission.is_empty() { (model::mission_label(&row.mission)) } }
                                td class="montant fixe" data-cents=(row.fixed) { (money::euros(row.fixed)) }
                                td class="montant variable" data-cents=(row.variable) { (money::euros(row.variable)) }
                                td class="montant budget" data-cents=(row.budget()) { (money::euros(row.budget())) }
                                td class="montant indemnites" data-cents=(row.indemnities) { (money::euros(row.indemnities)) }
                                td class="montant autres" data-cents=(row.other) { (money::euros(row.other)) }
                                td class="montant depense" data-cents=(row.spent()) { (money::euros(row.spent())) }
                                td class="montant reste" data-cents=(row.budget() - row.spent()) { (money::euros(row.budget() - row.spent())) }
                                td class="alerte" {
                                    @if let Some(alert) = row.alert() {
                                        span role="alert" { (alert) }
                                    }
                                }
                            }
                        }
                    }
                    tfoot {
                        tr class="total" {
                            th scope="row" colspan="4" { "Total" }
                            td class="montant budget" data-cents=(totals.0) { (money::euros(totals.0)) }
                            td class="montant indemnites" data-cents=(totals.1) { (money::euros(totals.1)) }
                            td class="montant autres" data-cents=(totals.2) { (money::euros(totals.2)) }
                            td class="montant depense" data-cents=(totals.1 + totals.2) { (money::euros(totals.1 + totals.2)) }
                            td class="montant reste" data-cents=(totals.0 - totals.1 - totals.2) { (money::euros(totals.0 - totals.1 - totals.2)) }
                            td {}
                        }
                    }
                }
            }
        }
        @if !known.is_empty() {
            h2 { "Budget d’un projet" }
            form class="budget stack" method="post" action=(href("/budgets")) {
                (csrf_field())
                input type="hidden" name="action" value="budget";
                input type="hidden" name="annee" value=(year);
                (group_select("groupe-budget", &known, &chosen))
                label for="mission" { "Mission du projet de santé" }
                select id="mission" name="mission" {
                    option value="" { "Non renseignée" }
                    @for (code, label) in model::MISSIONS {
                        option value=(code) selected[mission == code] { (label) }
                    }
                }
                label for="part_fixe" { "Part fixe prévue (€)" }
                input id="part_fixe" name="part_fixe" type="text" inputmode="decimal" value=(fixed) placeholder="0,00";
                label for="part_variable" { "Part variable prévue (€)" }
                input id="part_variable" name="part_variable" type="text" inputmode="decimal" value=(variable) placeholder="0,00";
                label for="seuil" { "Seuil d’alerte (% du budget consommé)" }
                input id="seuil" name="seuil" type="number" min="1" max="100" step="1" value=(threshold);
                button type="submit" { "Enregistrer le budget" }
            }
            h2 { "Ajouter une autre dépense" }
            form class="depense stack" method="post" action=(href("/budgets")) {
                (csrf_field())
                input type="hidden" name="action" value="depense";
                (group_select("groupe-depense", &known, &chosen))
                label for="libelle" { "Libellé" }
                input id="libelle" name="libelle" maxlength=(MAX_LABEL) required value=(expense_value("libelle"));
                label for="montant" { "Montant (€)" }
                input id="montant" name="montant" type="text" inputmode="decimal" required value=(expense_value("montant"));
                label for="date" { "Date" }
                input id="date" name="date" type="date" required value=(expense_value("date"));
                button type="submit" { "Ajouter la dépense" }
            }
        }
        h2 { "Autres dépenses " (year) }
        @if expenses.is_empty() {
            p class="muted" { "Aucune autre dépense saisie pour cette année." }
        } @else {
            div class="table-scroll" {
                table class="depenses list" {
                    thead {
                        tr {
                            th scope="col" { "Date" }
                            th scope="col" { "Projet" }
                            th scope="col" { "Libellé" }
                            th scope="col" class="nombre" { "Montant" }
                            th scope="col" { "Saisie par" }
                            th scope="col" { span class="sr-only" { "Actions" } }
                        }
                    }
                    tbody {
                        @for e in &expenses {
                            tr data-depense=(e.id) {
                                td { (money::date_short(&e.date)) }
                                td { (known.iter().find(|(id, _)| *id == e.group_id).map(|(_, n)| n.as_str()).unwrap_or("")) }
                                td { (e.label) }
                                (ui::amount_cell(e.amount))
                                td { (e.by_name) }
                                td {
                                    form method="post" action=(href("/budgets")) {
                                        (csrf_field())
                                        input type="hidden" name="action" value="supprimer-depense";
                                        input type="hidden" name="depense" value=(e.id);
                                        input type="hidden" name="annee" value=(year);
                                        button type="submit" class="secondary" data-confirm="Supprimer cette dépense ?" { "Supprimer" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if errors.is_empty() { 200 } else { 422 };
    Ok(Response::page("Budgets", body).with_status(status))
}

fn group_select(id: &str, known: &[(String, String)], chosen: &str) -> Markup {
    html! {
        label for=(id) { "Projet" }
        select id=(id) name="groupe" required {
            @for (gid, name) in known {
                option value=(gid) selected[gid == chosen] { (name) }
            }
        }
    }
}

/// `POST /budgets`: `action` = `budget` | `depense` | `supprimer-depense`.
pub fn save(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    match form.get("action").as_str() {
        "budget" => save_budget(form),
        "depense" => add_expense(form, &viewer),
        "supprimer-depense" => delete_expense(form),
        _ => Ok(ui::unprocessable("Action inconnue.")),
    }
}

/// The project named by `groupe`, if the treasurer may budget it.
fn known_group(form: &Form) -> Result<Option<(String, String)>, StoreError> {
    let id = form.get("groupe");
    if !records::valid_ref(&id) {
        return Ok(None);
    }
    let everything = all_budgets()?;
    let year = this_year();
    let mut spent = indemnities_of(year)?;
    // Lines of other years count too: any group the ledger knows.
    if !spent.iter().any(|(g, _)| *g == id)
        && Query::new()
            .filter("group_id = {:g}")
            .param("g", &id)
            .first::<Line>(LINES)?
            .is_some()
    {
        spent.push((id.clone(), 0));
    }
    Ok(known_groups(&everything, &spent)?
        .into_iter()
        .find(|(g, _)| *g == id))
}

fn save_budget(form: &Form) -> PageResult {
    let mut errors: Vec<String> = Vec::new();
    let group = known_group(form)?;
    if group.is_none() {
        errors.push("Projet inconnu.".into());
    }
    let year = ui::parse_year(&form.get("annee"));
    if year.is_none() {
        errors.push("Année invalide.".into());
    }
    let mut amount = |field: &str, label: &str| -> Option<i64> {
        let raw = form.get(field);
        if raw.is_empty() {
            return Some(0);
        }
        match money::parse_euros(&raw) {
            Ok(cents) => Some(cents),
            Err(e) => {
                errors.push(amount_error(label, &raw, e));
                None
            }
        }
    };
    let fixed = amount("part_fixe", "Part fixe prévue");
    let variable = amount("part_variable", "Part variable prévue");
    let threshold_text = form.get("seuil");
    let threshold = if threshold_text.is_empty() {
        Some(80)
    } else {
        match threshold_text.parse::<i64>() {
            Ok(t) if (1..=100).contains(&t) => Some(t),
            _ => {
                errors.push("Le seuil d’alerte est un pourcentage entre 1 et 100.".into());
                None
            }
        }
    };
    let mission = form.get("mission");
    if !mission.is_empty() && !model::MISSIONS.iter().any(|(c, _)| *c == mission) {
        errors.push("Mission inconnue.".into());
    }
    let (
        Some((group_id, group_name)),
        Some(year),
        Some(fixed),
        Some(variable),
        Some(threshold),
        true,
    ) = (group, year, fixed, variable, threshold, errors.is_empty())
    else {
        let year = ui::parse_year(&form.get("annee")).unwrap_or_else(this_year);
        return render(year, "", Some(form), &errors);
    };
    records::upsert::<_, Value>(
        BUDGETS,
        &["group_id", "year"],
        &json!({
            "group_id": group_id,
            "group_name": group_name,
            "year": year,
            "fixed_planned": fixed,
            "variable_planned": variable,
            "threshold": threshold,
        }),
    )?;
    model::set_mission(&group_id, &mission)?;
    maillage_sdk::audit::write(
        "budget.modifier",
        &format!("{group_name} {year}"),
        &json!({
            "groupe": group_id,
            "annee": year,
            "part_fixe": fixed,
            "part_variable": variable,
            "seuil": threshold,
            "mission": mission,
        }),
    )
    .map_err(StoreError::Unavailable)?;
    Ok(Response::see_other(&format!(
        "/budgets?annee={year}&ok=budget"
    )))
}

fn add_expense(form: &Form, viewer: &Viewer) -> PageResult {
    let mut errors: Vec<String> = Vec::new();
    let group = known_group(form)?;
    if group.is_none() {
        errors.push("Projet inconnu.".into());
    }
    let label = form.get("libelle");
    if label.is_empty() {
        errors.push("Indiquez le libellé de la dépense.".into());
    } else if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        errors.push("Le libellé est trop long (200 caractères au plus).".into());
    }
    let amount = positive_amount(
        &form.get("montant"),
        "Montant",
        "Le montant de la dépense doit être supérieur à zéro.",
        &mut errors,
    );
    let date = ui::required_date(
        &form.get("date"),
        "Date",
        "Indiquez la date de la dépense.",
        &mut errors,
    );
    let (Some((group_id, group_name)), Some(amount), Some(date), true) =
        (group, amount, date, errors.is_empty())
    else {
        let year = date_year(&form.get("date")).unwrap_or_else(this_year);
        return render(year, "", Some(form), &errors);
    };
    let year = money::year_of(&date).unwrap_or_else(this_year);
    records::insert::<_, Value>(
        EXPENSES,
        &json!({
            "group_id": group_id,
            "year": year,
            "label": label,
            "amount": amount,
            "date": date,
            "by_name": viewer.name(),
        }),
    )?;
    maillage_sdk::audit::write(
        "depense.ajouter",
        &format!("{group_name} : {label}"),
        &json!({ "groupe": group_id, "montant": amount, "date": date }),
    )
    .map_err(StoreError::Unavailable)?;
    Ok(Response::see_other(&format!(
        "/budgets?annee={year}&ok=depense"
    )))
}

fn date_year(text: &str) -> Option<i32> {
    ui::optional_date(text, "")
        .ok()
        .flatten()
        .and_then(|d| money::year_of(&d))
}

fn delete_expense(form: &Form) -> PageResult {
    let id = form.get("depense");
    if !records::valid_id(&id) {
        return Ok(Response::not_found());
    }
    let Some(expense) = records::get::<Expense>(EXPENSES, &id)? else {
        return Ok(Response::not_found());
    };
    records::delete(EXPENSES, &id)?;
    maillage_sdk::audit::write(
        "depense.supprimer",
        &expense.label,
        &json!({ "groupe": expense.group_id, "montant": expense.amount, "date": expense.date }),
    )
    .map_err(StoreError::Unavailable)?;
    let year = money::year_of(&expense.date).unwrap_or_else(this_year);
    Ok(Response::see_other(&format!(
        "/budgets?annee={year}&ok=depense-supprimee"
    )))
}
