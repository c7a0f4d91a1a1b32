//! Small pieces shared by the module's pages.

use maillage_sdk::form::Form;
use maillage_sdk::groups::GroupRole;
use maillage_sdk::html::{Markup, href, html, stylesheet};
use maillage_sdk::records::StoreError;
use maillage_sdk::{Response, download, fr, time};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

pub type PageResult = Result<Response, StoreError>;

/// The module's stylesheet, at the top of every page.
pub fn head() -> Markup {
    stylesheet("projets.css")
}

/// A query-string parameter, decoded; empty when absent.
pub fn param(query: &str, name: &str) -> String {
    Form::parse(query.as_bytes()).get(name)
}

/// The confirmation a redirect asked for with `?ok=…`.
pub fn notice(query: &str) -> Markup {
    let text = match param(query, "ok").as_str() {
        "cree" => "Le projet est créé.",
        "modifie" => "Le projet est modifié.",
        "missions" => "Les missions du projet de santé sont enregistrées.",
        "action" => "L’action est enregistrée.",
        "action-supprimee" => "L’action est supprimée.",
        "tache" => "La tâche est créée.",
        "tache-modifiee" => "La tâche est modifiée.",
        "tache-supprimee" => "La tâche est supprimée.",
        "faite" => "Tâche faite.",
        "faite-suivante" => "Tâche faite. La prochaine occurrence est créée.",
        "rouverte" => "La tâche est rouverte.",
        "temps" => "Le temps passé est enregistré.",
        "temps-modifie" => "La saisie de temps est modifiée.",
        "temps-supprime" => "La saisie de temps est supprimée.",
        "message" => "La discussion est à jour.",
        "republie" => "Le temps passé est republié aux autres modules.",
        "courriel" => "Votre message est envoyé par courriel.",
        "annonce" => "L’annonce est enregistrée.",
        "annonce-supprimee" => "L’annonce est supprimée.",
        "envoyee" => "L’annonce est envoyée par courriel aux membres de la structure.",
        "demande" => {
            "Votre demande est envoyée aux responsables du projet : vous recevrez un courriel quand elle sera décidée."
        }
        "demande-accepte" => "La demande est acceptée : la personne est membre actif du projet.",
        "demande-refuse" => "La demande est refusée.",
        "membres" => "Les membres du projet sont à jour.",
        "quitte" => "Vous avez quitté le projet.",
        "archive" => "Le projet est archivé.",
        "desarchive" => "Le projet est de nouveau en cours.",
        _ => "",
    };
    maillage_sdk::html::notice((!text.is_empty()).then_some(text))
}

/// A refused form or action: the status and the French reason, in the layout.
pub fn refused(status: u16, message: &str) -> Response {
    Response::error(status, message)
}

pub fn forbidden(message: &str) -> PageResult {
    Ok(refused(403, message))
}

pub const ARCHIVED: &str = "Ce projet est archivé : il n’est plus modifiable.";

/// Hours in a table cell: `td.heures[data-minutes=…]`, « 1,5 ».
pub fn hours_cell(minutes: i64) -> Markup {
    html! { td class="heures" data-minutes=(minutes) { (fr::hours(minutes)) } }
}

/// One entry's duration: `span.duree[data-minutes]`, « 1 h 30 ».
pub fn duration(minutes: i64) -> Markup {
    html! { span class="duree" data-minutes=(minutes) { (fr::duration(minutes)) } }
}

/// A date in a table: `td[data-date]` « 03/12/2026 ».
pub fn date_cell(class: &str, date: &str) -> Markup {
    html! { td class=(class) data-date=(date) { (fr::date_short(date)) } }
}

pub fn role_label(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Referent => "Référent",
        GroupRole::Active => "Membre actif",
        GroupRole::Guest => "Invité externe",
    }
}

pub fn role_code(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Referent => "referent",
        GroupRole::Active => "active",
        GroupRole::Guest => "guest",
    }
}

/// Text with its line breaks kept, each line escaped.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 {
                br;
            }
            (line)
        }
    }
}

/// Today in the structure's zone, "2026-12-03".
pub fn today() -> String {
    let zone = time::zone_or_default(&maillage_sdk::context().time_zone);
    time::date_input(time::local(time::now(), &zone).date())
}

/// Today in the acting member's own zone when they chose one, else the structure's.
pub fn my_today() -> String {
    let zone = maillage_sdk::user_time_zone()
        .and_then(|z| time::zone(&z).ok())
        .unwrap_or_else(|| time::zone_or_default(&maillage_sdk::context().time_zone));
    time::date_input(time::local(time::now(), &zone).date())
}

/// A value typed in a form or a query that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// A date typed in a form or a query, "YYYY-MM-DD", from 2000 on; empty is none.
pub fn optional_date(text: &str) -> Result<Option<String>, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match time::parse_date(text) {
        Ok(d) if d.year() >= 2000 && d.year() <= 2100 => Ok(Some(time::date_input(d))),
        _ => Err(Invalid),
    }
}

/// Whether the text is at most `max` characters.
pub fn fits(text: &str, max: usize) -> bool {
    text.chars().count() <= max
}

/// « Exporter (CSV) » and « Exporter (Excel) » of a page: `{path}.csv{query}` and
/// `{path}.xlsx{query}`, `query` the page's own ("" or "?…").
pub fn export_links(path: &str, query: &str) -> Markup {
    html! {
        a class="button export-csv" href=(href(&format!("{path}.csv{query}"))) { "Exporter (CSV)" }
        a class="button export-xlsx" href=(href(&format!("{path}.xlsx{query}"))) { "Exporter (Excel)" }
    }
}

/// The file an export answers with: the same rows as CSV or as a workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
        }
    }
}

/// One cell of an export: CSV writes it as text, the workbook keeps numbers and dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// Minutes, as decimal hours: « 1,5 » in CSV, 1.5 (format `0.00`) in the workbook.
    Hours(i64),
    /// "YYYY-MM-DD" as is in CSV, a date (`dd/mm/yyyy`) in the workbook; empty for none.
    Date(String),
    /// A count, a plain number.
    Count(i64),
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    /// « Oui » or « Non ».
    pub fn yes_no(value: bool) -> Cell {
        Cell::text(if value { "Oui" } else { "Non" })
    }

    /// The cell as the CSV writes it.
    pub fn csv(&self) -> String {
        match self {
            Cell::Text(t) | Cell::Date(t) => t.clone(),
            Cell::Hours(minutes) => fr::hours(*minutes),
            Cell::Count(n) => n.to_string(),
        }
    }
}

/// An export (docs/projects-contract.md, « Exports »): a header and rows, answered as
/// CSV (`maillage_sdk::csv`) or as a one-sheet workbook from the same rows; the one
/// place that knows how a row becomes either file.
#[derive(Debug, Clone)]
pub struct Export {
    sheet: &'static str,
    file_stem: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
    total: bool,
}

impl Export {
    /// `sheet`: the workbook's sheet (at most 31 characters); `file_stem`: the file's
    /// name without its extension (plain ASCII).
    pub fn new(
        sheet: &'static str,
        file_stem: impl Into<String>,
        header: &[&'static str],
    ) -> Export {
        Export {
            sheet,
            file_stem: file_stem.into(),
            header: header.to_vec(),
            rows: Vec::new(),
            total: false,
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Export {
        self.rows.push(cells);
        self
    }

    /// Ends the rows with « Total »: in each column of hours, the sum of its rows.
    pub fn with_total(mut self) -> Export {
        self.total = true;
        self
    }

    fn total_row(&self) -> Vec<Cell> {
        let mut sums: Vec<Option<i64>> = vec![None; self.header.len()];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let (Cell::Hours(minutes), Some(sum)) = (cell, sums.get_mut(i)) {
                    *sum = Some(sum.unwrap_or(0) + *minutes);
                }
            }
        }
        sums.into_iter()
            .enumerate()
            .map(|(i, sum)| match sum {
                Some(minutes) => Cell::Hours(minutes),
                None if i == 0 => Cell::text("Total"),
                None => Cell::text(""),
            })
            .collect()
    }

    /// The file to save: `{file_stem}.csv` or `.xlsx` (`Content-Disposition: attachment`).
    pub fn respond(mut self, kind: FileKind) -> Response {
        if self.total {
            let total = self.total_row();
            self.rows.push(total);
        }
        let file = format!("{}.{}", self.file_stem, kind.extension());
        match kind {
            FileKind::Csv => {
                let mut csv = maillage_sdk::csv::Writer::new();
                csv.row(self.header.iter());
                for row in &self.rows {
                    csv.row(row.iter().map(Cell::csv));
                }
                download::attachment(csv.into_bytes(), download::CSV, &file)
            }
            FileKind::Xlsx => match self.workbook() {
                Ok(bytes) => download::attachment(bytes, download::XLSX, &file),
                Err(e) => download::failed(&format!("projets: export {file} failed: {e}")),
            },
        }
    }

    fn workbook(&self) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let hours = Format::new().set_num_format("0.00");
        let bold_hours = hours.clone().set_bold();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        let sheet = workbook.add_worksheet();
        sheet.set_name(self.sheet)?;
        for (col, title) in self.header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *title, &bold)?;
        }
        let last = self.rows.len();
        for (i, cells) in self.rows.iter().enumerate() {
            let row = i as u32 + 1;
            let is_total = self.total && i + 1 == last;
            for (c, cell) in cells.iter().enumerate() {
                let col = c as u16;
                match cell {
                    Cell::Text(text) if is_total => {
                        sheet.write_string_with_format(row, col, text, &bold)?;
                    }
                    Cell::Text(text) => {
                        sheet.write_string(row, col, text)?;
                    }
                    Cell::Hours(minutes) => {
                        let format = if is_total { &bold_hours } else { &hours };
                        let hours_worked = *minutes as f64 / 60.0;
                        sheet.write_number_with_format(row, col, hours_worked, format)?;
                    }
                    Cell::Count(n) => {
                        sheet.write_number(row, col, *n as f64)?;
                    }
                    Cell::Date(text) => match excel_date(text) {
                        Some(day) => {
                            sheet.write_datetime_with_format(row, col, &day, &date)?;
                        }
                        None => {
                            sheet.write_string(row, col, text)?;
                        }
                    },
                }
            }
        }
        sheet.autofit();
        workbook.save_to_buffer()
    }
}

/// A "YYYY-MM-DD" date as the workbook's; `None` when it is not one.
fn excel_date(text: &str) -> Option<ExcelDateTime> {
    let date = time::parse_date(text).ok()?;
    ExcelDateTime::from_ymd(
        u16::try_from(date.year()).ok()?,
        u8::try_from(date.month()).ok()?,
        u8::try_from(date.day()).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_total_sums_each_column_of_hours() {
        let mut export = Export::new("Temps passé", "temps", &["Personne", "Date", "Durée (h)"]);
        export.row(vec![
            Cell::text("Anne"),
            Cell::Date("2026-03-12".into()),
            Cell::Hours(90),
        ]);
        export.row(vec![
            Cell::text("Rémi"),
            Cell::Date(String::new()),
            Cell::Hours(45),
        ]);
        let total = export.total_row();
        assert_eq!(
            total,
            [Cell::text("Total"), Cell::text(""), Cell::Hours(135)]
        );
        let csv: Vec<String> = total.iter().map(Cell::csv).collect();
        assert_eq!(csv, ["Total", "", "2,25"]);
        assert_eq!(Cell::Count(3).csv(), "3");
        assert!(excel_date("2026-03-12").is_some());
        assert!(excel_date("").is_none());
        assert!(excel_date("2026-13-01").is_none());
    }
}
