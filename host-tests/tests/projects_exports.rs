//! The projects module's exports (docs/projects-contract.md, « Exports ») against the
//! pages they export, through the real host and component: « Mes tâches », « Mon temps
//! passé », the coordinators' « Temps passé par projet », a project's time and the
//! projects list, each as CSV (read by Python's csv module) and as a workbook (read by
//! openpyxl: hours and counts are numbers, dates are dates), reached by the page's own
//! « Exporter » links with its query; the rows are the page's, in its order, the totals
//! the page's; the page's refusals (422 on a malformed filter, 403 to members for the
//! structure's report, 404 to another structure's member) hold for the exports too.

use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderName};
use serde_json::Value;

use crate::projects::{
    A, CLOSED_NAME, El, MISSIONS, OPEN_NAME, XLSX, all, assert_refused, column, day, done, due,
    first, hours_to_minutes, logged, new_task, page, projects_host, says, signed_in, tasks, world,
};
use crate::support::{Client, parse_csv, run_openpyxl};

/// The columns of every time export.
const ENTRY_COLUMNS: [&str; 11] = [
    "Date du travail",
    "Projet",
    "Numéro",
    "Mission",
    "Tâche",
    "Personne",
    "Durée (h)",
    "Note",
    "Saisi par",
    "Saisi le",
    "Pour autrui",
];

const NOT_COORDINATOR: &str = "Le temps passé de toute la structure est réservé aux coordinateurs.";

// Reading the exports.

fn header_of(headers: &http::HeaderMap, name: HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The answer is a file to save, named `file`.
fn assert_saved(headers: &http::HeaderMap, file: &str, path: &str) {
    let disposition = header_of(headers, CONTENT_DISPOSITION);
    assert!(
        disposition.starts_with("attachment") && disposition.contains(&format!("\"{file}\"")),
        "GET {path}: Content-Disposition « {disposition} », {file} expected"
    );
}

/// A CSV export: 200, saved as `file`, its rows (header first) as Python's csv reads them.
async fn csv_export(c: &mut Client<'_>, path: &str, file: &str) -> Vec<Vec<String>> {
    let (status, headers, body) = c.get_with_headers(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    assert_saved(&headers, file, path);
    assert!(
        header_of(&headers, CONTENT_TYPE).starts_with("text/csv"),
        "GET {path}: {headers:?}"
    );
    let rows = parse_csv(&body);
    assert!(!rows.is_empty(), "GET {path}: no header row");
    rows
}

/// One cell of a workbook as openpyxl reads it back.
#[derive(Debug, Clone)]
struct XCell {
    /// "text", "number", "date", "bool" or "empty".
    kind: String,
    /// A date as "YYYY-MM-DD".
    value: Value,
    format: String,
}

impl XCell {
    fn text(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// Hours stored as a number shown with two decimals, in minutes.
    fn minutes(&self) -> i64 {
        assert_eq!(self.kind, "number", "hours are a number: {self:?}");
        assert_eq!(self.format, "0.00", "hours show two decimals: {self:?}");
        let hours = self
            .value
            .as_f64()
            .unwrap_or_else(|| panic!("no number in {self:?}"));
        (hours * 60.0).round() as i64
    }

    /// A date stored as a date, "YYYY-MM-DD".
    fn date(&self) -> String {
        assert_eq!(self.kind, "date", "a date cell: {self:?}");
        assert!(
            self.format.contains("dd") && self.format.contains("yy"),
            "shown as a date: {self:?}"
        );
        self.text()
    }

    fn count(&self) -> i64 {
        assert_eq!(self.kind, "number", "a count is a number: {self:?}");
        self.value
            .as_f64()
            .unwrap_or_else(|| panic!("no number in {self:?}")) as i64
    }
}

/// A workbook export's only sheet: its name, its header and its rows (a total included).
#[derive(Debug)]
struct Sheet {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<XCell>>,
}

impl Sheet {
    fn col(&self, name: &str) -> usize {
        column(&self.header, name)
    }

    /// The rows but the last, which is the only « Total » one.
    fn lines(&self) -> &[Vec<XCell>] {
        let totals = self
            .rows
            .iter()
            .filter(|r| r.first().is_some_and(|c| c.text() == "Total"))
            .count();
        assert_eq!(totals, 1, "one total row: {self:?}");
        let last = self.rows.last().expect("a total row");
        assert_eq!(last[0].text(), "Total", "the total comes last: {self:?}");
        &self.rows[..self.rows.len() - 1]
    }

    fn total(&self) -> &[XCell] {
        self.lines();
        self.rows.last().expect("a total row")
    }
}

/// Each cell's kind, value (dates as ISO dates) and number format; rows left empty out.
const SHEET_SCRIPT: &str = r#"
import datetime, json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1])
sheet = book.worksheets[0]
rows = []
for row in sheet.iter_rows():
    cells = []
    for c in row:
        v = c.value
        if v is None:
            kind = "empty"
        elif isinstance(v, datetime.datetime):
            kind, v = "date", v.date().isoformat()
        elif isinstance(v, datetime.date):
            kind, v = "date", v.isoformat()
        elif isinstance(v, bool):
            kind = "bool"
        elif isinstance(v, (int, float)):
            kind = "number"
        else:
            kind, v = "text", str(v)
        cells.append({"kind": kind, "value": v, "format": c.number_format})
    if any(cell["kind"] != "empty" for cell in cells):
        rows.append(cells)
print(json.dumps({"sheets": book.sheetnames, "rows": rows}, ensure_ascii=False))
"#;

/// A workbook export: 200, the xlsx type, saved as `file`, one sheet read by openpyxl.
async fn xlsx_export(c: &mut Client<'_>, path: &str, file: &str) -> Sheet {
    let (status, headers, bytes) = c.get_bytes(path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "GET {path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    assert_saved(&headers, file, path);
    assert_eq!(header_of(&headers, CONTENT_TYPE), XLSX, "GET {path}");
    let out = run_openpyxl(
        &bytes,
        "projets-exports",
        SHEET_SCRIPT,
        &format!(" ({path})"),
    );
    let json: Value = serde_json::from_slice(&out).expect("the sheet as JSON");
    let sheets: Vec<String> = json["sheets"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|t| t.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(sheets.len(), 1, "GET {path}: one sheet, {sheets:?}");
    let mut rows: Vec<Vec<XCell>> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("cells")
                .iter()
                .map(|c| XCell {
                    kind: c["kind"].as_str().unwrap_or_default().to_string(),
                    value: c["value"].clone(),
                    format: c["format"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "GET {path}: no header row");
    let header = rows.remove(0).iter().map(XCell::text).collect();
    Sheet {
        title: sheets[0].clone(),
        header,
        rows,
    }
}

/// The workbook holds the CSV's header and rows cell for cell: hours and counts as
/// numbers, dates as dates, the rest as the same text.
fn assert_same_rows(csv: &[Vec<String>], sheet: &Sheet, what: &str) {
    assert_eq!(csv[0], sheet.header, "{what}: the header");
    assert_eq!(csv.len() - 1, sheet.rows.len(), "{what}: as many rows");
    for (i, (line, cells)) in csv[1..].iter().zip(&sheet.rows).enumerate() {
        for (j, cell) in cells.iter().enumerate() {
            let text = line.get(j).map(String::as_str).unwrap_or("");
            let place = format!("{what}: row {}, « {} »", i + 1, sheet.header[j]);
            match cell.kind.as_str() {
                "empty" => assert_eq!(text, "", "{place}"),
                "date" => assert_eq!(text, cell.date(), "{place}"),
                "number" if cell.format == "0.00" => {
                    assert_eq!(hours_to_minutes(text), cell.minutes(), "{place}")
                }
                "number" => assert_eq!(text.parse::<f64>().ok(), cell.value.as_f64(), "{place}"),
                _ => assert_eq!(text, cell.text(), "{place}"),
            }
        }
    }
}

/// The CSV's rows but the header and the last, which is the only « Total » one.
fn csv_lines(rows: &[Vec<String>]) -> (&[Vec<String>], &[String]) {
    let totals = rows[1..]
        .iter()
        .filter(|r| r.first().is_some_and(|c| c == "Total"))
        .count();
    assert_eq!(totals, 1, "one total row: {rows:?}");
    let last = &rows[rows.len() - 1];
    assert_eq!(last[0], "Total", "the total comes last: {rows:?}");
    (&rows[1..rows.len() - 1], last.as_slice())
}

/// A page's « Exporter (CSV) » and « Exporter (Excel) » links.
fn export_links(html: &str) -> (String, String) {
    (
        first(html, "a.export-csv").get("href"),
        first(html, "a.export-xlsx").get("href"),
    )
}

/// Consecutive repeats removed: the groups of rows, in order.
fn runs(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if out.last() != Some(v) {
            out.push(v.clone());
        }
    }
    out
}

/// A task for one person, not recurring; its id.
async fn task_for(c: &mut Client<'_>, g: &str, title: &str, who: i64, due: &str) -> String {
    new_task(c, g, title, &[who], due, "aucune").await
}

/// The period's malformed queries and what the page answers.
const BAD_PERIODS: [(&str, &str); 3] = [
    ("?du=2026-13-01", "La date « du » est invalide."),
    (
        "?du=2026-03-01&au=2026-02-01",
        "La date « du » est après la date « au ».",
    ),
    ("?par=semaine", "Regroupement inconnu."),
];

// The tests.

#[tokio::test]
async fn my_tasks_exports_list_the_page_rows_in_its_order() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;

    let late = task_for(
        &mut remi,
        &w.open,
        "Relancer les pharmacies",
        w.anne,
        &day(-3),
    )
    .await;
    let monthly = new_task(
        &mut remi,
        &w.closed,
        "Point mensuel",
        &[w.anne, w.remi],
        &day(40),
        "mensuelle",
    )
    .await;
    let later = task_for(
        &mut remi,
        &w.closed,
        "Préparer la réunion",
        w.anne,
        &day(30),
    )
    .await;
    let undated = task_for(&mut remi, &w.open, "Mettre à jour la liste", w.anne, "").await;
    let finished = task_for(&mut remi, &w.open, "Tâche terminée", w.anne, &day(-1)).await;
    let (status, _, body) = done(&mut anne, &w.open, &finished).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    logged(&mut anne, &w.open, &late, &day(-2), "1h30", None).await;
    logged(&mut anne, &w.closed, &later, &day(-2), "45 min", None).await;

    // The page: late, (this week: none), later, without a due date, done.
    let p = page(&mut anne, &format!("{A}/mes-taches?etat=toutes")).await;
    let rows = tasks(&p);
    let ids: Vec<String> = rows.iter().map(|r| r.get("data-tache")).collect();
    assert_eq!(
        ids,
        [
            late.clone(),
            later.clone(),
            monthly.clone(),
            undated.clone(),
            finished.clone()
        ],
        "the page's sections: {p}"
    );
    let (csv_link, xlsx_link) = export_links(&p);
    assert_eq!(csv_link, format!("{A}/mes-taches.csv?etat=toutes"));
    assert_eq!(xlsx_link, format!("{A}/mes-taches.xlsx?etat=toutes"));

    let csv = csv_export(&mut anne, &csv_link, "mes-taches.csv").await;
    assert_eq!(
        csv[0],
        [
            "Échéance",
            "Tâche",
            "Projet",
            "Réunion",
            "Assignée à",
            "État",
            "Récurrence",
            "Temps passé (h)"
        ],
        "{csv:?}"
    );
    let lines = &csv[1..];
    assert_eq!(
        lines.len(),
        rows.len(),
        "the page's rows, no total: {csv:?}"
    );
    let minutes = [90, 45, 0, 0, 0];
    for ((line, row), minutes) in lines.iter().zip(&rows).zip(minutes) {
        let links = row.all("a");
        assert_eq!(line[1], links[0].text(), "the title, in the page's order");
        assert_eq!(line[2], links[1].text(), "the project of « {} »", line[1]);
        assert_eq!(
            line[0],
            due(row).unwrap_or_default(),
            "the due date of « {} »",
            line[1]
        );
        let state = if row.get("data-statut") == "faite" {
            "Faite"
        } else {
            "À faire"
        };
        assert_eq!(line[5], state, "« {} »", line[1]);
        assert_eq!(
            hours_to_minutes(&line[7]),
            minutes,
            "time on « {} »",
            line[1]
        );
    }
    assert_eq!(lines[0][2], OPEN_NAME);
    assert_eq!(lines[1][2], CLOSED_NAME);
    assert_eq!(
        lines[2][4], "Anne Active, Rémi Référent",
        "assignees of the monthly task"
    );
    assert_eq!(lines[2][6], "Tous les mois");
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| i == 2 || l[6].is_empty()),
        "{lines:?}"
    );

    let sheet = xlsx_export(&mut anne, &xlsx_link, "mes-taches.xlsx").await;
    assert_eq!(sheet.title, "Mes tâches");
    assert_same_rows(&csv, &sheet, "mes-taches.xlsx");
    let (due_col, time_col) = (sheet.col("Échéance"), sheet.col("Temps passé (h)"));
    assert_eq!(
        sheet.rows[0][due_col].date(),
        day(-3),
        "a due date is a date"
    );
    assert_eq!(sheet.rows[3][due_col].kind, "empty", "no due date, no cell");
    assert_eq!(sheet.rows[0][time_col].minutes(), 90, "hours are a number");

    // The filter of the page: the done ones only.
    let p = page(&mut anne, &format!("{A}/mes-taches?etat=faites")).await;
    assert_eq!(
        tasks(&p)
            .iter()
            .map(|r| r.get("data-tache"))
            .collect::<Vec<_>>(),
        std::slice::from_ref(&finished)
    );
    let (csv_link, xlsx_link) = export_links(&p);
    let csv = csv_export(&mut anne, &csv_link, "mes-taches.csv").await;
    assert_eq!(csv.len(), 2, "{csv:?}");
    assert_eq!(csv[1][1], "Tâche terminée");
    let sheet = xlsx_export(&mut anne, &xlsx_link, "mes-taches.xlsx").await;
    assert_same_rows(&csv, &sheet, "mes-taches.xlsx?etat=faites");

    // Rémi's own: the one task he is assigned.
    let csv = csv_export(&mut remi, &format!("{A}/mes-taches.csv"), "mes-taches.csv").await;
    let titles: Vec<&str> = csv[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(titles, ["Point mensuel"], "{csv:?}");

    // The page's 422, another structure's 404.
    for path in ["/mes-taches", "/mes-taches.csv", "/mes-taches.xlsx"] {
        let (status, body) = anne.get(&format!("{A}{path}?etat=rien")).await;
        assert_refused(status, &body, "État inconnu", &format!("{path}?etat=rien"));
        let (status, body) = bob.get(&format!("{A}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}: {body}");
        assert!(!body.contains("Relancer les pharmacies"), "Bob GET {path}");
    }
}

#[tokio::test]
async fn time_exports_are_the_entries_the_pages_add_up() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;

    let fiche = task_for(&mut remi, &w.open, "Rédiger la fiche réflexe", w.anne, "").await;
    let campagne = new_task(
        &mut remi,
        &w.closed,
        "Préparer la campagne",
        &[w.anne, w.remi],
        "",
        "aucune",
    )
    .await;
    // More than a year ago: another year than every other entry.
    let old = day(-400);
    logged(&mut anne, &w.open, &fiche, &day(-2), "1h30", None).await;
    logged(&mut anne, &w.closed, &campagne, &day(-3), "45 min", None).await;
    logged(&mut anne, &w.open, &fiche, &day(-5), "2 h", None).await;
    logged(&mut anne, &w.open, &fiche, &old, "1 h", None).await;
    logged(
        &mut remi,
        &w.closed,
        &campagne,
        &day(-1),
        "30 min",
        Some(w.anne),
    )
    .await;
    logged(&mut remi, &w.open, &fiche, &day(-2), "1:15", None).await;
    logged(&mut remi, &w.closed, &campagne, &day(-4), "50 min", None).await;

    // « Mon temps passé »: both projects (same start, by name), then Anne's entries.
    let p = page(&mut anne, &format!("{A}/mon-temps")).await;
    let projects = all(&p, "table.mon-temps tr.projet");
    let groups: Vec<String> = projects.iter().map(|r| r.get("data-groupe")).collect();
    assert_eq!(groups, [w.closed.clone(), w.open.clone()], "{p}");
    let per_project: Vec<i64> = projects
        .iter()
        .map(|r| r.first("td.heures").minutes())
        .collect();
    assert_eq!(per_project, [75, 270]);
    let page_total = first(&p, "table.mon-temps tfoot tr.total td.heures").minutes();
    assert_eq!(page_total, 345);
    let page_dates: Vec<String> = all(&p, "table.mes-saisies tr[data-saisie]")
        .iter()
        .map(|r| r.first("td.date").get("data-date"))
        .collect();
    assert_eq!(
        page_dates,
        [day(-3), day(-1), old.clone(), day(-5), day(-2)],
        "by project, then by date worked"
    );
    let (csv_link, xlsx_link) = export_links(&p);
    assert_eq!(csv_link, format!("{A}/mon-temps.csv"));
    assert_eq!(xlsx_link, format!("{A}/mon-temps.xlsx"));

    let csv = csv_export(&mut anne, &csv_link, "mon-temps.csv").await;
    assert_eq!(csv[0], ENTRY_COLUMNS);
    let (lines, total) = csv_lines(&csv);
    let col = |name: &str| column(&csv[0], name);
    let dates: Vec<String> = lines
        .iter()
        .map(|l| l[col("Date du travail")].clone())
        .collect();
    assert_eq!(dates, page_dates, "the page's entries in its order");
    let names: Vec<String> = lines.iter().map(|l| l[col("Projet")].clone()).collect();
    assert_eq!(
        runs(&names),
        [CLOSED_NAME, OPEN_NAME],
        "the page's projects in its order"
    );
    for (name, minutes) in [(CLOSED_NAME, 75), (OPEN_NAME, 270)] {
        let sum: i64 = lines
            .iter()
            .filter(|l| l[col("Projet")] == name)
            .map(|l| hours_to_minutes(&l[col("Durée (h)")]))
            .sum();
        assert_eq!(sum, minutes, "« {name} » sums to the page's row");
    }
    assert_eq!(hours_to_minutes(&total[col("Durée (h)")]), page_total);
    assert!(
        lines.iter().all(|l| l[col("Personne")] == "Anne Active"),
        "{lines:?}"
    );
    for l in lines {
        let (numero, mission, task) = if l[col("Projet")] == OPEN_NAME {
            ("1.2", "1", "Rédiger la fiche réflexe")
        } else {
            ("3.1", "3", "Préparer la campagne")
        };
        assert_eq!(
            (
                l[col("Numéro")].as_str(),
                l[col("Mission")].as_str(),
                l[col("Tâche")].as_str()
            ),
            (numero, mission, task),
            "{l:?}"
        );
        let behalf = l[col("Date du travail")] == day(-1);
        assert_eq!(
            l[col("Pour autrui")],
            if behalf { "Oui" } else { "Non" },
            "{l:?}"
        );
        let by = if behalf {
            "Rémi Référent"
        } else {
            "Anne Active"
        };
        assert_eq!(l[col("Saisi par")], by, "{l:?}");
    }

    let sheet = xlsx_export(&mut anne, &xlsx_link, "mon-temps.xlsx").await;
    assert_eq!(sheet.title, "Mon temps passé");
    assert_same_rows(&csv, &sheet, "mon-temps.xlsx");
    let (date, entered, hours) = (
        sheet.col("Date du travail"),
        sheet.col("Saisi le"),
        sheet.col("Durée (h)"),
    );
    let xlsx_dates: Vec<String> = sheet.lines().iter().map(|r| r[date].date()).collect();
    assert_eq!(xlsx_dates, page_dates, "dates worked are dates");
    for r in sheet.lines() {
        assert!(
            r[entered].date() >= r[date].date(),
            "entered after the work: {r:?}"
        );
    }
    let sum: i64 = sheet.lines().iter().map(|r| r[hours].minutes()).sum();
    assert_eq!(sum, page_total);
    assert_eq!(
        sheet.total()[hours].minutes(),
        page_total,
        "the total is a number"
    );

    // One year: the page's `annee`, kept by its links.
    let year = &old[..4];
    let p = page(&mut anne, &format!("{A}/mon-temps?annee={year}")).await;
    let projects = all(&p, "table.mon-temps tr.projet");
    assert_eq!(projects.len(), 1, "{p}");
    assert_eq!(projects[0].get("data-groupe"), w.open);
    assert_eq!(projects[0].first("td.heures").minutes(), 60);
    let (csv_link, xlsx_link) = export_links(&p);
    assert_eq!(csv_link, format!("{A}/mon-temps.csv?annee={year}"));
    let csv = csv_export(&mut anne, &csv_link, "mon-temps.csv").await;
    let (lines, total) = csv_lines(&csv);
    assert_eq!(lines.len(), 1, "{csv:?}");
    assert_eq!(lines[0][col("Date du travail")], old);
    assert_eq!(hours_to_minutes(&total[col("Durée (h)")]), 60);
    let sheet = xlsx_export(&mut anne, &xlsx_link, "mon-temps.xlsx").await;
    assert_same_rows(&csv, &sheet, "mon-temps.xlsx?annee");
    for path in ["/mon-temps", "/mon-temps.csv", "/mon-temps.xlsx"] {
        for bad in ["deux-mille", "1999"] {
            let (status, body) = anne.get(&format!("{A}{path}?annee={bad}")).await;
            assert_refused(
                status,
                &body,
                "L’année doit être comprise entre 2000 et 2100.",
                &format!("{path}?annee={bad}"),
            );
        }
    }

    // The coordinators' report, three groupings and a period: the export lists the
    // entries under each of the page's rows, in its order, and sums to them.
    let entry_label = |l: &[String], par: &str| -> String {
        match par {
            "personne" => l[col("Personne")].clone(),
            "mission" => {
                let code = &l[col("Mission")];
                let index: usize = code.parse().expect("a mission code");
                format!("Mission {code} – {}", MISSIONS[index - 1])
            }
            _ => format!("{} {}", l[col("Numéro")], l[col("Projet")]),
        }
    };
    for (query, par, expected_total, expected_lines) in [
        (String::new(), "projet", 470, 7),
        ("?par=projet".to_string(), "projet", 470, 7),
        ("?par=personne".to_string(), "personne", 470, 7),
        ("?par=mission".to_string(), "mission", 470, 7),
        (
            format!("?du={}&au={}&par=personne", day(-5), day(-2)),
            "personne",
            380,
            5,
        ),
    ] {
        let p = page(&mut claire, &format!("{A}/temps{query}")).await;
        let rows: Vec<(String, i64)> = all(&p, "table.temps tr[data-cle]")
            .iter()
            .map(|r| (r.first("td").text(), r.first("td.heures").minutes()))
            .collect();
        let page_total = first(&p, "table.temps tfoot tr.total td.heures").minutes();
        assert_eq!(page_total, expected_total, "/temps{query}");
        let (csv_link, xlsx_link) = export_links(&p);
        let kept = if query.is_empty() {
            "?par=projet"
        } else {
            query.as_str()
        };
        assert_eq!(
            csv_link,
            format!("{A}/temps.csv{kept}"),
            "the page's query kept"
        );
        assert_eq!(
            xlsx_link,
            format!("{A}/temps.xlsx{kept}"),
            "the page's query kept"
        );
        let csv = csv_export(&mut claire, &csv_link, "temps.csv").await;
        assert_eq!(csv[0], ENTRY_COLUMNS);
        let (lines, total) = csv_lines(&csv);
        assert_eq!(lines.len(), expected_lines, "/temps.csv{query}: {csv:?}");
        let labels: Vec<String> = lines
            .iter()
            .map(|l| entry_label(l.as_slice(), par))
            .collect();
        let page_labels: Vec<String> = rows.iter().map(|(label, _)| label.clone()).collect();
        assert_eq!(
            runs(&labels),
            page_labels,
            "/temps.csv{query}: the page's rows, in its order"
        );
        for (label, minutes) in &rows {
            let of_row: Vec<&Vec<String>> = lines
                .iter()
                .filter(|l| &entry_label(l.as_slice(), par) == label)
                .collect();
            let sum: i64 = of_row
                .iter()
                .map(|l| hours_to_minutes(&l[col("Durée (h)")]))
                .sum();
            assert_eq!(sum, *minutes, "/temps.csv{query}: « {label} »");
            let dates: Vec<&String> = of_row.iter().map(|l| &l[col("Date du travail")]).collect();
            assert!(
                dates.is_sorted(),
                "/temps.csv{query}: « {label} » by date worked: {dates:?}"
            );
        }
        assert_eq!(
            hours_to_minutes(&total[col("Durée (h)")]),
            page_total,
            "/temps.csv{query}"
        );
        let sheet = xlsx_export(&mut claire, &xlsx_link, "temps.xlsx").await;
        assert_eq!(sheet.title, "Temps passé par projet");
        assert_same_rows(&csv, &sheet, &format!("/temps.xlsx{query}"));
        let hours = sheet.col("Durée (h)");
        assert_eq!(
            sheet.total()[hours].minutes(),
            page_total,
            "/temps.xlsx{query}"
        );
    }
    for (query, message) in BAD_PERIODS {
        for path in ["/temps", "/temps.csv", "/temps.xlsx"] {
            let (status, body) = claire.get(&format!("{A}{path}{query}")).await;
            assert_refused(status, &body, message, &format!("{path}{query}"));
        }
    }
    // The page's refusal for members, référent or not; another structure's 404.
    for path in ["/temps", "/temps.csv", "/temps.xlsx"] {
        for (who, c) in [("Rémi", &mut remi), ("Anne", &mut anne)] {
            let (status, body) = c.get(&format!("{A}{path}")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} GET {path}: {body}");
            assert!(says(&body, NOT_COORDINATOR), "{who} GET {path}: {body}");
            // Nothing of the report (its hours cells) in the refusal.
            assert!(!body.contains("data-minutes"), "{who} GET {path}: {body}");
        }
        let (status, body) = bob.get(&format!("{A}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}: {body}");
    }
    for path in ["/mon-temps.csv", "/mon-temps.xlsx"] {
        let (status, body) = bob.get(&format!("{A}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}: {body}");
    }

    // A project's time: the same entry rows, dates as dates, its links keep `par`.
    let p = page(&mut anne, &format!("{A}/p/{}/temps?par=tache", w.open)).await;
    let page_total = first(&p, "table.temps tfoot tr.total td.heures").minutes();
    assert_eq!(page_total, 345);
    let (csv_link, xlsx_link) = export_links(&p);
    assert_eq!(xlsx_link, format!("{A}/p/{}/temps.xlsx?par=tache", w.open));
    let csv = csv_export(&mut anne, &csv_link, "temps-1.2.csv").await;
    let sheet = xlsx_export(&mut anne, &xlsx_link, "temps-1.2.xlsx").await;
    assert_eq!(sheet.title, "Temps passé");
    assert_same_rows(&csv, &sheet, "the project's temps.xlsx");
    let (date, hours) = (sheet.col("Date du travail"), sheet.col("Durée (h)"));
    let dates: Vec<String> = sheet.lines().iter().map(|r| r[date].date()).collect();
    assert!(dates.is_sorted(), "by date worked: {dates:?}");
    let sum: i64 = sheet.lines().iter().map(|r| r[hours].minutes()).sum();
    assert_eq!(sum, page_total);
    assert_eq!(sheet.total()[hours].minutes(), page_total);
}

#[tokio::test]
async fn the_projects_list_exports_its_rows_as_a_workbook_too() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;

    let fiche = task_for(&mut remi, &w.open, "Rédiger la fiche réflexe", w.anne, "").await;
    task_for(&mut remi, &w.open, "Tenir l’annuaire", w.anne, "").await;
    task_for(&mut remi, &w.closed, "Préparer la campagne", w.anne, "").await;
    logged(&mut anne, &w.open, &fiche, &day(-2), "1h30", None).await;

    let list = page(&mut anne, &format!("{A}/?etat=tous")).await;
    let items: Vec<El> = all(&list, "li.projet");
    let groups: Vec<String> = items.iter().map(|i| i.get("data-groupe")).collect();
    assert_eq!(groups, [w.open.clone(), w.closed.clone()], "{list}");
    let (csv_link, xlsx_link) = export_links(&list);
    assert_eq!(csv_link, format!("{A}/export.csv?vue=tous&etat=tous"));
    assert_eq!(xlsx_link, format!("{A}/export.xlsx?vue=tous&etat=tous"));
    let csv = csv_export(&mut anne, &csv_link, "projets.csv").await;
    let sheet = xlsx_export(&mut anne, &xlsx_link, "projets.xlsx").await;
    assert_eq!(sheet.title, "Projets");
    assert_same_rows(&csv, &sheet, "projets.xlsx");
    assert_eq!(sheet.rows.len(), items.len(), "the page's rows, no total");
    let (numero, start, members, open_tasks, hours) = (
        sheet.col("Numéro"),
        sheet.col("Date de début"),
        sheet.col("Membres"),
        sheet.col("Tâches ouvertes"),
        sheet.col("Temps passé (h)"),
    );
    for (row, item) in sheet.rows.iter().zip(&items) {
        assert_eq!(
            row[numero].text(),
            item.first("span.numero").text(),
            "in the page's order"
        );
        assert_eq!(row[start].date(), "2026-01-05", "the start is a date");
        assert_eq!(row[members].count(), 3, "Rémi, Anne, Gustave");
        let count: i64 = item
            .first("span.taches-ouvertes")
            .get("data-count")
            .parse()
            .expect("a count");
        assert_eq!(row[open_tasks].count(), count, "open tasks as on the page");
        assert_eq!(
            row[hours].minutes(),
            item.first("span.temps").minutes(),
            "time as on the page"
        );
    }
    assert_eq!(sheet.rows[0][open_tasks].count(), 2);
    assert_eq!(sheet.rows[0][hours].minutes(), 90);

    // Oscar: the closed project is absent from his list and its export; « Mes projets »
    // is empty and so is its export.
    let list = page(&mut oscar, &format!("{A}/?etat=tous")).await;
    let (_, xlsx_link) = export_links(&list);
    let sheet = xlsx_export(&mut oscar, &xlsx_link, "projets.xlsx").await;
    let numeros: Vec<String> = sheet.rows.iter().map(|r| r[numero].text()).collect();
    assert_eq!(numeros, ["1.2"], "{sheet:?}");
    let mine = page(&mut oscar, &format!("{A}/mes-projets")).await;
    let (csv_link, xlsx_link) = export_links(&mine);
    assert_eq!(
        csv_link,
        format!("{A}/export.csv?vue=mes-projets&etat=en-cours")
    );
    let sheet = xlsx_export(&mut oscar, &xlsx_link, "projets.xlsx").await;
    assert!(sheet.rows.is_empty(), "{sheet:?}");

    for path in ["/", "/export.csv", "/export.xlsx"] {
        let (status, body) = anne.get(&format!("{A}{path}?etat=nimporte")).await;
        assert_refused(
            status,
            &body,
            "État inconnu",
            &format!("{path}?etat=nimporte"),
        );
    }
    for path in ["/export.csv", "/export.xlsx"] {
        let (status, body) = bob.get(&format!("{A}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}: {body}");
        assert!(!body.contains(OPEN_NAME), "Bob GET {path}");
    }
}
