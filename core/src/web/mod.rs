//! The web shell: page layout, navigation and dashboard assembled from the enabled
//! modules, and the static assets (vendored, no CDN). UI text is French.

use crate::plugins::Manifest;
use crate::tenancy::Structure;

pub const STYLESHEET: &str = include_str!("../../static/maillage.css");

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Navigation of a structure: one entry per nav item of each enabled module.
pub struct Nav<'a> {
    pub structure: &'a Structure,
    pub modules: &'a [Manifest],
    /// Plugin id of the module being shown, for `aria-current`.
    pub current: Option<&'a str>,
}

/// A full HTML page around `body` (already-safe HTML).
pub fn page(title: &str, nav: Option<&Nav<'_>>, body: &str) -> String {
    let mut html = String::with_capacity(body.len() + 2048);
    html.push_str("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html.push_str(&format!("<title>{} · Maillage</title>", escape(title)));
    html.push_str("<link rel=\"stylesheet\" href=\"/static/maillage.css\"></head><body>");
    html.push_str("<a class=\"skip\" href=\"#contenu\">Aller au contenu</a><header class=\"top\"><a class=\"brand\" href=\"/\">Maillage</a>");
    if let Some(nav) = nav {
        let base = format!("/{}", nav.structure.slug);
        html.push_str(&format!(
            "<a class=\"structure\" href=\"{}/\">{} <small>{}</small></a>",
            escape(&base),
            escape(&nav.structure.name),
            nav.structure.kind.label()
        ));
        html.push_str("<nav aria-label=\"Modules\"><ul>");
        for module in nav.modules {
            for entry in &module.nav {
                let current = if nav.current == Some(module.id.as_str()) {
                    " aria-current=\"page\""
                } else {
                    ""
                };
                html.push_str(&format!(
                    "<li><a href=\"{}/{}{}\"{current}>{}</a></li>",
                    escape(&base),
                    escape(&module.id),
                    escape(if entry.path == "/" { "/" } else { &entry.path }),
                    escape(&entry.label)
                ));
            }
        }
        html.push_str("</ul></nav>");
    }
    html.push_str("</header><main id=\"contenu\">");
    html.push_str(body);
    html.push_str("</main></body></html>");
    html
}

/// The 500 page shown when a plugin fails; the details go to the log, not to the user.
pub fn plugin_error_page(nav: Option<&Nav<'_>>, module_name: &str, request_id: &str) -> String {
    page(
        "Erreur",
        nav,
        &format!(
            "<div class=\"alert\" role=\"alert\"><h1>Le module « {} » a rencontré une erreur</h1>\
             <p>Votre demande n’a pas pu aboutir. Le reste de la plateforme fonctionne normalement ; \
             vous pouvez réessayer ou revenir à l’accueil.</p><p class=\"muted\">Référence de l’incident : {}</p></div>",
            escape(module_name),
            escape(request_id)
        ),
    )
}

pub fn not_found_page() -> String {
    page(
        "Page introuvable",
        None,
        "<h1>Page introuvable</h1><p>Cette page n’existe pas ou ce module n’est pas activé pour cette structure.</p><p><a href=\"/\">Retour à l’accueil</a></p>",
    )
}
