//! The projects module (`plugins/projects`, module id `projets`,
//! docs/projects-contract.md) end to end, through the real host and the real
//! component: who may read and change an open and a closed project (404 before 403,
//! other structures' and malformed ids), time entries in the formats people type and
//! the French refusals that store nothing, totals on the page, the report pages and the
//! exports (read back by Python's csv module and openpyxl) as sums of the entries, time
//! logged for someone else (traced, mailed, managers only), recurring tasks and their
//! next occurrence, « Mes tâches », the time reaching the indemnity module's « Mon
//! compte » through `task.time-logged`, and bad input.

use std::time::{Duration, Instant};

use http::StatusCode;
use maillage::groups::GroupRole;
use maillage::tenancy::Role;
use serde_json::{Value, json};

use crate::support::{Client, Host, PASSWORD, local_in, parse_csv};

/// The module in structure A, and in structure B.
pub(crate) const A: &str = "/cpts-a/projets";
pub(crate) const B: &str = "/cpts-b/projets";
pub(crate) const TIME_LOGGED: &str = "task.time-logged";
pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The groups of structure A.
pub(crate) const OPEN_NAME: &str = "Soins non programmés";
pub(crate) const CLOSED_NAME: &str = "Prévention santé mentale";
pub(crate) const FREE_NAME: &str = "Médecin traitant";
pub(crate) const DESCRIPTION: &str = "Organiser la réponse aux demandes de soins non programmés.";
pub(crate) const OBJECTIVES: &str =
    "Rédiger une fiche réflexe\nTenir un annuaire des disponibilités";

/// The six missions' default labels, as the missions form shows them.
pub(crate) const MISSIONS: [&str; 6] = [
    "Accès aux soins",
    "Parcours pluriprofessionnels",
    "Prévention",
    "Gestion de crise",
    "Qualité et pertinence des soins",
    "Accompagnement des professionnels de santé",
];

// The world.

/// Generous limits: a debug build on two cores, exports built in the guest.
pub(crate) async fn projects_host() -> Host {
    Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.plugin_output_mib = 8;
    })
    .await
}

pub(crate) async fn signed_in<'a>(host: &'a Host, email: &str) -> Client<'a> {
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

/// Structure A (and B, with the module too), their people and A's projects.
pub(crate) struct World {
    pub(crate) sid: i64,
    /// Open group « Soins non programmés », project 1.2 (mission 1).
    pub(crate) open: String,
    /// Closed group « Prévention santé mentale », project 3.1 (mission 3).
    pub(crate) closed: String,
    /// Open group « Médecin traitant » (Rémi alone), no project yet.
    pub(crate) free: String,
    /// Rémi: référent of the three groups (a plain member of the structure).
    pub(crate) remi: i64,
    /// Anne: membre active of the open and the closed group.
    pub(crate) anne: i64,
    /// Gustave: invité of the open and the closed group.
    pub(crate) gus: i64,
    /// Oscar: a member of A in no group.
    pub(crate) oscar: i64,
    /// Bob: a member of B.
    pub(crate) bob: i64,
}

/// Claire coordinates A and creates both projects through « Nouveau projet ».
pub(crate) async fn world(host: &Host, modules: &[&str]) -> World {
    let a = host.structure("cpts-a", modules).await;
    host.structure("cpts-b", &["projects"]).await;
    host.account(
        "cpts-a",
        "claire@a.test",
        "Claire Coordinatrice",
        Role::Coordinator,
    )
    .await;
    let person =
        |email: &'static str, name: &'static str| host.account("cpts-a", email, name, Role::Member);
    let remi = person("remi@a.test", "Rémi Référent").await;
    let anne = person("anne@a.test", "Anne Active").await;
    let gus = person("gus@a.test", "Gustave Invité").await;
    let oscar = person("oscar@a.test", "Oscar Dehors").await;
    let bob = host
        .account("cpts-b", "bob@b.test", "Bob Ailleurs", Role::Member)
        .await;
    let db = &host.state.db;
    let mut groups = Vec::new();
    for (name, open) in [(OPEN_NAME, true), (CLOSED_NAME, false), (FREE_NAME, true)] {
        groups.push(
            db.create_group(a.id, name, "", open, remi.id)
                .await
                .unwrap(),
        );
    }
    for &id in &groups[..2] {
        let group = db
            .group(a.id, id, remi.id)
            .await
            .unwrap()
            .expect("the group");
        db.set_group_member(&group, anne.id, GroupRole::Active)
            .await
            .unwrap();
        db.set_group_member(&group, gus.id, GroupRole::Guest)
            .await
            .unwrap();
    }
    let (open, closed, free) = (
        groups[0].to_string(),
        groups[1].to_string(),
        groups[2].to_string(),
    );
    let mut claire = signed_in(host, "claire@a.test").await;
    for (group, numero, mission) in [(&open, "1.2", "1"), (&closed, "3.1", "3")] {
        let (status, location, body) =
            create_project(&mut claire, group, numero, mission, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "project {numero}: {body}");
        assert!(
            location
                .as_deref()
                .is_some_and(|l| l.starts_with(&format!("{A}/p/{group}")) && l.contains("ok=cree")),
            "project {numero}: {location:?}"
        );
    }
    World {
        sid: a.id,
        open,
        closed,
        free,
        remi: remi.id,
        anne: anne.id,
        gus: gus.id,
        oscar: oscar.id,
        bob: bob.id,
    }
}

/// "YYYY-MM-DD" in Paris, `offset` days from today.
pub(crate) fn day(offset: i64) -> String {
    local_in(offset, 12, 0, "Europe/Paris")[..10].to_string()
}

pub(crate) fn project_path(g: &str) -> String {
    format!("{A}/p/{g}")
}

pub(crate) fn task_path(g: &str, t: &str) -> String {
    format!("{A}/p/{g}/taches/{t}")
}

/// Replaces the fields named in `changes` (or adds them).
pub(crate) fn apply<'a>(fields: &mut Vec<(&'a str, &'a str)>, changes: &[(&'a str, &'a str)]) {
    for &(name, value) in changes {
        match fields.iter_mut().find(|(k, _)| *k == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
}

pub(crate) fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// POST `/nouveau` (`changes` replace the default fields).
pub(crate) async fn create_project(
    c: &mut Client<'_>,
    group: &str,
    numero: &str,
    mission: &str,
    changes: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut fields = vec![
        ("groupe", group),
        ("numero", numero),
        ("mission", mission),
        ("description", DESCRIPTION),
        ("objectifs", OBJECTIVES),
        ("date_debut", "2026-01-05"),
        ("date_fin", ""),
        ("coordinateur", ""),
    ];
    apply(&mut fields, changes);
    c.post_form(&format!("{A}/nouveau"), &fields).await
}

/// POST `/p/{g}/modifier` with a new description.
pub(crate) async fn edit_project(
    c: &mut Client<'_>,
    g: &str,
    numero: &str,
    description: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(
        &format!("{A}/p/{g}/modifier"),
        &[
            ("numero", numero),
            ("mission", "1"),
            ("description", description),
            ("objectifs", OBJECTIVES),
            ("date_debut", "2026-01-05"),
            ("date_fin", ""),
            ("coordinateur", ""),
        ],
    )
    .await
}

/// POST `/p/{g}/taches`.
pub(crate) async fn post_task(
    c: &mut Client<'_>,
    g: &str,
    title: &str,
    assignees: &[i64],
    due: &str,
    recurrence: &str,
) -> (StatusCode, Option<String>, String) {
    let ids: Vec<String> = assignees.iter().map(i64::to_string).collect();
    let mut fields = vec![
        ("titre", title),
        ("description", ""),
        ("echeance", due),
        ("action", ""),
        ("recurrence", recurrence),
    ];
    for id in &ids {
        fields.push(("assigne", id.as_str()));
    }
    c.post_form(&format!("{A}/p/{g}/taches"), &fields).await
}

/// A task created through the form; its id, read on the project page.
pub(crate) async fn new_task(
    c: &mut Client<'_>,
    g: &str,
    title: &str,
    assignees: &[i64],
    due: &str,
    recurrence: &str,
) -> String {
    let (status, location, body) = post_task(c, g, title, assignees, due, recurrence).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "task « {title} »: {body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.starts_with(&project_path(g)) && l.contains("ok=tache")),
        "task « {title} »: {location:?}"
    );
    let p = page(c, &project_path(g)).await;
    let found: Vec<String> = titled(&tasks(&p), title)
        .iter()
        .map(|r| r.get("data-tache"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "task « {title} » on the project page: {found:?}"
    );
    found[0].clone()
}

pub(crate) async fn done(
    c: &mut Client<'_>,
    g: &str,
    t: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(&format!("{}/faite", task_path(g, t)), &[])
        .await
}

pub(crate) async fn reopen(
    c: &mut Client<'_>,
    g: &str,
    t: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(&format!("{}/rouvrir", task_path(g, t)), &[])
        .await
}

/// POST `/p/{g}/taches/{t}/temps`; `personne` only when given.
pub(crate) async fn log_time(
    c: &mut Client<'_>,
    g: &str,
    t: &str,
    date: &str,
    duree: &str,
    personne: Option<i64>,
) -> (StatusCode, Option<String>, String) {
    let person = personne.map(|p| p.to_string()).unwrap_or_default();
    let mut fields = vec![("date", date), ("duree", duree), ("note", "")];
    if personne.is_some() {
        fields.push(("personne", person.as_str()));
    }
    c.post_form(&format!("{}/temps", task_path(g, t)), &fields)
        .await
}

/// The time entries of a task's page: `tr[data-saisie]`.
pub(crate) async fn entries(c: &mut Client<'_>, g: &str, t: &str) -> Vec<El> {
    all(&page(c, &task_path(g, t)).await, "tr[data-saisie]")
}

/// A time entry logged through the form; its row on the task page (the one new row).
pub(crate) async fn logged(
    c: &mut Client<'_>,
    g: &str,
    t: &str,
    date: &str,
    duree: &str,
    personne: Option<i64>,
) -> El {
    let before: Vec<String> = entries(c, g, t)
        .await
        .iter()
        .map(|e| e.get("data-saisie"))
        .collect();
    let (status, location, body) = log_time(c, g, t, date, duree, personne).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "« {duree} » on {date}: {body}"
    );
    assert!(
        location.as_deref().is_some_and(|l| l.contains("ok=temps")),
        "« {duree} »: {location:?}"
    );
    let mut new: Vec<El> = entries(c, g, t)
        .await
        .into_iter()
        .filter(|e| !before.contains(&e.get("data-saisie")))
        .collect();
    assert_eq!(new.len(), 1, "one entry more for « {duree} »: {new:?}");
    new.remove(0)
}

pub(crate) async fn edit_entry(
    c: &mut Client<'_>,
    g: &str,
    e: &str,
    date: &str,
    duree: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(
        &format!("{A}/p/{g}/temps/{e}/modifier"),
        &[("date", date), ("duree", duree), ("note", "")],
    )
    .await
}

pub(crate) async fn delete_entry(
    c: &mut Client<'_>,
    g: &str,
    e: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(&format!("{A}/p/{g}/temps/{e}/supprimer"), &[])
        .await
}

pub(crate) async fn page(c: &mut Client<'_>, path: &str) -> String {
    let (status, body) = c.get(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// The task rows of a page: `tr[data-tache]`.
pub(crate) fn tasks(page: &str) -> Vec<El> {
    all(page, "tr[data-tache]")
}

pub(crate) fn titled<'a>(rows: &'a [El], title: &str) -> Vec<&'a El> {
    rows.iter().filter(|r| r.text().contains(title)).collect()
}

/// A task row's due date: `td.echeance[data-date]`.
pub(crate) fn due(row: &El) -> Option<String> {
    row.all("td.echeance")
        .first()
        .and_then(|td| td.attr("data-date"))
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

pub(crate) fn ids(rows: &[El], attribute: &str) -> Vec<String> {
    rows.iter().map(|r| r.get(attribute)).collect()
}

/// A 422 carrying `message` in a `div.alert[role=alert]` (any alert when empty).
pub(crate) fn assert_refused(status: StatusCode, body: &str, message: &str, what: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
    let alerts: Vec<String> = all(body, "div.alert[role=alert]")
        .iter()
        .map(El::text)
        .collect();
    assert!(
        alerts.iter().any(|a| a.contains(&same(message))),
        "{what}: the alerts {alerts:?} should say « {message} »"
    );
}

/// The page's text holds `message` (typography aside).
pub(crate) fn says(body: &str, message: &str) -> bool {
    text_of(body).contains(&same(message))
}

/// The mails of the structure's outbox to `to` whose subject holds `subject`.
pub(crate) async fn mails(host: &Host, sid: i64, to: &str, subject: &str) -> Vec<String> {
    host.state
        .db
        .outbox(Some(sid), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to && m.subject.contains(subject))
        .map(|m| m.body)
        .collect()
}

/// The payloads of `task.time-logged` the module published in the structure, in order.
pub(crate) async fn time_events(host: &Host, sid: i64) -> Vec<Value> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE topic = $1 AND structure_id = $2 AND source_plugin = 'projets' ORDER BY id",
    )
    .bind(TIME_LOGGED)
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_str(p).expect("a JSON payload"))
        .collect()
}

pub(crate) async fn events_of(host: &Host, sid: i64, topic: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM event_outbox WHERE topic = $1 AND structure_id = $2")
        .bind(topic)
        .bind(sid)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// An id of a payload, as text whether it was sent as a string or a number.
pub(crate) fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Runs the dispatcher until every `task.time-logged` of the structure reached the
/// indemnity module; a refusal or a fault of the module fails the test with its error.
pub(crate) async fn deliver_time(host: &Host, sid: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        maillage::events::dispatch(&host.state)
            .await
            .expect("a dispatch round");
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, d.status, d.last_error FROM event_outbox e
             LEFT JOIN event_deliveries d ON d.event_id = e.id AND d.plugin_id = 'indemnites'
             WHERE e.structure_id = $1 AND e.topic = $2 ORDER BY e.id",
        )
        .bind(sid)
        .bind(TIME_LOGGED)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        assert!(
            !rows.is_empty(),
            "the projects module published no {TIME_LOGGED}"
        );
        if let Some((id, _, _)) = rows.iter().find(|r| r.1.is_none()) {
            panic!(
                "event {id} ({TIME_LOGGED}) was not given to the indemnity module: does it subscribe to the topic?"
            );
        }
        if let Some((id, status, Some(error))) = rows
            .iter()
            .find(|r| r.1.as_deref() != Some("delivered") && r.2.is_some())
        {
            panic!("the indemnity module did not take event {id} ({status:?}): {error}");
        }
        if rows.iter().all(|r| r.1.as_deref() == Some("delivered")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{TIME_LOGGED} still undelivered after 120 s: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Hours as a CSV cell writes them ("1,5") in minutes.
pub(crate) fn hours_to_minutes(text: &str) -> i64 {
    let hours: f64 = text
        .trim()
        .replace(',', ".")
        .parse()
        .unwrap_or_else(|e| panic!("« {text} » is no number of hours: {e}"));
    (hours * 60.0).round() as i64
}

pub(crate) fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column « {name} » in {header:?}"))
}

// Reading HTML: a small selector engine (tag, `.class`, `#id`, `[attr]`, `[attr=value]`,
// descendants separated by spaces), enough for the module's markers.

#[derive(Debug, Clone)]
pub(crate) struct El {
    pub(crate) attrs: Vec<(String, String)>,
    /// The whole element, start tag to end tag.
    pub(crate) html: String,
    /// Between its start and end tags.
    pub(crate) inner: String,
}

impl El {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An attribute that must be there.
    pub(crate) fn get(&self, name: &str) -> String {
        self.attr(name)
            .unwrap_or_else(|| panic!("no {name} on {}", self.html))
            .to_string()
    }

    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| c == class)
    }

    pub(crate) fn text(&self) -> String {
        text_of(&self.inner)
    }

    pub(crate) fn minutes(&self) -> i64 {
        self.get("data-minutes")
            .parse()
            .unwrap_or_else(|e| panic!("data-minutes of {}: {e}", self.html))
    }

    pub(crate) fn all(&self, selector: &str) -> Vec<El> {
        all(&self.inner, selector)
    }

    pub(crate) fn first(&self, selector: &str) -> El {
        first(&self.inner, selector)
    }

    pub(crate) fn count(&self, selector: &str) -> usize {
        self.all(selector).len()
    }
}

/// One compound selector: `tr.projet[data-groupe=12]`.
pub(crate) struct Simple {
    tag: String,
    classes: Vec<String>,
    id: Option<String>,
    attrs: Vec<(String, Option<String>)>,
}

pub(crate) const MARKS: [char; 3] = ['.', '#', '['];

impl Simple {
    fn parse(selector: &str) -> Simple {
        let end = selector.find(MARKS).unwrap_or(selector.len());
        let mut simple = Simple {
            tag: selector[..end].to_string(),
            classes: Vec::new(),
            id: None,
            attrs: Vec::new(),
        };
        assert!(!simple.tag.is_empty(), "a tag name in {selector}");
        let mut rest = &selector[end..];
        while let Some(mark) = rest.chars().next() {
            rest = &rest[mark.len_utf8()..];
            if mark == '[' {
                let close = rest
                    .find(']')
                    .unwrap_or_else(|| panic!("no ] in {selector}"));
                let inside = &rest[..close];
                rest = &rest[close + 1..];
                simple.attrs.push(match inside.split_once('=') {
                    Some((name, value)) => {
                        (name.to_string(), Some(value.trim_matches('"').to_string()))
                    }
                    None => (inside.to_string(), None),
                });
            } else {
                let end = rest.find(MARKS).unwrap_or(rest.len());
                let name = rest[..end].to_string();
                rest = &rest[end..];
                if mark == '.' {
                    simple.classes.push(name);
                } else {
                    simple.id = Some(name);
                }
            }
        }
        simple
    }

    fn matches(&self, el: &El) -> bool {
        self.classes.iter().all(|c| el.has_class(c))
            && self
                .id
                .as_deref()
                .is_none_or(|id| el.attr("id") == Some(id))
            && self.attrs.iter().all(|(name, value)| match value {
                Some(v) => el.attr(name) == Some(v.as_str()),
                None => el.attr(name).is_some(),
            })
    }
}

/// Every element of `html` matching `selector`, in document order.
pub(crate) fn all(html: &str, selector: &str) -> Vec<El> {
    let mut scopes: Vec<String> = vec![html.to_string()];
    let mut found: Vec<El> = Vec::new();
    for part in selector.split_whitespace() {
        let simple = Simple::parse(part);
        found = scopes
            .iter()
            .flat_map(|scope| elements(scope, &simple.tag))
            .filter(|el| simple.matches(el))
            .collect();
        scopes = found.iter().map(|el| el.inner.clone()).collect();
    }
    found
}

/// The first element matching `selector`; fails the test when there is none.
pub(crate) fn first(html: &str, selector: &str) -> El {
    all(html, selector)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {selector} in\n{html}"))
}

pub(crate) fn count(html: &str, selector: &str) -> usize {
    all(html, selector).len()
}

pub(crate) const VOID: [&str; 8] = ["input", "br", "hr", "img", "meta", "link", "col", "source"];

/// Every `<tag …>…</tag>` of `html` (nested ones too), in document order.
pub(crate) fn elements(html: &str, tag: &str) -> Vec<El> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = html[from..].find(&open) {
        let start = from + found;
        from = start + open.len();
        if !boundary(html, from) {
            continue;
        }
        let Some(tag_end) = start_tag_end(html, from) else {
            break;
        };
        let attrs = parse_attrs(&html[from..tag_end]);
        let after = tag_end + 1;
        let (inner_end, end) = if VOID.contains(&tag) || html[..tag_end].ends_with('/') {
            (after, after)
        } else {
            matching_close(html, after, &open, &close)
        };
        out.push(El {
            attrs,
            html: html[start..end].to_string(),
            inner: html[after..inner_end].to_string(),
        });
    }
    out
}

/// Whether a tag name ends at `at` (`<tr` is not `<track`).
pub(crate) fn boundary(html: &str, at: usize) -> bool {
    html[at..]
        .chars()
        .next()
        .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
}

/// The `>` closing the start tag whose attributes begin at `from`.
pub(crate) fn start_tag_end(html: &str, from: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in html[from..].char_indices() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '>' => return Some(from + i),
                _ => {}
            },
        }
    }
    None
}

/// Where the element's content ends and where its end tag ends.
pub(crate) fn matching_close(html: &str, from: usize, open: &str, close: &str) -> (usize, usize) {
    let mut depth = 1;
    let mut at = from;
    loop {
        let next_open = html[at..].find(open).map(|i| at + i);
        let Some(next_close) = html[at..].find(close).map(|i| at + i) else {
            return (html.len(), html.len());
        };
        match next_open {
            Some(o) if o < next_close => {
                at = o + open.len();
                if boundary(html, at) {
                    depth += 1;
                }
            }
            _ => {
                depth -= 1;
                at = next_close + close.len();
                if depth == 0 {
                    return (next_close, at);
                }
            }
        }
    }
}

pub(crate) fn parse_attrs(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' && chars[i] != '/' {
            i += 1;
        }
        if start == i {
            break;
        }
        let name: String = chars[start..i].iter().collect();
        let value: String = if i < chars.len() && chars[i] == '=' {
            i += 1;
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let quote = chars[i];
                i += 1;
                let begin = i;
                while i < chars.len() && chars[i] != quote {
                    i += 1;
                }
                let value: String = chars[begin..i].iter().collect();
                i += 1;
                value
            } else {
                let begin = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                chars[begin..i].iter().collect()
            }
        } else {
            String::new()
        };
        out.push((name.to_ascii_lowercase(), unescape(&value)));
    }
    out
}

pub(crate) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of some HTML, tags removed, spaces collapsed (see [`same`]).
pub(crate) fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        if in_tag {
            if c == '>' {
                in_tag = false;
                out.push(' ');
            }
        } else if c == '<' {
            in_tag = true;
        } else {
            out.push(c);
        }
    }
    same(&unescape(&out))
}

/// A French text compared typography aside: narrow or non-breaking spaces as spaces,
/// straight apostrophes as typographic ones, runs of spaces as one.
pub(crate) fn same(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}'], " ")
        .replace('\'', "’")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

// The tests.

#[tokio::test]
pub(crate) async fn who_may_read_and_change_an_open_and_a_closed_project() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;

    // Both creations are in the structure's audit log.
    let journal = host.state.db.audit_entries(Some(w.sid), 50).await.unwrap();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.action == "projets.projet.creer")
            .count(),
        2,
        "{journal:?}"
    );

    // Anne, membre active, creates tasks; Gustave, invité, is given one and logs on it only.
    let open_task = new_task(
        &mut anne,
        &w.open,
        "Rédiger la fiche réflexe",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    let guest_task = new_task(
        &mut anne,
        &w.open,
        "Relever les gardes",
        &[w.gus],
        "",
        "aucune",
    )
    .await;
    let closed_task = new_task(
        &mut anne,
        &w.closed,
        "Recenser les psychologues",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    logged(&mut anne, &w.open, &open_task, &day(-2), "1 h", None).await;
    logged(&mut gus, &w.open, &guest_task, &day(-2), "30 min", None).await;
    let (status, _, body) = log_time(&mut gus, &w.open, &open_task, &day(-2), "30 min", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a guest on a task not assigned to him: {body}"
    );

    // The group's members and the coordinator see the time per person; those who may
    // create tasks see the form.
    for (who, client, may_create) in [
        ("Claire", &mut claire, true),
        ("Rémi", &mut remi, true),
        ("Anne", &mut anne, true),
        ("Gustave", &mut gus, false),
    ] {
        let p = page(client, &project_path(&w.open)).await;
        assert_eq!(
            count(&p, "form.tache"),
            usize::from(may_create),
            "{who}: form.tache"
        );
        let row = first(
            &p,
            &format!("table.temps-personnes tr[data-personne={}]", w.anne),
        );
        assert_eq!(row.first("td.heures").minutes(), 60, "{who}: Anne's time");
        assert_eq!(
            first(&p, "span.total-temps").minutes(),
            90,
            "{who}: the total"
        );
    }
    let p = page(&mut anne, &project_path(&w.open)).await;
    assert!(
        first(&p, "header.projet h1").text().contains(OPEN_NAME),
        "{p}"
    );
    assert_eq!(count(&p, "section#objectifs li"), 2, "one objective a line");
    assert_eq!(first(&p, "header.projet span.numero").text(), "1.2");

    // Oscar, a member in no group: the open project without what is the members'.
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert!(first(&p, "header.projet h1").text().contains(OPEN_NAME));
    assert_eq!(
        first(&p, "span.total-temps").minutes(),
        90,
        "the total only"
    );
    assert_eq!(count(&p, "form.tache"), 0, "no task form for Oscar");
    assert_eq!(
        count(&p, "table.temps-personnes"),
        0,
        "no time per person for Oscar"
    );
    let list = page(&mut oscar, &format!("{A}/")).await;
    assert_eq!(
        count(&list, &format!("li.projet[data-groupe={}]", w.open)),
        1,
        "{list}"
    );
    assert_eq!(
        count(&list, &format!("li.projet[data-groupe={}]", w.closed)),
        0,
        "a closed project of others is absent: {list}"
    );
    let list = page(&mut anne, &format!("{A}/")).await;
    for g in [&w.open, &w.closed] {
        assert_eq!(
            count(&list, &format!("li.projet[data-groupe={g}]")),
            1,
            "{list}"
        );
    }
    // The closed project does not exist for him, reading or writing (404 before 403).
    for path in [
        project_path(&w.closed),
        task_path(&w.closed, &closed_task),
        format!("{A}/p/{}/temps", w.closed),
        format!("{A}/p/{}/modifier", w.closed),
    ] {
        let (status, body) = oscar.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Oscar GET {path}");
        assert!(!body.contains(CLOSED_NAME), "Oscar GET {path}");
    }
    let (status, _, _) = post_task(&mut oscar, &w.closed, "Intrusion", &[], "", "aucune").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a task on the closed project"
    );
    let (status, _, _) = log_time(&mut oscar, &w.closed, &closed_task, &day(-1), "1h", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "time on the closed project");
    let (status, _, _) = edit_project(&mut oscar, &w.closed, "3.1", "Intrusion").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "editing the closed project");
    // The open one he reads, and may not change.
    let (status, _, _) = post_task(&mut oscar, &w.open, "Intrusion", &[], "", "aucune").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a task on the open project");
    let (status, _, _) = log_time(&mut oscar, &w.open, &open_task, &day(-1), "1h", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "time on the open project");
    let (status, _, _) = edit_project(&mut oscar, &w.open, "1.2", "Intrusion").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "editing the open project");
    let (status, _, _) = done(&mut oscar, &w.open, &open_task).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "marking a task done");

    // Bob, of structure B: nothing of A, through B's address or A's.
    for path in [
        format!("{B}/p/{}", w.closed),
        format!("{B}/p/{}", w.open),
        format!("{B}/p/{}/taches/{open_task}", w.open),
        format!("{A}/p/{}", w.closed),
        format!("{A}/p/{}", w.open),
    ] {
        let (status, body) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}");
        assert!(
            !body.contains(CLOSED_NAME) && !body.contains(OPEN_NAME),
            "Bob GET {path}"
        );
    }
    let (status, _, _) = bob
        .post_form(
            &format!("{B}/p/{}/taches", w.open),
            &[("titre", "Intrusion"), ("recurrence", "aucune")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Bob POST a task through B");

    // Gustave, invité, creates no task.
    for g in [&w.open, &w.closed] {
        let (status, _, body) = post_task(&mut gus, g, "Intrusion", &[], "", "aucune").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a guest's task: {body}");
    }
    let p = page(&mut claire, &project_path(&w.open)).await;
    assert!(
        titled(&tasks(&p), "Intrusion").is_empty(),
        "no refused task was stored"
    );

    // The référent edits the project; a membre active or an invité may not.
    let (status, _) = anne.get(&format!("{A}/p/{}/modifier", w.open)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne opens the edit form");
    let (status, _) = remi.get(&format!("{A}/p/{}/modifier", w.open)).await;
    assert_eq!(status, StatusCode::OK, "Rémi opens the edit form");
    let (status, location, body) = edit_project(
        &mut remi,
        &w.open,
        "1.2",
        "Une description revue par le référent.",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=modifie")),
        "{location:?}"
    );
    for (who, client) in [("Anne", &mut anne), ("Gustave", &mut gus)] {
        let (status, _, _) = edit_project(client, &w.open, "1.2", "Pas de droit.").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who} edits the project");
    }
    let p = page(&mut anne, &project_path(&w.open)).await;
    let description = first(&p, "section#description").text();
    assert!(
        description.contains("Une description revue par le référent."),
        "{description}"
    );
    assert!(!description.contains("Pas de droit."), "{description}");

    // Members create projects with a new group of their own (WIT 0.2.6, see
    // `members_create_their_projects_and_referents_decide_who_joins`); an existing group
    // is given a project by coordinators only, even its référent.
    for (who, client) in [("Anne", &mut anne), ("Rémi", &mut remi)] {
        let (status, _) = client.get(&format!("{A}/nouveau")).await;
        assert_eq!(status, StatusCode::OK, "{who} GET /nouveau");
        let (status, _, body) = create_project(client, &w.free, "1.3", "1", &[]).await;
        assert_refused(status, &body, "Choisissez un groupe de travail.", who);
    }
    // A group with no project: the coordinator is sent to create it, others find nothing.
    let (status, location, _) = claire.get_full(&project_path(&w.free)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains(&format!("/nouveau?groupe={}", w.free))),
        "{location:?}"
    );
    let (status, _) = anne.get(&project_path(&w.free)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no project for Anne");

    // Ids of another project's task, or no id at all, lead nowhere.
    for path in [
        task_path(&w.open, &closed_task),
        task_path(&w.closed, &open_task),
        format!("{A}/p/abc"),
        format!("{A}/p/999999"),
        format!("{A}/p/{}/taches/pas-un-id", w.open),
        format!("{A}/p/{}/taches/{}", w.open, "0".repeat(26)),
    ] {
        for (who, client) in [("Anne", &mut anne), ("Claire", &mut claire)] {
            let (status, _) = client.get(&path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {path}");
        }
    }
    let (status, _, _) = log_time(&mut anne, &w.open, &closed_task, &day(-1), "1h", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "time on another project's task"
    );
    let (status, _, _) = done(&mut anne, &w.open, &closed_task).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another project's task done");
    let p = page(&mut anne, &task_path(&w.closed, &closed_task)).await;
    assert_eq!(count(&p, "tr[data-saisie]"), 0, "nothing logged on it");
    assert_eq!(count(&p, "form.faite"), 1, "still to do");
}

#[tokio::test]
pub(crate) async fn durations_are_read_as_people_type_them_and_bad_ones_store_nothing() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let anne_id = w.anne.to_string();
    let t1 = new_task(
        &mut anne,
        &w.open,
        "Rédiger la fiche réflexe",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    let t2 = new_task(
        &mut anne,
        &w.closed,
        "Recenser les psychologues",
        &[w.anne],
        "",
        "aucune",
    )
    .await;

    let d1 = day(-3);
    let mut accepted = 0;
    for (typed, minutes) in [
        ("1:30", 90),
        ("1h30", 90),
        ("1 h 30", 90),
        ("1h", 60),
        ("2 h", 120),
        ("45 min", 45),
        ("45min", 45),
        ("90 min", 90),
        ("1,5", 90),
        ("1.5", 90),
        ("0,25", 15),
    ] {
        let row = logged(&mut anne, &w.open, &t1, &d1, typed, None).await;
        accepted += minutes;
        let duration = row.first("span.duree");
        assert_eq!(duration.minutes(), minutes, "« {typed} »: {}", row.html);
        if typed == "1:30" {
            assert_eq!(duration.text(), "1 h 30", "shown as « 1 h 30 »");
        }
        assert_eq!(
            row.attr("data-personne"),
            Some(anne_id.as_str()),
            "Anne's own entry"
        );
    }

    let before = entries(&mut anne, &w.open, &t1).await.len();
    for (typed, message) in [
        ("-1", "La durée doit être positive."),
        ("0", "La durée doit être positive."),
        ("90", "Une saisie ne peut dépasser 24 h"),
        ("25 h", "Une saisie ne peut dépasser 24 h"),
        (
            "abc",
            "Durée illisible : écrivez par exemple 1 h 30, 45 min ou 1,5.",
        ),
        ("", "Durée illisible"),
    ] {
        let (status, _, body) = log_time(&mut anne, &w.open, &t1, &d1, typed, None).await;
        assert_refused(status, &body, message, &format!("« {typed} »"));
    }
    let (status, _, body) = log_time(&mut anne, &w.open, &t1, &day(2), "1h", None).await;
    assert_refused(
        status,
        &body,
        "La date du travail ne peut pas être dans le futur.",
        "a date to come",
    );
    for date in ["1999-12-31", "31/12/2026", "2026-02-30"] {
        let (status, _, body) = log_time(&mut anne, &w.open, &t1, date, "1h", None).await;
        assert_refused(status, &body, "", date);
    }
    assert_eq!(
        entries(&mut anne, &w.open, &t1).await.len(),
        before,
        "nothing stored after a refusal"
    );

    // At most 24 h a day for a person, across projects.
    let d2 = day(-4);
    logged(&mut anne, &w.open, &t1, &d2, "20 h", None).await;
    let before = entries(&mut anne, &w.closed, &t2).await.len();
    let (status, _, body) = log_time(&mut anne, &w.closed, &t2, &d2, "5 h", None).await;
    assert_refused(
        status,
        &body,
        "Le total saisi pour Anne Active le",
        "25 h in a day",
    );
    assert_refused(status, &body, "dépasserait 24 h", "25 h in a day");
    assert_eq!(
        entries(&mut anne, &w.closed, &t2).await.len(),
        before,
        "nothing stored"
    );
    // Exactly 24 h is allowed; a quarter more is not, on either project.
    logged(&mut anne, &w.closed, &t2, &d2, "4 h", None).await;
    let (status, _, body) = log_time(&mut anne, &w.open, &t1, &d2, "0,25", None).await;
    assert_refused(status, &body, "dépasserait 24 h", "24 h 15 in a day");
    let total = first(
        &page(&mut anne, &project_path(&w.open)).await,
        "span.total-temps",
    )
    .minutes();
    assert_eq!(
        total,
        accepted + 1200,
        "the project holds only what was accepted"
    );
}

#[tokio::test]
pub(crate) async fn time_totals_on_pages_and_exports_are_sums_of_the_entries() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let t1 = new_task(
        &mut anne,
        &w.open,
        "Rédiger la fiche réflexe",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    let t2 = new_task(
        &mut remi,
        &w.open,
        "Annuaire des disponibilités",
        &[w.anne, w.remi],
        "",
        "aucune",
    )
    .await;
    // Anne 90 + 45 + 120 = 255, Rémi 75 + 30 = 105; the fiche 285, the annuaire 75.
    logged(&mut anne, &w.open, &t1, &day(-2), "1h30", None).await;
    logged(&mut anne, &w.open, &t2, &day(-3), "45 min", None).await;
    logged(&mut anne, &w.open, &t1, &day(-5), "2 h", None).await;
    logged(&mut remi, &w.open, &t1, &day(-2), "1:15", None).await;
    logged(&mut remi, &w.open, &t2, &day(-6), "30 min", None).await;

    // The project page.
    let p = page(&mut claire, &project_path(&w.open)).await;
    assert_eq!(first(&p, "span.total-temps").minutes(), 360);
    let section = first(&p, "section#temps").text();
    assert!(
        section.contains("Temps passé sur le projet : 6 h"),
        "{section}"
    );
    for (person, minutes) in [(w.anne, 255), (w.remi, 105)] {
        let row = first(
            &p,
            &format!("table.temps-personnes tr[data-personne={person}]"),
        );
        assert_eq!(row.first("td.heures").minutes(), minutes, "{}", row.html);
    }
    assert_eq!(
        count(&p, "table.temps-personnes tr[data-personne]"),
        2,
        "one row per person"
    );
    for (task, minutes) in [(&t1, 285), (&t2, 75)] {
        let row = first(&p, &format!("table.taches tr[data-tache={task}]"));
        assert_eq!(row.first("td.heures").minutes(), minutes, "{}", row.html);
    }
    // Outside the group, the total only.
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert_eq!(first(&p, "span.total-temps").minutes(), 360);
    let (status, _) = oscar.get(&format!("{A}/p/{}/temps", w.open)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Oscar's detail of the time");

    // The detail page, grouped three ways: its rows sum to the total.
    for (query, par, expected) in [
        ("", "personne", Some([105_i64, 255])),
        ("?par=personne", "personne", Some([105, 255])),
        ("?par=tache", "tache", Some([75, 285])),
        ("?par=mois", "mois", None),
    ] {
        let p = page(&mut anne, &format!("{A}/p/{}/temps{query}", w.open)).await;
        let table = first(&p, "table.temps");
        assert_eq!(table.attr("data-par"), Some(par), "{query}");
        let mut rows: Vec<i64> = table
            .all("tr[data-cle]")
            .iter()
            .filter(|r| !r.has_class("total"))
            .map(|r| r.first("td.heures").minutes())
            .collect();
        rows.sort_unstable();
        assert_eq!(rows.iter().sum::<i64>(), 360, "rows of {query}: {rows:?}");
        if let Some(expected) = expected {
            assert_eq!(rows, expected, "{query}");
        }
        assert_eq!(
            table.first("tfoot tr.total td.heures").minutes(),
            360,
            "the total of {query}"
        );
    }

    // The CSV export: one row per entry, then the total.
    let (status, headers, csv) = anne
        .get_with_headers(&format!("{A}/p/{}/temps.csv", w.open))
        .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let disposition = headers
        .get(http::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        disposition.contains("attachment") && disposition.contains(".csv"),
        "{disposition}"
    );
    let rows = parse_csv(&csv);
    let header = &rows[0];
    for name in [
        "Date du travail",
        "Projet",
        "Numéro",
        "Mission",
        "Tâche",
        "Personne",
        "Durée (h)",
        "Note",
        "Saisi par",
        "Pour autrui",
    ] {
        column(header, name);
    }
    let (person, hours, task, behalf, project) = (
        column(header, "Personne"),
        column(header, "Durée (h)"),
        column(header, "Tâche"),
        column(header, "Pour autrui"),
        column(header, "Projet"),
    );
    let (totals, lines): (Vec<&Vec<String>>, Vec<&Vec<String>>) = rows[1..]
        .iter()
        .partition(|r| r.first().is_some_and(|c| c == "Total"));
    assert_eq!(lines.len(), 5, "one row per entry: {rows:?}");
    assert_eq!(totals.len(), 1, "one total row: {rows:?}");
    assert_eq!(rows[rows.len() - 1][0], "Total", "the total comes last");
    let sum_of = |name: &str| -> i64 {
        lines
            .iter()
            .filter(|r| r[person] == name)
            .map(|r| hours_to_minutes(&r[hours]))
            .sum()
    };
    assert_eq!(sum_of("Anne Active"), 255);
    assert_eq!(sum_of("Rémi Référent"), 105);
    assert_eq!(hours_to_minutes(&totals[0][hours]), 360);
    assert_eq!(
        lines
            .iter()
            .filter(|r| r[task] == "Rédiger la fiche réflexe")
            .count(),
        3
    );
    assert!(lines.iter().all(|r| r[behalf] == "Non"), "{lines:?}");
    assert!(lines.iter().all(|r| r[project] == OPEN_NAME), "{lines:?}");

    // The workbook: the same rows, hours as numbers.
    let (status, headers, bytes) = anne
        .get_bytes(&format!("{A}/p/{}/temps.xlsx", w.open))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(XLSX)
    );
    let book = crate::support::read_workbook(&bytes, "projets");
    let sheet = book["Temps passé"]
        .as_array()
        .unwrap_or_else(|| panic!("no sheet « Temps passé »: {book}"));
    let rows: Vec<&Vec<Value>> = sheet
        .iter()
        .filter_map(Value::as_array)
        .filter(|r| r.iter().any(|c| !c.is_null()))
        .collect();
    let header: Vec<String> = rows[0]
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    let (person, hours) = (column(&header, "Personne"), column(&header, "Durée (h)"));
    let (totals, lines): (Vec<&Vec<Value>>, Vec<&Vec<Value>>) = rows[1..]
        .iter()
        .copied()
        .partition(|r| r.first().and_then(Value::as_str) == Some("Total"));
    assert_eq!(lines.len(), 5, "one row per entry: {rows:?}");
    assert_eq!(totals.len(), 1, "one total row: {rows:?}");
    let minutes_of = |cell: &Value| -> i64 {
        let hours = cell
            .as_f64()
            .unwrap_or_else(|| panic!("{cell} is not a number"));
        (hours * 60.0).round() as i64
    };
    let anne_minutes: i64 = lines
        .iter()
        .filter(|r| r[person].as_str() == Some("Anne Active"))
        .map(|r| minutes_of(&r[hours]))
        .sum();
    assert_eq!(anne_minutes, 255);
    let all_minutes: i64 = lines.iter().map(|r| minutes_of(&r[hours])).sum();
    assert_eq!(all_minutes, 360);
    let total = &totals[0][hours];
    match total.as_str() {
        Some(formula) => assert!(formula.starts_with("=SUM"), "the total: {total}"),
        None => assert_eq!(minutes_of(total), 360, "the total"),
    }

    // The coordinators' time report, and « Mon temps passé ».
    let p = page(&mut claire, &format!("{A}/temps")).await;
    let sum: i64 = all(&p, "table.temps tr[data-cle]")
        .iter()
        .filter(|r| !r.has_class("total"))
        .map(|r| r.first("td.heures").minutes())
        .sum();
    assert_eq!(sum, 360, "the structure's time");
    let (status, _) = anne.get(&format!("{A}/temps")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the report is the coordinators'"
    );
    let p = page(&mut anne, &format!("{A}/mon-temps")).await;
    let mine = first(
        &p,
        &format!(
            "table.mon-temps tr.projet[data-groupe={}] td.heures",
            w.open
        ),
    );
    assert_eq!(mine.minutes(), 255, "Anne's own time");

    // The projects list and its export.
    let list = page(&mut anne, &format!("{A}/")).await;
    let item = first(&list, &format!("li.projet[data-groupe={}]", w.open));
    assert_eq!(item.first("span.taches-ouvertes").get("data-count"), "2");
    assert_eq!(item.first("span.numero").text(), "1.2");
    assert_eq!(item.attr("data-etat"), Some("en-cours"));
    let (status, _, csv) = anne.get_with_headers(&format!("{A}/export.csv")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        [
            "Numéro",
            "Projet",
            "Mission",
            "État",
            "Visibilité",
            "Référents",
            "Membres",
            "Date de début",
            "Tâches ouvertes",
            "Temps passé (h)"
        ]
    );
    let row = rows
        .iter()
        .find(|r| r[0] == "1.2")
        .unwrap_or_else(|| panic!("no project 1.2 in {rows:?}"));
    assert_eq!(row[1], OPEN_NAME);
    assert_eq!(row[3], "En cours");
    assert_eq!(row[4], "Ouvert");
    assert_eq!(row[8], "2");
    assert_eq!(row[9], "6");
}

#[tokio::test]
pub(crate) async fn time_logged_for_someone_else_is_traced_mailed_and_for_managers_only() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let (anne_id, remi_id) = (w.anne.to_string(), w.remi.to_string());
    let title = "Mettre à jour la liste des gardes";
    let t = new_task(&mut remi, &w.open, title, &[w.anne, w.remi], "", "aucune").await;

    // Rémi, référent, logs his own time, then Anne's.
    let own = logged(&mut remi, &w.open, &t, &day(-2), "30 min", None).await;
    assert_eq!(own.attr("data-personne"), Some(remi_id.as_str()));
    assert_eq!(own.count("span.saisi-par"), 0, "his own: {}", own.html);
    let theirs = logged(&mut remi, &w.open, &t, &day(-1), "1h30", Some(w.anne)).await;
    assert_eq!(theirs.attr("data-personne"), Some(anne_id.as_str()));
    let (own_id, theirs_id) = (own.get("data-saisie"), theirs.get("data-saisie"));
    assert!(
        theirs
            .first("span.saisi-par")
            .text()
            .contains("Rémi Référent"),
        "{}",
        theirs.html
    );
    let seen_by_anne = entries(&mut anne, &w.open, &t).await;
    let row = seen_by_anne
        .iter()
        .find(|e| e.attr("data-saisie") == Some(theirs_id.as_str()))
        .expect("Anne sees the entry made for her");
    assert_eq!(row.count("span.saisi-par"), 1, "{}", row.html);

    // Anne is told, Rémi is not; the audit log holds it once.
    let to_anne = mails(
        &host,
        w.sid,
        "anne@a.test",
        "Rémi Référent a saisi du temps pour vous",
    )
    .await;
    assert_eq!(to_anne.len(), 1, "one mail to Anne");
    assert!(to_anne[0].contains(title), "{}", to_anne[0]);
    assert!(
        mails(&host, w.sid, "remi@a.test", "a saisi du temps pour vous")
            .await
            .is_empty(),
        "no mail for his own entry"
    );
    let journal = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    let traced: Vec<_> = journal
        .iter()
        .filter(|e| e.action == "projets.temps.saisir-pour")
        .collect();
    assert_eq!(traced.len(), 1, "{journal:?}");
    assert!(
        traced[0].actor.contains("Rémi Référent"),
        "{}",
        traced[0].actor
    );
    let events = time_events(&host, w.sid).await;
    let created = events
        .iter()
        .find(|e| id_text(&e["entry"]) == theirs_id)
        .unwrap_or_else(|| panic!("no {TIME_LOGGED} for the entry: {events:?}"));
    assert_eq!(created["change"], "created");
    assert_eq!(created["on_behalf"], json!(true));
    assert_eq!(id_text(&created["person"]), anne_id);
    assert_eq!(id_text(&created["entered_by"]), remi_id);
    assert_eq!(created["minutes"], json!(90));
    assert_eq!(id_text(&created["group_id"]), w.open);

    // Only managers log for someone else; and only for the group's members.
    let before = entries(&mut anne, &w.open, &t).await.len();
    let (status, _, body) = log_time(&mut anne, &w.open, &t, &day(-1), "1h", Some(w.remi)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a membre active for Rémi: {body}"
    );
    let (status, _, body) = log_time(&mut gus, &w.open, &t, &day(-1), "1h", Some(w.anne)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a guest for Anne: {body}");
    let (status, _, body) = log_time(&mut remi, &w.open, &t, &day(-1), "1h", Some(w.oscar)).await;
    assert_refused(
        status,
        &body,
        "ne fait pas partie du groupe de travail.",
        "for a member outside the group",
    );
    assert_eq!(
        entries(&mut anne, &w.open, &t).await.len(),
        before,
        "nothing stored"
    );

    // Anne may not touch Rémi's entry.
    let (status, _) = anne
        .get(&format!("{A}/p/{}/temps/{own_id}/modifier", w.open))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne opens Rémi's entry");
    let (status, _, body) = edit_entry(&mut anne, &w.open, &own_id, &day(-2), "3 h").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne edits Rémi's entry");
    assert!(
        says(
            &body,
            "Vous ne pouvez modifier que vos propres saisies de temps."
        ),
        "{body}"
    );
    let (status, _, _) = delete_entry(&mut anne, &w.open, &own_id).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne deletes Rémi's entry");
    let (status, _, _) = edit_entry(&mut gus, &w.open, &theirs_id, &day(-1), "3 h").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Gustave edits Anne's entry");
    // An entry through another project's address.
    let (status, _, _) = edit_entry(&mut anne, &w.closed, &theirs_id, &day(-1), "2 h").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "through the closed project");

    // Her own entry (made for her by Rémi) she corrects, then removes.
    let (status, _) = anne
        .get(&format!("{A}/p/{}/temps/{theirs_id}/modifier", w.open))
        .await;
    assert_eq!(status, StatusCode::OK, "Anne opens her entry");
    let (status, _, body) = edit_entry(&mut anne, &w.open, &theirs_id, &day(-1), "2 h").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "Anne edits her entry: {body}"
    );
    let now = entries(&mut anne, &w.open, &t).await;
    let minutes_of = |id: &str| {
        now.iter()
            .find(|e| e.attr("data-saisie") == Some(id))
            .map(|e| e.first("span.duree").minutes())
    };
    assert_eq!(
        minutes_of(theirs_id.as_str()),
        Some(120),
        "her entry is now 2 h"
    );
    assert_eq!(minutes_of(own_id.as_str()), Some(30), "Rémi's is unchanged");
    let (status, _, body) = delete_entry(&mut anne, &w.open, &theirs_id).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "Anne deletes her entry: {body}"
    );
    let now = ids(&entries(&mut anne, &w.open, &t).await, "data-saisie");
    assert_eq!(now, [own_id], "only Rémi’s entry is left");

    // One event per change, with increasing revisions.
    let history: Vec<(String, i64, i64)> = time_events(&host, w.sid)
        .await
        .iter()
        .filter(|e| id_text(&e["entry"]) == theirs_id)
        .map(|e| {
            (
                e["change"].as_str().unwrap_or_default().to_string(),
                e["revision"].as_i64().unwrap_or_default(),
                e["minutes"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("created".to_string(), 1, 90),
            ("updated".to_string(), 2, 120),
            ("deleted".to_string(), 3, 0),
        ]
    );
}

/// Marks `task` done and finds the occurrence it created: its id, checked due `next`.
pub(crate) async fn done_with_next(
    c: &mut Client<'_>,
    g: &str,
    title: &str,
    task: &str,
    next: &str,
) -> String {
    let (status, location, body) = done(c, g, task).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "« {title} » done: {body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=faite-suivante")),
        "« {title} »: {location:?}"
    );
    let p = page(c, &project_path(g)).await;
    let rows = tasks(&p);
    let series = titled(&rows, title);
    let this = series
        .iter()
        .find(|r| r.attr("data-tache") == Some(task))
        .unwrap_or_else(|| panic!("« {title} » is gone: {series:?}"));
    assert_eq!(this.attr("data-statut"), Some("faite"), "{}", this.html);
    let open: Vec<&&El> = series
        .iter()
        .filter(|r| r.attr("data-statut") == Some("a_faire"))
        .collect();
    assert_eq!(
        open.len(),
        1,
        "one occurrence to do of « {title} »: {series:?}"
    );
    assert_eq!(
        due(open[0]).as_deref(),
        Some(next),
        "« {title} »: {}",
        open[0].html
    );
    open[0].get("data-tache")
}

#[tokio::test]
pub(crate) async fn a_recurring_task_done_gets_its_next_occurrence_once() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;

    // Monthly from 31 January: the end of February, then 31 March.
    let title = "Point mensuel des disponibilités";
    let first_task = new_task(
        &mut anne,
        &w.open,
        title,
        &[w.anne],
        "2027-01-31",
        "mensuelle",
    )
    .await;
    let second = done_with_next(&mut anne, &w.open, title, &first_task, "2027-02-28").await;
    let third = done_with_next(&mut anne, &w.open, title, &second, "2027-03-31").await;
    // The occurrence keeps its assignee.
    let mine = page(&mut anne, &format!("{A}/mes-taches")).await;
    assert_eq!(
        count(&mine, &format!("tr[data-tache={third}]")),
        1,
        "{mine}"
    );

    // Reopened, then done again: no second next occurrence.
    let (status, _, body) = reopen(&mut anne, &w.open, &first_task).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "reopened: {body}");
    let p = page(&mut anne, &project_path(&w.open)).await;
    let rows = tasks(&p);
    let series = titled(&rows, title);
    assert_eq!(series.len(), 3, "{series:?}");
    let reopened = first(&p, &format!("tr[data-tache={first_task}]"));
    assert_eq!(reopened.attr("data-statut"), Some("a_faire"));
    let (status, location, body) = done(&mut anne, &w.open, &first_task).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "done again: {body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=faite") && !l.contains("faite-suivante")),
        "{location:?}"
    );
    let p = page(&mut anne, &project_path(&w.open)).await;
    let rows = tasks(&p);
    let series = titled(&rows, title);
    assert_eq!(series.len(), 3, "no new occurrence: {series:?}");
    let dues: Vec<Option<String>> = series.iter().copied().map(due).collect();
    assert_eq!(
        dues.iter()
            .filter(|d| d.as_deref() == Some("2027-02-28"))
            .count(),
        1,
        "{dues:?}"
    );

    // Done twice, reopened while to do: conflicts.
    let (status, _, body) = done(&mut anne, &w.open, &first_task).await;
    assert_eq!(status, StatusCode::CONFLICT, "done twice: {body}");
    assert!(says(&body, "Cette tâche est déjà faite."), "{body}");
    let (status, _, body) = reopen(&mut anne, &w.open, &third).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a task to do reopened: {body}"
    );
    // Neither a guest it is not assigned to nor someone outside the group marks it done.
    for (who, client) in [("Gustave", &mut gus), ("Oscar", &mut oscar)] {
        let (status, _, _) = done(client, &w.open, &third).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let p = page(&mut anne, &project_path(&w.open)).await;
    assert_eq!(
        first(&p, &format!("tr[data-tache={third}]")).attr("data-statut"),
        Some("a_faire")
    );

    // The other rules, from dates to come.
    for (title, start, rule, next) in [
        (
            "Relevé hebdomadaire",
            "2027-01-06",
            "hebdomadaire",
            "2027-01-13",
        ),
        (
            "Point de quinzaine",
            "2027-01-06",
            "toutes-les-2-semaines",
            "2027-01-20",
        ),
        (
            "Bilan trimestriel",
            "2027-01-31",
            "trimestrielle",
            "2027-04-30",
        ),
        ("Bilan annuel", "2028-02-29", "annuelle", "2029-02-28"),
    ] {
        let task = new_task(&mut anne, &w.open, title, &[w.anne], start, rule).await;
        done_with_next(&mut anne, &w.open, title, &task, next).await;
    }

    // A task that does not recur has no next occurrence.
    let title = "Réserver la salle";
    let once = new_task(&mut anne, &w.open, title, &[w.anne], "2027-01-31", "aucune").await;
    let (status, location, body) = done(&mut anne, &w.open, &once).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=faite") && !l.contains("faite-suivante")),
        "{location:?}"
    );
    let p = page(&mut anne, &project_path(&w.open)).await;
    assert_eq!(titled(&tasks(&p), title).len(), 1);
}

#[tokio::test]
pub(crate) async fn my_tasks_are_mine_due_soon_first_in_projects_i_may_read() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;

    // Rémi gives Anne tasks in both projects.
    let pharmacies = new_task(
        &mut remi,
        &w.open,
        "Relancer les pharmacies",
        &[w.anne],
        "2027-03-10",
        "aucune",
    )
    .await;
    let meeting = new_task(
        &mut remi,
        &w.closed,
        "Préparer la réunion",
        &[w.anne],
        "2027-02-01",
        "aucune",
    )
    .await;
    let report = new_task(
        &mut remi,
        &w.open,
        "Écrire le compte rendu",
        &[w.anne, w.remi],
        "2027-01-15",
        "aucune",
    )
    .await;
    let list = new_task(
        &mut remi,
        &w.open,
        "Mettre à jour la liste",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    let his = new_task(
        &mut remi,
        &w.open,
        "Appeler l’ARS",
        &[w.remi],
        "2027-01-10",
        "aucune",
    )
    .await;
    let finished = new_task(
        &mut remi,
        &w.open,
        "Tâche terminée",
        &[w.anne],
        "2027-01-20",
        "aucune",
    )
    .await;
    let (status, _, body) = done(&mut anne, &w.open, &finished).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // Each assignee but the author was mailed.
    assert_eq!(
        mails(
            &host,
            w.sid,
            "anne@a.test",
            "Nouvelle tâche : Relancer les pharmacies"
        )
        .await
        .len(),
        1
    );
    assert!(
        mails(&host, w.sid, "remi@a.test", "Nouvelle tâche")
            .await
            .is_empty(),
        "the author is not mailed"
    );

    let mine = page(&mut anne, &format!("{A}/mes-taches")).await;
    let rows = tasks(&mine);
    assert_eq!(
        ids(&rows, "data-tache"),
        [
            report.clone(),
            meeting.clone(),
            pharmacies.clone(),
            list.clone()
        ],
        "due soon first, none due last: {mine}"
    );
    assert!(
        rows.iter()
            .all(|r| r.attr("data-statut") == Some("a_faire"))
    );
    let p = page(&mut anne, &format!("{A}/mes-taches?etat=faites")).await;
    let rows = tasks(&p);
    assert_eq!(
        ids(&rows, "data-tache"),
        std::slice::from_ref(&finished),
        "{p}"
    );
    assert_eq!(rows[0].attr("data-statut"), Some("faite"));
    let p = page(&mut anne, &format!("{A}/mes-taches?etat=toutes")).await;
    let mut every = ids(&tasks(&p), "data-tache");
    every.sort();
    let mut expected = [
        report.clone(),
        meeting.clone(),
        pharmacies.clone(),
        list.clone(),
        finished,
    ];
    expected.sort();
    assert_eq!(every, expected, "{p}");

    // Rémi's own list.
    let p = page(&mut remi, &format!("{A}/mes-taches")).await;
    assert_eq!(ids(&tasks(&p), "data-tache"), [his, report.clone()], "{p}");
    // Oscar has none.
    let p = page(&mut oscar, &format!("{A}/mes-taches")).await;
    assert!(tasks(&p).is_empty(), "{p}");

    // Anne leaves the closed group: its task is no longer hers to see.
    let db = &host.state.db;
    let closed = db
        .group(w.sid, w.closed.parse().unwrap(), w.remi)
        .await
        .unwrap()
        .expect("the closed group");
    db.remove_group_member(&closed, w.anne).await.unwrap();
    let mine = page(&mut anne, &format!("{A}/mes-taches")).await;
    assert_eq!(
        ids(&tasks(&mine), "data-tache"),
        [report, pharmacies, list],
        "{mine}"
    );
    assert!(!mine.contains("Préparer la réunion"), "{mine}");
    let (status, _) = anne.get(&task_path(&w.closed, &meeting)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the task itself");
}

/// « Mon compte »'s hours cell of the open project (`tr.projet` naming it).
pub(crate) fn project_hours(html: &str) -> El {
    let rows: Vec<El> = all(html, "table.mon-compte tr.projet")
        .into_iter()
        .filter(|r| r.text().contains(OPEN_NAME))
        .collect();
    assert_eq!(rows.len(), 1, "one row for the project:\n{html}");
    rows[0].first("td.heures")
}

#[tokio::test]
pub(crate) async fn time_spent_on_tasks_reaches_the_indemnity_account_page() {
    let host = projects_host().await;
    let w = world(&host, &["agenda", "indemnity", "projects"]).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let fiche = "Rédiger la fiche réflexe";
    let annuaire = "Annuaire des disponibilités";
    let t1 = new_task(&mut anne, &w.open, fiche, &[w.anne], "", "aucune").await;
    let t2 = new_task(&mut anne, &w.open, annuaire, &[w.anne], "", "aucune").await;
    let e1 = logged(&mut anne, &w.open, &t1, &day(-2), "1 h 30", None)
        .await
        .get("data-saisie");
    let e2 = logged(&mut anne, &w.open, &t2, &day(-3), "2 h", None)
        .await
        .get("data-saisie");
    let account = "/cpts-a/indemnites/mon-compte";

    deliver_time(&host, w.sid).await;
    let p = page(&mut anne, account).await;
    let cell = project_hours(&p);
    assert_eq!(
        cell.attr("data-minutes-taches"),
        Some("210"),
        "{}",
        cell.html
    );
    assert_eq!(cell.minutes(), 210, "meetings and tasks: {}", cell.html);
    let start = all(&p, "table.mon-compte tr.projet")
        .into_iter()
        .find(|r| r.text().contains(OPEN_NAME))
        .map(|r| r.first("td.date").get("data-date"));
    assert_eq!(
        start.as_deref(),
        Some("2026-01-05"),
        "the project's start date"
    );
    let listed = first(&p, "table.temps-taches");
    assert!(
        listed.text().contains(fiche) && listed.text().contains(annuaire),
        "{}",
        listed.html
    );
    assert_eq!(listed.count("tr[data-entry]"), 2, "{}", listed.html);

    // Edited to 1 h: 180; the other deleted: 60.
    let (status, _, body) = edit_entry(&mut anne, &w.open, &e1, &day(-2), "1 h").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    deliver_time(&host, w.sid).await;
    let p = page(&mut anne, account).await;
    assert_eq!(project_hours(&p).attr("data-minutes-taches"), Some("180"));
    let (status, _, body) = delete_entry(&mut anne, &w.open, &e2).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    deliver_time(&host, w.sid).await;
    let p = page(&mut anne, account).await;
    assert_eq!(project_hours(&p).attr("data-minutes-taches"), Some("60"));
    let listed = first(&p, "table.temps-taches");
    assert!(listed.text().contains(fiche), "{}", listed.html);
    assert!(
        !listed.text().contains(annuaire),
        "the deleted entry: {}",
        listed.html
    );
    let revisions: Vec<(String, i64)> = time_events(&host, w.sid)
        .await
        .iter()
        .map(|e| {
            (
                id_text(&e["entry"]),
                e["revision"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        revisions,
        [
            (e1.clone(), 1),
            (e2.clone(), 1),
            (e1.clone(), 2),
            (e2.clone(), 2)
        ]
    );

    // Delivered again: nothing changes.
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'indemnites'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    deliver_time(&host, w.sid).await;
    let p = page(&mut anne, account).await;
    assert_eq!(project_hours(&p).attr("data-minutes-taches"), Some("60"));

    // The same topic from another module is ignored, even with a newer revision.
    let mut forged = time_events(&host, w.sid)
        .await
        .into_iter()
        .rev()
        .find(|e| id_text(&e["entry"]) == e1)
        .expect("an event of the entry");
    forged["revision"] = json!(99);
    forged["change"] = json!("updated");
    forged["minutes"] = json!(600);
    let event = maillage::storage::StoredEvent {
        idempotency_key: "forged-time".into(),
        source: "agenda".into(),
        topic: TIME_LOGGED.into(),
        payload: forged.to_string(),
    };
    let outcome = host.deliver_event(w.sid, "indemnites", event).await;
    assert!(
        matches!(outcome, Ok(Ok(()))),
        "another module's event is taken without error: {outcome:?}"
    );
    let p = page(&mut anne, account).await;
    assert_eq!(project_hours(&p).attr("data-minutes-taches"), Some("60"));

    // Rémi logged nothing: no row of the project for him.
    let p = page(&mut remi, account).await;
    assert_eq!(
        all(&p, "tr.projet")
            .iter()
            .filter(|r| r.text().contains(OPEN_NAME))
            .count(),
        0,
        "{p}"
    );
}

#[tokio::test]
pub(crate) async fn bad_input_is_refused_in_french_and_stores_nothing() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;

    // Filters.
    for query in [
        "/?etat=nimporte",
        "/?vue=autre",
        "/?mission=9",
        "/mes-projets?etat=nimporte",
        "/export.csv?etat=nimporte",
        "/mes-taches?etat=rien",
        "/mon-temps?annee=deux-mille",
    ] {
        let (status, body) = anne.get(&format!("{A}{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
    for query in [
        format!("/p/{}/temps?par=semaine", w.open),
        format!("/p/{}/temps?du=2026-13-01", w.open),
        format!("/p/{}/temps?du=2026-03-01&au=2026-02-01", w.open),
    ] {
        let (status, body) = anne.get(&format!("{A}{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
    page(&mut anne, &format!("{A}/?etat=tous&mission=1")).await;

    // Missions: coordinators only; 1 to 4 stay.
    let (status, _) = anne.get(&format!("{A}/missions")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a member opens the missions");
    let valid = missions_form(&[]);
    let (status, _, _) = anne
        .post_form(&format!("{A}/missions"), &borrowed(&valid))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a member saves the missions");
    page(&mut claire, &format!("{A}/missions")).await;
    let (status, location, body) = claire
        .post_form(&format!("{A}/missions"), &borrowed(&valid))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("/missions?ok=missions")),
        "{location:?}"
    );
    assert_eq!(events_of(&host, w.sid, "missions.saved").await, 1);
    let too_long = "x".repeat(81);
    for (changes, message) in [
        ([("active-1", "0")], "Les missions 1 à 4 sont obligatoires."),
        ([("active-3", "0")], "Les missions 1 à 4 sont obligatoires."),
        ([("label-2", "")], ""),
        ([("label-3", too_long.as_str())], ""),
    ] {
        let fields = missions_form(&changes);
        let (status, _, body) = claire
            .post_form(&format!("{A}/missions"), &borrowed(&fields))
            .await;
        assert_refused(status, &body, message, &format!("missions {changes:?}"));
    }
    assert_eq!(
        events_of(&host, w.sid, "missions.saved").await,
        1,
        "nothing saved after a refusal"
    );

    // Creating a project.
    let (status, _, body) = create_project(&mut claire, &w.open, "9.9", "1", &[]).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a group already bound: {body}"
    );
    let (status, _, body) = create_project(&mut claire, &w.free, "1.2", "1", &[]).await;
    assert_refused(
        status,
        &body,
        "Ce numéro est déjà celui du projet",
        "a numéro taken",
    );
    let b_group = host
        .state
        .db
        .create_group(
            host.structure_id("cpts-b").await,
            "Groupe de B",
            "",
            true,
            w.bob,
        )
        .await
        .unwrap()
        .to_string();
    for group in ["999999", b_group.as_str()] {
        let (status, _, body) = create_project(&mut claire, group, "1.3", "1", &[]).await;
        assert_refused(
            status,
            &body,
            "Choisissez un groupe de travail.",
            &format!("group « {group} »"),
        );
    }
    // No group chosen and no name for a new one.
    let (status, _, body) = create_project(&mut claire, "", "1.3", "1", &[]).await;
    assert_refused(
        status,
        &body,
        "Donnez un nom au projet",
        "no group, no name",
    );
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    let refused: [Case; 5] = [
        ("an unknown mission", "1.3", "9", &[]),
        ("no mission", "1.3", "", &[]),
        ("a malformed numéro", "1.3!", "1", &[]),
        (
            "an end before the start",
            "1.3",
            "1",
            &[("date_debut", "2026-03-01"), ("date_fin", "2026-02-01")],
        ),
        (
            "a malformed start",
            "1.3",
            "1",
            &[("date_debut", "01/03/2026")],
        ),
    ];
    for (what, numero, mission, changes) in refused {
        let (status, _, body) =
            create_project(&mut claire, &w.free, numero, mission, changes).await;
        assert_refused(status, &body, "", what);
    }
    let (status, location, _) = claire.get_full(&project_path(&w.free)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "still no project for the group"
    );
    assert!(location.as_deref().is_some_and(|l| l.contains("/nouveau")));
    assert_eq!(
        events_of(&host, w.sid, "project.saved").await,
        2,
        "the two of the world"
    );

    // Tasks.
    let t = new_task(
        &mut anne,
        &w.open,
        "Rédiger la fiche réflexe",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    let before = tasks(&page(&mut anne, &project_path(&w.open)).await).len();
    let long_title = "x".repeat(201);
    for (what, title, assignees, due_date, rule, message) in [
        ("an empty title", "", [w.anne], "", "aucune", ""),
        (
            "a long title",
            long_title.as_str(),
            [w.anne],
            "",
            "aucune",
            "",
        ),
        (
            "a recurrence without due date",
            "Point mensuel",
            [w.anne],
            "",
            "mensuelle",
            "Une tâche récurrente a besoin d’une échéance.",
        ),
        (
            "an unknown recurrence",
            "Point quotidien",
            [w.anne],
            "2027-01-31",
            "quotidienne",
            "",
        ),
        (
            "an assignee outside the group",
            "Pour Oscar",
            [w.oscar],
            "",
            "aucune",
            "ne fait pas partie du groupe de travail.",
        ),
        (
            "an assignee of another structure",
            "Pour Bob",
            [w.bob],
            "",
            "aucune",
            "ne fait pas partie du groupe de travail.",
        ),
        (
            "a malformed due date",
            "Mal datée",
            [w.anne],
            "31/01/2027",
            "aucune",
            "",
        ),
    ] {
        let (status, _, body) =
            post_task(&mut anne, &w.open, title, &assignees, due_date, rule).await;
        assert_refused(status, &body, message, what);
    }
    assert_eq!(
        tasks(&page(&mut anne, &project_path(&w.open)).await).len(),
        before,
        "no refused task was stored"
    );

    // Time for someone who is not in the group, or not in the structure.
    let before = entries(&mut remi, &w.open, &t).await.len();
    for (who, person) in [("Oscar", w.oscar), ("Bob", w.bob)] {
        let (status, _, body) =
            log_time(&mut remi, &w.open, &t, &day(-1), "1h", Some(person)).await;
        assert_refused(
            status,
            &body,
            "ne fait pas partie du groupe de travail",
            who,
        );
    }
    let yesterday = day(-1);
    let (status, _, body) = remi
        .post_form(
            &format!("{}/temps", task_path(&w.open, &t)),
            &[
                ("date", yesterday.as_str()),
                ("duree", "1h"),
                ("note", ""),
                ("personne", "abc"),
            ],
        )
        .await;
    assert_refused(status, &body, "", "a malformed person");
    let long_note = "x".repeat(501);
    let (status, _, body) = anne
        .post_form(
            &format!("{}/temps", task_path(&w.open, &t)),
            &[
                ("date", yesterday.as_str()),
                ("duree", "1h"),
                ("note", long_note.as_str()),
            ],
        )
        .await;
    assert_refused(status, &body, "", "a note over 500 characters");
    assert_eq!(
        entries(&mut remi, &w.open, &t).await.len(),
        before,
        "nothing stored"
    );

    // An archived project is read-only.
    let entry = logged(&mut anne, &w.open, &t, &day(-1), "1h", None)
        .await
        .get("data-saisie");
    let db = &host.state.db;
    let group = db
        .group(w.sid, w.open.parse().unwrap(), w.remi)
        .await
        .unwrap()
        .expect("the open group");
    db.set_group_archived(&group, true).await.unwrap();
    let archived = "Ce projet est archivé : il n’est plus modifiable.";
    let (status, _, body) = post_task(
        &mut anne,
        &w.open,
        "Après l’archivage",
        &[w.anne],
        "",
        "aucune",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "a task: {body}");
    assert!(says(&body, archived), "{body}");
    let (status, _, body) = log_time(&mut anne, &w.open, &t, &day(-1), "1h", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "time: {body}");
    assert!(says(&body, archived), "{body}");
    let (status, _, body) = edit_entry(&mut anne, &w.open, &entry, &day(-1), "2 h").await;
    assert_eq!(status, StatusCode::CONFLICT, "an entry edited: {body}");
    let (status, _, body) = done(&mut anne, &w.open, &t).await;
    assert_eq!(status, StatusCode::CONFLICT, "a task done: {body}");
    let (status, _, body) = edit_project(&mut remi, &w.open, "1.2", "Après l’archivage").await;
    assert_eq!(status, StatusCode::CONFLICT, "the project edited: {body}");
    let p = page(&mut anne, &task_path(&w.open, &t)).await;
    assert_eq!(count(&p, "tr[data-saisie]"), 1, "nothing stored");
    assert_eq!(first(&p, "span.duree").minutes(), 60);
}

/// The missions form as a coordinator posts it: the default labels, no description,
/// 5 and 6 kept (hidden "0" then the ticked checkbox "1"), then `changes`.
pub(crate) fn missions_form(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (n, label) in MISSIONS.iter().enumerate() {
        let code = n + 1;
        fields.push((format!("label-{code}"), (*label).to_string()));
        fields.push((format!("description-{code}"), String::new()));
    }
    for code in [5, 6] {
        fields.push((format!("active-{code}"), "0".into()));
        fields.push((format!("active-{code}"), "1".into()));
    }
    for &(name, value) in changes {
        match fields.iter_mut().find(|(k, _)| k.as_str() == name) {
            Some(field) => field.1 = value.to_string(),
            None => fields.push((name.to_string(), value.to_string())),
        }
    }
    fields
}

// The thread: order, unread counts, the poller, mentions.

pub(crate) fn thread_path(g: &str) -> String {
    format!("{A}/p/{g}/fil")
}

/// POST `/p/{g}/fil` with `texte`.
pub(crate) async fn post_message(
    c: &mut Client<'_>,
    g: &str,
    text: &str,
) -> (StatusCode, Option<String>, String) {
    c.post_form(&thread_path(g), &[("texte", text)]).await
}

/// A message posted through the form; its id, from the redirect's `#message-{id}`.
pub(crate) async fn posted(c: &mut Client<'_>, g: &str, text: &str) -> String {
    let (status, location, body) = post_message(c, g, text).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "« {text} »: {body}");
    let location = location.unwrap_or_default();
    assert!(
        location.starts_with(&format!("{}?ok=message", project_path(g))),
        "« {text} »: {location}"
    );
    location
        .split_once("#message-")
        .map(|(_, id)| id.to_string())
        .unwrap_or_else(|| panic!("no #message- in {location}"))
}

/// The messages of a page's thread, in order: `ol#fil-messages li.thread-message`.
pub(crate) fn thread_items(html: &str) -> Vec<El> {
    all(html, "ol#fil-messages li.thread-message")
}

/// The ids of messages (`li#message-{id}`).
pub(crate) fn message_ids(items: &[El]) -> Vec<String> {
    items
        .iter()
        .map(|li| li.get("id").trim_start_matches("message-").to_string())
        .collect()
}

/// The poller's address on a page or in its answer: `div#fil-suivi[hx-get]`.
pub(crate) fn poller_url(html: &str) -> String {
    first(html, "div#fil-suivi").get("hx-get")
}

/// The unread count « Mes projets » shows next to the project of group `g`.
pub(crate) async fn unread_listed(c: &mut Client<'_>, g: &str) -> i64 {
    let p = page(c, &format!("{A}/mes-projets")).await;
    first(&p, &format!("li.projet[data-groupe={g}] span.non-lus"))
        .get("data-count")
        .parse()
        .expect("a count")
}

/// The unread count the `unread-threads` widget shows for group `g` (0: not listed).
pub(crate) async fn unread_in_widget(c: &mut Client<'_>, g: &str) -> i64 {
    let w = page(c, &format!("{A}/widget/fils")).await;
    assert_eq!(count(&w, "div.widget-fils"), 1, "{w}");
    all(
        &w,
        &format!("div.widget-fils li[data-groupe={g}] span.non-lus"),
    )
    .first()
    .map(|s| s.get("data-count").parse().expect("a count"))
    .unwrap_or(0)
}

#[tokio::test]
pub(crate) async fn the_thread_keeps_its_order_and_counts_what_each_member_has_not_read() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let g = w.open.clone();

    // Anne writes three messages, most likely within the same second.
    let mut order: Vec<String> = Vec::new();
    for text in ["Premier message", "Deuxième message", "Troisième message"] {
        order.push(posted(&mut anne, &g, text).await);
    }
    // Nobody opened the thread yet: the others' messages are all unread, one's own never.
    assert_eq!(unread_listed(&mut remi, &g).await, 3, "Rémi");
    assert_eq!(unread_listed(&mut gus, &g).await, 3, "Gustave");
    assert_eq!(unread_listed(&mut anne, &g).await, 0, "Anne's own");
    assert_eq!(unread_in_widget(&mut remi, &g).await, 3, "Rémi's widget");
    assert_eq!(unread_in_widget(&mut anne, &g).await, 0, "Anne's widget");
    let widget = page(&mut anne, &format!("{A}/widget/fils")).await;
    assert!(says(&widget, "Aucun message non lu."), "{widget}");

    // Rémi opens the project: the three in order, marked new after one separator.
    let p = page(&mut remi, &project_path(&g)).await;
    let items = thread_items(&p);
    assert_eq!(message_ids(&items), order, "{p}");
    assert!(
        items[0].text().contains("Premier message"),
        "{}",
        items[0].html
    );
    assert!(
        items[2].text().contains("Troisième message"),
        "{}",
        items[2].html
    );
    assert!(items.iter().all(|li| li.has_class("non-lu")), "{p}");
    assert_eq!(count(&p, "hr#non-lus"), 1, "{p}");
    // Seen: nothing is new any more.
    assert_eq!(unread_listed(&mut remi, &g).await, 0, "Rémi, once seen");
    assert_eq!(
        unread_in_widget(&mut remi, &g).await,
        0,
        "Rémi's widget, once seen"
    );
    let p = page(&mut remi, &project_path(&g)).await;
    assert_eq!(count(&p, "li.non-lu"), 0, "{p}");
    assert_eq!(count(&p, "hr#non-lus"), 0, "{p}");

    // Rémi answers: new for Anne and Gustave, not for him.
    order.push(posted(&mut remi, &g, "Réponse du référent").await);
    assert_eq!(unread_listed(&mut remi, &g).await, 0, "Rémi's own answer");
    assert_eq!(unread_listed(&mut anne, &g).await, 1, "Anne");
    assert_eq!(unread_listed(&mut gus, &g).await, 4, "Gustave");
    let p = page(&mut anne, &project_path(&g)).await;
    let new: Vec<El> = thread_items(&p)
        .into_iter()
        .filter(|li| li.has_class("non-lu"))
        .collect();
    assert_eq!(message_ids(&new), [order[3].clone()], "only Rémi's: {p}");
    assert_eq!(unread_listed(&mut anne, &g).await, 0, "Anne, once seen");

    // A reader outside the group: the same thread, no marks, no posting.
    let p = page(&mut oscar, &project_path(&g)).await;
    assert_eq!(message_ids(&thread_items(&p)), order);
    assert_eq!(count(&p, "li.non-lu") + count(&p, "hr#non-lus"), 0, "{p}");
    let (status, _, body) = post_message(&mut oscar, &g, "Intrusion").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A long thread, many messages a second: the page shows the latest 100, in order.
    for i in 0..100 {
        let client = if i % 3 == 0 { &mut remi } else { &mut anne };
        order.push(posted(client, &g, &format!("Message numéro {i}")).await);
    }
    let p = page(&mut gus, &project_path(&g)).await;
    let items = thread_items(&p);
    assert_eq!(message_ids(&items), order[order.len() - 100..].to_vec());
    assert_eq!(count(&p, "li.non-lu"), 100, "all new to Gustave");
    assert_eq!(unread_listed(&mut gus, &g).await, 0, "Gustave, once seen");
}

#[tokio::test]
pub(crate) async fn the_poller_answers_204_until_someone_writes_then_the_new_message() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let g = w.open.clone();

    // An empty thread: the list is there for what comes; the poller starts before all.
    let p = page(&mut anne, &project_path(&g)).await;
    assert_eq!(count(&p, "ol#fil-messages"), 1, "{p}");
    assert!(thread_items(&p).is_empty());
    assert!(says(
        &first(&p, "p#fil-vide").html,
        "Aucun message pour le moment."
    ));
    let poller = first(&p, "div#fil-suivi");
    assert_eq!(poller.get("hx-trigger"), "every 5s");
    assert_eq!(poller.get("hx-swap"), "outerHTML");
    let url = poller_url(&p);
    assert!(
        url.starts_with(&format!("{A}/p/{g}/fil/suivi?apres=0.&depuis=")),
        "{url}"
    );
    let (status, body) = anne.get(&url).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_empty(), "{body}");

    // Rémi writes: Anne's poller brings the message, marked new, and moves on.
    let m1 = posted(&mut remi, &g, "Nouvelle du jour : la fiche est prête").await;
    assert_eq!(unread_listed(&mut anne, &g).await, 1, "before the poll");
    let (status, body) = anne.get(&url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let append = first(&body, "div[hx-swap-oob=beforeend:#fil-messages]");
    let items = append.all("li.thread-message");
    assert_eq!(message_ids(&items), std::slice::from_ref(&m1), "{body}");
    assert!(items[0].has_class("non-lu"), "{}", items[0].html);
    assert!(
        items[0].text().contains("Nouvelle du jour"),
        "{}",
        items[0].html
    );
    assert_eq!(
        first(&body, "p#fil-vide").attr("hx-swap-oob"),
        Some("delete"),
        "the empty-thread line goes: {body}"
    );
    let next = poller_url(&body);
    assert!(next.contains(&format!(".{m1}&depuis=")), "{next}");
    assert_eq!(
        unread_listed(&mut anne, &g).await,
        0,
        "the poller marked it read"
    );
    let (status, body) = anne.get(&next).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "nothing new: {body}");

    // Rémi corrects it: the next poll replaces it.
    let (status, _, body) = remi
        .post_form(
            &format!("{}/{m1}/modifier", thread_path(&g)),
            &[("texte", "Nouvelle du jour : la fiche est corrigée")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, body) = anne.get(&next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let replaced = first(&body, &format!("li#message-{m1}"));
    assert_eq!(replaced.attr("hx-swap-oob"), Some("outerHTML"), "{body}");
    assert!(replaced.text().contains("corrigée"), "{}", replaced.html);
    assert_eq!(
        count(&body, "div[hx-swap-oob=beforeend:#fil-messages]"),
        0,
        "nothing new: {body}"
    );

    // A reader outside the group (an open project) polls too, without marks.
    let (status, body) = oscar.get(&format!("{A}/p/{g}/fil/suivi?apres=0.")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        message_ids(&all(&body, "li.thread-message")),
        std::slice::from_ref(&m1)
    );
    assert_eq!(count(&body, "li.non-lu"), 0, "{body}");

    // Malformed positions: 422.
    for query in [
        "",
        "?apres=",
        "?apres=abc",
        "?apres=12",
        "?apres=-1.x",
        "?apres=1.a%2Fb",
        "?apres=0.&depuis=hier",
    ] {
        let (status, body) = anne.get(&format!("{A}/p/{g}/fil/suivi{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }

    // A closed project's poller does not exist for outsiders, nor through B.
    let closed = format!("{A}/p/{}/fil/suivi?apres=0.", w.closed);
    let (status, body) = oscar.get(&closed).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Oscar: {body}");
    assert!(!body.contains(CLOSED_NAME));
    for path in [
        format!("{B}/p/{}/fil/suivi?apres=0.", w.closed),
        format!("{B}/p/{g}/fil/suivi?apres=0."),
        closed.clone(),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}");
    }
    let (status, body) = anne.get(&closed).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "Anne, member of the closed project: nothing yet: {body}"
    );
}

#[tokio::test]
pub(crate) async fn mentions_are_mailed_once_to_those_who_may_read_without_the_text() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let g = w.open.clone();
    const MENTIONED: &str = "vous a mentionné(e)";
    let secret = "la patiente de la chambre 12";

    // Anne mentions Rémi and Gustave (typed without accents) and herself.
    let text =
        format!("Bonjour @Rémi Référent et @gustave invite : {secret}. Merci @Anne Active !");
    let m = posted(&mut anne, &g, &text).await;
    for email in ["remi@a.test", "gus@a.test"] {
        let to = mails(&host, w.sid, email, MENTIONED).await;
        assert_eq!(to.len(), 1, "one mail to {email}");
        let body = &to[0];
        assert!(
            body.contains("Anne Active") && body.contains(OPEN_NAME),
            "{body}"
        );
        assert!(
            body.contains(&format!("/cpts-a/projets/p/{g}#message-{m}")),
            "the link: {body}"
        );
        assert!(
            body.contains(
                "Ce courriel ne contient aucune donnée de santé : n’y répondez pas avec des informations sur des patients."
            ),
            "the warning: {body}"
        );
        assert!(
            !body.contains(secret) && !body.contains("chambre") && !body.contains("Bonjour @"),
            "the text stays out of the mail: {body}"
        );
    }
    let subjects: Vec<String> = host
        .state
        .db
        .outbox(Some(w.sid), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|mail| mail.to == "remi@a.test")
        .map(|mail| mail.subject)
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Anne Active vous a mentionné(e) dans") && s.contains(OPEN_NAME)),
        "{subjects:?}"
    );
    assert!(
        mails(&host, w.sid, "anne@a.test", MENTIONED)
            .await
            .is_empty(),
        "not herself"
    );

    // An edit mails those it adds only: Oscar (an open project: every member may read
    // it), not Rémi nor Gustave again.
    let edited = format!("{text} Et @Oscar Dehors.");
    let (status, _, body) = anne
        .post_form(
            &format!("{}/{m}/modifier", thread_path(&g)),
            &[("texte", edited.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    for (email, expected) in [("remi@a.test", 1), ("gus@a.test", 1), ("oscar@a.test", 1)] {
        assert_eq!(
            mails(&host, w.sid, email, MENTIONED).await.len(),
            expected,
            "{email} after the edit"
        );
    }

    // Nobody outside those who may read: Oscar on the closed project, Bob of B anywhere.
    posted(
        &mut anne,
        &w.closed,
        "Point d’étape pour @Oscar Dehors et @Bob Ailleurs",
    )
    .await;
    posted(&mut anne, &g, "Bonjour @Bob Ailleurs").await;
    assert_eq!(
        mails(&host, w.sid, "oscar@a.test", MENTIONED).await.len(),
        1,
        "no mail for the closed project"
    );
    let b = host.structure_id("cpts-b").await;
    for sid in [w.sid, b] {
        assert!(
            mails(&host, sid, "bob@b.test", MENTIONED).await.is_empty(),
            "Bob"
        );
    }

    // At most 20 people a message: 21 are refused, nothing stored nor mailed.
    let db = &host.state.db;
    for i in 1..=21 {
        let account = db
            .create_account(
                &format!("personne{i:02}@a.test"),
                None,
                &format!("Personne {i:02}"),
            )
            .await
            .unwrap();
        db.set_membership(w.sid, account.id, Role::Member)
            .await
            .unwrap();
    }
    let many = |n: usize| {
        (1..=n)
            .map(|i| format!("@Personne {i:02}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let before = thread_items(&page(&mut anne, &project_path(&g)).await).len();
    let (status, _, body) = post_message(&mut anne, &g, &many(21)).await;
    assert_refused(
        status,
        &body,
        "Un message peut mentionner au plus 20 personnes.",
        "21 mentions",
    );
    let (status, _, body) = anne
        .post_form(
            &format!("{}/{m}/modifier", thread_path(&g)),
            &[("texte", many(21).as_str())],
        )
        .await;
    assert_refused(
        status,
        &body,
        "Un message peut mentionner au plus 20 personnes.",
        "an edit to 21 mentions",
    );
    let p = page(&mut anne, &project_path(&g)).await;
    assert_eq!(thread_items(&p).len(), before, "nothing stored");
    assert!(
        first(&p, &format!("li#message-{m}"))
            .text()
            .contains("@Oscar Dehors"),
        "the message kept its text"
    );
    assert!(
        mails(&host, w.sid, "personne01@a.test", MENTIONED)
            .await
            .is_empty()
    );
    // Twenty pass.
    posted(&mut anne, &g, &many(20)).await;
    for email in ["personne01@a.test", "personne20@a.test"] {
        assert_eq!(
            mails(&host, w.sid, email, MENTIONED).await.len(),
            1,
            "{email}"
        );
    }
    assert!(
        mails(&host, w.sid, "personne21@a.test", MENTIONED)
            .await
            .is_empty()
    );
}

// Announcements and « Écrire au groupe ».

/// The line every mail of the module ends with.
pub(crate) const HEALTH_WARNING: &str = "Ce courriel ne contient aucune donnée de santé : n’y répondez pas avec des informations sur des patients.";

pub(crate) fn announcements_path() -> String {
    format!("{A}/annonces")
}

/// POST `/annonces/nouvelle` (`changes` replace the default fields).
pub(crate) async fn post_announcement(
    c: &mut Client<'_>,
    changes: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut fields = vec![
        ("titre", "Annonce"),
        ("texte", "Le texte de l’annonce."),
        ("jusquau", ""),
    ];
    apply(&mut fields, changes);
    c.post_form(&format!("{A}/annonces/nouvelle"), &fields)
        .await
}

/// The announcements of the list, in its order: (id, title).
pub(crate) async fn listed_announcements(c: &mut Client<'_>) -> Vec<(String, String)> {
    let p = page(c, &announcements_path()).await;
    all(&p, "article.annonce")
        .iter()
        .map(|a| (a.get("data-annonce"), a.first("h2").text()))
        .collect()
}

/// An announcement published through the form; its id, read on the list.
pub(crate) async fn announce(c: &mut Client<'_>, title: &str, changes: &[(&str, &str)]) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("titre", title)];
    fields.extend_from_slice(changes);
    let (status, location, body) = post_announcement(c, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "« {title} »: {body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l == format!("{A}/annonces?ok=annonce")),
        "« {title} »: {location:?}"
    );
    let found: Vec<String> = listed_announcements(c)
        .await
        .into_iter()
        .filter(|(_, t)| t == title)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found.len(), 1, "« {title} » listed once: {found:?}");
    found[0].clone()
}

#[tokio::test]
pub(crate) async fn announcements_are_read_by_every_member_and_published_by_coordinators_only() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let new_path = format!("{A}/annonces/nouvelle");

    // Nothing yet; a plain member reads the page and may not publish.
    let p = page(&mut anne, &announcements_path()).await;
    assert!(says(&p, "Aucune annonce pour le moment."), "{p}");
    assert_eq!(
        count(&p, &format!("a[href={new_path}]")),
        0,
        "no « Nouvelle annonce » for Anne: {p}"
    );
    let (status, _) = anne.get(&new_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne opens the form");
    let (status, _, body) = post_announcement(&mut anne, &[("titre", "Intrusion")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne publishes: {body}");

    // The coordinator's form, with the health-data warning.
    let p = page(&mut claire, &new_path).await;
    assert!(
        first(&p, "p.avertissement-sante").text().contains(&same(
            "N’écrivez aucune donnée de santé : cette annonce peut être envoyée par courriel."
        )),
        "{p}"
    );
    for field in [
        "input[name=titre]",
        "textarea[name=texte]",
        "input[name=epinglee]",
        "input[name=jusquau]",
        "input[name=envoyer]",
    ] {
        assert_eq!(
            count(&p, &format!("form.annonce {field}")),
            1,
            "{field}: {p}"
        );
    }

    // Three announcements: the pinned one first, then the newest.
    let later = day(30);
    let plenary = announce(
        &mut claire,
        "Réunion plénière",
        &[("texte", "Ordre du jour :\nBilan de l’année\nBudget")],
    )
    .await;
    let general = announce(
        &mut claire,
        "Assemblée générale de la CPTS",
        &[("epinglee", "1"), ("jusquau", later.as_str())],
    )
    .await;
    let summer = announce(&mut claire, "Fermeture estivale", &[]).await;
    let order: Vec<String> = listed_announcements(&mut anne)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(order, [general.clone(), summer.clone(), plenary.clone()]);
    let p = page(&mut anne, &announcements_path()).await;
    let pinned = first(&p, &format!("article.annonce[data-annonce={general}]"));
    assert!(
        pinned.first("span.badge").text().contains("Épinglée"),
        "{}",
        pinned.html
    );
    assert!(
        pinned.text().contains("Claire Coordinatrice"),
        "the author: {}",
        pinned.html
    );
    let plain = first(&p, &format!("article.annonce[data-annonce={plenary}]"));
    assert_eq!(plain.count("span.badge"), 0, "not pinned: {}", plain.html);
    let text = plain.first("div.texte");
    assert!(
        text.html.contains("<br>") && text.text().contains("Bilan de l’année"),
        "the line breaks kept: {}",
        text.html
    );
    assert_eq!(
        count(&p, "form.envoyer") + count(&p, "form.supprimer"),
        0,
        "no publisher's forms for Anne: {p}"
    );
    let p = page(&mut claire, &announcements_path()).await;
    assert_eq!(count(&p, &format!("a[href={new_path}]")), 1, "{p}");
    assert_eq!(count(&p, "form.envoyer"), 3, "{p}");
    assert_eq!(count(&p, "form.supprimer"), 3, "{p}");

    // Bad input: 422 in French, the values kept, nothing stored.
    let yesterday = day(-1);
    let long = "x".repeat(201);
    let (status, _, body) =
        post_announcement(&mut claire, &[("titre", ""), ("texte", "Un texte gardé")]).await;
    assert_refused(
        status,
        &body,
        "Le titre de l’annonce est obligatoire",
        "an empty title",
    );
    assert!(
        first(&body, "textarea#texte")
            .text()
            .contains("Un texte gardé"),
        "the text is kept: {body}"
    );
    let (status, _, body) = post_announcement(
        &mut claire,
        &[("titre", "Trop tard"), ("jusquau", yesterday.as_str())],
    )
    .await;
    assert_refused(
        status,
        &body,
        "La date de fin d’affichage est déjà passée.",
        "jusquau in the past",
    );
    assert_eq!(
        first(&body, "input#titre").get("value"),
        "Trop tard",
        "the title is kept"
    );
    for (changes, what) in [
        (
            [("titre", "Date illisible"), ("jusquau", "31/12/2026")],
            "a malformed jusquau",
        ),
        (
            [("titre", long.as_str()), ("jusquau", "")],
            "a title over 200 characters",
        ),
        ([("titre", "Sans texte"), ("texte", "")], "an empty text"),
    ] {
        let (status, _, body) = post_announcement(&mut claire, &changes).await;
        assert_refused(status, &body, "", what);
    }
    assert_eq!(
        listed_announcements(&mut claire).await.len(),
        3,
        "nothing stored"
    );

    // Edited: pinned too, so after the newer pinned one.
    let (status, location, body) = claire
        .post_form(
            &format!("{A}/annonces/{plenary}/modifier"),
            &[
                ("titre", "Réunion plénière de juin"),
                ("texte", "Ordre du jour revu."),
                ("epinglee", "1"),
                ("jusquau", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=annonce")),
        "{location:?}"
    );
    let listed = listed_announcements(&mut anne).await;
    assert_eq!(
        ids_of(&listed),
        [general.clone(), plenary.clone(), summer.clone()]
    );
    assert_eq!(listed[1].1, "Réunion plénière de juin");
    let p = page(&mut anne, &announcements_path()).await;
    assert_eq!(
        first(&p, &format!("article.annonce[data-annonce={plenary}]")).count("span.modifiee"),
        1,
        "{p}"
    );

    // A plain member changes nothing (403); unknown ids and other structures' are 404.
    let (status, _) = anne.get(&format!("{A}/annonces/{summer}/modifier")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne opens the edit form");
    for action in ["modifier", "supprimer", "envoyer"] {
        let (status, _, body) = anne
            .post_form(
                &format!("{A}/annonces/{summer}/{action}"),
                &[
                    ("titre", "Intrusion"),
                    ("texte", "Intrusion"),
                    ("jusquau", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "Anne {action}: {body}");
    }
    let zeros = "0".repeat(26);
    for id in ["pas-un-id", zeros.as_str()] {
        let (status, _) = claire.get(&format!("{A}/annonces/{id}/modifier")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {id}");
        for action in ["modifier", "supprimer", "envoyer"] {
            let (status, _, _) = claire
                .post_form(
                    &format!("{A}/annonces/{id}/{action}"),
                    &[("titre", "Fantôme"), ("texte", "Fantôme"), ("jusquau", "")],
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action} {id}");
        }
    }
    let (status, _) = bob.get(&format!("{B}/annonces/{summer}/modifier")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "A's announcement through B");
    for action in ["modifier", "supprimer", "envoyer"] {
        let (status, _, _) = bob
            .post_form(&format!("{B}/annonces/{summer}/{action}"), &[])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob {action} through B");
    }
    let p = page(&mut bob, &format!("{B}/annonces")).await;
    assert!(!says(&p, "Fermeture estivale"), "B lists none of A's: {p}");
    assert!(
        listed_announcements(&mut anne)
            .await
            .iter()
            .all(|(_, t)| t != "Intrusion"),
        "nothing of Anne's stored"
    );

    // Deleted.
    let (status, location, body) = claire
        .post_form(&format!("{A}/annonces/{summer}/supprimer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=annonce-supprimee")),
        "{location:?}"
    );
    assert_eq!(
        ids_of(&listed_announcements(&mut anne).await),
        [general.clone(), plenary.clone()]
    );
    let journal = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    for (action, expected) in [
        ("projets.annonce.publier", 3),
        ("projets.annonce.modifier", 1),
        ("projets.annonce.supprimer", 1),
    ] {
        assert_eq!(
            journal.iter().filter(|e| e.action == action).count(),
            expected,
            "{action}: {journal:?}"
        );
    }
}

pub(crate) fn ids_of(listed: &[(String, String)]) -> Vec<String> {
    listed.iter().map(|(id, _)| id.clone()).collect()
}

#[tokio::test]
pub(crate) async fn an_announcement_is_mailed_once_to_every_member_and_the_module_role_publishes() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let everyone = [
        "claire@a.test",
        "remi@a.test",
        "anne@a.test",
        "gus@a.test",
        "oscar@a.test",
    ];
    let title = "Assemblée générale de la CPTS";
    let line = "L’assemblée générale aura lieu le 12 juin à 20 h.";
    let text = format!("{line}\nVenez nombreux.");
    let general = announce(
        &mut claire,
        title,
        &[("texte", text.as_str()), ("epinglee", "1")],
    )
    .await;
    let subject = format!("Annonce : {title}");
    for email in everyone {
        assert!(
            mails(&host, w.sid, email, &subject).await.is_empty(),
            "{email}: not mailed before it is asked"
        );
    }

    // Mailed: every active member of the structure once, with the text, the link and the
    // warning; nobody of B.
    let send = format!("{A}/annonces/{general}/envoyer");
    let (status, location, body) = claire.post_form(&send, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("ok=envoyee")),
        "{location:?}"
    );
    for email in everyone {
        let to = mails(&host, w.sid, email, &subject).await;
        assert_eq!(to.len(), 1, "one mail to {email}");
        let body = &to[0];
        assert!(body.contains(line), "the text: {body}");
        assert!(
            body.contains("/cpts-a/projets/annonces"),
            "the link: {body}"
        );
        assert!(body.contains(HEALTH_WARNING), "the warning: {body}");
    }
    let b = host.structure_id("cpts-b").await;
    for sid in [w.sid, b] {
        assert!(
            mails(&host, sid, "bob@b.test", "Annonce :")
                .await
                .is_empty(),
            "Bob"
        );
    }
    let p = page(&mut anne, &announcements_path()).await;
    let article = first(&p, &format!("article.annonce[data-annonce={general}]"));
    assert!(
        article
            .first("p.envoyee")
            .text()
            .contains("Envoyée par courriel le"),
        "{}",
        article.html
    );
    let p = page(&mut claire, &announcements_path()).await;
    assert_eq!(
        count(&p, "form.envoyer"),
        0,
        "sent: no button any more: {p}"
    );

    // A second time: 409, nobody mailed again.
    let (status, _, body) = claire.post_form(&send, &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(says(&body, "Cette annonce a déjà été envoyée."), "{body}");
    for email in everyone {
        assert_eq!(
            mails(&host, w.sid, email, &subject).await.len(),
            1,
            "still one mail to {email}"
        );
    }
    let journal = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.action == "projets.annonce.envoyer")
            .count(),
        1,
        "{journal:?}"
    );

    // Anne is given the module role « Rédaction des annonces »: she publishes, and has it
    // mailed at once; Oscar still may not.
    let new_path = format!("{A}/annonces/nouvelle");
    let (status, _) = anne.get(&new_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Anne without the role");
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    maillage::people::set_module_role(
        &mut conn,
        w.sid,
        w.anne,
        "projets",
        "annonces",
        true,
        w.anne,
        maillage::storage::now_secs(),
    )
    .await
    .unwrap();
    drop(conn);
    let (status, body) = anne.get(&new_path).await;
    assert_eq!(status, StatusCode::OK, "Anne with the role: {body}");
    let urgent_title = "Permanence des soins pendant les fêtes";
    let urgent = announce(
        &mut anne,
        urgent_title,
        &[
            ("texte", "Les tableaux de garde sont en ligne."),
            ("envoyer", "1"),
        ],
    )
    .await;
    for email in everyone {
        let to = mails(&host, w.sid, email, &format!("Annonce : {urgent_title}")).await;
        assert_eq!(to.len(), 1, "one mail to {email}");
        assert!(to[0].contains(HEALTH_WARNING), "{}", to[0]);
    }
    let p = page(&mut oscar, &announcements_path()).await;
    let article = first(&p, &format!("article.annonce[data-annonce={urgent}]"));
    assert_eq!(article.count("p.envoyee"), 1, "{}", article.html);
    assert!(article.text().contains("Anne Active"), "{}", article.html);
    let (status, _) = oscar.get(&new_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Oscar");
    let (status, _, _) = post_announcement(&mut oscar, &[("titre", "Intrusion")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Oscar publishes");

    // The dashboard widget: three at most, the pinned one first, then the newest.
    let wishes = announce(&mut claire, "Vœux de la présidente", &[]).await;
    let address = announce(&mut claire, "Nouvelle adresse du siège", &[]).await;
    let widget = page(&mut oscar, &format!("{A}/widget/annonces")).await;
    let items = all(&widget, "div.widget-annonces li[data-annonce]");
    assert_eq!(
        ids(&items, "data-annonce"),
        [general.clone(), address, wishes],
        "{widget}"
    );
    assert!(
        items[0].first("span.badge").text().contains("Épinglée"),
        "{}",
        items[0].html
    );
    assert!(says(&widget, "Toutes les annonces"), "{widget}");
}

/// The « Écrire au groupe » form: `objet`, `message`, `destinataires`, and the
/// « no health data » checkbox when `confirmed`.
pub(crate) fn group_mail_form<'a>(
    objet: &'a str,
    message: &'a str,
    destinataires: &'a str,
    confirmed: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("objet", objet),
        ("message", message),
        ("destinataires", destinataires),
    ];
    if confirmed {
        fields.push(("sans-donnees-sante", "1"));
    }
    fields
}

type GroupMailRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// The `group_mails` records of the structure, oldest first: (group, subject, audience,
/// recipients, by_name).
pub(crate) async fn group_mails(host: &Host, sid: i64) -> Vec<GroupMailRow> {
    sqlx::query_as(
        "SELECT f_group_id, f_subject, f_audience, f_recipients, f_by_name FROM c_projets__group_mails WHERE structure_id = $1 ORDER BY created_at, id",
    )
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
pub(crate) async fn writing_to_the_group_is_for_managers_without_health_data_and_keeps_no_message()
{
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let g = w.open.clone();
    let write = format!("{A}/p/{g}/ecrire");
    let objet = "Prochaine réunion du groupe";
    let secret = "Ordre du jour : planning de juin et astreintes du week-end";
    let subject = format!("[{OPEN_NAME}] {objet}");
    let members = ["remi@a.test", "anne@a.test", "gus@a.test"];

    // The managers see the link: the référent and the coordinator, not a membre active.
    for (who, client, expected) in [
        ("Rémi", &mut remi, 1),
        ("Claire", &mut claire, 1),
        ("Anne", &mut anne, 0),
    ] {
        let p = page(client, &project_path(&g)).await;
        assert_eq!(
            count(&p, &format!("header.projet a[href={write}]")),
            expected,
            "{who}: {p}"
        );
    }

    // Others may not: a membre active, an invité, a member outside the group (403); the
    // closed project does not exist for Oscar, nor A's groups through B (404).
    for (who, client) in [
        ("Anne", &mut anne),
        ("Gustave", &mut gus),
        ("Oscar", &mut oscar),
    ] {
        let (status, _) = client.get(&write).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who} opens the form");
        let (status, _, body) = client
            .post_form(&write, &group_mail_form(objet, secret, "tous", true))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who} writes: {body}");
    }
    let (status, body) = oscar.get(&format!("{A}/p/{}/ecrire", w.closed)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Oscar, the closed project");
    assert!(!body.contains(CLOSED_NAME), "{body}");
    for path in [
        format!("{B}/p/{g}/ecrire"),
        format!("{B}/p/{}/ecrire", w.closed),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}");
        let (status, _, _) = bob
            .post_form(&path, &group_mail_form(objet, secret, "tous", true))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob POST {path}");
    }
    let (status, _) = bob.get(&write).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {write}");

    // The form warns and asks to confirm.
    let p = page(&mut remi, &write).await;
    assert!(
        first(&p, "p.avertissement-sante")
            .text()
            .contains(&same("N’écrivez aucune donnée de santé")),
        "{p}"
    );
    let checkbox = first(&p, "form.ecrire input[name=sans-donnees-sante]");
    assert_eq!(checkbox.get("value"), "1");
    assert!(checkbox.attr("required").is_some(), "{}", checkbox.html);
    assert!(
        says(&p, "Ce message ne contient aucune donnée de santé."),
        "{p}"
    );

    // Not confirmed, or bad input: 422, the values kept, nothing sent nor stored.
    let (status, _, body) = remi
        .post_form(&write, &group_mail_form(objet, secret, "tous", false))
        .await;
    assert_refused(
        status,
        &body,
        "Confirmez que le message ne contient aucune donnée de santé.",
        "not confirmed",
    );
    assert_eq!(first(&body, "input#objet").get("value"), objet);
    assert!(
        first(&body, "textarea#message")
            .text()
            .contains(&same(secret)),
        "the message is kept: {body}"
    );
    let long = "x".repeat(201);
    for (fields, message, what) in [
        (
            group_mail_form("", secret, "tous", true),
            "L’objet est obligatoire",
            "an empty subject",
        ),
        (
            group_mail_form(objet, "", "tous", true),
            "Le message est obligatoire",
            "an empty message",
        ),
        (
            group_mail_form(long.as_str(), secret, "tous", true),
            "",
            "a subject over 200 characters",
        ),
        (
            group_mail_form(objet, secret, "quelques-uns", true),
            "Choisissez les destinataires",
            "an unknown audience",
        ),
    ] {
        let (status, _, body) = remi.post_form(&write, &fields).await;
        assert_refused(status, &body, message, what);
    }
    for email in members {
        assert!(
            mails(&host, w.sid, email, objet).await.is_empty(),
            "nothing sent to {email}"
        );
    }
    assert!(group_mails(&host, w.sid).await.is_empty(), "nothing stored");

    // Confirmed: each member of the group once, nobody else; not Rémi, who asked for no
    // copy.
    let (status, location, body) = remi
        .post_form(&write, &group_mail_form(objet, secret, "tous", true))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l == format!("{A}/p/{g}?ok=courriel")),
        "{location:?}"
    );
    for email in ["anne@a.test", "gus@a.test"] {
        let to = mails(&host, w.sid, email, &subject).await;
        assert_eq!(to.len(), 1, "one mail to {email}");
        let body = &to[0];
        assert!(body.contains(secret), "the message: {body}");
        assert!(
            body.contains(&format!(
                "Message envoyé par Rémi Référent aux membres du projet « {OPEN_NAME} »"
            )),
            "who and which project: {body}"
        );
        assert!(body.contains(HEALTH_WARNING), "the warning: {body}");
    }
    for email in ["claire@a.test", "oscar@a.test"] {
        assert!(
            mails(&host, w.sid, email, objet).await.is_empty(),
            "{email} is not in the group"
        );
    }
    assert!(
        mails(&host, w.sid, "remi@a.test", objet).await.is_empty(),
        "the sender is mailed only when he asks for a copy"
    );
    let p = page(&mut remi, &format!("{}?ok=courriel", project_path(&g))).await;
    assert!(says(&p, "Votre message est envoyé par courriel."), "{p}");

    // The record says who wrote to whom, never what.
    let stored = group_mails(&host, w.sid).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].0.as_deref(), Some(g.as_str()));
    assert_eq!(stored[0].1.as_deref(), Some(objet));
    assert_eq!(stored[0].2.as_deref(), Some("tous"));
    assert_eq!(stored[0].3, Some(2));
    assert_eq!(stored[0].4.as_deref(), Some("Rémi Référent"));
    assert!(!format!("{stored:?}").contains("astreintes"), "{stored:?}");
    let journal = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.action == "projets.groupe.ecrire")
            .count(),
        1,
        "{journal:?}"
    );
    assert!(
        !format!("{journal:?}").contains("astreintes"),
        "the journal holds no message: {journal:?}"
    );

    // To the référents only, by the coordinator (not in the group: no copy for her).
    let objet2 = "Pour les référents seulement";
    let (status, _, body) = claire
        .post_form(
            &write,
            &group_mail_form(objet2, "Point sur les inscriptions.", "referents", true),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(mails(&host, w.sid, "remi@a.test", objet2).await.len(), 1);
    for email in ["anne@a.test", "gus@a.test", "claire@a.test"] {
        assert!(
            mails(&host, w.sid, email, objet2).await.is_empty(),
            "{email}"
        );
    }
    let stored = group_mails(&host, w.sid).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[1].2.as_deref(), Some("referents"));
    assert_eq!(stored[1].3, Some(1));

    // An archived project: 409, and no link.
    let db = &host.state.db;
    let group = db
        .group(w.sid, w.closed.parse().unwrap(), w.remi)
        .await
        .unwrap()
        .expect("the closed group");
    db.set_group_archived(&group, true).await.unwrap();
    let archived = "Ce projet est archivé : il n’est plus modifiable.";
    let closed_write = format!("{A}/p/{}/ecrire", w.closed);
    let (status, body) = remi.get(&closed_write).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(says(&body, archived), "{body}");
    let (status, _, body) = remi
        .post_form(&closed_write, &group_mail_form(objet, secret, "tous", true))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let p = page(&mut remi, &project_path(&w.closed)).await;
    assert_eq!(
        count(&p, &format!("a[href={closed_write}]")),
        0,
        "no link on an archived project: {p}"
    );
    assert_eq!(group_mails(&host, w.sid).await.len(), 2, "nothing stored");
}

/// The boxes ticked on « Écrire au groupe »: `(name, value)` of `input[name=membre]`.
pub(crate) fn member_boxes(html: &str) -> Vec<(String, bool)> {
    all(html, "form.ecrire input[name=membre]")
        .iter()
        .map(|i| (i.get("value"), i.attr("checked").is_some()))
        .collect()
}

/// « Écrire au groupe » to the members ticked (`destinataires=choisis`, `membre`
/// repeated), confirmed, with the sender's copy when `copy`.
pub(crate) fn chosen_form<'a>(
    objet: &'a str,
    members: &[&'a str],
    copy: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = group_mail_form(objet, "Point sur les astreintes de juin.", "choisis", true);
    for m in members {
        fields.push(("membre", *m));
    }
    if copy {
        fields.push(("copie", "1"));
    }
    fields
}

#[tokio::test]
pub(crate) async fn writing_to_chosen_members_mails_only_them_and_the_sender_on_request() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let g = w.open.clone();
    let write = format!("{A}/p/{g}/ecrire");
    let (anne_id, gus_id, oscar_id, bob_id, remi_id) = (
        w.anne.to_string(),
        w.gus.to_string(),
        w.oscar.to_string(),
        w.bob.to_string(),
        w.remi.to_string(),
    );
    let everyone = [
        "remi@a.test",
        "anne@a.test",
        "gus@a.test",
        "claire@a.test",
        "oscar@a.test",
    ];

    // The form offers the group's members but the sender, none ticked, and the copy.
    let p = page(&mut remi, &write).await;
    let mut offered: Vec<String> = member_boxes(&p).into_iter().map(|(id, _)| id).collect();
    offered.sort();
    let mut expected = vec![anne_id.clone(), gus_id.clone()];
    expected.sort();
    assert_eq!(offered, expected, "{p}");
    assert!(member_boxes(&p).iter().all(|(_, ticked)| !ticked), "{p}");
    assert_eq!(
        count(&p, "form.ecrire input[name=destinataires][value=choisis]"),
        1,
        "{p}"
    );
    let copy = first(&p, "form.ecrire input[name=copie]");
    assert_eq!(copy.get("value"), "1");
    assert!(copy.attr("checked").is_none(), "{}", copy.html);

    // Nobody ticked, someone outside the group (a member of the structure, named, or of
    // another structure, not named), alone or with a member: 422, the form as typed,
    // nothing sent nor stored.
    let objet = "Astreintes de juin";
    let refusals: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec![],
            "Choisissez au moins un destinataire.",
            "nobody ticked",
        ),
        (
            vec![oscar_id.as_str()],
            "Oscar Dehors ne fait pas partie du groupe.",
            "a member outside the group",
        ),
        (
            vec![anne_id.as_str(), bob_id.as_str()],
            "ne fait pas partie du groupe.",
            "another structure's member",
        ),
        (
            vec!["999999"],
            "ne fait pas partie du groupe.",
            "an unknown id",
        ),
    ];
    for (members, message, what) in refusals {
        let fields = chosen_form(objet, &members, false);
        let (status, _, body) = remi.post_form(&write, &fields).await;
        assert_refused(status, &body, message, what);
        assert!(!says(&body, "Bob Ailleurs"), "{what}: {body}");
        assert_eq!(first(&body, "input#objet").get("value"), objet, "{what}");
        assert!(
            first(&body, "textarea#message")
                .text()
                .contains("Point sur les astreintes de juin."),
            "{what}: {body}"
        );
        assert!(
            first(
                &body,
                "form.ecrire input[name=destinataires][value=choisis]"
            )
            .attr("checked")
            .is_some(),
            "{what}: the audience is kept"
        );
        let ticked: Vec<String> = member_boxes(&body)
            .into_iter()
            .filter(|(_, ticked)| *ticked)
            .map(|(id, _)| id)
            .collect();
        let kept: Vec<String> = members
            .iter()
            .filter(|m| **m == anne_id)
            .map(|m| m.to_string())
            .collect();
        assert_eq!(ticked, kept, "{what}: the boxes ticked are kept");
    }
    for email in everyone {
        assert!(
            mails(&host, w.sid, email, objet).await.is_empty(),
            "nothing sent to {email}"
        );
    }
    assert!(group_mails(&host, w.sid).await.is_empty(), "nothing stored");

    // A membre active may not, whatever she ticks: the page's refusal, nothing sent.
    let (status, _, body) = anne
        .post_form(&write, &chosen_form(objet, &[gus_id.as_str()], true))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        says(
            &body,
            "Seuls les référents du projet et les coordinateurs écrivent aux membres du groupe."
        ),
        "{body}"
    );
    for email in everyone {
        assert!(
            mails(&host, w.sid, email, objet).await.is_empty(),
            "{email}"
        );
    }

    // Gustave only: him, not Anne, not Rémi (no copy asked).
    let (status, location, body) = remi
        .post_form(&write, &chosen_form(objet, &[gus_id.as_str()], false))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("{A}/p/{g}?ok=courriel"))),
        "{location:?}"
    );
    let to_gus = mails(&host, w.sid, "gus@a.test", objet).await;
    assert_eq!(to_gus.len(), 1, "{to_gus:?}");
    assert!(
        to_gus[0].contains(&format!(
            "Message envoyé par Rémi Référent à des membres du projet « {OPEN_NAME} »"
        )),
        "{}",
        to_gus[0]
    );
    assert!(to_gus[0].contains(HEALTH_WARNING), "{}", to_gus[0]);
    for email in [
        "anne@a.test",
        "remi@a.test",
        "claire@a.test",
        "oscar@a.test",
    ] {
        assert!(
            mails(&host, w.sid, email, objet).await.is_empty(),
            "{email}"
        );
    }

    // Anne, with a copy: Anne and Rémi; Rémi ticking himself changes nothing.
    let objet2 = "Compte rendu pour Anne";
    let (status, _, body) = remi
        .post_form(
            &write,
            &chosen_form(
                objet2,
                &[anne_id.as_str(), remi_id.as_str(), anne_id.as_str()],
                true,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    for (email, expected) in [
        ("anne@a.test", 1),
        ("remi@a.test", 1),
        ("gus@a.test", 0),
        ("claire@a.test", 0),
    ] {
        assert_eq!(
            mails(&host, w.sid, email, objet2).await.len(),
            expected,
            "{email}"
        );
    }

    // The coordinator, to everyone with a copy: the three members and herself.
    let objet3 = "Réunion de rentrée";
    let mut fields = group_mail_form(objet3, "Rendez-vous le 2 septembre.", "tous", true);
    fields.push(("copie", "1"));
    let (status, _, body) = claire.post_form(&write, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    for (email, expected) in [
        ("remi@a.test", 1),
        ("anne@a.test", 1),
        ("gus@a.test", 1),
        ("claire@a.test", 1),
        ("oscar@a.test", 0),
    ] {
        assert_eq!(
            mails(&host, w.sid, email, objet3).await.len(),
            expected,
            "{email}"
        );
    }

    // The records and the journal count the mails sent, the copies included.
    let stored = group_mails(&host, w.sid).await;
    let summary: Vec<(Option<String>, Option<i64>)> =
        stored.iter().map(|r| (r.2.clone(), r.3)).collect();
    assert_eq!(
        summary,
        vec![
            (Some("choisis".to_string()), Some(1)),
            (Some("choisis".to_string()), Some(2)),
            (Some("tous".to_string()), Some(4)),
        ]
    );
    let journal = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.action == "projets.groupe.ecrire")
            .count(),
        3,
        "{journal:?}"
    );
}

// Members create their projects and decide who joins (WIT 0.2.6 `group-admin`).

/// The structure's groups by name, as the host keeps them.
pub(crate) async fn group_names(host: &Host, sid: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM work_groups WHERE structure_id = $1 ORDER BY name")
        .bind(sid)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap()
}

/// The host's audit entries of the structure for `action`: (actor label, target).
pub(crate) async fn audited(host: &Host, sid: i64, action: &str) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_label, target FROM audit_log WHERE structure_id = $1 AND action = $2 ORDER BY id",
    )
    .bind(sid)
    .bind(action)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    rows
}

/// The members listed on a project page: (account id, role code).
pub(crate) async fn listed_members(c: &mut Client<'_>, g: &str) -> Vec<(String, String)> {
    let p = page(c, &project_path(g)).await;
    all(&p, "section#membres li[data-personne]")
        .iter()
        .map(|li| (li.get("data-personne"), li.get("data-role")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn members_create_their_projects_and_referents_decide_who_joins() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut gus_client = signed_in(&host, "gus@a.test").await;
    let groups_before = group_names(&host, w.sid).await;

    // A member in no group opens « Nouveau projet »: a new group, no existing one offered.
    let (status, form) = oscar.get(&format!("{A}/nouveau")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(count(&form, "input#nom"), 1, "{form}");
    assert_eq!(
        count(&form, "select#groupe"),
        0,
        "members create a group: {form}"
    );
    let (_, coordinator_form) = claire.get(&format!("{A}/nouveau")).await;
    assert_eq!(
        count(&coordinator_form, "select#groupe"),
        1,
        "{coordinator_form}"
    );

    // Refused forms create no group: no name, a name another group has, a bad mission,
    // an existing group taken by a member.
    let new = |name: &'static str| [("groupe", ""), ("nom", name), ("visibilite", "ouvert")];
    let (status, _, body) = create_project(&mut oscar, "", "2.5", "2", &new("")).await;
    assert_refused(status, &body, "Donnez un nom au projet", "no name");
    let (status, _, body) = create_project(&mut oscar, "", "2.5", "2", &new(OPEN_NAME)).await;
    assert_refused(
        status,
        &body,
        "Un groupe de la structure porte déjà ce nom.",
        "name taken",
    );
    let (status, _, body) = create_project(&mut oscar, "", "2.5", "9", &new("Parcours BPCO")).await;
    assert_refused(status, &body, "Choisissez une mission", "bad mission");
    let (status, _, body) = create_project(&mut oscar, &w.free, "2.5", "2", &[("nom", "")]).await;
    assert_refused(
        status,
        &body,
        "Choisissez un groupe de travail.",
        "a member takes a group",
    );
    assert_eq!(
        group_names(&host, w.sid).await,
        groups_before,
        "nothing was created"
    );

    // Created: Oscar is the first référent of the new open group, audited by the host.
    let (status, location, body) =
        create_project(&mut oscar, "", "2.5", "2", &new("Parcours BPCO")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("a redirect");
    let g = location
        .strip_prefix(&format!("{A}/p/"))
        .and_then(|rest| rest.split('?').next())
        .expect("the new project's page")
        .to_string();
    assert!(location.contains("ok=cree"), "{location}");
    let names = group_names(&host, w.sid).await;
    assert!(names.contains(&"Parcours BPCO".to_string()), "{names:?}");
    let group = host
        .state
        .db
        .group(w.sid, g.parse().unwrap(), w.oscar)
        .await
        .unwrap()
        .expect("the new group");
    assert!(group.open && !group.archived);
    assert_eq!(group.my_role, Some(GroupRole::Referent));
    assert_eq!(
        audited(&host, w.sid, "group.create").await,
        vec![(
            "Oscar Dehors <oscar@a.test>".to_string(),
            "Parcours BPCO".to_string()
        )]
    );
    assert_eq!(
        listed_members(&mut oscar, &g).await,
        vec![(w.oscar.to_string(), "referent".to_string())]
    );

    // Anne asks to join; her request waits, she cannot decide it herself.
    let p = page(&mut anne, &project_path(&g)).await;
    assert_eq!(count(&p, "form.rejoindre"), 1, "{p}");
    let (status, location, body) = anne
        .post_form(
            &format!("{}/rejoindre", project_path(&g)),
            &[("message", "J’aimerais participer au parcours.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=demande")));
    let p = page(&mut anne, &project_path(&g)).await;
    assert_eq!(count(&p, "form.rejoindre"), 0, "{p}");
    assert_eq!(count(&p, "p.demande-en-attente"), 1, "{p}");
    // Asking again while the request waits: the same answer, no second request, no
    // second mail.
    let (status, location, body) = anne
        .post_form(
            &format!("{}/rejoindre", project_path(&g)),
            &[("message", "Je relance ma demande.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "asked again: {body}");
    assert!(location.is_some_and(|l| l.contains("ok=demande")));
    // Oscar, the référent, is told once: who asks and the link to the requests, never
    // the message typed.
    let asked = "Demande pour rejoindre « Parcours BPCO »";
    let to_oscar = mails(&host, w.sid, "oscar@a.test", asked).await;
    assert_eq!(to_oscar.len(), 1, "one mail for one request: {to_oscar:?}");
    let link = format!("/cpts-a/projets/p/{g}#demandes");
    for expected in ["Anne Active", link.as_str(), HEALTH_WARNING] {
        assert!(
            to_oscar[0].contains(expected),
            "« {expected} » in {}",
            to_oscar[0]
        );
    }
    for absent in ["J’aimerais participer", "Je relance"] {
        assert!(!to_oscar[0].contains(absent), "{}", to_oscar[0]);
    }
    for email in ["anne@a.test", "claire@a.test", "remi@a.test"] {
        assert!(
            mails(&host, w.sid, email, asked).await.is_empty(),
            "only the référent is told, not {email}"
        );
    }
    let too_long = "x".repeat(1001);
    let (status, _, _) = anne
        .post_form(
            &format!("{}/rejoindre", project_path(&g)),
            &[("message", &too_long)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let p = page(&mut oscar, &project_path(&g)).await;
    let requests = all(&p, "ul.demandes li[data-demande]");
    assert_eq!(requests.len(), 1, "one pending request: {p}");
    assert_eq!(
        count(&p, "section#demandes li.demande[data-demande]"),
        1,
        "the mail's anchor: {p}"
    );
    assert_eq!(requests[0].get("data-personne"), w.anne.to_string());
    assert!(
        requests[0]
            .text()
            .contains("J’aimerais participer au parcours.")
    );
    let r = requests[0].get("data-demande");
    let accept = format!("{}/demandes/{r}/accepter", project_path(&g));
    let (status, _, _) = anne.post_form(&accept, &[]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the requester does not decide"
    );

    let (status, location, body) = oscar.post_form(&accept, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=demande-accepte")));
    let (status, _, _) = oscar.post_form(&accept, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a request is decided once");
    assert!(
        listed_members(&mut oscar, &g)
            .await
            .contains(&(w.anne.to_string(), "active".to_string()))
    );
    let mailed = mails(
        &host,
        w.sid,
        "anne@a.test",
        "Votre demande pour « Parcours BPCO » a été acceptée",
    )
    .await;
    assert_eq!(mailed.len(), 1, "Anne is told once");
    assert!(
        mailed[0].contains(&format!("/cpts-a/projets/p/{g}")),
        "{}",
        mailed[0]
    );
    assert!(mailed[0].contains(HEALTH_WARNING), "{}", mailed[0]);
    assert_eq!(
        audited(&host, w.sid, "group.request.approve").await.len(),
        1
    );

    // Gustave asks too (Oscar told once more, for this new request); refused, he is told
    // so and stays out.
    let (status, _, body) = gus_client
        .post_form(
            &format!("{}/rejoindre", project_path(&g)),
            &[("message", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(mails(&host, w.sid, "oscar@a.test", asked).await.len(), 2);
    let p = page(&mut oscar, &project_path(&g)).await;
    let requests = all(&p, "ul.demandes li[data-demande]");
    assert_eq!(requests.len(), 1, "{p}");
    assert_eq!(requests[0].get("data-personne"), w.gus.to_string());
    let refuse = format!(
        "{}/demandes/{}/refuser",
        project_path(&g),
        requests[0].get("data-demande")
    );
    let (status, location, body) = oscar.post_form(&refuse, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=demande-refuse")));
    let refused = mails(
        &host,
        w.sid,
        "gus@a.test",
        "Votre demande pour « Parcours BPCO » n’a pas été retenue",
    )
    .await;
    assert_eq!(refused.len(), 1, "Gustave is told once");
    assert!(refused[0].contains(HEALTH_WARNING), "{}", refused[0]);
    assert!(
        mails(&host, w.sid, "gus@a.test", "a été acceptée")
            .await
            .is_empty(),
        "no acceptance for Gustave"
    );
    assert!(
        !listed_members(&mut oscar, &g)
            .await
            .iter()
            .any(|(id, _)| *id == w.gus.to_string()),
        "a refused request adds nobody"
    );

    // Roles: the last référent stays one; someone outside the structure is not added.
    let me = format!("{}/membres/{}", project_path(&g), w.oscar);
    let (status, _, body) = oscar.post_form(&me, &[("role", "active")]).await;
    assert_refused(
        status,
        &body,
        "Un groupe doit garder au moins un référent.",
        "last référent",
    );
    let add = format!("{}/membres", project_path(&g));
    let bob = w.bob.to_string();
    let (status, _, body) = oscar
        .post_form(&add, &[("personne", &bob), ("role", "active")])
        .await;
    assert_refused(
        status,
        &body,
        "ne fait pas partie de la structure",
        "another structure's member",
    );
    let gus = w.gus.to_string();
    let (status, _, body) = oscar
        .post_form(&add, &[("personne", &gus), ("role", "guest")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, _) = anne
        .post_form(
            &format!("{}/membres/{}/retirer", project_path(&g), w.gus),
            &[],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a membre actif removes nobody"
    );
    // Anne leaves the open project: she still reads it, no longer in its members.
    let (status, location, body) = anne
        .post_form(
            &format!("{}/membres/{}/retirer", project_path(&g), w.anne),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=quitte")));
    let members = listed_members(&mut oscar, &g).await;
    assert_eq!(
        members,
        vec![
            (w.oscar.to_string(), "referent".to_string()),
            (w.gus.to_string(), "guest".to_string()),
        ]
    );

    // A closed project of others is not there to ask; nor is another structure's.
    let (status, _, _) = oscar
        .post_form(
            &format!("{}/rejoindre", project_path(&w.closed)),
            &[("message", "")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut bob_client = signed_in(&host, "bob@b.test").await;
    for path in [
        format!("{B}/p/{g}/rejoindre"),
        format!("{B}/p/{g}/membres"),
        format!("{B}/p/{g}/archiver"),
    ] {
        let (status, _, _) = bob_client
            .post_form(
                &path,
                &[
                    ("message", ""),
                    ("personne", &bob),
                    ("role", "active"),
                    ("archive", "1"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob {path}");
    }

    // Archived: the badge, no more requests; restored by its référent.
    let archive = format!("{}/archiver", project_path(&g));
    let (status, _, _) = anne.post_form(&archive, &[("archive", "1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = oscar.post_form(&archive, &[("archive", "1")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let p = page(&mut anne, &project_path(&g)).await;
    assert!(says(&p, "Archivé"), "{p}");
    assert_eq!(count(&p, "form.rejoindre"), 0);
    let (status, _, _) = anne
        .post_form(
            &format!("{}/rejoindre", project_path(&g)),
            &[("message", "")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = oscar.post_form(&archive, &[("archive", "0")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let group = host
        .state
        .db
        .group(w.sid, g.parse().unwrap(), w.oscar)
        .await
        .unwrap()
        .unwrap();
    assert!(!group.archived);
    assert_eq!(audited(&host, w.sid, "group.archive").await.len(), 2);
}

/// A project whose group has lost its only référent (the host's pages never allow it; a
/// database edit does): a join request goes to the coordinator who created the project,
/// once however often it is asked, and she decides it on the project page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_join_request_without_a_referent_is_mailed_to_the_coordinators() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND account_id = $2")
        .bind(w.open.parse::<i64>().unwrap())
        .bind(w.remi)
        .execute(host.state.db.pool())
        .await
        .unwrap();
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let join = format!("{}/rejoindre", project_path(&w.open));
    for message in ["Je voudrais participer.", "Je relance ma demande."] {
        let (status, location, body) = oscar.post_form(&join, &[("message", message)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "« {message} »: {body}");
        assert!(location.is_some_and(|l| l.contains("ok=demande")));
    }
    let asked = format!("Demande pour rejoindre « {OPEN_NAME} »");
    let to_claire = mails(&host, w.sid, "claire@a.test", &asked).await;
    assert_eq!(
        to_claire.len(),
        1,
        "one mail for one request: {to_claire:?}"
    );
    let link = format!("/cpts-a/projets/p/{}#demandes", w.open);
    for expected in ["Oscar Dehors", link.as_str(), HEALTH_WARNING] {
        assert!(
            to_claire[0].contains(expected),
            "« {expected} » in {}",
            to_claire[0]
        );
    }
    for email in ["remi@a.test", "anne@a.test", "gus@a.test", "oscar@a.test"] {
        assert!(
            mails(&host, w.sid, email, &asked).await.is_empty(),
            "{email} is not told"
        );
    }
    let p = page(&mut claire, &project_path(&w.open)).await;
    let requests = all(&p, "section#demandes li.demande[data-demande]");
    assert_eq!(requests.len(), 1, "{p}");
    assert_eq!(requests[0].get("data-personne"), w.oscar.to_string());
    let accept = format!(
        "{}/demandes/{}/accepter",
        project_path(&w.open),
        requests[0].get("data-demande")
    );
    let (status, _, body) = claire.post_form(&accept, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let accepted = format!("Votre demande pour « {OPEN_NAME} » a été acceptée");
    assert_eq!(
        mails(&host, w.sid, "oscar@a.test", &accepted).await.len(),
        1
    );
}

// « Mes notifications », the daily digest (timer `projets.resume`), « Réglages des
// projets ».

pub(crate) const DIGEST_SUBJECT: &str = "Discussions de vos projets";
pub(crate) const DIGEST_TOPIC: &str = "projets.resume";

/// POST `/preferences` of the module at `base` as the form sends it: a hidden `0`
/// before each ticked `1`.
pub(crate) async fn post_notification_choices(
    c: &mut Client<'_>,
    base: &str,
    mention_mail: bool,
    digest: bool,
) -> (StatusCode, Option<String>, String) {
    let mut fields = vec![("mention_mail", "0")];
    if mention_mail {
        fields.push(("mention_mail", "1"));
    }
    fields.push(("digest", "0"));
    if digest {
        fields.push(("digest", "1"));
    }
    c.post_form(&format!("{base}/preferences"), &fields).await
}

/// [`post_notification_choices`], expected to pass: 303 back to the page.
pub(crate) async fn choose_notifications(
    c: &mut Client<'_>,
    base: &str,
    mention_mail: bool,
    digest: bool,
) {
    let (status, location, body) = post_notification_choices(c, base, mention_mail, digest).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{base}/preferences?ok=preferences").as_str())
    );
}

/// The checkbox `name` of « Mes notifications » is ticked.
pub(crate) fn ticked(html: &str, name: &str) -> bool {
    first(
        html,
        &format!("form.preferences input[type=checkbox][name={name}]"),
    )
    .attr("checked")
    .is_some()
}

/// The projects module's pending timers in structure `sid`: (due at, payload), soonest
/// first; all of them digests.
pub(crate) async fn pending_digests(host: &Host, sid: i64) -> Vec<(i64, Value)> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT due_at, topic, payload FROM timers WHERE structure_id = $1 AND plugin_id = 'projets' AND status = 'pending' ORDER BY due_at, id",
    )
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(due, topic, payload)| {
            assert_eq!(topic, DIGEST_TOPIC, "{payload}");
            (due, serde_json::from_str(&payload).expect("a JSON payload"))
        })
        .collect()
}

/// The first `hour`:00 in `zone`, on day `from` or later, that is still ahead: its day
/// ("YYYY-MM-DD") and instant, computed here with jiff (real zone rules), not with the
/// module's code.
pub(crate) fn next_local_hour(zone: &str, hour: i8, from: Option<&str>) -> (String, i64) {
    let tz = jiff::tz::TimeZone::get(zone).expect("a known zone");
    let now = jiff::Timestamp::now();
    let today = tz.to_datetime(now).date();
    let mut day = match from {
        Some(text) => text
            .parse::<jiff::civil::Date>()
            .expect("a date")
            .max(today),
        None => today,
    };
    loop {
        let at = tz.to_timestamp(day.at(hour, 0, 0, 0)).expect("an instant");
        if at > now {
            let text = format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
            return (text, at.as_second());
        }
        day = day.tomorrow().expect("a next day");
    }
}

/// The day after "YYYY-MM-DD".
pub(crate) fn following_day(day: &str) -> String {
    let next = day
        .parse::<jiff::civil::Date>()
        .expect("a date")
        .tomorrow()
        .expect("a next day");
    format!("{:04}-{:02}-{:02}", next.year(), next.month(), next.day())
}

/// Moves the clock to `at` for timers, then delivers what is due; how many fired. A
/// refused or failed delivery fails the test with its error.
pub(crate) async fn fire_digests(host: &Host, at: i64) -> usize {
    let fired = maillage::timers::fire_due(&host.state.db, at)
        .await
        .expect("due timers fire");
    let round = maillage::events::dispatch(&host.state)
        .await
        .expect("events are delivered");
    if round.failed > 0 {
        let errors: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT last_error FROM event_deliveries WHERE plugin_id = 'projets' AND last_error IS NOT NULL",
        )
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        panic!("a digest delivery failed: {errors:?}");
    }
    fired
}

/// The subjects of the digests mailed in structure `sid` to `to`.
pub(crate) async fn digest_subjects(host: &Host, sid: i64, to: &str) -> Vec<String> {
    host.state
        .db
        .outbox(Some(sid), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to && m.subject.starts_with(DIGEST_SUBJECT))
        .map(|m| m.subject)
        .collect()
}

#[tokio::test]
pub(crate) async fn the_daily_digest_mails_opted_in_members_their_unread_projects_once_without_the_text()
 {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let b = host.structure_id("cpts-b").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let g = w.open.clone();
    let secret = "la patiente de la chambre 12";
    let preferences = format!("{A}/preferences");

    // « Mes projets » leads to « Mes notifications »; the defaults: mention mails on, no
    // digest, hence no timer.
    let p = page(&mut anne, &format!("{A}/mes-projets")).await;
    assert_eq!(count(&p, &format!("a[href={preferences}]")), 1, "{p}");
    let p = page(&mut gus, &preferences).await;
    assert!(ticked(&p, "mention_mail"), "{p}");
    assert!(!ticked(&p, "digest"), "{p}");
    assert_eq!(
        count(
            &p,
            "form.preferences input[type=hidden][name=digest][value=0]"
        ),
        1,
        "{p}"
    );
    assert!(pending_digests(&host, w.sid).await.is_empty());

    // An unreadable choice: 422, nothing stored.
    let (status, _, body) = anne
        .post_form(
            &preferences,
            &[("mention_mail", "0"), ("digest", "0"), ("digest", "oui")],
        )
        .await;
    assert_refused(
        status,
        &body,
        "Ce choix est illisible",
        "an unreadable choice",
    );
    assert!(!ticked(&page(&mut anne, &preferences).await, "digest"));
    assert!(pending_digests(&host, w.sid).await.is_empty());

    // Anne opts in: one timer, at the next 07:00 in Paris (the structure's zone).
    choose_notifications(&mut anne, A, true, true).await;
    let (day, at) = next_local_hour("Europe/Paris", 7, None);
    let pending = pending_digests(&host, w.sid).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, at, "{pending:?}");
    assert_eq!(pending[0].1, json!({ "day": day, "after": null }));
    let p = page(&mut anne, &format!("{preferences}?ok=preferences")).await;
    assert!(
        says(&p, "Vos choix de notification sont enregistrés."),
        "{p}"
    );
    assert!(ticked(&p, "digest") && ticked(&p, "mention_mail"), "{p}");
    // Rémi and Oscar (in no group) too: still one timer. Bob in B: B's own.
    choose_notifications(&mut remi, A, true, true).await;
    choose_notifications(&mut oscar, A, true, true).await;
    assert_eq!(pending_digests(&host, w.sid).await.len(), 1, "one timer");
    choose_notifications(&mut bob, B, true, true).await;
    assert_eq!(pending_digests(&host, b).await.len(), 1, "B's timer");
    assert_eq!(
        pending_digests(&host, w.sid).await.len(),
        1,
        "A's unchanged"
    );

    // The open project's thread: Anne reads Rémi's first message, then he writes two
    // more (one with a patient's details) and she answers. Rémi writes in the closed
    // project too, which is then archived: no longer a current project.
    posted(&mut remi, &g, "Premier point de la semaine").await;
    page(&mut anne, &project_path(&g)).await;
    posted(&mut remi, &g, "Deuxième point").await;
    posted(&mut remi, &g, &format!("Troisième point : {secret}")).await;
    posted(&mut anne, &g, "Réponse d’Anne").await;
    posted(&mut remi, &w.closed, "Point sur la prévention").await;
    let db = &host.state.db;
    let closed = db
        .group(w.sid, w.closed.parse().unwrap(), w.remi)
        .await
        .unwrap()
        .expect("the closed group");
    db.set_group_archived(&closed, true).await.unwrap();
    assert!(
        digest_subjects(&host, w.sid, "anne@a.test")
            .await
            .is_empty()
    );

    // 07:00: A's digest and B's.
    assert_eq!(fire_digests(&host, at + 1).await, 2, "A's and B's timers");
    // Anne: the two messages of Rémi she has not read, by name, count and link only.
    assert_eq!(
        digest_subjects(&host, w.sid, "anne@a.test").await,
        ["Discussions de vos projets : 2 nouveaux messages"]
    );
    let to_anne = mails(&host, w.sid, "anne@a.test", DIGEST_SUBJECT).await;
    let body = &to_anne[0];
    let link = format!("/cpts-a/projets/p/{g}#non-lus");
    for expected in [
        OPEN_NAME,
        "2 nouveaux messages",
        "Rémi Référent",
        link.as_str(),
        "Pour ne plus recevoir ce résumé",
        "/cpts-a/projets/preferences",
        HEALTH_WARNING,
    ] {
        assert!(body.contains(expected), "« {expected} » in {body}");
    }
    for absent in [
        secret,
        "chambre",
        "Premier point",
        "Deuxième point",
        "Réponse d’Anne",
        "Anne Active",
        CLOSED_NAME,
    ] {
        assert!(!body.contains(absent), "« {absent} » stays out: {body}");
    }
    // Rémi, who never opened the thread: Anne's answer.
    assert_eq!(
        digest_subjects(&host, w.sid, "remi@a.test").await,
        ["Discussions de vos projets : 1 nouveau message"]
    );
    let to_remi = mails(&host, w.sid, "remi@a.test", DIGEST_SUBJECT).await;
    assert!(
        to_remi[0].contains(OPEN_NAME) && to_remi[0].contains("Anne Active"),
        "{}",
        to_remi[0]
    );
    assert!(!to_remi[0].contains("Réponse"), "{}", to_remi[0]);
    // Nobody else: Gustave did not opt in, Oscar reads no thread of his own, Claire did
    // not opt in, Bob is in another structure.
    for email in ["gus@a.test", "oscar@a.test", "claire@a.test", "bob@b.test"] {
        assert!(
            digest_subjects(&host, w.sid, email).await.is_empty(),
            "{email}"
        );
    }
    assert!(digest_subjects(&host, b, "bob@b.test").await.is_empty());

    // The next day's digest is scheduled, in each structure.
    let (next_day, next_at) = next_local_hour("Europe/Paris", 7, Some(&following_day(&day)));
    let pending = pending_digests(&host, w.sid).await;
    assert_eq!(pending.len(), 1, "the next day's: {pending:?}");
    assert_eq!(pending[0].0, next_at);
    assert_eq!(pending[0].1["day"], json!(next_day));
    assert_eq!(pending_digests(&host, b).await.len(), 1, "B's next day");

    // Delivered again (same event), then forged with another key: nobody mailed twice,
    // no second timer.
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'projets'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(fire_digests(&host, at + 1).await, 0, "nothing new is due");
    let event = maillage::storage::StoredEvent {
        idempotency_key: "digest-again".into(),
        source: "projets".into(),
        topic: DIGEST_TOPIC.into(),
        payload: json!({ "day": day, "after": null }).to_string(),
    };
    let outcome = host.deliver_event(w.sid, "projets", event).await;
    assert!(matches!(outcome, Ok(Ok(()))), "{outcome:?}");
    for email in ["anne@a.test", "remi@a.test"] {
        assert_eq!(
            digest_subjects(&host, w.sid, email).await.len(),
            1,
            "{email} once"
        );
    }
    assert_eq!(
        pending_digests(&host, w.sid).await.len(),
        1,
        "one next-day timer"
    );

    // Rémi turns mention mails off (the digest stays): a mention reaches Gustave only.
    choose_notifications(&mut remi, A, false, true).await;
    let p = page(&mut remi, &preferences).await;
    assert!(!ticked(&p, "mention_mail") && ticked(&p, "digest"), "{p}");
    posted(&mut anne, &g, "Merci @Rémi Référent et @Gustave Invité").await;
    const MENTIONED: &str = "vous a mentionné(e)";
    assert!(
        mails(&host, w.sid, "remi@a.test", MENTIONED)
            .await
            .is_empty(),
        "Rémi turned them off"
    );
    assert_eq!(mails(&host, w.sid, "gus@a.test", MENTIONED).await.len(), 1);

    // A structure in Cayenne: its digest at 07:00 there.
    let c = host
        .structure_in_zone("cpts-c", "America/Cayenne", &["projects"])
        .await;
    host.account("cpts-c", "clara@c.test", "Clara Cayenne", Role::Member)
        .await;
    let mut clara = signed_in(&host, "clara@c.test").await;
    choose_notifications(&mut clara, "/cpts-c/projets", true, true).await;
    let (day_c, at_c) = next_local_hour("America/Cayenne", 7, None);
    let pending = pending_digests(&host, c.id).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, at_c);
    assert_eq!(pending[0].1["day"], json!(day_c));
}

/// How many `reglages.modifier` entries the structure's journal holds.
pub(crate) async fn settings_changes(host: &Host, sid: i64) -> usize {
    host.state
        .db
        .audit_entries(Some(sid), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "projets.reglages.modifier")
        .count()
}

#[tokio::test]
pub(crate) async fn project_settings_are_for_coordinators_checked_audited_and_move_the_digest() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let reglages = format!("{A}/reglages");
    let reserved = [("creation", "coordinateurs"), ("digest_hour", "9")];

    // Coordinators only: a member is refused (403), a member of B does not find A's
    // (404) and may not change B's (403); nothing is stored.
    let (status, _) = anne.get(&reglages).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = anne.post_form(&reglages, &reserved).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = bob.get(&reglages).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = bob.post_form(&reglages, &reserved).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = bob.post_form(&format!("{B}/reglages"), &reserved).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(settings_changes(&host, w.sid).await, 0);

    // The list links to them for coordinators only.
    let p = page(&mut claire, &format!("{A}/")).await;
    assert_eq!(count(&p, &format!("a[href={reglages}]")), 1, "{p}");
    let p = page(&mut anne, &format!("{A}/")).await;
    assert_eq!(count(&p, &format!("a[href={reglages}]")), 0, "{p}");

    // The defaults: every member creates projects; the digest at 7 h.
    let p = page(&mut claire, &reglages).await;
    let choice = |p: &str, value: &str| {
        first(
            p,
            &format!("form.reglages input[type=radio][name=creation][value={value}]"),
        )
        .attr("checked")
        .is_some()
    };
    assert!(choice(&p, "membres") && !choice(&p, "coordinateurs"), "{p}");
    assert_eq!(
        first(&p, "form.reglages input#digest_hour").get("value"),
        "7"
    );
    let (status, _) = anne.get(&format!("{A}/nouveau")).await;
    assert_eq!(status, StatusCode::OK, "members create projects by default");

    // Anne opts into the digest: pending at the next 07:00 in Paris.
    choose_notifications(&mut anne, A, true, true).await;
    let (day, at7) = next_local_hour("Europe/Paris", 7, None);
    let pending = pending_digests(&host, w.sid).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, at7);

    // Bad values: 422 with the values typed, nothing stored, the timer unchanged.
    for (fields, message, what) in [
        (
            vec![("creation", "tous"), ("digest_hour", "9")],
            "Choisissez qui peut créer un projet",
            "an unknown creation",
        ),
        (
            vec![("digest_hour", "9")],
            "Choisissez qui peut créer un projet",
            "no creation",
        ),
        (
            vec![("creation", "coordinateurs"), ("digest_hour", "24")],
            "L’heure du résumé quotidien doit être un nombre entier",
            "24 h",
        ),
        (
            vec![("creation", "coordinateurs"), ("digest_hour", "-1")],
            "L’heure du résumé quotidien doit être un nombre entier",
            "-1 h",
        ),
        (
            vec![("creation", "coordinateurs"), ("digest_hour", "7,5")],
            "L’heure du résumé quotidien doit être un nombre entier",
            "7,5 h",
        ),
        (
            vec![("creation", "coordinateurs"), ("digest_hour", "")],
            "L’heure du résumé quotidien doit être un nombre entier",
            "no hour",
        ),
        (
            vec![("creation", "coordinateurs"), ("digest_hour", "sept")],
            "L’heure du résumé quotidien doit être un nombre entier",
            "a word",
        ),
    ] {
        let (status, _, body) = claire.post_form(&reglages, &fields).await;
        assert_refused(status, &body, message, what);
        if what == "a word" {
            assert_eq!(
                first(&body, "form.reglages input#digest_hour").get("value"),
                "sept"
            );
            assert!(choice(&body, "coordinateurs"), "the choice is kept: {body}");
        }
    }
    let p = page(&mut claire, &reglages).await;
    assert!(choice(&p, "membres"), "{p}");
    assert_eq!(
        first(&p, "form.reglages input#digest_hour").get("value"),
        "7"
    );
    assert_eq!(pending_digests(&host, w.sid).await[0].0, at7);
    assert_eq!(settings_changes(&host, w.sid).await, 0);

    // Saved: creation reserved to coordinators, the digest at 9 h, audited.
    let (status, location, body) = claire.post_form(&reglages, &reserved).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{reglages}?ok=reglages").as_str())
    );
    let p = page(&mut claire, &format!("{reglages}?ok=reglages")).await;
    assert!(
        says(&p, "Les réglages des projets sont enregistrés."),
        "{p}"
    );
    assert!(choice(&p, "coordinateurs") && !choice(&p, "membres"), "{p}");
    assert_eq!(
        first(&p, "form.reglages input#digest_hour").get("value"),
        "9"
    );
    assert_eq!(settings_changes(&host, w.sid).await, 1);
    // The pending digest moved to 09:00 of its day, and is still the only one.
    let (_, at9) = next_local_hour("Europe/Paris", 9, Some(&day));
    let pending = pending_digests(&host, w.sid).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, at9);
    assert_eq!(pending[0].1["day"], json!(day));
    let p = page(&mut anne, &format!("{A}/preferences")).await;
    assert!(says(&p, "Chaque jour vers 9 h"), "{p}");
    // Members may no longer create a project; coordinators still do.
    let (status, _) = anne.get(&format!("{A}/nouveau")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    page(&mut claire, &format!("{A}/nouveau")).await;
    // B's settings are B's own.
    let (status, _) = bob.get(&format!("{B}/reglages")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Back to every member, same hour: the timer stays as it is.
    let (status, _, body) = claire
        .post_form(&reglages, &[("creation", "membres"), ("digest_hour", "9")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _) = anne.get(&format!("{A}/nouveau")).await;
    assert_eq!(status, StatusCode::OK);
    let pending = pending_digests(&host, w.sid).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, at9);
    assert_eq!(settings_changes(&host, w.sid).await, 2);
}

// The meetings of a project's group, from the agenda (`meeting.saved`).

/// Runs the dispatcher until every `meeting.saved` of the structure reached the
/// projects module.
pub(crate) async fn deliver_meetings(host: &Host, sid: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        maillage::events::dispatch(&host.state)
            .await
            .expect("a dispatch round");
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, d.status, d.last_error FROM event_outbox e
             LEFT JOIN event_deliveries d ON d.event_id = e.id AND d.plugin_id = 'projets'
             WHERE e.structure_id = $1 AND e.topic = 'meeting.saved' ORDER BY e.id",
        )
        .bind(sid)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        assert!(!rows.is_empty(), "the agenda published no meeting.saved");
        if let Some((id, _, _)) = rows.iter().find(|r| r.1.is_none()) {
            panic!("event {id} (meeting.saved) was not given to the projects module");
        }
        if let Some((id, status, Some(error))) = rows
            .iter()
            .find(|r| r.1.as_deref() != Some("delivered") && r.2.is_some())
        {
            panic!("the projects module did not take event {id} ({status:?}): {error}");
        }
        if rows.iter().all(|r| r.1.as_deref() == Some("delivered")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "meeting.saved undelivered: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A meeting planned in the agenda for `group` ("" for the whole structure); its id.
pub(crate) async fn plan_meeting(
    c: &mut Client<'_>,
    title: &str,
    group: &str,
    start: &str,
) -> String {
    let (status, location, body) = c
        .post_form(
            "/cpts-a/agenda/nouvelle",
            &[
                ("titre", title),
                ("groupe", group),
                ("debut", start),
                ("fuseau", "Europe/Paris"),
                ("duree", "90"),
                ("lieu", "Maison de santé"),
                ("ordre_du_jour", ""),
                ("invites", "groupe"),
                ("externes", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "meeting « {title} »: {body}");
    let location = location.expect("a redirect to the meeting");
    location
        .rsplit("/r/")
        .next()
        .and_then(|rest| rest.split(['?', '/']).next())
        .expect("the meeting's id")
        .to_string()
}

/// The meetings listed on a project page: (agenda id, cancelled).
pub(crate) async fn listed_meetings(c: &mut Client<'_>, g: &str) -> Vec<(String, bool)> {
    let p = page(c, &project_path(g)).await;
    all(&p, "section#reunions li[data-reunion]")
        .iter()
        .map(|li| {
            (
                li.get("data-reunion"),
                li.attr("class").is_some_and(|c| c.contains("annulee")),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_project_page_lists_its_groups_meetings_and_a_task_links_one() {
    let host = projects_host().await;
    let w = world(&host, &["projects", "agenda"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut claire = signed_in(&host, "claire@a.test").await;

    let comite = plan_meeting(
        &mut remi,
        "Comité de pilotage SNP",
        &w.open,
        &local_in(7, 18, 30, "Europe/Paris"),
    )
    .await;
    let atelier = plan_meeting(
        &mut remi,
        "Atelier fiche réflexe",
        &w.open,
        &local_in(14, 12, 0, "Europe/Paris"),
    )
    .await;
    let mental = plan_meeting(
        &mut remi,
        "Réunion santé mentale",
        &w.closed,
        &local_in(3, 20, 0, "Europe/Paris"),
    )
    .await;
    let everyone = plan_meeting(
        &mut claire,
        "Assemblée générale",
        "",
        &local_in(5, 19, 0, "Europe/Paris"),
    )
    .await;
    deliver_meetings(&host, w.sid).await;

    // The open project lists its group's two meetings, soonest first, to any member of
    // the structure; nothing of the closed group's nor of the structure's meeting.
    assert_eq!(
        listed_meetings(&mut oscar, &w.open).await,
        vec![(comite.clone(), false), (atelier.clone(), false)]
    );
    let p = page(&mut oscar, &project_path(&w.open)).await;
    let first_item = first(&p, "section#reunions li[data-reunion]");
    assert!(
        first_item.text().contains("Comité de pilotage SNP"),
        "{}",
        first_item.html
    );
    assert!(
        first_item
            .html
            .contains(&format!("href=\"/cpts-a/agenda/r/{comite}\"")),
        "{}",
        first_item.html
    );
    assert!(!p.contains(&everyone) && !p.contains("Assemblée générale"));
    let mut anne = signed_in(&host, "anne@a.test").await;
    assert_eq!(
        listed_meetings(&mut anne, &w.closed).await,
        vec![(mental.clone(), false)]
    );

    // Cancelled in the agenda: still listed, marked.
    let (status, _, body) = remi
        .post_form(&format!("/cpts-a/agenda/r/{atelier}/annuler"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    deliver_meetings(&host, w.sid).await;
    assert_eq!(
        listed_meetings(&mut oscar, &w.open).await,
        vec![(comite.clone(), false), (atelier.clone(), true)]
    );

    // A late, older copy and another module's event change nothing.
    let stale = json!({
        "meeting": comite, "group_id": w.open, "title": "Ancien titre",
        "start_at": 1, "zone": "Europe/Paris", "duration": 60, "status": "prevue",
        "sequence": 0, "saved_at": 1,
    });
    for source in ["agenda", "sondages"] {
        let event = maillage::storage::StoredEvent {
            idempotency_key: format!("stale-{source}"),
            source: source.into(),
            topic: "meeting.saved".into(),
            payload: stale.to_string(),
        };
        host.deliver_event(w.sid, "projets", event)
            .await
            .expect("no fault")
            .expect("accepted and ignored");
    }
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert!(!p.contains("Ancien titre"), "a stale copy was kept");
    assert_eq!(listed_meetings(&mut oscar, &w.open).await.len(), 2);

    // A task linked to the committee: shown with its link; another group's meeting or a
    // cancelled one is refused and stores nothing.
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/p/{}/taches", w.open),
            &[
                ("titre", "Préparer le comité"),
                ("echeance", ""),
                ("recurrence", "aucune"),
                ("reunion", &mental),
            ],
        )
        .await;
    assert_refused(
        status,
        &body,
        "Cette réunion n’est pas une réunion du groupe.",
        "closed group's meeting",
    );
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/p/{}/taches", w.open),
            &[
                ("titre", "Préparer le comité"),
                ("recurrence", "aucune"),
                ("reunion", &atelier),
            ],
        )
        .await;
    assert_refused(
        status,
        &body,
        "Cette réunion n’est pas une réunion du groupe.",
        "cancelled meeting",
    );
    let p = page(&mut remi, &project_path(&w.open)).await;
    assert!(
        titled(&tasks(&p), "Préparer le comité").is_empty(),
        "nothing stored"
    );
    let options: Vec<String> = all(&p, "select#tache-reunion option")
        .iter()
        .map(|o| o.get("value"))
        .collect();
    assert_eq!(
        options,
        vec![String::new(), comite.clone()],
        "the committee only"
    );

    let (status, _, body) = remi
        .post_form(
            &format!("{A}/p/{}/taches", w.open),
            &[
                ("titre", "Préparer le comité"),
                ("recurrence", "aucune"),
                ("reunion", &comite),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let p = page(&mut remi, &project_path(&w.open)).await;
    let rows = tasks(&p);
    let task = titled(&rows, "Préparer le comité")[0].get("data-tache");
    let task_page = page(&mut oscar, &task_path(&w.open, &task)).await;
    let linked = first(&task_page, "dd.reunion");
    assert_eq!(linked.get("data-reunion"), comite);
    assert!(
        linked.text().contains("Comité de pilotage SNP"),
        "{}",
        linked.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn bench_projects_smoke() {
    // Tiny sizes: the benchmark checks its own results (the project page lists the
    // tasks, latest messages and meetings seeded; « Mes tâches » every open task of the
    // member); timings are printed, never asserted.
    maillage::bench::projects(3, 12, 30, 2, None)
        .await
        .expect("the projects benchmark runs and its pages show what it seeded");
}

// The documents of a project's group, from the cloud (`document.saved`).

/// The cloud's module id: the source of its events and the segment of its pages.
pub(crate) const CLOUD_MODULE: &str = "documents";
pub(crate) const DOCUMENT_SAVED: &str = "document.saved";

/// A `document.saved` payload of `document` in `group`, as the cloud publishes it;
/// (`saved_at`, `sequence`) orders its versions.
pub(crate) fn document_saved(
    document: &str,
    group: &str,
    name: &str,
    saved_at: i64,
    sequence: i64,
) -> Value {
    json!({
        "document": document, "group_id": group, "name": name, "folder": "Comptes rendus",
        "version": sequence, "size": 1536, "content_type": "application/pdf",
        "by_name": "Rémi Référent", "saved_at": saved_at, "sequence": sequence,
        "deleted": false, "path": format!("/d/{document}"),
    })
}

/// Gives the projects module of structure `sid` one `document.saved` from `source`, as
/// the dispatcher would; it must take it (an ignored one included: no retry).
pub(crate) async fn give_document(host: &Host, sid: i64, source: &str, key: &str, payload: String) {
    let event = maillage::storage::StoredEvent {
        idempotency_key: key.into(),
        source: source.into(),
        topic: DOCUMENT_SAVED.into(),
        payload,
    };
    host.deliver_event(sid, "projets", event)
        .await
        .expect("no fault")
        .unwrap_or_else(|e| panic!("{DOCUMENT_SAVED} {key} refused: {e}"));
}

/// The documents listed on a project page: (cloud id, name), in order.
pub(crate) async fn listed_documents(c: &mut Client<'_>, g: &str) -> Vec<(String, String)> {
    let p = page(c, &project_path(g)).await;
    all(&p, "section#documents li[data-document]")
        .iter()
        .map(|li| (li.get("data-document"), li.first("a").text()))
        .collect()
}

/// (`doc{i}`, `Document {i}`) for each `i`, in that order.
pub(crate) fn numbered(indexes: impl IntoIterator<Item = i64>) -> Vec<(String, String)> {
    indexes
        .into_iter()
        .map(|i| (format!("doc{i:02}"), format!("Document {i:02}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_project_page_lists_its_groups_documents_from_the_cloud() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let base = 1_790_000_000_i64;

    // Nothing received yet: no section at all.
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert_eq!(
        count(&p, "section#documents"),
        0,
        "no document ever received"
    );

    // Eleven documents of the open group, one of the closed group saved after them all.
    for i in 1..=11 {
        let id = format!("doc{i:02}");
        let payload = document_saved(&id, &w.open, &format!("Document {i:02}"), base + i * 60, 1);
        give_document(
            &host,
            w.sid,
            CLOUD_MODULE,
            &format!("saved-{id}"),
            payload.to_string(),
        )
        .await;
    }
    let secret = document_saved(
        "confid1",
        &w.closed,
        "Compte rendu confidentiel",
        base + 5000,
        1,
    );
    give_document(
        &host,
        w.sid,
        CLOUD_MODULE,
        "saved-confid1",
        secret.to_string(),
    )
    .await;

    // The ten most recently saved, newest first, to any member of the structure.
    assert_eq!(
        listed_documents(&mut oscar, &w.open).await,
        numbered((2..=11).rev()),
        "the 10 latest of the group, newest first"
    );
    let p = page(&mut oscar, &project_path(&w.open)).await;
    let newest = first(&p, "section#documents li[data-document]");
    assert_eq!(
        newest.first("a").get("href"),
        "/cpts-a/documents/d/doc11",
        "{}",
        newest.html
    );
    let details = newest.text();
    for part in [
        "1,5 Ko",
        "version 1",
        "lundi 21 septembre 2026, 16:24",
        "Rémi Référent",
        "Comptes rendus",
    ] {
        assert!(details.contains(part), "« {part} » in {details}");
    }
    let everything = first(&p, "section#documents a.tous-documents");
    assert_eq!(
        everything.get("href"),
        format!("/cpts-a/documents/g/{}", w.open)
    );
    assert!(says(&everything.html, "Tous les documents du projet"));
    // The closed group's document: never on the open project's page, on its own for its
    // members, and nowhere for others.
    assert!(!p.contains("confid1") && !p.contains("Compte rendu confidentiel"));
    assert_eq!(
        listed_documents(&mut anne, &w.closed).await,
        vec![(
            "confid1".to_string(),
            "Compte rendu confidentiel".to_string()
        )]
    );
    let (status, body) = oscar.get(&project_path(&w.closed)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Oscar, closed project");
    assert!(!body.contains("confid1"));

    // Older copies change nothing: an older saved_at (whatever its sequence), the same
    // saved_at with a lower sequence. A higher sequence at the same instant applies.
    for (key, saved_at, sequence) in [("older", base + 600, 9), ("lower", base + 660, 0)] {
        let stale = document_saved("doc11", &w.open, "Ancien nom", saved_at, sequence);
        give_document(&host, w.sid, CLOUD_MODULE, key, stale.to_string()).await;
    }
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert!(!p.contains("Ancien nom"), "a stale copy was kept");
    assert_eq!(
        listed_documents(&mut oscar, &w.open).await,
        numbered((2..=11).rev())
    );
    let newer = document_saved("doc11", &w.open, "Document 11 révisé", base + 660, 2);
    give_document(&host, w.sid, CLOUD_MODULE, "newer", newer.to_string()).await;
    let p = page(&mut oscar, &project_path(&w.open)).await;
    let newest = first(&p, "section#documents li[data-document]");
    assert_eq!(newest.get("data-document"), "doc11");
    assert_eq!(newest.first("a").text(), "Document 11 révisé");
    assert!(newest.text().contains("version 2"), "{}", newest.html);

    // Saved again, the oldest comes first and the tenth drops off.
    let again = document_saved("doc01", &w.open, "Document 01", base + 1000, 2);
    give_document(&host, w.sid, CLOUD_MODULE, "again", again.to_string()).await;
    let mut expected = numbered([1]);
    expected.push(("doc11".into(), "Document 11 révisé".into()));
    expected.extend(numbered((3..=10).rev()));
    assert_eq!(listed_documents(&mut oscar, &w.open).await, expected);

    // Deleted: off the list (the next one back in it), and a late older copy does not
    // bring it back.
    let mut deleted = document_saved("doc10", &w.open, "Document 10", base + 2000, 3);
    deleted["deleted"] = json!(true);
    give_document(&host, w.sid, CLOUD_MODULE, "deleted", deleted.to_string()).await;
    let late = document_saved("doc10", &w.open, "Document 10", base + 700, 2);
    give_document(&host, w.sid, CLOUD_MODULE, "late", late.to_string()).await;
    let mut expected = numbered([1]);
    expected.push(("doc11".into(), "Document 11 révisé".into()));
    expected.extend(numbered((2..=9).rev()));
    assert_eq!(listed_documents(&mut oscar, &w.open).await, expected);

    // Another module's events, and payloads that cannot be read, are taken and ignored.
    let intruder = document_saved("intrus", &w.open, "Document intrus", base + 9000, 1);
    let renamed = document_saved("doc01", &w.open, "Document piraté", base + 9000, 9);
    for (key, payload) in [("intruder", &intruder), ("renamed", &renamed)] {
        give_document(&host, w.sid, "agenda", key, payload.to_string()).await;
    }
    let mut bad_path = document_saved("doc02", &w.open, "Document détourné", base + 9000, 9);
    bad_path["path"] = json!("//ailleurs.example/d/doc02");
    for (key, payload) in [
        ("not-json", "pas du JSON".to_string()),
        (
            "no-group",
            json!({"document": "doc03", "name": "Sans groupe"}).to_string(),
        ),
        ("bad-path", bad_path.to_string()),
    ] {
        give_document(&host, w.sid, CLOUD_MODULE, key, payload).await;
    }
    let p = page(&mut oscar, &project_path(&w.open)).await;
    for text in [
        "Document intrus",
        "Document piraté",
        "Document détourné",
        "Sans groupe",
        "ailleurs.example",
    ] {
        assert!(!p.contains(text), "« {text} » on the page");
    }
    assert_eq!(listed_documents(&mut oscar, &w.open).await, expected);

    // Every document of the closed group deleted: the section stays, empty.
    let mut gone = document_saved(
        "confid1",
        &w.closed,
        "Compte rendu confidentiel",
        base + 6000,
        2,
    );
    gone["deleted"] = json!(true);
    give_document(&host, w.sid, CLOUD_MODULE, "gone", gone.to_string()).await;
    let p = page(&mut anne, &project_path(&w.closed)).await;
    assert_eq!(count(&p, "section#documents li[data-document]"), 0);
    assert!(says(
        &first(&p, "section#documents").html,
        "Aucun document pour le moment."
    ));

    // Bob, of structure B: nothing of A's documents, through B's address or A's.
    for path in [
        format!("{B}/p/{}", w.open),
        format!("{A}/p/{}", w.open),
        format!("{A}/p/{}", w.closed),
    ] {
        let (status, body) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "Bob GET {path}");
        assert!(
            !body.contains("doc11") && !body.contains("Document 11"),
            "Bob GET {path}"
        );
    }
}
