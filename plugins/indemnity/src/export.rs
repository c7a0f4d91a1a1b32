//! Exports, built in the guest: « Mon compte » as a real workbook (sheet « Indemnités »:
//! the seed's columns, amounts as numbers in euros, hours as numbers — meetings and
//! tasks —, a totals row; sheet « Détail »: the lines; sheet « Temps passé »: the time
//! logged on tasks), and the treasurer's lines as a workbook or CSV (UTF-8
//! with BOM, `;`, formula-safe) with the page's filters.

use maillage_sdk::Response;
use maillage_sdk::csv::Writer as CsvWriter;
use maillage_sdk::download::{self, XLSX, attachment};
use maillage_sdk::records::StoreError;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::model::{self, Line, TaskTime, Viewer};
use crate::money;
use crate::pages::{self, ProjectRow};
use crate::task_time;
use crate::treasurer::Filters;
use crate::ui::{self, PageResult};

/// Euros with two decimals, the sign after the amount, as French spreadsheets show them.
const EURO_FORMAT: &str = "#,##0.00\\ \"€\"";
const HOURS_FORMAT: &str = "0.00";

fn failed(e: XlsxError) -> Response {
    download::failed(&format!("indemnites: xlsx export failed: {e}"))
}

fn header(sheet: &mut Worksheet, titles: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, bold)?;
    }
    Ok(())
}

/// `GET /mon-compte.xlsx[?annee=YYYY]`.
pub fn my_account(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(me) = viewer.id().map(str::to_string) else {
        return Ok(Response::error(403, "Veuillez vous connecter."));
    };
    let year = match pages::year_filter(query) {
        Ok(year) => year,
        Err(refused) => return Ok(refused),
    };
    let all = pages::my_lines(&me)?;
    let all_time = task_time::my_task_time(&me)?;
    let (lines, time) = pages::of_year(&all, &all_time, year);
    let rows = pages::project_rows(&lines, &time);
    let file = match year {
        Some(y) => format!("mes-indemnites-{y}.xlsx"),
        None => "mes-indemnites.xlsx".to_string(),
    };
    match my_workbook(&rows, &lines, &time) {
        Ok(bytes) => Ok(attachment(bytes, XLSX, &file)),
        Err(e) => Ok(failed(e)),
    }
}

fn my_workbook(
    rows: &[ProjectRow],
    lines: &[&Line],
    time: &[&TaskTime],
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let euro = Format::new().set_num_format(EURO_FORMAT);
    let euro_bold = Format::new().set_num_format(EURO_FORMAT).set_bold();
    let hours = Format::new().set_num_format(HOURS_FORMAT);
    let hours_bold = Format::new().set_num_format(HOURS_FORMAT).set_bold();

    let sheet = workbook.add_worksheet();
    sheet.set_name("Indemnités")?;
    header(
        sheet,
        &[
            "Nom du projet",
            "Date de début",
            "Indemnité (€)",
            "Temps passé (h)",
        ],
        &bold,
    )?;
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, row.name.as_str())?;
        sheet.write_string(r, 1, money::date_short(&row.start))?;
        sheet.write_number_with_format(r, 2, money::euros_value(row.cents), &euro)?;
        sheet.write_number_with_format(r, 3, money::hours_value(row.minutes()), &hours)?;
    }
    let total_row = rows.len() as u32 + 1;
    let cents: i64 = rows.iter().map(|r| r.cents).sum();
    let minutes: i64 = rows.iter().map(ProjectRow::minutes).sum();
    sheet.write_string_with_format(total_row, 0, "Total", &bold)?;
    sheet.write_number_with_format(total_row, 2, money::euros_value(cents), &euro_bold)?;
    sheet.write_number_with_format(total_row, 3, money::hours_value(minutes), &hours_bold)?;
    sheet.set_column_width(0, 40)?;
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 16)?;
    sheet.set_column_width(3, 16)?;
    sheet.set_freeze_panes(1, 0)?;

    let detail = workbook.add_worksheet();
    detail.set_name("Détail")?;
    header(
        detail,
        &[
            "Date",
            "Réunion",
            "Projet",
            "Type",
            "Montant (€)",
            "Temps passé (h)",
            "Statut",
            "Justification",
        ],
        &bold,
    )?;
    for (i, line) in lines.iter().enumerate() {
        let r = i as u32 + 1;
        detail.write_string(r, 0, money::date_short(&line.date))?;
        detail.write_string(r, 1, line.title.as_str())?;
        detail.write_string(r, 2, line.project())?;
        detail.write_string(r, 3, kind_label(line))?;
        detail.write_number_with_format(r, 4, money::euros_value(line.amount), &euro)?;
        detail.write_number_with_format(r, 5, money::hours_value(line.minutes), &hours)?;
        detail.write_string(r, 6, model::status_label(&line.status))?;
        detail.write_string(r, 7, line.rationale.as_str())?;
    }
    detail.set_column_width(1, 36)?;
    detail.set_column_width(2, 30)?;
    detail.set_column_width(7, 50)?;
    detail.set_freeze_panes(1, 0)?;

    let tasks = workbook.add_worksheet();
    tasks.set_name("Temps passé")?;
    header(
        tasks,
        &[
            "Date du travail",
            "Projet",
            "Tâche",
            "Durée (h)",
            "Saisi par",
        ],
        &bold,
    )?;
    for (i, entry) in time.iter().enumerate() {
        let r = i as u32 + 1;
        tasks.write_string(r, 0, money::date_short(&entry.date))?;
        tasks.write_string(r, 1, entry.project())?;
        tasks.write_string(r, 2, entry.task_title.as_str())?;
        tasks.write_number_with_format(r, 3, money::hours_value(entry.minutes), &hours)?;
        tasks.write_string(r, 4, entry.entered_by_name.as_str())?;
    }
    tasks.set_column_width(0, 14)?;
    tasks.set_column_width(1, 30)?;
    tasks.set_column_width(2, 40)?;
    tasks.set_column_width(3, 12)?;
    tasks.set_column_width(4, 24)?;
    tasks.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

fn kind_label(line: &Line) -> &'static str {
    if line.is_adjustment() {
        "Ajustement"
    } else {
        "Réunion"
    }
}

const LEDGER_COLUMNS: [&str; 19] = [
    "Date",
    "Réunion",
    "Projet",
    "Mission",
    "Personne",
    "Rôle",
    "Type",
    "Statut",
    "Montant (€)",
    "Temps passé (h)",
    "Justification",
    "Motif de l’attente",
    "Barème",
    "Version",
    "Approuvée par",
    "Approuvée le",
    "Payée le",
    "Référence du paiement",
    "Note de frais",
];

/// The treasurer's export with the page's filters, or the refusal.
fn ledger_lines(
    query: &str,
) -> Result<Result<crate::treasurer::FilteredLines, Response>, StoreError> {
    if !Viewer::current().treasurer {
        return Ok(Err(ui::treasurer_only()));
    }
    let filters = match Filters::parse(query) {
        Ok(filters) => filters,
        Err(message) => return Ok(Err(ui::unprocessable(&message))),
    };
    Ok(Ok(filters.lines()?))
}

/// The text cells of a line (amount and hours as French numbers).
fn ledger_cells(line: &Line, missions: &[(String, String)]) -> Vec<String> {
    let mission = model::line_mission(line, missions);
    vec![
        line.date.clone(),
        line.title.clone(),
        line.project(),
        if mission.is_empty() {
            String::new()
        } else {
            model::mission_label(&mission)
        },
        line.person_name.clone(),
        model::role_label(&line.role).to_string(),
        kind_label(line).to_string(),
        model::status_label(&line.status).to_string(),
        money::euros_number(line.amount).replace(' ', ""),
        money::hours(line.minutes),
        line.rationale.clone(),
        line.hold_reason.clone(),
        line.rule_set.clone(),
        line.rule_version.clone(),
        line.approved_by_name.clone(),
        line.approved_at.map(ui::instant_text).unwrap_or_default(),
        line.paid_on.clone().unwrap_or_default(),
        line.payment_ref.clone(),
        line.note_name.clone(),
    ]
}

/// `GET /tresorerie/export.csv` with the page's filters.
pub fn ledger_csv(query: &str) -> PageResult {
    let (lines, missions) = match ledger_lines(query)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let mut out = CsvWriter::new();
    out.row(LEDGER_COLUMNS);
    for line in &lines {
        out.row(ledger_cells(line, &missions));
    }
    let total: i64 = lines.iter().map(|l| l.amount).sum();
    let minutes: i64 = lines.iter().map(|l| l.minutes).sum();
    let mut last = vec![String::new(); LEDGER_COLUMNS.len()];
    last[0] = "Total".to_string();
    last[8] = money::euros_number(total).replace(' ', "");
    last[9] = money::hours(minutes);
    out.row(last);
    Ok(attachment(
        out.into_bytes(),
        download::CSV,
        "indemnites.csv",
    ))
}

/// `GET /tresorerie/export.xlsx` with the page's filters.
pub fn ledger_xlsx(query: &str) -> PageResult {
    let (lines, missions) = match ledger_lines(query)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    match ledger_workbook(&lines, &missions) {
        Ok(bytes) => Ok(attachment(bytes, XLSX, "indemnites.xlsx")),
        Err(e) => Ok(failed(e)),
    }
}

fn ledger_workbook(lines: &[Line], missions: &[(String, String)]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let euro = Format::new().set_num_format(EURO_FORMAT);
    let euro_bold = Format::new().set_num_format(EURO_FORMAT).set_bold();
    let hours = Format::new().set_num_format(HOURS_FORMAT);
    let sheet = workbook.add_worksheet();
    sheet.set_name("Indemnités")?;
    header(sheet, &LEDGER_COLUMNS, &bold)?;
    for (i, line) in lines.iter().enumerate() {
        let r = i as u32 + 1;
        for (col, value) in ledger_cells(line, missions).into_iter().enumerate() {
            match col {
                8 => {
                    sheet.write_number_with_format(r, 8, money::euros_value(line.amount), &euro)?;
                }
                9 => {
                    sheet.write_number_with_format(
                        r,
                        9,
                        money::hours_value(line.minutes),
                        &hours,
                    )?;
                }
                _ if !value.is_empty() => {
                    sheet.write_string(r, col as u16, value)?;
                }
                _ => {}
            }
        }
    }
    let total_row = lines.len() as u32 + 1;
    let total: i64 = lines.iter().map(|l| l.amount).sum();
    sheet.write_string_with_format(total_row, 0, "Total", &bold)?;
    sheet.write_number_with_format(total_row, 8, money::euros_value(total), &euro_bold)?;
    sheet.set_column_width(1, 36)?;
    sheet.set_column_width(2, 28)?;
    sheet.set_column_width(4, 24)?;
    sheet.set_column_width(10, 50)?;
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}
