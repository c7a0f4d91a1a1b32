//! Exports of the answers, for whoever may read the results: CSV (UTF-8 with BOM, `;`,
//! formula-safe) and a real workbook (sheet « Réponses »). One row per participant, one
//! column per slot, the comment last; names become « Participant 1 », « Participant 2 »…
//! for a viewer who may not see them.

use maillage_sdk::Response;
use maillage_sdk::csv::Writer as CsvWriter;
use maillage_sdk::download::{self, attachment};
use maillage_sdk::records::StoreError;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::model::{self, Access, Viewer};
use crate::pages;

type PageResult = Result<Response, StoreError>;

/// The exported table.
struct Sheet {
    /// File name without extension (ASCII).
    file: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The poll's answers as a table, or the answer refusing it (404, 403).
fn sheet(id: &str) -> Result<Result<Sheet, Response>, StoreError> {
    let Some(poll) = model::load(id)? else {
        return Ok(Err(Response::not_found()));
    };
    let viewer = Viewer::current();
    let access = Access::of(&poll, &viewer);
    if !access.results {
        return Ok(Err(Response::error(
            403,
            "Seul l’organisateur peut consulter les réponses de ce sondage.",
        )));
    }
    let answers = model::answers_of(&poll.id)?;
    let mut header = vec!["Participant".to_string()];
    header.extend(pages::slot_labels(&poll.slots, &viewer.zone));
    header.push("Commentaire".to_string());
    let rows = answers
        .iter()
        .enumerate()
        .map(|(n, answer)| {
            let mut row = Vec::with_capacity(poll.slots.len() + 2);
            row.push(if access.names {
                answer.name.clone()
            } else {
                format!("Participant {}", n + 1)
            });
            row.extend(poll.slots.iter().map(|slot| {
                answer
                    .choices
                    .get(&slot.id)
                    .map(|choice| choice.label().to_string())
                    .unwrap_or_default()
            }));
            row.push(answer.comment.clone());
            row
        })
        .collect();
    Ok(Ok(Sheet {
        file: format!("sondage-{}", poll.id),
        header,
        rows,
    }))
}

/// `GET /p/{id}/export.csv`.
pub fn csv(id: &str) -> PageResult {
    let sheet = match sheet(id)? {
        Ok(sheet) => sheet,
        Err(refused) => return Ok(refused),
    };
    let mut out = CsvWriter::new();
    out.row(&sheet.header);
    for row in &sheet.rows {
        out.row(row);
    }
    Ok(attachment(
        out.into_bytes(),
        download::CSV,
        &format!("{}.csv", sheet.file),
    ))
}

/// `GET /p/{id}/export.xlsx`.
pub fn xlsx(id: &str) -> PageResult {
    let sheet = match sheet(id)? {
        Ok(sheet) => sheet,
        Err(refused) => return Ok(refused),
    };
    match workbook(&sheet) {
        Ok(bytes) => Ok(attachment(
            bytes,
            download::XLSX,
            &format!("{}.xlsx", sheet.file),
        )),
        Err(e) => Ok(download::failed(&format!("xlsx export failed: {e}"))),
    }
}

fn workbook(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name("Réponses")?;
    for (col, title) in sheet.header.iter().enumerate() {
        worksheet.write_string_with_format(0, col as u16, title.as_str(), &bold)?;
    }
    for (row, cells) in sheet.rows.iter().enumerate() {
        for (col, value) in cells.iter().enumerate() {
            if !value.is_empty() {
                worksheet.write_string(row as u32 + 1, col as u16, value.as_str())?;
            }
        }
    }
    worksheet.set_column_width(0, 28)?;
    for col in 1..sheet.header.len() {
        worksheet.set_column_width(col as u16, 22)?;
    }
    worksheet.set_freeze_panes(1, 1)?;
    workbook.save_to_buffer()
}
