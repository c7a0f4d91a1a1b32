//! The barème: the rule set in force and its history (`engine.history`), choosing a rule
//! set version and its settings from a date (`engine.assign`), and the dry-run
//! (`engine.compute-with`): every line of a period computed again with another rule set
//! or other settings, without writing, per person, then « Appliquer ».
//!
//! Settings are asked generically from the rule set's definitions: cents as euros with
//! two decimals, durations as hours (decimals allowed), booleans as a checkbox (a hidden
//! "0" before the checkbox's "1"), choices as a select. Field names: `s-{key}`.

use maillage_sdk::Response;
use maillage_sdk::csv::Writer as CsvWriter;
use maillage_sdk::download;
use maillage_sdk::form::Form;
use maillage_sdk::html::{Markup, csrf_field, href, html};
use maillage_sdk::records::{Query, StoreError};
use serde_json::json;

use crate::model::{self, KIND_LINE, LINES, Line, MAX_LINES, Viewer};
use crate::money::{self, NumberError};
use crate::rules::{
    self, Assignment, Description, Setting, SettingDef, SettingKind, SettingValue, engine,
};
use crate::ui::{self, PageResult};

fn field_name(def: &SettingDef) -> String {
    format!("s-{}", def.key)
}

fn number_error(label: &str, raw: &str, e: NumberError, hours: bool) -> String {
    match e {
        NumberError::Empty => format!("{label} : indiquez une valeur."),
        NumberError::Malformed if hours => {
            format!("{label} : « {raw} » n’est pas une durée valide en heures (par exemple 1,5).")
        }
        NumberError::Malformed => {
            format!("{label} : « {raw} » n’est pas un montant valide (par exemple 80,00).")
        }
        NumberError::Negative => format!("{label} : la valeur ne peut pas être négative."),
        NumberError::TooLarge => format!("{label} : la valeur est trop grande."),
    }
}

fn bound_text(kind: &SettingKind, value: i64) -> String {
    match kind {
        SettingKind::Hours => format!("{} h", money::hours(value)),
        _ => money::euros(value),
    }
}

/// The settings of `description` from a form; a missing field takes the default.
pub fn parse_settings(description: &Description, form: &Form) -> Result<Vec<Setting>, Vec<String>> {
    let mut settings = Vec::new();
    let mut errors = Vec::new();
    for def in &description.settings {
        let name = field_name(def);
        let present = form.fields.iter().any(|(k, _)| *k == name);
        if !present {
            settings.push(Setting {
                key: def.key.clone(),
                value: def.default.clone(),
            });
            continue;
        }
        let raw = form.get(&name);
        let value = match &def.kind {
            SettingKind::Cents | SettingKind::Hours => {
                let hours = matches!(def.kind, SettingKind::Hours);
                let parsed = if hours {
                    money::parse_hours(&raw)
                } else {
                    money::parse_euros(&raw)
                };
                let v = match parsed {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(number_error(&def.label, &raw, e, hours));
                        continue;
                    }
                };
                let below = def.min.is_some_and(|min| v < min);
                let above = def.max.is_some_and(|max| v > max);
                if below || above {
                    let range = match (def.min, def.max) {
                        (Some(min), Some(max)) => format!(
                            "de {} à {}",
                            bound_text(&def.kind, min),
                            bound_text(&def.kind, max)
                        ),
                        (Some(min), None) => format!("au moins {}", bound_text(&def.kind, min)),
                        (None, Some(max)) => format!("au plus {}", bound_text(&def.kind, max)),
                        (None, None) => String::new(),
                    };
                    errors.push(format!(
                        "{} : la valeur doit être comprise {range}.",
                        def.label
                    ));
                    continue;
                }
                if hours {
                    SettingValue::Hours(v)
                } else {
                    SettingValue::Cents(v)
                }
            }
            SettingKind::Boolean => {
                SettingValue::Boolean(form.all(&name).iter().any(|v| v == "1" || v == "on"))
            }
            SettingKind::Choice(options) => {
                if options.iter().any(|o| o.value == raw) {
                    SettingValue::Choice(raw)
                } else {
                    errors.push(format!("{} : choix inconnu.", def.label));
                    continue;
                }
            }
        };
        settings.push(Setting {
            key: def.key.clone(),
            value,
        });
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

/// Every setting of `description`: the given values, else the defaults.
fn complete(description: &Description, given: &[Setting]) -> Vec<Setting> {
    description
        .settings
        .iter()
        .map(|def| Setting {
            key: def.key.clone(),
            value: given
                .iter()
                .find(|s| s.key == def.key)
                .map(|s| s.value.clone())
                .unwrap_or_else(|| def.default.clone()),
        })
        .collect()
}

/// The settings a form for `description` starts from: those in force when it is the
/// rule set in force, else its defaults.
fn starting_settings(description: &Description, in_force: Option<&Assignment>) -> Vec<Setting> {
    match in_force {
        Some(a) if a.rule_set.id == description.id && a.rule_set.version == description.version => {
            complete(description, &a.settings)
        }
        _ => complete(description, &[]),
    }
}

/// The value of a setting among `values`, else its default.
fn value_of(def: &SettingDef, values: &[Setting]) -> SettingValue {
    values
        .iter()
        .find(|s| s.key == def.key)
        .map(|s| s.value.clone())
        .unwrap_or_else(|| def.default.clone())
}

fn sent<'a>(form: Option<&'a Form>, name: &str) -> Option<&'a Form> {
    form.filter(|f| f.fields.iter().any(|(k, _)| k == name))
}

/// What a text field shows: what was sent back, else the value.
fn typed_value(form: Option<&Form>, name: &str, value: &SettingValue) -> String {
    match sent(form, name) {
        Some(f) => f.get(name),
        None => rules::value_input(value),
    }
}

/// Whether a checkbox is checked: as sent back, else the value.
fn checked_value(form: Option<&Form>, name: &str, value: &SettingValue) -> bool {
    match sent(form, name) {
        Some(f) => f.all(name).iter().any(|v| v == "1" || v == "on"),
        None => matches!(value, SettingValue::Boolean(true)),
    }
}

/// The fields of the settings, from `values`, or from what the form sent back.
fn settings_fields(description: &Description, values: &[Setting], form: Option<&Form>) -> Markup {
    html! {
        @for def in &description.settings {
            @let name = field_name(def);
            @let value = value_of(def, values);
            @let typed = typed_value(form, &name, &value);
            div class="reglage" data-cle=(def.key) {
                @match &def.kind {
                    SettingKind::Cents => {
                        label for=(name) { (def.label) " (€)" }
                        input id=(name) name=(name) type="text" inputmode="decimal" value=(typed) required;
                    }
                    SettingKind::Hours => {
                        label for=(name) { (def.label) " (heures)" }
                        input id=(name) name=(name) type="text" inputmode="decimal" value=(typed) required;
                    }
                    SettingKind::Boolean => {
                        @let checked = checked_value(form, &name, &value);
                        input type="hidden" name=(name) value="0";
                        label {
                            input id=(name) name=(name) type="checkbox" value="1" checked[checked];
                            " " (def.label)
                        }
                    }
                    SettingKind::Choice(options) => {
                        label for=(name) { (def.label) }
                        select id=(name) name=(name) {
                            @for o in options {
                                option value=(o.value) selected[o.value == typed] { (o.label) }
                            }
                        }
                    }
                }
                @if !def.help.is_empty() {
                    p class="muted aide" { (def.help) }
                }
                @if def.min.is_some() || def.max.is_some() {
                    p class="muted bornes" {
                        @if let Some(min) = def.min { "Minimum : " (bound_text(&def.kind, min)) ". " }
                        @if let Some(max) = def.max { "Maximum : " (bound_text(&def.kind, max)) "." }
                    }
                }
            }
        }
    }
}

/// Hidden fields carrying chosen settings (the dry-run's « Appliquer »).
fn hidden_settings(settings: &[Setting]) -> Markup {
    html! {
        @for s in settings {
            input type="hidden" name={ "s-" (s.key) } value=(rules::value_input(&s.value));
        }
    }
}

/// `bareme=…&version=…` of a rule set version.
fn choice_query(d: &Description) -> String {
    ui::query_string(&[("bareme", d.id.as_str()), ("version", d.version.as_str())])
}

fn find<'a>(available: &'a [Description], id: &str, version: &str) -> Option<&'a Description> {
    available
        .iter()
        .find(|d| d.id == id && d.version == version)
}

/// `GET /bareme[?bareme=id&version=v]`.
pub fn page(query: &str) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    let form = Form::parse(query.as_bytes());
    let chosen = (form.get("bareme"), form.get("version"));
    let chosen = (!chosen.0.is_empty()).then_some(chosen);
    Ok(render(query, chosen, None, &[]))
}

fn render(
    query: &str,
    chosen: Option<(String, String)>,
    form: Option<&Form>,
    errors: &[String],
) -> Response {
    let today = model::today();
    let in_force = engine::in_force(&today);
    let history = engine::history();
    let available = engine::available();
    let choice = chosen
        .as_ref()
        .and_then(|(id, version)| find(&available, id, version));
    let unknown_choice = chosen.is_some() && choice.is_none();
    let effect = form
        .map(|f| f.get("effet"))
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| today.clone());
    let body = html! {
        (ui::head())
        (ui::toolbar("Barème des indemnités", &[
            ("/tresorerie", "Trésorerie"),
            ("/plafond", "Plafond annuel"),
            ("/bareme/simulation", "Simulation"),
        ]))
        (ui::notice_block(query))
        (ui::alerts(errors))
        @if unknown_choice {
            div class="alert" role="alert" { p { "Ce barème n’est pas disponible pour la structure." } }
        }
        section id="en-vigueur" {
            h2 { "Barème en vigueur aujourd’hui" }
            @match &in_force {
                Some(a) => {
                    p {
                        strong class="bareme-nom" { (a.rule_set.name) }
                        " (" span class="bareme-id" { (a.rule_set.id) } ", version "
                        span class="bareme-version" { (a.rule_set.version) } ")"
                    }
                    p class="muted" { (a.rule_set.summary) }
                    p { "En vigueur depuis le " (ui::date_long(&a.effective_from))
                        @if !a.set_by.is_empty() { ", choisi par " (a.set_by) }
                        "." }
                    p class="reglages" { (rules::settings_text(&a.rule_set, &a.settings)) }
                }
                None => {
                    p class="alert warning" {
                        "Aucun barème n’est en vigueur aujourd’hui : les indemnités des réunions restent en attente "
                        "jusqu’au choix d’un barème."
                    }
                }
            }
        }
        section id="historique" {
            h2 { "Historique" }
            @if history.is_empty() {
                p class="muted" { "Aucun barème n’a encore été choisi." }
            } @else {
                div class="table-scroll" {
                    table class="historique list" {
                        thead {
                            tr {
                                th scope="col" { "Date d’effet" }
                                th scope="col" { "Barème" }
                                th scope="col" { "Version" }
                                th scope="col" { "Réglages" }
                                th scope="col" { "Choisi par" }
                                th scope="col" { "Le" }
                            }
                        }
                        tbody {
                            @for a in &history {
                                tr data-bareme=(a.rule_set.id) data-version=(a.rule_set.version) data-effet=(a.effective_from) {
                                    td { (money::date_short(&a.effective_from)) }
                                    td { (a.rule_set.name) }
                                    td { (a.rule_set.version) }
                                    td { (rules::settings_text(&a.rule_set, &a.settings)) }
                                    td { (a.set_by) }
                                    td { (ui::instant_text(a.set_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section id="disponibles" {
            h2 { "Barèmes disponibles" }
            @if available.is_empty() {
                p class="muted" { "Aucun barème n’est installé pour la structure." }
            } @else {
                div class="table-scroll" {
                    table class="disponibles list" {
                        thead {
                            tr {
                                th scope="col" { "Barème" }
                                th scope="col" { "Version" }
                                th scope="col" { "Description" }
                                th scope="col" { span class="sr-only" { "Actions" } }
                            }
                        }
                        tbody {
                            @for d in &available {
                                tr data-bareme=(d.id) data-version=(d.version) {
                                    td { (d.name) }
                                    td { (d.version) }
                                    td { (d.summary) }
                                    td {
                                        a href=(href(&format!("/bareme?{}", choice_query(d)))) { "Choisir" }
                                        " · "
                                        a href=(href(&format!("/bareme/simulation?{}", choice_query(d)))) { "Simuler" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(d) = choice {
            section id="choix" {
                h2 { "Mettre en vigueur : " (d.name) " (version " (d.version) ")" }
                p class="muted" { (d.summary) }
                form class="bareme stack" method="post" action=(href("/bareme")) {
                    (csrf_field())
                    input type="hidden" name="bareme" value=(d.id);
                    input type="hidden" name="version" value=(d.version);
                    (settings_fields(d, &starting_settings(d, in_force.as_ref()), form))
                    label for="effet" { "Date d’effet (réunions à partir de cette date)" }
                    input id="effet" type="date" name="effet" required value=(effect);
                    button type="submit" { "Mettre en vigueur" }
                }
                p class="muted" {
                    "Les lignes déjà calculées gardent le barème et les réglages avec lesquels elles l’ont été. "
                    a href=(href(&format!("/bareme/simulation?{}", choice_query(d)))) { "Simuler d’abord sur une période" }
                }
            }
        }
    };
    let status = if errors.is_empty() && !unknown_choice {
        200
    } else {
        422
    };
    Response::page("Barème", body).with_status(status)
}

/// `POST /bareme`: `bareme`, `version`, `s-{key}`…, `effet`.
pub fn save(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    if !viewer.treasurer {
        return Ok(ui::treasurer_only());
    }
    let id = form.get("bareme");
    let version = form.get("version");
    let chosen = Some((id.clone(), version.clone()));
    let available = engine::available();
    let Some(description) = find(&available, &id, &version) else {
        return Ok(render("", chosen, Some(form), &[]));
    };
    let mut errors: Vec<String> = Vec::new();
    let settings = match parse_settings(description, form) {
        Ok(settings) => Some(settings),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    let effect = ui::required_date(
        &form.get("effet"),
        "Date d’effet",
        "Indiquez la date d’effet.",
        &mut errors,
    );
    let (Some(settings), Some(effect)) = (settings, effect) else {
        return Ok(render("", chosen, Some(form), &errors));
    };
    let assignment = match engine::assign(&id, &version, &settings, &effect) {
        Ok(a) => a,
        Err(reason) => {
            return Ok(render(
                "",
                chosen,
                Some(form),
                &[format!(
                    "Le barème n’a pas pu être mis en vigueur : {reason}"
                )],
            ));
        }
    };
    maillage_sdk::audit::write(
        "bareme.choisir",
        &format!(
            "{} {}",
            assignment.rule_set.name, assignment.rule_set.version
        ),
        &json!({
            "bareme": id,
            "version": version,
            "effet": effect,
            "reglages": rules::settings_json(&assignment.settings),
        }),
    )
    .map_err(StoreError::Unavailable)?;
    Ok(Response::see_other("/bareme?ok=bareme"))
}

/// One person of the dry-run.
pub struct SimRow {
    pub key: String,
    pub name: String,
    pub lines: usize,
    pub current: i64,
    pub simulated: i64,
}

/// A dry-run's result.
pub struct Simulation {
    pub description: Description,
    pub settings: Vec<Setting>,
    pub from: String,
    pub to: String,
    pub rows: Vec<SimRow>,
    pub errors: usize,
    pub first_error: Option<String>,
}

impl Simulation {
    pub fn current(&self) -> i64 {
        self.rows.iter().map(|r| r.current).sum()
    }
    pub fn simulated(&self) -> i64 {
        self.rows.iter().map(|r| r.simulated).sum()
    }
    /// The same choice as a query string (CSV link).
    fn query(&self) -> String {
        let mut pairs: Vec<(String, String)> = vec![
            ("bareme".into(), self.description.id.clone()),
            ("version".into(), self.description.version.clone()),
            ("du".into(), self.from.clone()),
            ("au".into(), self.to.clone()),
        ];
        for s in &self.settings {
            pairs.push((format!("s-{}", s.key), rules::value_input(&s.value)));
        }
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ui::query_string(&refs)
    }
}

/// What the dry-run form asked: none yet (show the form), the result, or the refusal.
enum Asked {
    Form {
        description: Description,
        settings: Vec<Setting>,
        from: String,
        to: String,
    },
    Done(Simulation),
    Refused(Vec<String>),
}

fn first_of_year(today: &str) -> String {
    format!("{}-01-01", today.get(0..4).unwrap_or("2026"))
}

/// Reads the form and, when a period was sent, runs the dry-run.
fn run(form: &Form, available: &[Description]) -> Result<Option<Asked>, StoreError> {
    let id = form.get("bareme");
    if id.is_empty() {
        return Ok(None);
    }
    let version = form.get("version");
    let Some(description) = find(available, &id, &version) else {
        return Ok(Some(Asked::Refused(vec![
            "Ce barème n’est pas disponible pour la structure.".into(),
        ])));
    };
    let today = model::today();
    let submitted = form.fields.iter().any(|(k, _)| k == "du" || k == "au");
    if !submitted {
        let in_force = engine::in_force(&today);
        return Ok(Some(Asked::Form {
            description: description.clone(),
            settings: starting_settings(description, in_force.as_ref()),
            from: first_of_year(&today),
            to: today,
        }));
    }
    let mut errors: Vec<String> = Vec::new();
    let settings = match parse_settings(description, form) {
        Ok(s) => s,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    let from = ui::required_date(
        &form.get("du"),
        "Du",
        "Indiquez le début de la période.",
        &mut errors,
    )
    .unwrap_or_default();
    let to = ui::required_date(
        &form.get("au"),
        "Au",
        "Indiquez la fin de la période.",
        &mut errors,
    )
    .unwrap_or_default();
    if errors.is_empty() && from > to {
        errors.push("La période est vide : la date de début suit la date de fin.".into());
    }
    if !errors.is_empty() {
        return Ok(Some(Asked::Refused(errors)));
    }
    let query = Query::new()
        .filter("kind = {:k} && date >= {:du} && date <= {:au}")
        .param("k", KIND_LINE)
        .param("du", &from)
        .param("au", &to)
        .sort("date")
        .fields(&simulated_fields());
    let lines: Vec<Line> = query.fetch_all(LINES, MAX_LINES)?;
    let mut rows: Vec<SimRow> = Vec::new();
    let mut row_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut errors = 0usize;
    let mut first_error: Option<String> = None;
    for chunk in lines.chunks(rules::BATCH) {
        let cases: Vec<rules::Case> = chunk.iter().map(rules::case_of).collect();
        let results = match engine::compute_with(&id, &version, &settings, &cases) {
            Ok(results) => results,
            Err(reason) => {
                return Ok(Some(Asked::Refused(vec![format!(
                    "La simulation n’a pas pu être faite : {reason}"
                )])));
            }
        };
        for (line, result) in chunk.iter().zip(results) {
            let simulated = match rules::computed(result) {
                rules::Computed::Eligible { cents, .. } => cents,
                rules::Computed::NotEligible(_) => 0,
                rules::Computed::Held { reason, .. } => {
                    errors += 1;
                    if first_error.is_none() {
                        first_error = Some(reason);
                    }
                    0
                }
            };
            let key = line.person_key();
            let index = match row_of.get(&key) {
                Some(i) => *i,
                None => {
                    row_of.insert(key.clone(), rows.len());
                    rows.push(SimRow {
                        key,
                        name: line.person_name.clone(),
                        lines: 0,
                        current: 0,
                        simulated: 0,
                    });
                    rows.len() - 1
                }
            };
            let row = &mut rows[index];
            row.lines += 1;
            row.current += line.amount;
            row.simulated += simulated;
        }
    }
    rows.sort_by_key(|r| maillage_sdk::text::fold(&r.name));
    Ok(Some(Asked::Done(Simulation {
        description: description.clone(),
        settings,
        from,
        to,
        rows,
        errors,
        first_error,
    })))
}

/// What a dry-run reads of each line: the rule set's case, and what it adds up per person.
fn simulated_fields() -> Vec<&'static str> {
    let mut fields = rules::CASE_FIELDS.to_vec();
    fields.extend(["attendee_key", "person_name", "amount"]);
    fields
}

/// `GET|POST /bareme/simulation`: `bareme`, `version`, `s-{key}`…, `du`, `au`.
pub fn simulation(form: &Form) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    let available = engine::available();
    let asked = run(form, &available)?;
    let today = model::today();
    let (status, content) = match &asked {
        None => (200, chooser(&available)),
        Some(Asked::Form {
            description,
            settings,
            from,
            to,
        }) => (200, simulation_form(description, settings, None, from, to)),
        Some(Asked::Refused(errors)) => {
            let id = form.get("bareme");
            let version = form.get("version");
            let again = match find(&available, &id, &version) {
                Some(d) => {
                    let settings = complete(d, &[]);
                    simulation_form(d, &settings, Some(form), &form.get("du"), &form.get("au"))
                }
                None => chooser(&available),
            };
            (422, html! { (ui::alerts(errors)) (again) })
        }
        Some(Asked::Done(sim)) => (200, result(sim, &today)),
    };
    let body = html! {
        (ui::head())
        (ui::toolbar("Simulation d’un barème", &[("/bareme", "← Barème")]))
        p class="muted" {
            "La simulation calcule de nouveau les lignes d’une période (hors ajustements) avec le barème "
            "et les réglages choisis, sans rien enregistrer."
        }
        (content)
    };
    Ok(Response::page("Simulation d’un barème", body).with_status(status))
}

fn chooser(available: &[Description]) -> Markup {
    html! {
        @if available.is_empty() {
            p class="muted" { "Aucun barème n’est installé pour la structure." }
        } @else {
            h2 { "Choisissez le barème à simuler" }
            ul class="disponibles" {
                @for d in available {
                    li {
                        a href=(href(&format!("/bareme/simulation?{}", choice_query(d)))) {
                            (d.name) " (version " (d.version) ")"
                        }
                        " — " span class="muted" { (d.summary) }
                    }
                }
            }
        }
    }
}

fn simulation_form(
    description: &Description,
    settings: &[Setting],
    form: Option<&Form>,
    from: &str,
    to: &str,
) -> Markup {
    html! {
        h2 { (description.name) " (version " (description.version) ")" }
        form class="simulation stack" method="get" action=(href("/bareme/simulation")) {
            input type="hidden" name="bareme" value=(description.id);
            input type="hidden" name="version" value=(description.version);
            (settings_fields(description, settings, form))
            label for="du" { "Du" }
            input id="du" type="date" name="du" required value=(from);
            label for="au" { "Au" }
            input id="au" type="date" name="au" required value=(to);
            button type="submit" { "Simuler" }
        }
    }
}

fn result(sim: &Simulation, today: &str) -> Markup {
    let current = sim.current();
    let simulated = sim.simulated();
    let csv = href(&format!("/bareme/simulation.csv?{}", sim.query()));
    html! {
        (simulation_form(&sim.description, &sim.settings, None, &sim.from, &sim.to))
        h2 { "Résultat du " (money::date_short(&sim.from)) " au " (money::date_short(&sim.to)) }
        @if sim.errors > 0 {
            p class="alert warning erreurs" data-count=(sim.errors) {
                (sim.errors) " calcul(s) en erreur, comptés 0,00 €"
                @if let Some(e) = &sim.first_error { " : " (e) }
            }
        }
        @if sim.rows.is_empty() {
            p class="empty" { "Aucune ligne sur cette période." }
        } @else {
            div class="table-scroll" {
                table class="simulation list" {
                    thead {
                        tr {
                            th scope="col" { "Personne" }
                            th scope="col" class="nombre" { "Lignes" }
                            th scope="col" class="nombre" { "Total actuel" }
                            th scope="col" class="nombre" { "Total simulé" }
                            th scope="col" class="nombre" { "Écart" }
                        }
                    }
                    tbody {
                        @for row in &sim.rows {
                            tr data-personne=(row.key) {
                                th scope="row" { (row.name) }
                                td class="nombre" { (row.lines) }
                                td class="montant actuel" data-cents=(row.current) { (money::euros(row.current)) }
                                td class="montant simule" data-cents=(row.simulated) { (money::euros(row.simulated)) }
                                td class="montant ecart" data-cents=(row.simulated - row.current) { (money::euros(row.simulated - row.current)) }
                            }
                        }
                    }
                    tfoot {
                        tr class="total" {
                            th scope="row" { "Total" }
                            td class="nombre" { (sim.rows.iter().map(|r| r.lines).sum::<usize>()) }
                            td class="montant actuel" data-cents=(current) { (money::euros(current)) }
                            td class="montant simule" data-cents=(simulated) { (money::euros(simulated)) }
                            td class="montant ecart" data-cents=(simulated - current) { (money::euros(simulated - current)) }
                        }
                    }
                }
            }
        }
        p class="exports" { a class="export-csv" href=(csv) { "Exporter la simulation (CSV)" } }
        form class="appliquer stack" method="post" action=(href("/bareme")) {
            (csrf_field())
            input type="hidden" name="bareme" value=(sim.description.id);
            input type="hidden" name="version" value=(sim.description.version);
            (hidden_settings(&sim.settings))
            label for="effet" { "Appliquer à partir du" }
            input id="effet" type="date" name="effet" required value=(today);
            button type="submit" { "Appliquer ce barème" }
        }
    }
}

/// `GET /bareme/simulation.csv` with the same fields as the page.
pub fn simulation_csv(query: &str) -> PageResult {
    if !Viewer::current().treasurer {
        return Ok(ui::treasurer_only());
    }
    let form = Form::parse(query.as_bytes());
    let available = engine::available();
    let sim = match run(&form, &available)? {
        Some(Asked::Done(sim)) => sim,
        Some(Asked::Refused(errors)) => return Ok(ui::unprocessable(&errors.join(" "))),
        _ => {
            return Ok(ui::unprocessable(
                "Choisissez un barème et une période (du, au) à simuler.",
            ));
        }
    };
    let mut out = CsvWriter::new();
    out.row([
        "Personne",
        "Lignes",
        "Total actuel (€)",
        "Total simulé (€)",
        "Écart (€)",
    ]);
    let number = |cents: i64| money::euros_number(cents).replace(' ', "");
    for row in &sim.rows {
        out.row([
            row.name.clone(),
            row.lines.to_string(),
            number(row.current),
            number(row.simulated),
            number(row.simulated - row.current),
        ]);
    }
    out.row([
        "Total".to_string(),
        sim.rows.iter().map(|r| r.lines).sum::<usize>().to_string(),
        number(sim.current()),
        number(sim.simulated()),
        number(sim.simulated() - sim.current()),
    ]);
    Ok(download::attachment(
        out.into_bytes(),
        download::CSV,
        "simulation.csv",
    ))
}
