//! HTML: compile-time checked templates that escape every value they splice.
//!
//! Pages are written with [`html!`] (maud): `html! { p.muted { "Par " (author) } }`.
//! Text and attribute values spliced with `(expr)` are escaped; a [`Markup`] spliced
//! into another is kept as is, since it was built by a template. A plugin crate needs
//! `maud` among its own dependencies, because the macro's expansion names the crate.
//!
//! Raw, unescaped HTML has one door only, [`raw_unescaped_html`], for trusted markup.
//! Members' Markdown has a second, filtered one: `markdown::render` (feature `markdown`),
//! which turns raw HTML into text and keeps only safe links and same-origin images.

pub use maud::{Markup, Render, html};

pub use crate::assets::asset_url;

/// Markup taken as is, without any escaping: the only way for trusted, constant markup
/// to enter a page that no template can write.
///
/// **Never pass it user data** (form fields, records, names, anything a member or a file
/// wrote): that would be a cross-site scripting hole. Everything else goes through
/// [`html!`], which escapes.
pub fn raw_unescaped_html(html: impl Into<String>) -> Markup {
    maud::PreEscaped(html.into())
}

/// The hidden CSRF field every state-changing form must carry.
pub fn csrf_field() -> Markup {
    html! { input type="hidden" name="csrf" value=(crate::context().csrf_token); }
}

/// The URL of a path relative to the module, e.g. `href("/p/42")` →
/// "/cpts-demo/polls/p/42". Not escaped: splice it into a template attribute
/// (`a href=(href("/new"))`), which escapes it once.
pub fn href(relative: &str) -> String {
    format!("{}{}", crate::context().base_path, relative)
}

/// `<script src="…" defer></script>` for one of the module's declared assets
/// ([`crate::Plugin::assets`]), e.g. `script("photo.js")`.
pub fn script(name: &str) -> Markup {
    html! { script src=(asset_url(name)) defer {} }
}

/// `<link rel="stylesheet" href="…">` for one of the module's declared assets
/// ([`crate::Plugin::assets`]), e.g. `stylesheet("annuaire.css")`.
pub fn stylesheet(name: &str) -> Markup {
    html! { link rel="stylesheet" href=(asset_url(name)); }
}

/// The confirmation a page shows after a redirect (e.g. `?ok=…`), as
/// `p.notice[role=status]`; nothing when there is none.
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p class="notice" role="status" { (text) }
        }
    }
}

/// The error of a form or an action, as `div.alert[role=alert] > p`; nothing when there
/// is none.
pub fn alert(error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            div class="alert" role="alert" { p { (error) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_text_and_attributes() {
        let hostile = "<script>alert('x')</script> & \"co\"";
        let markup = html! { p title=(hostile) { (hostile) } };
        assert_eq!(
            markup.into_string(),
            "<p title=\"&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;co&quot;\">\
             &lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;co&quot;</p>"
        );
    }

    #[test]
    fn markup_is_spliced_once_and_raw_html_only_on_request() {
        let inner = html! { em { "a & b" } };
        let outer = html! { p { (inner) (raw_unescaped_html("<br>")) } };
        assert_eq!(outer.into_string(), "<p><em>a &amp; b</em><br></p>");
    }

    #[test]
    fn notices_and_alerts_show_only_when_there_is_one() {
        assert_eq!(notice(None).into_string(), "");
        assert_eq!(
            notice(Some("C’est enregistré & envoyé.")).into_string(),
            "<p class=\"notice\" role=\"status\">C’est enregistré &amp; envoyé.</p>"
        );
        assert_eq!(alert(None).into_string(), "");
        assert_eq!(
            alert(Some("<b>Erreur</b>")).into_string(),
            "<div class=\"alert\" role=\"alert\"><p>&lt;b&gt;Erreur&lt;/b&gt;</p></div>"
        );
    }
}
