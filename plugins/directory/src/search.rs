//! The search: postal codes (pre-filled with the territory), profession, savoir-faire,
//! prise en charge, matériel, status and name. The database ranks the professionals by
//! how many criteria they meet (`records.rank`); the 50 best are shown, split into
//! exact results (every criterion) and approaching ones (at least one).
//! Also the communication page: the e-mail addresses of the exact matches.

use maillage_sdk::form::{Form, encode};
use maillage_sdk::html::{escape, href};
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
    let mut query = query
        .filter(&filter)
        .sort("last_name,first_name")
        .limit(500);
    let mut all = Vec::new();
    loop {
        let (page, next) = query.fetch::<Professional>(PROFESSIONALS)?;
        all.extend(page);
        match next {
            Some(cursor) if all.len() < MAX_RECIPIENTS => query = query.after(Some(cursor)),
            _ => break,
        }
    }
    Ok(all)
}

fn form_html(criteria: &Criteria, viewer: &Viewer, territory: &[String]) -> String {
    let mut html = format!(
        "<form method=\"get\" action=\"{}\" class=\"search stack\" role=\"search\">",
        href("/")
    );
    html.push_str("<fieldset><legend>Codes postaux</legend><p class=\"chips\">");
    if criteria.codes.is_empty() {
        html.push_str("<span class=\"muted\">Aucun code postal sélectionné.</span>");
    }
    for code in &criteria.codes {
        html.push_str(&format!(
            "<span class=\"chip\">{code}<input type=\"hidden\" name=\"cp\" value=\"{code}\"> \
             <a href=\"{}?{}\" class=\"chip-remove\" aria-label=\"Retirer le code postal {code}\" title=\"Retirer\">×</a></span> ",
            href("/"),
            escape(&criteria.to_query(Some(code))),
            code = escape(code),
        ));
    }
    html.push_str("</p><input type=\"hidden\" name=\"cp_modifies\" value=\"1\">");
    if criteria.edited && !territory.is_empty() {
        html.push_str(&format!(
            "<a href=\"{}\" class=\"button secondary\">Réinitialiser les codes postaux</a>",
            href("/")
        ));
    }
    html.push_str("</fieldset><div class=\"grid\">");
    html.push_str(
        "<label>Profession<select name=\"profession\"><option value=\"\">Toutes</option>",
    );
    for (code, label) in PROFESSIONS {
        html.push_str(&format!(
            "<option value=\"{code}\"{}>{label}</option>",
            if criteria.profession == *code {
                " selected"
            } else {
                ""
            }
        ));
    }
    html.push_str("</select></label>");
    html.push_str(&format!(
        "<label>Spécialité (savoir-faire)<input name=\"specialite\" list=\"specialites\" value=\"{}\"></label><datalist id=\"specialites\">",
        escape(&criteria.specialty)
    ));
    for s in SPECIALTIES {
        html.push_str(&format!("<option value=\"{s}\">"));
    }
    html.push_str("</datalist>");
    html.push_str(&format!(
        "<label>Prise en charge<input name=\"prise_en_charge\" value=\"{}\" placeholder=\"ex. : diabète, soins palliatifs\"></label>",
        escape(&criteria.care)
    ));
    html.push_str(&format!(
        "<label>Matériel<input name=\"materiel\" value=\"{}\" placeholder=\"ex. : ECG, échographe\"></label>",
        escape(&criteria.equipment)
    ));
    html.push_str("<label>Statut<select name=\"statut\"><option value=\"\">Tous</option>");
    for status in viewer.searchable_statuses() {
        html.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            status.code(),
            if criteria.status == Some(status) {
                " selected"
            } else {
                ""
            },
            status.label()
        ));
    }
    html.push_str("</select></label>");
    html.push_str(&format!(
        "<label>Nom<input name=\"nom\" value=\"{}\" autocomplete=\"off\"></label>",
        escape(&criteria.name)
    ));
    html.push_str("</div>");
    if criteria.arrivals {
        html.push_str("<input type=\"hidden\" name=\"arrivants\" value=\"1\">");
    }
    if criteria.departures {
        html.push_str("<input type=\"hidden\" name=\"departs\" value=\"1\">");
    }
    html.push_str("<button type=\"submit\">Rechercher</button></form>");
    html
}

fn result_rows(results: &[&(u32, Professional)], viewer: &Viewer, latest: i64) -> String {
    let mut html = String::from(
        "<table class=\"list results\"><thead><tr><th>Professionnel</th><th>Profession</th>\
         <th>Lieux d’exercice</th><th>Statut</th><th>Fiche</th></tr></thead><tbody>",
    );
    for (_, p) in results {
        let mut name = format!(
            "<a href=\"{}\">{}</a>",
            href(&format!("/p/{}", p.id)),
            escape(&p.full_name())
        );
        if latest > 1 && p.arrived_in == latest && p.seen_in == latest {
            name.push_str(" <span class=\"badge new\">Nouvel arrivant</span>");
        }
        let mut profession = escape(&p.profession);
        if !p.specialties.is_empty() {
            profession.push_str(&format!(
                "<br><small>{}</small>",
                escape(&p.specialties.join(", "))
            ));
        }
        let status = viewer
            .visible_status(p)
            .filter(|s| viewer.manager || *s != Status::Unknown)
            .map(Status::badge)
            .unwrap_or_default();
        let fiche = if p.fiche_filled {
            "<span class=\"fiche filled\" title=\"Fiche renseignée\">● <span class=\"sr\">Fiche renseignée</span></span>"
        } else {
            "<span class=\"fiche empty\" title=\"Fiche non renseignée\">○ <span class=\"sr\">Fiche non renseignée</span></span>"
        };
        html.push_str(&format!(
            "<tr><td>{name}</td><td>{profession}</td><td>{}</td><td>{status}</td><td>{fiche}</td></tr>",
            escape(&p.communes())
        ));
    }
    html.push_str("</tbody></table>");
    html
}

fn empty_directory(viewer: &Viewer) -> Response {
    let mut html = String::from(
        "<h1>Annuaire</h1><p class=\"empty\">L’annuaire est vide : l’extrait RPPS n’a pas encore été importé.</p>",
    );
    if viewer.manager {
        html.push_str(&format!(
            "<a class=\"button\" href=\"{}\">Importer l’extrait RPPS</a>",
            href("/import")
        ));
    }
    Response::page("Annuaire", html)
}

fn manager_links(criteria: &Criteria, import: &ImportRecord) -> String {
    format!(
        "<nav class=\"toolbar-links\" aria-label=\"Gestion de l’annuaire\">\
         <a href=\"{}\">Importer l’extrait RPPS</a> · \
         <a href=\"{}\">Nouveaux arrivants ({})</a> · \
         <a href=\"{}\">Départs ({})</a> · \
         <a href=\"{}?{}\">Communication (adresses e-mail)</a></nav>",
        href("/import"),
        href("/?arrivants=1"),
        import.arrivals,
        href("/?departs=1"),
        import.departures,
        href("/communication"),
        escape(&criteria.to_query(None)),
    )
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
    let mut html = String::from("<div class=\"toolbar\"><h1>Annuaire</h1></div>");
    if viewer.manager {
        html.push_str(&manager_links(&criteria, &import));
    }
    if criteria.arrivals {
        html.push_str("<p class=\"notice\">Nouveaux arrivants sur le territoire depuis l’import précédent.</p>");
    }
    if criteria.departures {
        html.push_str("<p class=\"notice\">Professionnels absents du dernier import (partis du territoire). Leurs statuts et notes sont conservés.</p>");
    }
    html.push_str(&form_html(&criteria, &viewer, &territory));
    if total == 0 && !criteria.arrivals && !criteria.departures {
        html.push_str("<p class=\"empty\">Indiquez au moins un critère.</p>");
        return Ok(Response::page("Annuaire", html));
    }
    let results = ranked(&criteria, built)?;
    let (exact, approaching): (Vec<_>, Vec<_>) = results
        .iter()
        .partition(|(score, _)| *score as usize == total);
    html.push_str(&format!(
        "<p class=\"muted\">Seuls les {MAX_RESULTS} résultats les plus pertinents sont affichés.</p>"
    ));
    html.push_str(&format!(
        "<section aria-labelledby=\"exact\"><h2 id=\"exact\">Résultats exacts ({})</h2>",
        exact.len()
    ));
    if exact.is_empty() {
        html.push_str("<p class=\"empty\">Aucun professionnel ne remplit tous les critères.</p>");
    } else {
        html.push_str(&result_rows(&exact, &viewer, import.number));
    }
    html.push_str("</section>");
    if total > 1 {
        html.push_str(&format!(
            "<section aria-labelledby=\"approaching\"><h2 id=\"approaching\">Résultats approchants ({})</h2>\
             <p class=\"muted\">Au moins un critère rempli, les plus proches d’abord.</p>",
            approaching.len()
        ));
        if approaching.is_empty() {
            html.push_str("<p class=\"empty\">Aucun résultat approchant.</p>");
        } else {
            html.push_str(&result_rows(&approaching, &viewer, import.number));
        }
        html.push_str("</section>");
    }
    if viewer.manager {
        html.push_str(&format!(
            "<p class=\"alert warning\" role=\"note\">{HEALTH_DATA_WARNING}</p>"
        ));
    }
    Ok(Response::page("Annuaire", html))
}

/// The addresses of the professionals meeting every criterion, to copy into a mail
/// client; never those who no longer want to be contacted.
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
    let mut html = String::from("<h1>Communication</h1>");
    html.push_str(&format!(
        "<p class=\"alert warning\" role=\"note\"><strong>Attention :</strong> {HEALTH_DATA_WARNING}</p>"
    ));
    html.push_str(&format!(
        "<p>{} professionnel(s) remplissent tous les critères de la recherche \
         (hors « {} »). <a href=\"{}?{}\">Modifier la recherche</a></p>",
        people.len(),
        Status::DoNotContact.label(),
        href("/"),
        escape(&criteria.to_query(None)),
    ));
    html.push_str(&format!(
        "<h2>Adresses e-mail ({})</h2>\
         <textarea id=\"emails\" readonly rows=\"6\" aria-label=\"Adresses e-mail\">{}</textarea>\
         <p><button type=\"button\" id=\"copy-emails\" data-copy=\"emails\">Copier les adresses e-mail</button> \
         <span id=\"copy-status\" role=\"status\"></span></p>",
        emails.len(),
        escape(&emails.join("; "))
    ));
    html.push_str(COPY_SCRIPT);
    html.push_str(&format!("<h2>Sans adresse e-mail ({})</h2>", without.len()));
    if without.is_empty() {
        html.push_str("<p class=\"empty\">Tous ont une adresse e-mail.</p>");
    } else {
        html.push_str("<ul class=\"without-email\">");
        for p in &without {
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> — {}</li>",
                href(&format!("/p/{}", p.id)),
                escape(&p.full_name()),
                escape(&p.profession)
            ));
        }
        html.push_str("</ul>");
    }
    Ok(Response::page("Communication", html))
}

/// Copies the textarea into the clipboard (Clipboard API, else the selection).
const COPY_SCRIPT: &str = r#"<script>
document.getElementById('copy-emails').addEventListener('click', function () {
  var area = document.getElementById(this.dataset.copy);
  var status = document.getElementById('copy-status');
  var count = area.value ? area.value.split('; ').length : 0;
  var done = function () { status.textContent = count + ' adresse(s) copiée(s) dans le presse-papiers.'; };
  var fallback = function () {
    area.focus(); area.select();
    try { document.execCommand('copy'); done(); }
    catch (e) { status.textContent = 'Copie impossible : sélectionnez le texte et copiez-le.'; }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(area.value).then(done, fallback);
  } else { fallback(); }
});
</script>"#;
