//! Files a module hands to the browser to save (exports): the response that carries
//! them and their content types. The bytes are the module's own (a
//! [`crate::csv::Writer`], a workbook built with its own library…).
//!
//! ```ignore
//! Ok(download::attachment(csv.into_bytes(), download::CSV, "indemnites.csv"))
//! ```

use crate::Response;

/// CSV as [`crate::csv::Writer`] writes it.
pub const CSV: &str = "text/csv; charset=utf-8";
/// An Office Open XML workbook (`.xlsx`).
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// 200 with `body` to save as `file_name` (plain ASCII, no quotes), never cached.
pub fn attachment(body: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("content-type".into(), content_type.into()),
            (
                "content-disposition".into(),
                format!("attachment; filename=\"{file_name}\""),
            ),
            ("cache-control".into(), "no-store".into()),
        ],
        body,
    }
}

/// The French 500 of an export that could not be built, after logging `log_message`.
pub fn failed(log_message: &str) -> Response {
    crate::log::error(log_message);
    Response::error(500, "L’export n’a pas pu être créé. Veuillez réessayer.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_saved_and_never_cached() {
        let response = attachment(b"a;b\r\n".to_vec(), CSV, "sondage-42.csv");
        assert_eq!(response.status, 200);
        assert_eq!(
            response.headers,
            [
                ("content-type".to_string(), CSV.to_string()),
                (
                    "content-disposition".to_string(),
                    "attachment; filename=\"sondage-42.csv\"".to_string()
                ),
                ("cache-control".to_string(), "no-store".to_string()),
            ]
        );
        assert_eq!(response.body, b"a;b\r\n");
    }
}
