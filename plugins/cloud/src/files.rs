//! What the module makes of a file it receives, from its bytes and the name the browser
//! gave: the content type (sniffed from the bytes, never the browser's word), the name
//! shown on the pages (display text only: no name ever reaches a file-system path, the
//! host keys objects by the blob id), the name the host gives the download, the preview
//! a page may show, and sizes in French units. Pure, unit-tested natively.

/// Longest display name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest name given to the host with the blob (its limit is 255 bytes).
pub const MAX_DOWNLOAD_NAME_BYTES: usize = 200;

pub const PDF: &str = "application/pdf";
pub const PNG: &str = "image/png";
pub const JPEG: &str = "image/jpeg";
pub const GIF: &str = "image/gif";
pub const WEBP: &str = "image/webp";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const CSV: &str = "text/csv; charset=utf-8";
pub const ZIP: &str = "application/zip";
pub const OCTET: &str = "application/octet-stream";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
pub const ODT: &str = "application/vnd.oasis.opendocument.text";
pub const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";
pub const ODP: &str = "application/vnd.oasis.opendocument.presentation";
pub const DOC: &str = "application/msword";
pub const XLS: &str = "application/vnd.ms-excel";
pub const PPT: &str = "application/vnd.ms-powerpoint";

/// The name as shown on the pages: as sent, without control characters (NUL, line
/// breaks, tabs), trimmed, at most [`MAX_NAME`] characters; « document » when nothing is
/// left. A name such as `../../etc/passwd` stays what it says: text, escaped by the
/// templates, never a path.
pub fn display_name(raw: &str) -> String {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let cleaned: String = cleaned.trim().chars().take(MAX_NAME).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

/// The name the host stores with the blob, which its downloads propose to save as
/// (`Content-Disposition`): the display name with path separators (`/`, `\`) turned into
/// `_`, leading dots and spaces removed (no hidden or relative name on the member's
/// disk), at most [`MAX_DOWNLOAD_NAME_BYTES`] bytes; « document » when nothing is left.
pub fn download_name(display: &str) -> String {
    let replaced: String = display
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    let trimmed = replaced.trim_start_matches(['.', ' ']).trim_end();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_DOWNLOAD_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    let out = out.trim_end().to_string();
    if out.is_empty() {
        "document".into()
    } else {
        out
    }
}

/// The name's extension, lowercase, without the dot (at most 5 characters); "" when none.
pub fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// Whether text looks like markup a browser could run (HTML, SVG, XML): it starts with
/// `<` once spaces and a byte-order mark are skipped, or names a script or a page.
fn looks_like_markup(text: &str) -> bool {
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with('<') {
        return true;
    }
    let head: String = text.chars().take(4096).collect::<String>().to_lowercase();
    ["<script", "<html", "<!doctype", "<svg", "<iframe", "<body"]
        .iter()
        .any(|tag| head.contains(tag))
}

/// The content type stored with a file, from its bytes (and, for the formats that share
/// a container — zip, the old Office files — or for plain text, from the name's
/// extension): PDF and the images a browser shows (PNG, JPEG, GIF, WebP) by their
/// signature; Office and OpenDocument files as what they are; text (`.txt`, `.md`:
/// `text/plain`, `.csv`) only when it is UTF-8 and not markup; anything else,
/// HTML and SVG included, `application/octet-stream` — which the host's download route
/// always serves as an attachment, never inline.
///
/// Files sent to the host's streamed route instead (`crate::upload::deposit`) are typed
/// by the host, from their first 512 bytes: `storage::blobs::upload_content_type` in
/// `core` mirrors the PDF, PNG, JPEG, GIF and WebP signatures here (keep both in step).
pub fn sniff(name: &str, bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"%PDF-") {
        return PDF;
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return PNG;
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return JPEG;
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return GIF;
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return WEBP;
    }
    let ext = extension(name);
    if bytes.starts_with(b"PK\x03\x04") {
        return match ext.as_str() {
            "docx" => DOCX,
            "xlsx" => XLSX,
            "pptx" => PPTX,
            "odt" => ODT,
            "ods" => ODS,
            "odp" => ODP,
            _ => ZIP,
        };
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return match ext.as_str() {
            "doc" => DOC,
            "xls" => XLS,
            "ppt" => PPT,
            _ => OCTET,
        };
    }
    if matches!(ext.as_str(), "txt" | "md" | "csv")
        && let Ok(text) = std::str::from_utf8(bytes)
        && !text.contains('\0')
        && !looks_like_markup(text)
    {
        return if ext == "csv" { CSV } else { TEXT };
    }
    OCTET
}

/// What a document's page may show of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// `img`: the download path is an image the host serves inline.
    Image,
    /// A PDF, opened in a new tab by the browser's viewer (the platform forbids framing
    /// and plugin objects: `frame-ancestors 'none'`, `object-src 'none'`).
    Pdf,
    /// Plain text, opened in a new tab (served inline as `text/plain`, never rendered).
    Text,
    /// Nothing: a download only.
    Download,
}

/// The preview of a stored content type.
pub fn preview(content_type: &str) -> Preview {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        PNG | JPEG | GIF | WEBP => Preview::Image,
        PDF => Preview::Pdf,
        "text/plain" => Preview::Text,
        _ => Preview::Download,
    }
}

/// The kind of file, in French, for the pages.
pub fn kind_label(content_type: &str) -> &'static str {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        PDF => "Document PDF",
        PNG => "Image PNG",
        JPEG => "Image JPEG",
        GIF => "Image GIF",
        WEBP => "Image WebP",
        "text/plain" => "Texte",
        "text/csv" => "Tableau CSV",
        DOCX | DOC => "Document Word",
        XLSX | XLS => "Classeur Excel",
        PPTX | PPT => "Présentation PowerPoint",
        ODT => "Texte OpenDocument",
        ODS => "Classeur OpenDocument",
        ODP => "Présentation OpenDocument",
        ZIP => "Archive ZIP",
        _ => "Fichier",
    }
}

/// A size in French units (base 1024): « 12 octets », « 1,5 Ko », « 3 Mo » — the
/// SDK's, as the projects module's copy of the documents shows them.
pub fn size_fr(bytes: u64) -> String {
    maillage_sdk::fr::size(bytes)
}

/// Mebibytes as bytes (the settings are typed in Mo).
pub fn mb(megabytes: i64) -> u64 {
    u64::try_from(megabytes)
        .unwrap_or(0)
        .saturating_mul(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_text_without_control_characters() {
        assert_eq!(display_name("../../etc/passwd"), "../../etc/passwd");
        assert_eq!(display_name("%2e%2e%2fsecret.txt"), "%2e%2e%2fsecret.txt");
        assert_eq!(display_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(display_name("  \u{0} \t "), "document");
        assert_eq!(display_name(&"é".repeat(300)).chars().count(), MAX_NAME);
    }

    #[test]
    fn download_names_hold_no_path() {
        assert_eq!(download_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(download_name("/etc/shadow"), "_etc_shadow");
        assert_eq!(download_name("C:\\Windows\\win.ini"), "C:_Windows_win.ini");
        assert_eq!(download_name(".htaccess"), "htaccess");
        assert_eq!(download_name("..."), "document");
        assert_eq!(download_name("Compte rendu.pdf"), "Compte rendu.pdf");
        let long = download_name(&"é".repeat(300));
        assert!(long.len() <= MAX_DOWNLOAD_NAME_BYTES && long.starts_with('é'));
    }

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(
            sniff("page.html", b"<html><script>alert(1)</script>"),
            OCTET
        );
        assert_eq!(sniff("page.txt", b"<html><script>alert(1)</script>"), OCTET);
        assert_eq!(sniff("image.svg", b"<svg onload=alert(1)>"), OCTET);
        assert_eq!(sniff("notes.txt", b"  hello <script>x</script>"), OCTET);
        assert_eq!(sniff("rapport.exe", b"%PDF-1.7\n..."), PDF);
        assert_eq!(sniff("photo.txt", b"\x89PNG\r\n\x1a\n\0\0"), PNG);
        assert_eq!(sniff("photo", &[0xFF, 0xD8, 0xFF, 0xE0]), JPEG);
        assert_eq!(sniff("a.gif", b"GIF89a..."), GIF);
        assert_eq!(sniff("a", b"RIFF\0\0\0\0WEBPVP8 "), WEBP);
        assert_eq!(sniff("cr.docx", b"PK\x03\x04rest"), DOCX);
        assert_eq!(sniff("cr.zip", b"PK\x03\x04rest"), ZIP);
        assert_eq!(sniff("notes.txt", "Réunion du 3 décembre".as_bytes()), TEXT);
        assert_eq!(sniff("liste.csv", b"a;b\r\n1;2\r\n"), CSV);
        assert_eq!(sniff("notes.txt", b"\xff\xfe bad utf-8"), OCTET);
        assert_eq!(sniff("programme.sh", b"#!/bin/sh\necho"), OCTET);
    }

    #[test]
    fn previews_and_labels_follow_the_stored_type() {
        assert_eq!(preview(PNG), Preview::Image);
        assert_eq!(preview(PDF), Preview::Pdf);
        assert_eq!(preview(TEXT), Preview::Text);
        assert_eq!(preview(CSV), Preview::Download);
        assert_eq!(preview(OCTET), Preview::Download);
        assert_eq!(kind_label(TEXT), "Texte");
        assert_eq!(kind_label(OCTET), "Fichier");
    }

    #[test]
    fn sizes_read_in_french() {
        assert_eq!(size_fr(12), "12 octets");
        assert_eq!(size_fr((1 << 20) + (1 << 19)), "1,5 Mo");
        assert_eq!(mb(2), 2 << 20);
        assert_eq!(mb(-1), 0);
    }

    #[test]
    fn extensions_are_lowercase_and_short() {
        assert_eq!(extension("Rapport.PDF"), "pdf");
        assert_eq!(extension(".htaccess"), "");
        assert_eq!(extension("archive.tar.gz"), "gz");
        assert_eq!(extension("sans"), "");
        assert_eq!(extension("a.toolongext"), "");
    }
}
