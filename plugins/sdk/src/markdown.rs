//! Markdown written by members, rendered to safe HTML (feature `markdown`): [`render`].
//!
//! This is the SDK's second named raw door, next to
//! [`raw_unescaped_html`](crate::html::raw_unescaped_html): [`render`] returns markup that
//! no template escapes, built by `pulldown-cmark` from the member's text, and may be
//! given user data because of what it lets through:
//!
//! - CommonMark with tables, strikethrough and task lists; no heading attributes
//!   (`{#id .class}` would let authors set ids and classes), math, wikilinks, footnotes
//!   or metadata blocks;
//! - raw HTML is shown as text (escaped); an HTML block becomes a code block;
//! - a link keeps its `href` only when [`allowed_link`] accepts it (http, https, mailto
//!   or a relative path, never protocol-relative); otherwise its text stays, without link;
//! - an image is an `<img>` only at a same-origin path ([`same_origin_path`]: the CSP's
//!   `img-src 'self'`); an allowed external image becomes a link whose text is its alt
//!   text; any other image, its plain alt text;
//! - table column alignments are dropped: they would be `style=` attributes, which the
//!   CSP blocks.
//!
//! The page's Content-Security-Policy (no inline script, no `javascript:` URL) stays the
//! backstop behind this filter.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::html::Markup;

/// What became of an open link or image, so that its end matches its start.
enum Open {
    /// A link kept as a link.
    Link,
    /// An image kept as an image.
    Image,
    /// An image rendered as a link to it.
    ImageAsLink,
    /// Dropped: only its text remains.
    Dropped,
}

/// The member's Markdown as HTML, filtered (see the module's documentation): safe to
/// splice into a page, e.g. `div.document { (markdown::render(&text)) }`.
pub fn render(text: &str) -> Markup {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut open: Vec<Open> = Vec::new();
    let events = Parser::new_ext(text, options).map(|event| match event {
        // Raw HTML is shown as text, escaped by push_html; an HTML block becomes a code
        // block.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::CodeBlock),
        // No alignments: push_html would write them as style attributes.
        Event::Start(Tag::Table(_)) => Event::Start(Tag::Table(Vec::new())),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            // push_html writes "mailto:" itself for e-mail autolinks. A link inside a
            // link (through an image) is not nested.
            let keep = !inside_link(&open)
                && (matches!(link_type, LinkType::Email) || allowed_link(&dest_url));
            if keep {
                open.push(Open::Link);
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            } else {
                // The link's text stays, without href.
                open.push(Open::Dropped);
                nothing()
            }
        }
        Event::End(TagEnd::Link) => match open.pop() {
            Some(Open::Link) => Event::End(TagEnd::Link),
            _ => nothing(),
        },
        // img-src is 'self' (CSP): only same-origin paths render as images.
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            if same_origin_path(&dest_url) {
                open.push(Open::Image);
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            } else if !inside_link(&open) && allowed_link(&dest_url) {
                open.push(Open::ImageAsLink);
                Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url,
                    title,
                    id,
                })
            } else {
                open.push(Open::Dropped);
                nothing()
            }
        }
        Event::End(TagEnd::Image) => match open.pop() {
            Some(Open::Image) => Event::End(TagEnd::Image),
            Some(Open::ImageAsLink) => Event::End(TagEnd::Link),
            _ => nothing(),
        },
        other => other,
    });
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    pulldown_cmark::html::push_html(&mut out, events);
    maud::PreEscaped(out)
}

/// An empty text, standing for a dropped start or end tag (its content stays).
fn nothing<'a>() -> Event<'a> {
    Event::Text(CowStr::Borrowed(""))
}

fn inside_link(open: &[Open]) -> bool {
    open.iter()
        .any(|o| matches!(o, Open::Link | Open::ImageAsLink))
}

/// The URL as a browser reads it: ASCII tab, CR and LF removed (so `java\tscript:` is
/// `javascript:`), leading C0 controls and spaces trimmed.
fn as_browser_reads(dest: &str) -> String {
    let cleaned: String = dest
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    cleaned.trim_start_matches(|c: char| c <= ' ').to_owned()
}

/// Whether the URL starts with two slashes, either way round (`//`, `\\`, `/\`, `\/`):
/// browsers read it as protocol-relative, i.e. another host.
fn protocol_relative(url: &str) -> bool {
    let mut chars = url.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some('/' | '\\'), Some('/' | '\\'))
    )
}

/// Whether a link may keep this destination: `http:`, `https:` or `mailto:` (any case),
/// or a relative URL that is not protocol-relative (`//host`, `\\host`, `/\host`).
///
/// pulldown-cmark has already decoded entities (`&#x61;`) in the destination, and tab,
/// CR and LF are removed and leading controls and spaces trimmed first, as browsers do:
/// the check sees what the browser will see.
pub fn allowed_link(dest: &str) -> bool {
    let url = as_browser_reads(dest);
    if protocol_relative(&url) {
        return false;
    }
    // A ':' before any '/', '?' or '#' ends a scheme.
    match url.find([':', '/', '?', '#']) {
        Some(end) if url[end..].starts_with(':') => {
            let scheme = &url[..end];
            ["http", "https", "mailto"]
                .iter()
                .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
        }
        _ => true,
    }
}

/// Whether the destination is a path on this origin: it starts with `/`, and not with
/// `//` or `/\` (read as the browser reads it, see [`allowed_link`]).
pub fn same_origin_path(dest: &str) -> bool {
    let url = as_browser_reads(dest);
    url.starts_with('/') && !protocol_relative(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        render(text).into_string()
    }

    /// What is wrong with the output of a hostile input, if anything.
    fn problems(out: &str) -> Vec<String> {
        let lower = out.to_lowercase();
        let mut found = Vec::new();
        for needle in ["<script", "<iframe", "javascript:", "data:", "vbscript:"] {
            if lower.contains(needle) {
                found.push(format!("contains {needle:?}"));
            }
        }
        // Every '<' of the output opens a real tag: text is escaped.
        for tag in lower.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or("");
            if has_event_handler(tag) {
                found.push(format!("event handler in <{tag}>"));
            }
            if tag.contains("evil.example")
                || tag.contains("href=\"//")
                || tag.contains("src=\"//")
                || tag.contains("href=\"\\")
                || tag.contains("href=\"/\\")
                || tag.contains("href=\"/%5c")
            {
                found.push(format!("foreign link in <{tag}>"));
            }
        }
        found
    }

    /// ` on…=` in a tag: an attribute such as `onerror=`.
    fn has_event_handler(tag: &str) -> bool {
        tag.match_indices(" on").any(|(at, _)| {
            let rest = &tag[at + 3..];
            let name_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
            rest[name_len..].trim_start().starts_with('=')
        })
    }

    #[test]
    fn hostile_markdown_renders_harmless() {
        let hostile = [
            "<script>alert(1)</script>",
            "Texte <script>alert(1)</script> fin",
            "<img src=x onerror=alert(1)>",
            "Texte <img src=x onerror=alert(1)> fin",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<a href=\"https://evil.example\" onclick=\"alert(1)\">a</a>",
            "[a](javascript:alert(1))",
            "[a](JaVaScRiPt:alert(1))",
            "[a](java&#x09;script:alert(1))",
            "[a](<java\tscript:alert(1)>)",
            "[a](&#32;javascript:alert(1))",
            "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[a](vbscript:msgbox(1))",
            "[a](//evil.example)",
            "[a](\\\\\\\\evil.example)",
            "[a](/\\evil.example)",
            "[a][r]\n\n[r]: javascript:alert(1)",
            "[a][r]\n\n[r]: //evil.example",
            "![x](javascript:alert(1))",
            "![x](data:image/png;base64,AAAA)",
            "![x](//evil.example/p.png)",
            "[![x](/p.png)](javascript:alert(1))",
        ];
        for input in hostile {
            let out = html(input);
            let found = problems(&out);
            assert!(found.is_empty(), "{input:?} → {out:?}: {found:?}");
        }
    }

    #[test]
    fn the_check_itself_sees_an_event_handler() {
        assert!(!problems("<img src=\"x\" onerror=\"alert(1)\">").is_empty());
        assert!(problems("<p>onerror=alert(1) as text</p>").is_empty());
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        assert_eq!(html("<b>gras</b>"), "<p>&lt;b&gt;gras&lt;/b&gt;</p>\n");
        let block = html("<div>\nx\n</div>\n");
        assert!(
            block.starts_with("<pre><code>&lt;div&gt;\nx\n&lt;/div&gt;"),
            "{block}"
        );
    }

    #[test]
    fn allowed_links_and_images_are_kept() {
        let out = html("<https://x.example>");
        assert!(
            out.contains("<a href=\"https://x.example\">https://x.example</a>"),
            "{out}"
        );

        let out = html("<a@b.fr>");
        assert!(
            out.contains("<a href=\"mailto:a@b.fr\">a@b.fr</a>"),
            "{out}"
        );

        let out = html("[a](/cpts-demo/documents/d/1)");
        assert!(
            out.contains("<a href=\"/cpts-demo/documents/d/1\">a</a>"),
            "{out}"
        );

        let out = html("[a](mailto:contact@cpts.fr \"Écrire\")");
        assert!(
            out.contains("<a href=\"mailto:contact@cpts.fr\" title=\"Écrire\">a</a>"),
            "{out}"
        );

        let out = html("![p](/cpts-demo/fichiers/documents/01J)");
        assert!(
            out.contains("<img src=\"/cpts-demo/fichiers/documents/01J\" alt=\"p\""),
            "{out}"
        );

        let out = html("![p](https://x.example/p.png)");
        assert!(
            out.contains("<a href=\"https://x.example/p.png\">p</a>"),
            "{out}"
        );
        assert!(!out.contains("<img"), "{out}");
    }

    #[test]
    fn refused_links_keep_their_text() {
        assert_eq!(html("[le texte](javascript:alert(1))"), "<p>le texte</p>\n");
        assert_eq!(
            html("![la photo](//evil.example/p.png)"),
            "<p>la photo</p>\n"
        );
    }

    #[test]
    fn tables_task_lists_headings_and_emphasis_render() {
        let out = html("| a | b |\n|:--|--:|\n| 1 | 2 |\n");
        assert!(out.contains("<table>"), "{out}");
        assert!(out.contains("<td>1</td>"), "{out}");
        assert!(!out.contains("style="), "{out}");

        let out = html("- [ ] à faire\n- [x] fait\n");
        assert!(
            out.contains("<input disabled=\"\" type=\"checkbox\"/>"),
            "{out}"
        );
        assert!(
            out.contains("<input disabled=\"\" type=\"checkbox\" checked=\"\"/>"),
            "{out}"
        );

        let out = html("# Titre\n\n*un* **deux** ~~trois~~ `quatre`");
        assert!(out.contains("<h1>Titre</h1>"), "{out}");
        assert!(out.contains("<em>un</em>"), "{out}");
        assert!(out.contains("<strong>deux</strong>"), "{out}");
        assert!(out.contains("<del>trois</del>"), "{out}");
        assert!(out.contains("<code>quatre</code>"), "{out}");

        // No heading attributes.
        let out = html("# Titre {#id .classe}");
        assert!(!out.contains("id=") && !out.contains("class="), "{out}");
    }

    #[test]
    fn links_are_checked_as_the_browser_reads_them() {
        let allowed = [
            "https://x.example",
            "HTTP://x.example",
            "mailto:a@b.fr",
            "/p/1",
            "p/1",
            "#s",
            "?q=a:b",
            "a/b:c",
            "",
        ];
        for ok in allowed {
            assert!(allowed_link(ok), "{ok:?}");
        }
        for refused in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "tel:0102030405",
            ":x",
            "//evil.example",
            "\\\\evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
        ] {
            assert!(!allowed_link(refused), "{refused:?}");
        }
        assert!(same_origin_path("/cpts-demo/fichiers/documents/01J"));
        assert!(!same_origin_path("//evil.example/p.png"));
        assert!(!same_origin_path("/\\evil.example/p.png"));
        assert!(!same_origin_path("/\t/evil.example/p.png"));
        assert!(!same_origin_path("p.png"));
        assert!(!same_origin_path("https://x.example/p.png"));
    }
}
