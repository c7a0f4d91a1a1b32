//! A `multipart/form-data` reader (RFC 7578) for a module's upload forms: the host
//! forwards the body and its content type as the browser sent them (the CSRF token is
//! the first part, checked by the host before the module runs). Parts borrow the body:
//! several files of one form are read without copying a byte. File names are kept as
//! sent (no folder taken off): display text only, never a path; [`clean_file_name`]
//! keeps the last segment for a module that stores the name. Pure, unit-tested natively.

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    /// The file's name as the browser sent it; none for a plain field.
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// The parts of an upload form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upload<'a> {
    pub parts: Vec<Part<'a>>,
}

impl<'a> Upload<'a> {
    /// The parts of `body` sent with `content_type` (`multipart/form-data; boundary=…`);
    /// none when it is not such a body or is not well formed.
    pub fn read(content_type: Option<&str>, body: &'a [u8]) -> Option<Upload<'a>> {
        let boundary = boundary(content_type?)?;
        Some(Upload {
            parts: parse(body, &boundary)?,
        })
    }

    /// A plain field's value (the first of that name), trimmed; empty when absent.
    pub fn field(&self, name: &str) -> String {
        self.parts
            .iter()
            .find(|p| p.file_name.is_none() && p.name == name)
            .map(|p| String::from_utf8_lossy(p.data).trim().to_string())
            .unwrap_or_default()
    }

    /// The files sent under `name`, in order, leaving out the empty part a browser sends
    /// for a file input left empty (no name and no byte).
    pub fn files(&self, name: &str) -> Vec<&Part<'a>> {
        self.parts
            .iter()
            .filter(|p| p.name == name)
            .filter(|p| match &p.file_name {
                Some(file_name) => !(file_name.is_empty() && p.data.is_empty()),
                None => false,
            })
            .collect()
    }
}

/// The boundary of a `multipart/form-data; boundary=…` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let essence = pieces.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for piece in pieces {
        let Some((key, value)) = piece.split_once('=') else {
            continue;
        };
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

/// A file name without folders or control characters, at most 200 characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    cleaned.trim().to_string()
}

/// The first `needle` in `haystack` at or after `from`: candidates are the positions of
/// its first byte, so a long body is scanned once.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..=haystack.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        let candidate = at + offset;
        if haystack[candidate + 1..candidate + needle.len()] == *rest {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

/// A parameter of a `Content-Disposition` header, e.g. `name="fichiers"`.
fn parameter(header: &str, wanted: &str) -> Option<String> {
    // Split on ';' outside quotes. A backslash is a character like any other: browsers
    // send `"` in a name as `%22` (HTML's form-data encoding) and never escape, and an
    // old browser's `C:\Users\…` must stay what it was.
    let mut params: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in header.chars() {
        match c {
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

/// The parts of a body with that boundary; none when the body is not well formed.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
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
                file_name = parameter(value, "filename");
            } else if key.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        parts.push(Part {
            name,
            file_name,
            content_type,
            data: &body[data_start..data_end],
        });
        position = data_end + next_delimiter.len();
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
    fn finds_needles_from_a_position() {
        assert_eq!(find(b"abcabc", b"bc", 0), Some(1));
        assert_eq!(find(b"abcabc", b"bc", 2), Some(4));
        assert_eq!(find(b"abcabc", b"bd", 0), None);
        assert_eq!(find(b"ab", b"abc", 0), None);
        assert_eq!(find(b"abc", b"", 0), None);
        assert_eq!(find(b"abc", b"c", 3), None);
        assert_eq!(find(b"\r\r\n", b"\r\n", 0), Some(1));
    }

    #[test]
    fn reads_several_files_and_fields_without_copying() {
        let body = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"csrf\"\r\n\r\n\
token123\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"dossier\"\r\n\r\n\
 01F \r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"fichiers\"; filename=\"../../etc/passwd\"\r\n\
Content-Type: text/plain\r\n\r\n\
root:x\r\n\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"fichiers\"; filename=\"C:\\Users\\x\\compte rendu;1.pdf\"\r\n\
Content-Type: application/pdf\r\n\r\n\
%PDF-1.4\r\nbinary\x00\xff\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"fichiers\"; filename=\"\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\
\r\n\
--XyZ--\r\n";
        let upload =
            Upload::read(Some("multipart/form-data; boundary=XyZ"), body).expect("well formed");
        assert_eq!(upload.parts.len(), 5);
        assert_eq!(upload.field("csrf"), "token123");
        assert_eq!(upload.field("dossier"), "01F");
        assert_eq!(upload.field("absent"), "");
        let files = upload.files("fichiers");
        assert_eq!(files.len(), 2, "the empty input is left out");
        assert_eq!(files[0].file_name.as_deref(), Some("../../etc/passwd"));
        assert_eq!(files[0].data, b"root:x\r\n");
        assert_eq!(
            files[1].file_name.as_deref(),
            Some("C:\\Users\\x\\compte rendu;1.pdf")
        );
        assert_eq!(files[1].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(files[1].data, b"%PDF-1.4\r\nbinary\x00\xff");
        // The data is a slice of the body.
        let start = files[1].data.as_ptr() as usize - body.as_ptr() as usize;
        assert_eq!(&body[start..start + 8], b"%PDF-1.4");
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
        assert_eq!(Upload::read(None, b"--b--"), None);
        assert_eq!(Upload::read(Some("text/plain"), b"--b--"), None);
    }

    #[test]
    fn cleans_file_names() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\ticket.jpg"), "ticket.jpg");
        assert_eq!(clean_file_name("a\u{0}b\nc.pdf"), "abc.pdf");
    }
}
