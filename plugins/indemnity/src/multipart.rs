//! A small `multipart/form-data` reader (RFC 7578) for the expense note upload: the SDK
//! has none, and the host forwards the body and its content type to the module as is.
//! Pure, unit-tested natively.

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The file's name as the browser sent it, without any folder; none for a field.
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data; boundary=…` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let essence = pieces.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for piece in pieces {
        let (key, value) = piece.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("boundary") {
            let value = value.trim().trim_matches('"');
            if (1..=200).contains(&value.len()) {
                return Some(value.to_string());
            }
            return None;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A parameter of a `Content-Disposition` header, e.g. `name="fichier"`.
fn parameter(header: &str, wanted: &str) -> Option<String> {
    // Split on ';' outside quotes.
    let mut params: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in header.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => params.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    params.push(current);
    params.into_iter().skip(1).find_map(|p| {
        let (key, value) = p.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case(wanted) {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some(value.to_string())
    })
}

/// A file name without folders or control characters, at most 200 characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    cleaned.trim().to_string()
}

/// The parts of a body with that boundary; none when the body is not well formed.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    // The first delimiter may come at the very start (no preamble).
    let mut position = if body.starts_with(&delimiter) {
        delimiter.len()
    } else {
        find(body, &next_delimiter, 0)? + next_delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = body.get(position..)?;
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        // Transport padding, then the line break after the delimiter.
        let line_end = find(body, b"\r\n", position)?;
        if body[position..line_end]
            .iter()
            .any(|b| !matches!(b, b' ' | b'\t'))
        {
            return None;
        }
        let headers_start = line_end + 2;
        // A part without headers starts its data right after an empty line.
        let (headers_end, data_start) = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2)
        } else {
            let end = find(body, b"\r\n\r\n", headers_start)?;
            (end, end + 4)
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let data_end = find(body, &next_delimiter, data_start)?;
        let mut name = String::new();
        let mut file_name = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if key.eq_ignore_ascii_case("content-disposition") {
                name = parameter(value, "name").unwrap_or_default();
                file_name = parameter(value, "filename").map(|f| clean_file_name(&f));
            } else if key.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        parts.push(Part {
            name,
            file_name,
            content_type,
            data: body[data_start..data_end].to_vec(),
        });
        position = data_end + next_delimiter.len();
    }
}

/// The first part that carries a file, preferring the field `wanted`.
pub fn file_part(parts: Vec<Part>, wanted: &str) -> Option<Part> {
    let mut files: Vec<Part> = parts
        .into_iter()
        .filter(|p| p.file_name.is_some())
        .collect();
    let index = files.iter().position(|p| p.name == wanted).unwrap_or(0);
    if files.is_empty() {
        None
    } else {
        Some(files.swap_remove(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_boundary() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundaryX1").as_deref(),
            Some("----WebKitFormBoundaryX1")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"abc def\"").as_deref(),
            Some("abc def")
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn parses_fields_and_files() {
        let body = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"csrf\"\r\n\r\n\
token123\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"fichier\"; filename=\"C:\\\\frais\\\\note de frais;1.pdf\"\r\n\
Content-Type: application/pdf\r\n\r\n\
%PDF-1.4\r\n\r\nbinary\x00\xff\r\n\
--XyZ--\r\n";
        let parts = parse(body, "XyZ").expect("well formed");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].file_name, None);
        assert_eq!(parts[0].data, b"token123");
        assert_eq!(parts[1].name, "fichier");
        assert_eq!(parts[1].file_name.as_deref(), Some("note de frais;1.pdf"));
        assert_eq!(parts[1].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(parts[1].data, b"%PDF-1.4\r\n\r\nbinary\x00\xff");
        let file = file_part(parts, "fichier").unwrap();
        assert_eq!(file.name, "fichier");
    }

    #[test]
    fn accepts_a_preamble_and_an_empty_file() {
        let body = b"preamble\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n\r\n--b--";
        let parts = parse(body, "b").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].file_name.as_deref(), Some(""));
        assert!(parts[0].data.is_empty());
    }

    #[test]
    fn refuses_malformed_bodies() {
        assert_eq!(parse(b"no boundary here", "b"), None);
        assert_eq!(
            parse(
                b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nnever ends",
                "b"
            ),
            None
        );
        assert!(file_part(Vec::new(), "fichier").is_none());
    }

    #[test]
    fn cleans_file_names() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\ticket.jpg"), "ticket.jpg");
        assert_eq!(clean_file_name("a\u{0}b\nc.pdf"), "abc.pdf");
    }
}
