//! HTML helpers. Every value interpolated into markup goes through [`escape`].

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

/// The hidden CSRF field every state-changing form must carry.
pub fn csrf_field() -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&crate::context().csrf_token)
    )
}

/// A link to a path relative to the module.
pub fn href(relative: &str) -> String {
    escape(&format!("{}{}", crate::context().base_path, relative))
}
