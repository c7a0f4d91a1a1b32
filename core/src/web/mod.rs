//! The web shell: page layout (header with structure switcher and account menu,
//! navigation assembled from the enabled modules), form helpers, and the static
//! stylesheet (vendored, no CDN). UI text is French.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::plugins::Manifest;
use crate::tenancy::{Membership, Role, Structure};

pub mod assets;

/// The one door for raw HTML into host pages. Every other piece of host markup is built
/// with `maud::html!`, which escapes what it splices; a module's HTML fragment, though,
/// arrives already rendered (bytes answered by a sandboxed plugin: a page body or a
/// dashboard widget) and is shown as the module wrote it. Keeping that in this single,
/// explicitly named function makes every raw-HTML path of the host greppable: nothing
/// else in the host may use `PreEscaped` on text.
pub fn module_html(fragment: &str) -> Markup {
    PreEscaped(fragment.to_owned())
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
    /// The page's path: of the current module's entries, the one it is under (the
    /// longest match) is the current one.
    pub path: &'a str,
    pub role: Role,
}

/// Everything around a page's body.
#[derive(Default)]
pub struct Shell<'a> {
    pub viewer: Option<ViewerBar<'a>>,
    pub nav: Option<Nav<'a>>,
}

/// A full HTML page around `body`.
pub fn page(title: &str, shell: &Shell<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Maillage" }
                (assets::head_links())
            }
            body {
                a.skip href="#contenu" { "Aller au contenu" }
                header.top {
                    a.brand href="/" { "Maillage" }
                    @if let Some(nav) = &shell.nav {
                        (structure_nav(nav))
                    }
                    @if let Some(viewer) = &shell.viewer {
                        (account_menu(shell, viewer))
                    }
                }
                main #contenu { (body) }
            }
        }
    }
}

/// The structure's name and its menu: modules, groups, administration for admins.
fn structure_nav(nav: &Nav<'_>) -> Markup {
    let base = format!("/{}", nav.structure.slug);
    html! {
        a.structure href={ (base) "/" } {
            (nav.structure.name) " " small { (nav.structure.kind.label()) }
        }
        nav aria-label="Menu de la structure" {
            ul {
                @for module in nav.modules {
                    @let hrefs: Vec<String> = module
                        .nav
                        .iter()
                        .map(|item| format!("{base}/{}{}", module.id, item.path))
                        .collect();
                    @let here = (nav.current == Some(module.id.as_str()))
                        .then(|| current_entry(&hrefs, nav.path))
                        .flatten();
                    @for (i, (item, href)) in module.nav.iter().zip(&hrefs).enumerate() {
                        (nav_entry(href, &item.label, here == Some(i)))
                    }
                }
                (nav_entry(&format!("{base}/groupes/"), "Groupes", nav.current == Some("groupes")))
                @if nav.role >= Role::Admin {
                    (nav_entry(&format!("{base}/admin/"), "Administration", nav.current == Some("admin")))
                }
            }
        }
    }
}

/// Which of a module's entries the page at `path` is under: the longest href that
/// `path` starts with (the module's root entry when no other matches).
fn current_entry(hrefs: &[String], path: &str) -> Option<usize> {
    let under = |href: &String| {
        let stem = href.trim_end_matches('/');
        path == stem || path.starts_with(&format!("{stem}/")) || path == href.as_str()
    };
    hrefs
        .iter()
        .enumerate()
        .filter(|(_, href)| under(href))
        .max_by_key(|(_, href)| href.len())
        .map(|(i, _)| i)
        .or((!hrefs.is_empty()).then_some(0))
}

fn nav_entry(href: &str, label: &str, current: bool) -> Markup {
    html! {
        li { a href=(href) aria-current=[current.then_some("page")] { (label) } }
    }
}

/// The structure switcher, the platform link, the account link and logout.
fn account_menu(shell: &Shell<'_>, viewer: &ViewerBar<'_>) -> Markup {
    let shown = shell.nav.as_ref().map(|n| n.structure.id);
    html! {
        div.account {
            @if viewer.memberships.len() > 1 {
                // Structure switcher: a plain GET form, works without JavaScript.
                form.switcher method="get" action="/" {
                    label for="structure-switch" { "Structure" }
                    " "
                    select #structure-switch name="structure" {
                        @for m in viewer.memberships {
                            option value=(m.structure.slug) selected[shown == Some(m.structure.id)] {
                                (m.structure.name)
                            }
                        }
                    }
                    " "
                    button type="submit" class="small" { "Changer" }
                }
            }
            @if viewer.platform_operator {
                a href="/plateforme/" { "Plateforme" }
            }
            a href="/compte" { (viewer.display_name) }
            form method="post" action="/deconnexion" class="inline" {
                (csrf_field(viewer.csrf))
                button type="submit" class="link" { "Se déconnecter" }
            }
        }
    }
}

pub fn csrf_field(token: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(token);
    }
}

/// What an input requires and how browsers help fill it, beyond its name, type and
/// value: `Input::new().required().autocomplete("username")`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Input<'a> {
    pub required: bool,
    pub autofocus: bool,
    pub autocomplete: Option<&'a str>,
    pub maxlength: Option<u32>,
    pub pattern: Option<&'a str>,
    pub inputmode: Option<&'a str>,
    /// An example or the value used when left empty (never a substitute for a label).
    pub placeholder: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// No constraint, no hint.
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    #[must_use]
    pub fn autofocus(self) -> Self {
        Self {
            autofocus: true,
            ..self
        }
    }

    #[must_use]
    pub fn autocomplete(self, value: &'a str) -> Self {
        Self {
            autocomplete: Some(value),
            ..self
        }
    }

    #[must_use]
    pub fn maxlength(self, chars: u32) -> Self {
        Self {
            maxlength: Some(chars),
            ..self
        }
    }

    #[must_use]
    pub fn pattern(self, regex: &'a str) -> Self {
        Self {
            pattern: Some(regex),
            ..self
        }
    }

    #[must_use]
    pub fn inputmode(self, mode: &'a str) -> Self {
        Self {
            inputmode: Some(mode),
            ..self
        }
    }

    #[must_use]
    pub fn placeholder(self, text: &'a str) -> Self {
        Self {
            placeholder: Some(text),
            ..self
        }
    }
}

/// A labelled input; `kind` is the input type.
pub fn field(name: &str, label: &str, kind: &str, value: &str, input: Input<'_>) -> Markup {
    html! {
        label for=(name) { (label) }
        input id=(name) name=(name) type=(kind) value=(value)
            autocomplete=[input.autocomplete]
            required[input.required]
            autofocus[input.autofocus]
            maxlength=[input.maxlength]
            pattern=[input.pattern]
            inputmode=[input.inputmode]
            placeholder=[input.placeholder];
    }
}

/// A labelled select over (value, label) pairs.
pub fn select(name: &str, label: &str, options: &[(&str, &str)], selected: &str) -> Markup {
    select_as(name, name, label, options, selected)
}

/// A labelled select whose element id differs from its field name (several forms of
/// one page sending the same field).
pub fn select_as(
    id: &str,
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
) -> Markup {
    html! {
        label for=(id) { (label) }
        select id=(id) name=(name) {
            @for (value, text) in options {
                option value=(value) selected[*value == selected] { (text) }
            }
        }
    }
}

/// An error message announced to screen readers.
pub fn alert(message: &str) -> Markup {
    html! {
        div.alert role="alert" { (message) }
    }
}

/// A confirmation message.
pub fn notice(message: &str) -> Markup {
    html! {
        div.notice role="status" { (message) }
    }
}

/// An instant as the structure's people read it: « 30/11/2026 01:00 » in `zone` (an
/// IANA name, e.g. the structure's), with the zone's abbreviation (« CET », « -03 »).
/// An unknown zone falls back to UTC, labelled as such.
pub fn local_timestamp(secs: i64, zone: &str) -> String {
    let Ok(instant) = jiff::Timestamp::from_second(secs) else {
        return secs.to_string();
    };
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = instant.to_zoned_datetime(tz);
    format!(
        "{} {}",
        local.strftime("%d/%m/%Y %H:%M"),
        local.strftime("%Z")
    )
}

/// The 500 page shown when a plugin fails; the details go to the log, not to the user.
pub fn plugin_error_page(shell: &Shell<'_>, module_name: &str, request_id: &str) -> Markup {
    page(
        "Erreur",
        shell,
        html! {
            div.alert role="alert" {
                h1 { "Le module « " (module_name) " » a rencontré une erreur" }
                p {
                    "Votre demande n’a pas pu aboutir. Le reste de la plateforme fonctionne normalement ; \
                     vous pouvez réessayer ou revenir à l’accueil."
                }
                p.muted { "Référence de l’incident : " (request_id) }
            }
        },
    )
}

pub fn not_found_page() -> Markup {
    page(
        "Page introuvable",
        &Shell::default(),
        html! {
            h1 { "Page introuvable" }
            p { "Cette page n’existe pas ou ce module n’est pas activé pour cette structure." }
            p { a href="/" { "Retour à l’accueil" } }
        },
    )
}

pub fn forbidden_page() -> Markup {
    page(
        "Accès refusé",
        &Shell::default(),
        html! {
            h1 { "Accès refusé" }
            p {
                "Cette page est réservée aux personnes qui en ont le rôle. Adressez-vous à l’administrateur de votre structure."
            }
            p { a href="/" { "Retour à l’accueil" } }
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_current_entry_is_the_one_the_page_is_under() {
        let hrefs = vec![
            "/cpts/agenda/".to_string(),
            "/cpts/agenda/mes-reunions".to_string(),
        ];
        assert_eq!(super::current_entry(&hrefs, "/cpts/agenda/"), Some(0));
        assert_eq!(super::current_entry(&hrefs, "/cpts/agenda/r/12"), Some(0));
        assert_eq!(
            super::current_entry(&hrefs, "/cpts/agenda/mes-reunions"),
            Some(1)
        );
        assert_eq!(super::current_entry(&hrefs, "/cpts/agenda"), Some(0));
        assert_eq!(super::current_entry(&[], "/cpts/agenda/"), None);
    }

    #[test]
    fn timestamps_are_shown_in_the_structure_zone() {
        // 2026-11-30 00:00 UTC.
        let t = 1_795_996_800;
        assert_eq!(
            super::local_timestamp(t, "Europe/Paris"),
            "30/11/2026 01:00 CET"
        );
        assert_eq!(
            super::local_timestamp(t, "America/Cayenne"),
            "29/11/2026 21:00 -03"
        );
        assert_eq!(
            super::local_timestamp(t, "Indian/Reunion"),
            "30/11/2026 04:00 +04"
        );
        // Summer time in Paris: 2026-07-01 12:00 UTC.
        assert_eq!(
            super::local_timestamp(1_782_907_200, "Europe/Paris"),
            "01/07/2026 14:00 CEST"
        );
        assert_eq!(
            super::local_timestamp(t, "Nowhere/Else"),
            "30/11/2026 00:00 UTC"
        );
    }
}
