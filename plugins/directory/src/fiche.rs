//! A professional's page (extract data, their fiche, the manager's status and private
//! note) and the member's own fiches ("Ma fiche", shown on "Mon compte").

use maillage_sdk::form::Form;
use maillage_sdk::html::{csrf_field, escape, href};
use maillage_sdk::records::{self, Query, StoreError, or_default};
use maillage_sdk::text::fold;
use maillage_sdk::{Response, context};
use serde::Deserialize;
use serde_json::json;

use crate::import::latest;
use crate::model::{FICHES, NOTES, PROFESSIONALS, Professional, STATUS_HISTORY, Status, Viewer};

const MAX_FIELD: usize = 300;
const MAX_NOTE: usize = 5000;

/// The two fiches of a professional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Visible inside the platform.
    Pro,
    /// Optional, meant for the public.
    Public,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        match text {
            "pro" => Some(Kind::Pro),
            "publique" => Some(Kind::Public),
            _ => None,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Kind::Pro => "pro",
            Kind::Public => "publique",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Kind::Pro => "Fiche entre professionnels",
            Kind::Public => "Fiche publique",
        }
    }
}

/// (field, label, input type)
const FICHE_FIELDS: [(&str, &str, &str); 8] = [
    ("phone", "Téléphone", "tel"),
    ("email", "Adresse e-mail", "email"),
    (
        "appointment",
        "Prise de rendez-vous (adresse ou lien)",
        "text",
    ),
    ("website", "Site internet", "url"),
    ("activity", "Activité", "text"),
    ("specialties", "Spécialités", "text"),
    ("care", "Prises en charge", "text"),
    ("equipment", "Matériel", "text"),
];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Fiche {
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Fiche {
    fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }
    fn is_filled(&self) -> bool {
        FICHE_FIELDS.iter().any(|(f, _, _)| !self.get(f).is_empty())
    }
}

fn fiche(professional: &str, kind: Kind) -> Result<Option<Fiche>, StoreError> {
    Query::new()
        .filter("professional = {:p} && kind = {:k}")
        .param("p", professional)
        .param("k", kind.code())
        .first::<Fiche>(FICHES)
}

fn fiche_html(f: &Fiche) -> String {
    let mut html = String::from("<dl class=\"fiche\">");
    let photo = f.get("photo");
    if !photo.is_empty() {
        html.push_str(&format!(
            "<img class=\"photo\" src=\"{}\" alt=\"Photo\" width=\"96\">",
            escape(&maillage_sdk::blobs::download_path(photo))
        ));
    }
    for (name, label, kind) in FICHE_FIELDS {
        let value = f.get(name);
        if value.is_empty() {
            continue;
        }
        let shown = match kind {
            "email" => format!("<a href=\"mailto:{v}\">{v}</a>", v = escape(value)),
            "url" if value.starts_with("https://") || value.starts_with("http://") => {
                format!(
                    "<a href=\"{v}\" rel=\"noopener\">{v}</a>",
                    v = escape(value)
                )
            }
            _ => escape(value),
        };
        html.push_str(&format!("<dt>{label}</dt><dd>{shown}</dd>"));
    }
    html.push_str("</dl>");
    html
}

#[derive(Debug, Deserialize)]
struct HistoryLine {
    #[serde(default, deserialize_with = "or_default")]
    from_status: String,
    to_status: String,
    #[serde(default, deserialize_with = "or_default")]
    by_name: String,
    created_at: i64,
}

#[derive(Debug, Deserialize)]
struct Note {
    id: String,
    #[serde(default, deserialize_with = "or_default")]
    text: String,
    #[serde(default, deserialize_with = "or_default")]
    by_name: String,
}

fn note_of(professional: &str) -> Result<Option<Note>, StoreError> {
    Query::new()
        .filter("professional = {:p}")
        .param("p", professional)
        .first::<Note>(NOTES)
}

/// "le 24/11/2026" from Unix seconds (UTC: precise enough for a history line).
fn date_of(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{day:02}/{month:02}/{year}")
}

pub fn professional_page(id: &str) -> Result<Response, StoreError> {
    let viewer = Viewer::current();
    let Some(p) = records::get::<Professional>(PROFESSIONALS, id)? else {
        return Ok(Response::not_found());
    };
    let latest = latest()?.map(|i| i.number).unwrap_or(0);
    let mut html = format!("<p><a href=\"{}\">← Annuaire</a></p>", href("/"));
    html.push_str(&format!("<h1>{}</h1>", escape(&p.full_name())));
    let mut facts = vec![escape(&p.profession)];
    if !p.specialties.is_empty() {
        facts.push(escape(&p.specialties.join(", ")));
    }
    facts.push(format!("RPPS {}", escape(&p.rpps_id)));
    html.push_str(&format!("<p class=\"muted\">{}</p>", facts.join(" · ")));
    if let Some(status) = viewer.visible_status(&p) {
        html.push_str(&format!("<p>Statut : {}</p>", status.badge()));
    }
    if p.seen_in < latest {
        html.push_str("<p class=\"notice\">Absent du dernier import : a quitté le territoire.</p>");
    } else if latest > 1 && p.arrived_in == latest {
        html.push_str("<p><span class=\"badge new\">Nouvel arrivant</span></p>");
    }
    html.push_str("<h2>Lieux d’exercice</h2><ul class=\"sites\">");
    for site in &p.sites {
        let mut line = [site.name.as_str(), site.address.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| escape(s))
            .collect::<Vec<_>>()
            .join(", ");
        line.push_str(&format!(
            ", {} {}",
            escape(&site.postal_code),
            escape(&site.commune)
        ));
        if !site.mode.is_empty() {
            line.push_str(&format!(" — {}", escape(&site.mode)));
        }
        if !site.phone.is_empty() {
            line.push_str(&format!(" — tél. {}", escape(&site.phone)));
        }
        html.push_str(&format!("<li>{line}</li>"));
    }
    html.push_str("</ul>");
    html.push_str("<h2>Fiche entre professionnels</h2>");
    match fiche(&p.id, Kind::Pro)?.filter(Fiche::is_filled) {
        Some(f) => html.push_str(&fiche_html(&f)),
        None => {
            html.push_str("<p class=\"empty\">Ce professionnel n’a pas encore rempli sa fiche.</p>")
        }
    }
    if !p.rpps_email.is_empty() && p.fiche_email.is_empty() {
        html.push_str(&format!(
            "<p>E-mail (extrait RPPS) : <a href=\"mailto:{e}\">{e}</a></p>",
            e = escape(&p.rpps_email)
        ));
    }
    if viewer.manager {
        html.push_str(&manager_panel(&p)?);
    }
    Ok(Response::page(&p.full_name(), html))
}

fn manager_panel(p: &Professional) -> Result<String, StoreError> {
    let mut html = String::from(
        "<section class=\"manager\" aria-labelledby=\"gestion\"><h2 id=\"gestion\">Gestion (gestionnaires)</h2>",
    );
    html.push_str(&format!(
        "<form method=\"post\" action=\"{}\" class=\"inline\">{}<label for=\"statut\">Statut</label>\
         <select id=\"statut\" name=\"statut\">",
        href(&format!("/p/{}/statut", p.id)),
        csrf_field()
    ));
    for status in Status::ALL {
        html.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            status.code(),
            if status == p.status() {
                " selected"
            } else {
                ""
            },
            status.label()
        ));
    }
    html.push_str("</select> <button type=\"submit\">Enregistrer le statut</button></form>");
    let history = Query::new()
        .filter("professional = {:p}")
        .param("p", &p.id)
        .sort("-created_at")
        .limit(20)
        .fetch::<HistoryLine>(STATUS_HISTORY)?
        .0;
    if !history.is_empty() {
        html.push_str("<h3>Historique des statuts</h3><ul class=\"history\">");
        for h in &history {
            let label = |code: &str| Status::parse(code).unwrap_or(Status::Unknown).label();
            html.push_str(&format!(
                "<li>{} : {} → {} (par {})</li>",
                date_of(h.created_at),
                label(&h.from_status),
                label(&h.to_status),
                escape(&h.by_name)
            ));
        }
        html.push_str("</ul>");
    }
    if p.user_id.is_some() {
        // The link is declared by the member; a gestionnaire can undo a wrong one.
        html.push_str(&format!(
            "<form method=\"post\" action=\"{}\" class=\"inline\">{}\
             <p>Fiche reliée à un compte de la structure. \
             <button type=\"submit\" class=\"secondary\">Délier le compte</button></p></form>",
            href(&format!("/p/{}/delier", p.id)),
            csrf_field()
        ));
    }
    let note = note_of(&p.id)?;
    html.push_str(&format!(
        "<form method=\"post\" action=\"{}\" class=\"stack\">{}\
         <label for=\"note\">Note privée <small>(visible uniquement des gestionnaires de la structure)</small></label>\
         <textarea id=\"note\" name=\"note\" rows=\"4\" maxlength=\"{MAX_NOTE}\">{}</textarea>\
         <button type=\"submit\">Enregistrer la note</button></form>",
        href(&format!("/p/{}/note", p.id)),
        csrf_field(),
        escape(note.as_ref().map(|n| n.text.as_str()).unwrap_or_default()),
    ));
    if let Some(n) = note.filter(|n| !n.by_name.is_empty()) {
        html.push_str(&format!(
            "<p class=\"muted\">Dernière modification par {}.</p>",
            escape(&n.by_name)
        ));
    }
    html.push_str("</section>");
    Ok(html)
}

fn acting_name() -> String {
    context().user.map(|u| u.display_name).unwrap_or_default()
}

pub fn set_status(id: &str, form: &Form) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent changer un statut.",
        ));
    }
    let Some(status) = Status::parse(&form.get("statut")) else {
        return Ok(Response::error(400, "Statut inconnu."));
    };
    let Some(p) = records::get::<Professional>(PROFESSIONALS, id)? else {
        return Ok(Response::not_found());
    };
    if p.status() != status {
        records::update::<serde_json::Value>(
            PROFESSIONALS,
            id,
            &json!({ "status": status.code() }),
        )?;
        records::insert::<_, serde_json::Value>(
            STATUS_HISTORY,
            &json!({
                "professional": id,
                "from_status": p.status().code(),
                "to_status": status.code(),
                "by_user": context().user.map(|u| u.id),
                "by_name": acting_name(),
            }),
        )?;
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

pub fn set_note(id: &str, form: &Form) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent écrire une note.",
        ));
    }
    if records::get::<Professional>(PROFESSIONALS, id)?.is_none() {
        return Ok(Response::not_found());
    }
    let text: String = form.get("note").trim().chars().take(MAX_NOTE).collect();
    match (note_of(id)?, text.is_empty()) {
        (Some(note), true) => {
            records::delete(NOTES, &note.id)?;
        }
        (None, true) => {}
        (_, false) => {
            records::upsert::<_, serde_json::Value>(
                NOTES,
                &["professional"],
                &json!({ "professional": id, "text": text, "by_name": acting_name() }),
            )?;
        }
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

/// A gestionnaire removes the link between an account and a professional.
pub fn unlink(id: &str) -> Result<Response, StoreError> {
    if !Viewer::current().manager {
        return Ok(Response::error(
            403,
            "Seuls les gestionnaires de l’annuaire peuvent délier un compte.",
        ));
    }
    if records::update::<serde_json::Value>(PROFESSIONALS, id, &json!({ "user_id": null }))?
        .is_none()
    {
        return Ok(Response::not_found());
    }
    Ok(Response::see_other(&format!("/p/{id}")))
}

/// The professional linked to the acting account, if any.
fn my_professional() -> Result<Option<Professional>, StoreError> {
    let Some(user) = context().user else {
        return Ok(None);
    };
    Query::new()
        .filter("user_id = {:u}")
        .param("u", user.id)
        .first::<Professional>(PROFESSIONALS)
}

fn alert(message: &str) -> String {
    format!(
        "<div class=\"alert\" role=\"alert\">{}</div>",
        escape(message)
    )
}

pub fn my_fiche_page(error: Option<&str>) -> Result<Response, StoreError> {
    let mut html = String::from("<h1>Ma fiche</h1>");
    if let Some(error) = error {
        html.push_str(&alert(error));
    }
    let Some(p) = my_professional()? else {
        html.push_str(&format!(
            "<p>Reliez votre compte à votre fiche de l’annuaire avec votre numéro RPPS \
             (11 chiffres, « Identification nationale PP »).</p>\
             <form method=\"post\" action=\"{}\" class=\"stack\">{}\
             <label for=\"rpps\">Numéro RPPS</label>\
             <input id=\"rpps\" name=\"rpps\" inputmode=\"numeric\" pattern=\"[0-9]{{11}}\" required>\
             <button type=\"submit\">Relier mon compte</button></form>",
            href("/ma-fiche/lien"),
            csrf_field()
        ));
        return Ok(Response::page("Ma fiche", html));
    };
    let viewer = Viewer::current();
    html.push_str(&format!(
        "<p>Compte relié à <a href=\"{}\">{}</a> ({}, RPPS {}).</p>",
        href(&format!("/p/{}", p.id)),
        escape(&p.full_name()),
        escape(&p.profession),
        escape(&p.rpps_id)
    ));
    if let Some(status) = viewer.visible_status(&p).filter(|s| *s != Status::Unknown) {
        html.push_str(&format!("<p>Votre statut : {}</p>", status.badge()));
    }
    for kind in [Kind::Pro, Kind::Public] {
        let f = fiche(&p.id, kind)?.unwrap_or_default();
        html.push_str(&format!(
            "<section><h2>{}</h2>{}<form method=\"post\" action=\"{}\" class=\"stack fiche-form\">{}",
            kind.title(),
            match kind {
                Kind::Pro => "<p class=\"muted\">Visible des membres de la structure ; vos prises en charge et votre matériel aident à vous trouver.</p>",
                Kind::Public => "<p class=\"muted\">Facultative, destinée au public.</p>",
            },
            href(&format!("/ma-fiche/{}", kind.code())),
            csrf_field()
        ));
        for (name, label, input) in FICHE_FIELDS {
            let id = format!("{}-{name}", kind.code());
            html.push_str(&format!(
                "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{name}\" type=\"{input}\" maxlength=\"{MAX_FIELD}\" value=\"{}\">",
                escape(f.get(name))
            ));
        }
        let photo = f.get("photo");
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"photo\" value=\"{}\">",
            escape(photo)
        ));
        if !photo.is_empty() {
            html.push_str(&format!(
                "<img class=\"photo\" src=\"{}\" alt=\"Photo actuelle\" width=\"96\">",
                escape(&maillage_sdk::blobs::download_path(photo))
            ));
        }
        html.push_str(&format!(
            "<label for=\"{k}-photo-file\">Photo (JPEG ou PNG)</label>\
             <input id=\"{k}-photo-file\" type=\"file\" accept=\"image/jpeg,image/png\" data-photo-upload=\"/{}/fichiers/{}\" data-csrf=\"{}\">\
             <button type=\"submit\">Enregistrer la {}</button></form></section>",
            escape(&context().structure),
            crate::MODULE_ID,
            escape(&context().csrf_token),
            kind.title().to_lowercase(),
            k = kind.code(),
        ));
    }
    html.push_str(PHOTO_SCRIPT);
    Ok(Response::page("Ma fiche", html))
}

/// Sends the chosen photo to the host's file endpoint, then keeps its id in the form.
const PHOTO_SCRIPT: &str = r#"<script>
document.querySelectorAll('[data-photo-upload]').forEach(function (input) {
  input.addEventListener('change', function () {
    if (!input.files.length) return;
    var body = new FormData(); body.append('file', input.files[0]);
    fetch(input.dataset.photoUpload, { method: 'POST', body: body, headers: { 'x-csrf-token': input.dataset.csrf } })
      .then(function (r) { return r.json(); })
      .then(function (blob) {
        if (blob.id) { input.form.querySelector('input[name=photo]').value = blob.id; }
        else { alert(blob.error || 'Envoi de la photo impossible.'); }
      });
  });
});
</script>"#;

pub fn link(form: &Form) -> Result<Response, StoreError> {
    let Some(user) = context().user else {
        return Ok(Response::error(
            403,
            "Connectez-vous pour relier votre fiche.",
        ));
    };
    let rpps = form.get("rpps").trim().to_string();
    if rpps.len() != 11 || !rpps.bytes().all(|b| b.is_ascii_digit()) {
        return my_fiche_page(Some("Le numéro RPPS compte 11 chiffres."))
            .map(|r| r.with_status(400));
    }
    let found = Query::new()
        .filter("rpps_id = {:r}")
        .param("r", &rpps)
        .first::<Professional>(PROFESSIONALS)?;
    let Some(p) = found else {
        return my_fiche_page(Some(
            "Aucun professionnel du territoire n’a ce numéro RPPS dans l’annuaire.",
        ))
        .map(|r| r.with_status(400));
    };
    if p.user_id.as_ref().is_some_and(|u| *u != user.id) {
        return my_fiche_page(Some(
            "Ce numéro RPPS est déjà relié à un autre compte. Contactez un gestionnaire de l’annuaire.",
        ))
        .map(|r| r.with_status(409));
    }
    records::update::<serde_json::Value>(PROFESSIONALS, &p.id, &json!({ "user_id": user.id }))?;
    Ok(Response::see_other("/ma-fiche"))
}

pub fn save(kind: &str, form: &Form) -> Result<Response, StoreError> {
    let Some(kind) = Kind::parse(kind) else {
        return Ok(Response::not_found());
    };
    let Some(p) = my_professional()? else {
        return Ok(Response::see_other("/ma-fiche"));
    };
    let mut data = serde_json::Map::new();
    for (name, _, input) in FICHE_FIELDS {
        let value: String = form.get(name).trim().chars().take(MAX_FIELD).collect();
        if input == "email" && !value.is_empty() && !value.contains('@') {
            return my_fiche_page(Some("L’adresse e-mail n’est pas valide."))
                .map(|r| r.with_status(400));
        }
        data.insert(name.into(), json!(value));
    }
    let photo = form.get("photo");
    if !photo.is_empty() && maillage_sdk::blobs::info(&photo).is_none() {
        return my_fiche_page(Some("La photo envoyée est introuvable ; renvoyez-la."))
            .map(|r| r.with_status(400));
    }
    data.insert("photo".into(), json!(photo));
    data.insert("professional".into(), json!(p.id));
    data.insert("kind".into(), json!(kind.code()));
    data.insert("user_id".into(), json!(context().user.map(|u| u.id)));
    let fiche = Fiche {
        kind: kind.code().into(),
        fields: data.clone(),
    };
    records::upsert::<_, serde_json::Value>(FICHES, &["professional", "kind"], &data)?;
    if kind == Kind::Pro {
        // What the search and the communication page read, kept on the professional.
        records::update::<serde_json::Value>(
            PROFESSIONALS,
            &p.id,
            &json!({
                "fiche_filled": fiche.is_filled(),
                "fiche_email": fiche.get("email"),
                "care_key": fold(fiche.get("care")),
                "equipment_key": fold(fiche.get("equipment")),
            }),
        )?;
    }
    Ok(Response::see_other("/ma-fiche"))
}

/// The fragment "Mon compte" shows: the linked professional and the fiches.
pub fn account_fragment() -> Result<Response, StoreError> {
    let mut html = String::new();
    match my_professional()? {
        None => html.push_str(&format!(
            "<p>Votre compte n’est pas relié à une fiche de l’annuaire. <a href=\"{}\">Relier ma fiche</a></p>",
            href("/ma-fiche")
        )),
        Some(p) => {
            html.push_str(&format!(
                "<p>{} — {} (RPPS {})</p>",
                escape(&p.full_name()),
                escape(&p.profession),
                escape(&p.rpps_id)
            ));
            for kind in [Kind::Pro, Kind::Public] {
                let f = fiche(&p.id, kind)?.filter(Fiche::is_filled);
                html.push_str(&format!("<h3>{}</h3>", kind.title()));
                match f {
                    Some(f) => html.push_str(&fiche_html(&f)),
                    None => html.push_str("<p class=\"empty\">Non renseignée.</p>"),
                }
            }
            html.push_str(&format!(
                "<p><a class=\"button\" href=\"{}\">Modifier mes fiches</a></p>",
                href("/ma-fiche")
            ));
        }
    }
    Ok(Response::fragment(html))
}
