//! The web shell: page layout (header with structure switcher and account menu,
//! navigation assembled from the enabled modules), form helpers, and the static
//! stylesheet (vendored, no CDN). UI text is French.

use crate::plugins::Manifest;
use crate::tenancy::{Membership, Role, Structure};

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

/// Who is looking, for the header: their name, their structures, the logout token.
pub struct ViewerBar<'a> {
    pub display_name: &'a str,
    pub platform_operator: bool,
    pub memberships: &'a [Membership],
    pub csrf: &'a str,
}

/// Navigation inside one structure: modules, groups, and administration for admins.
pub struct Nav<'a> {
    pub structure: &'a Structure,
    pub modules: &'a [Manifest],
    /// Plugin id (or "groupes", "admin") of the section shown, for `aria-current`.
    pub current: Option<&'a str>,
    pub role: Role,
}

/// Everything around a page's body.
#[derive(Default)]
pub struct Shell<'a> {
    pub viewer: Option<ViewerBar<'a>>,
    pub nav: Option<Nav<'a>>,
}

/// A full HTML page around `body` (already-safe HTML).
pub fn page(title: &str, shell: &Shell<'_>, body: &str) -> String {
    let mut html = String::with_capacity(body.len() + 4096);
    html.push_str("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html.push_str(&format!("<title>{} · Maillage</title>", escape(title)));
    html.push_str("<link rel=\"stylesheet\" href=\"/static/maillage.css\"></head><body>");
    html.push_str("<a class=\"skip\" href=\"#contenu\">Aller au contenu</a><header class=\"top\"><a class=\"brand\" href=\"/\">Maillage</a>");
    if let Some(nav) = &shell.nav {
        let base = format!("/{}", nav.structure.slug);
        html.push_str(&format!(
            "<a class=\"structure\" href=\"{}/\">{} <small>{}</small></a>",
            escape(&base),
            escape(&nav.structure.name),
            nav.structure.kind.label()
        ));
        html.push_str("<nav aria-label=\"Menu de la structure\"><ul>");
        let mut entry = |href: String, label: &str, section: &str| {
            let current = if nav.current == Some(section) {
                " aria-current=\"page\""
            } else {
                ""
            };
            html.push_str(&format!(
                "<li><a href=\"{}\"{current}>{}</a></li>",
                escape(&href),
                escape(label)
            ));
        };
        for module in nav.modules {
            for item in &module.nav {
                let path = if item.path == "/" { "/" } else { &item.path };
                entry(
                    format!("{base}/{}{path}", module.id),
                    &item.label,
                    &module.id,
                );
            }
        }
        entry(format!("{base}/groupes/"), "Groupes", "groupes");
        if nav.role >= Role::Admin {
            entry(format!("{base}/admin/"), "Administration", "admin");
        }
        html.push_str("</ul></nav>");
    }
    if let Some(viewer) = &shell.viewer {
        html.push_str("<div class=\"account\">");
        if viewer.memberships.len() > 1 {
            // Structure switcher: a plain GET form, works without JavaScript.
            html.push_str("<form class=\"switcher\" method=\"get\" action=\"/\"><label for=\"structure-switch\">Structure</label> <select id=\"structure-switch\" name=\"structure\">");
            for m in viewer.memberships {
                let selected = if shell
                    .nav
                    .as_ref()
                    .is_some_and(|n| n.structure.id == m.structure.id)
                {
                    " selected"
                } else {
                    ""
                };
                html.push_str(&format!(
                    "<option value=\"{}\"{selected}>{}</option>",
                    escape(&m.structure.slug),
                    escape(&m.structure.name)
                ));
            }
            html.push_str(
                "</select> <button type=\"submit\" class=\"small\">Changer</button></form>",
            );
        }
        if viewer.platform_operator {
            html.push_str("<a href=\"/plateforme/\">Plateforme</a>");
        }
        html.push_str(&format!(
            "<a href=\"/compte\">{}</a><form method=\"post\" action=\"/deconnexion\" class=\"inline\">{}<button type=\"submit\" class=\"link\">Se déconnecter</button></form></div>",
            escape(viewer.display_name),
            csrf_field(viewer.csrf)
        ));
    }
    html.push_str("</header><main id=\"contenu\">");
    html.push_str(body);
    html.push_str("</main></body></html>");
    html
}

pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

/// A labelled input; `kind` is the input type.
pub fn field(name: &str, label: &str, kind: &str, value: &str, extra: &str) -> String {
    format!(
        "<label for=\"{name}\">{}</label><input id=\"{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\" {extra}>",
        escape(label),
        escape(value)
    )
}

/// A labelled select over (value, label) pairs.
pub fn select(name: &str, label: &str, options: &[(&str, &str)], selected: &str) -> String {
    let mut html = format!(
        "<label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\">",
        escape(label)
    );
    for (value, text) in options {
        let sel = if *value == selected { " selected" } else { "" };
        html.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            escape(value),
            escape(text)
        ));
    }
    html.push_str("</select>");
    html
}

/// An error message announced to screen readers.
pub fn alert(message: &str) -> String {
    format!(
        "<div class=\"alert\" role=\"alert\">{}</div>",
        escape(message)
    )
}

/// A confirmation message.
pub fn notice(message: &str) -> String {
    format!(
        "<div class=\"notice\" role=\"status\">{}</div>",
        escape(message)
    )
}

/// Dates in the structure's zone would need a time-zone database in the host; the host
/// shows UTC timestamps only in admin tables, labelled as such.
pub fn utc_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{d:02}/{m:02}/{y} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The 500 page shown when a plugin fails; the details go to the log, not to the user.
pub fn plugin_error_page(shell: &Shell<'_>, module_name: &str, request_id: &str) -> String {
    page(
        "Erreur",
        shell,
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
        &Shell::default(),
        "<h1>Page introuvable</h1><p>Cette page n’existe pas ou ce module n’est pas activé pour cette structure.</p><p><a href=\"/\">Retour à l’accueil</a></p>",
    )
}

pub fn forbidden_page() -> String {
    page(
        "Accès refusé",
        &Shell::default(),
        "<h1>Accès refusé</h1><p>Cette page est réservée aux personnes qui en ont le rôle. Adressez-vous à l’administrateur de votre structure.</p><p><a href=\"/\">Retour à l’accueil</a></p>",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_timestamps_are_read_as_calendar_dates() {
        assert_eq!(super::utc_timestamp(0), "01/01/1970 00:00 UTC");
        assert_eq!(super::utc_timestamp(1_795_996_800), "30/11/2026 00:00 UTC");
    }
}
