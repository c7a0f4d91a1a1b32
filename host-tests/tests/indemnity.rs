//! The indemnities module (`plugins/indemnity`, module id `indemnites`,
//! docs/indemnity-contract.md) end to end, through the real host, the real agenda and
//! the real rule-set components: a closed attendance (`meeting.attendance-closed`)
//! becomes one line per attendee computed by the structure's rule set in force at the
//! meeting's date from what the « Fiche membre » says (80 € for a libéral adhérent,
//! 100 € for a référent, salaried members only under an employer convention, nobody
//! else); the yearly cap holds a line instead of cutting it; a closing delivered again
//! writes nothing more; a corrected attendance replaces drafts and adjusts settled
//! lines; only treasurers (a module role granted on the fiche) approve and pay, once;
//! exports are read back by openpyxl and Python's csv module; the dry-run writes
//! nothing; bad input and misbehaving rule sets are contained. The Chromium journey is
//! in browser.rs, the cross-structure matrix in isolation.rs.

use std::time::{Duration, Instant};

use http::StatusCode;
use maillage::groups::GroupRole;
use maillage::tenancy::Role;
use serde_json::Value;

use crate::support::{Client, Host, PASSWORD, form_encode, meeting_id, parse_csv, wasm};

/// The module in structure A.
pub(crate) const A: &str = "/cpts-a/indemnites";
const AGENDA: &str = "/cpts-a/agenda";
const CLOSED_TOPIC: &str = "meeting.attendance-closed";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The default rule set's amounts as the treasurer types them.
pub(crate) const FORFAIT: [(&str, &str); 2] =
    [("s-forfait_membre", "80"), ("s-forfait_referent", "100")];

/// Generous limits: a debug build on two cores, exports built in the guest.
pub(crate) async fn indemnity_host() -> Host {
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

/// An attendee's key on the agenda's sheet.
pub(crate) fn key(account: i64) -> String {
    format!("u{account}")
}

/// Structure A, its people, their fiches and its groups.
pub(crate) struct World {
    pub sid: i64,
    /// Open group: Rémi référent; Anne, Olga, Samuel, Sylvie and Nina members.
    pub bpco: String,
    /// Open group: Olga référente, Anne member.
    pub diabete: String,
    pub remi: i64,
    pub anne: i64,
    pub olga: i64,
    pub sam: i64,
    pub sylvie: i64,
    pub nina: i64,
}

/// Claire coordinates (organises, records and closes the attendance), Adèle is an admin
/// (she fills the fiches), Tom is the treasurer (granted on his fiche). Everyone in the
/// groups is an adhérent since 2024-01-01 but Nina (from 2024-06-01): Rémi, Anne and
/// Olga libéraux, Samuel salaried under an employer convention, Sylvie salaried without.
pub(crate) async fn world(host: &Host) -> World {
    let s = host.structure("cpts-a", &["agenda", "indemnity"]).await;
    host.account(
        "cpts-a",
        "claire@a.test",
        "Claire Coordinatrice",
        Role::Coordinator,
    )
    .await;
    host.account("cpts-a", "adele@a.test", "Adèle Admin", Role::Admin)
        .await;
    let tom = host
        .account("cpts-a", "tom@a.test", "Tom Trésorier", Role::Member)
        .await;
    let person =
        |email: &'static str, name: &'static str| host.account("cpts-a", email, name, Role::Member);
    let remi = person("remi@a.test", "Rémi Référent").await;
    let anne = person("anne@a.test", "Anne Active").await;
    let olga = person("olga@a.test", "Olga Autre").await;
    let sam = person("sam@a.test", "Samuel Salarié").await;
    let sylvie = person("sylvie@a.test", "Sylvie Sansconvention").await;
    let nina = person("nina@a.test", "Nina Nouvelle").await;
    let db = &host.state.db;
    let bpco = db
        .create_group(s.id, "Parcours BPCO", "", true, remi.id)
        .await
        .unwrap();
    let group = db.group(s.id, bpco, remi.id).await.unwrap().unwrap();
    for member in [anne.id, olga.id, sam.id, sylvie.id, nina.id] {
        db.set_group_member(&group, member, GroupRole::Active)
            .await
            .unwrap();
    }
    let diabete = db
        .create_group(s.id, "Diabète", "", true, olga.id)
        .await
        .unwrap();
    let group = db.group(s.id, diabete, olga.id).await.unwrap().unwrap();
    db.set_group_member(&group, anne.id, GroupRole::Active)
        .await
        .unwrap();

    // The « Fiche membre », as an admin fills it.
    let mut adele = signed_in(host, "adele@a.test").await;
    for (account, profession, mode, convention, since) in [
        (
            remi.id,
            "Médecin généraliste",
            "liberal",
            false,
            "2024-01-01",
        ),
        (anne.id, "Infirmière", "liberal", false, "2024-01-01"),
        (olga.id, "Pharmacienne", "liberal", false, "2024-01-01"),
        (
            sam.id,
            "Masseur-kinésithérapeute",
            "salarie",
            true,
            "2024-01-01",
        ),
        (sylvie.id, "Diététicienne", "salarie", false, "2024-01-01"),
        (nina.id, "Sage-femme", "liberal", false, "2024-06-01"),
    ] {
        fiche(&mut adele, account, profession, mode, convention).await;
        adhesion(&mut adele, account, since, "").await;
    }
    grant(&mut adele, tom.id, &["indemnites:tresorier"]).await;
    World {
        sid: s.id,
        bpco: bpco.to_string(),
        diabete: diabete.to_string(),
        remi: remi.id,
        anne: anne.id,
        olga: olga.id,
        sam: sam.id,
        sylvie: sylvie.id,
        nina: nina.id,
    }
}

/// The fiche's profession, exercise mode and convention, through the admin's form.
pub(crate) async fn fiche(
    admin: &mut Client<'_>,
    account: i64,
    profession: &str,
    mode: &str,
    convention: bool,
) {
    let mut fields = vec![("profession", profession), ("exercice", mode)];
    if convention {
        fields.push(("convention", "1"));
    }
    let (status, _, body) = admin
        .post_form(&format!("/cpts-a/admin/membres/{account}/fiche"), &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "fiche of {account}: {body}");
}

/// An adhesion period, through the admin's form (`end` empty: still running).
pub(crate) async fn adhesion(admin: &mut Client<'_>, account: i64, start: &str, end: &str) {
    let (status, _, body) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{account}/adhesions"),
            &[("debut", start), ("fin", end)],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "adhesion of {account}: {body}"
    );
}

/// The module roles a member holds, through the fiche's roles form (`plugin:role`).
pub(crate) async fn grant(admin: &mut Client<'_>, account: i64, roles: &[&str]) {
    let fields: Vec<(&str, &str)> = roles.iter().map(|r| ("role", *r)).collect();
    let (status, location, body) = admin
        .post_form(&format!("/cpts-a/admin/membres/{account}/roles"), &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "roles of {account}: {body}");
    assert!(location.is_some_and(|l| l.contains("ok=roles")));
}

/// The installed version of a rule set (the newest).
pub(crate) async fn version_of(host: &Host, rule_set: &str) -> String {
    host.state
        .registry
        .rule_sets()
        .installed()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id == rule_set)
        .map(|r| r.version)
        .next_back()
        .unwrap_or_else(|| panic!("rule set {rule_set} is not installed"))
}

/// The treasurer puts a rule set version in force from `effect`, through the barème form.
pub(crate) async fn assign(
    treasurer: &mut Client<'_>,
    rule_set: &str,
    version: &str,
    effect: &str,
    settings: &[(&str, &str)],
) {
    let mut fields = vec![
        ("bareme", rule_set),
        ("version", version),
        ("effet", effect),
    ];
    fields.extend_from_slice(settings);
    let (status, location, body) = treasurer.post_form(&format!("{A}/bareme"), &fields).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{rule_set} {version} from {effect}: {body}"
    );
    assert!(
        location.is_some_and(|l| l.contains("ok=bareme")),
        "{rule_set} from {effect}"
    );
}

/// The default rule set `forfait` with these settings from `effect`.
pub(crate) async fn forfait(
    host: &Host,
    treasurer: &mut Client<'_>,
    effect: &str,
    settings: &[(&str, &str)],
) {
    let version = version_of(host, "forfait").await;
    assign(treasurer, "forfait", &version, effect, settings).await;
}

/// "YYYY-MM-DDTHH:MM" in Paris, `minutes` ago, as a `datetime-local` field takes it.
pub(crate) fn paris_minutes_ago(minutes: i64) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").expect("a known zone");
    jiff::Timestamp::from_second(maillage::storage::now_secs() - minutes * 60)
        .expect("a time in range")
        .to_zoned_datetime(tz)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A working-group meeting of `group` at `start` (Paris), 2 h; returns its id.
/// `guests`: the `externes` field (one « Prénom Nom <adresse> » a line).
pub(crate) async fn meeting(
    coordinator: &mut Client<'_>,
    title: &str,
    group: &str,
    start: &str,
    guests: &str,
) -> String {
    let mut fields = vec![
        ("titre", title),
        ("groupe", group),
        ("type", "groupe-de-travail"),
        ("debut", start),
        ("fuseau", "Europe/Paris"),
        ("duree", "120"),
        ("lieu", "Maison de santé"),
    ];
    if !guests.is_empty() {
        fields.push(("externes", guests));
    }
    let (status, location, body) = coordinator
        .post_form(&format!("{AGENDA}/nouvelle"), &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "meeting {title}: {body}");
    meeting_id(&location.expect("a redirect to the meeting"))
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The coordinator's émargement: `present` (key, minutes), `removed` listed but unchecked.
pub(crate) async fn record(
    coordinator: &mut Client<'_>,
    meeting: &str,
    present: &[(String, u32)],
    removed: &[String],
) {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (key, minutes) in present {
        fields.push(("liste".into(), key.clone()));
        fields.push(("present".into(), key.clone()));
        fields.push((format!("duree-{key}"), minutes.to_string()));
    }
    for key in removed {
        fields.push(("liste".into(), key.clone()));
    }
    let (status, _, body) = coordinator
        .post_form(
            &format!("{AGENDA}/r/{meeting}/emargement"),
            &borrowed(&fields),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "attendance of {meeting}: {body}"
    );
}

pub(crate) async fn close(coordinator: &mut Client<'_>, meeting: &str) {
    let (status, location, body) = coordinator
        .post_form(&format!("{AGENDA}/r/{meeting}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "closing {meeting}: {body}");
    assert!(location.is_some_and(|l| l.contains("ok=cloture")));
}

/// The world of cpts-a with the forfait in force since 2024-01-01 (chosen by Tom, the
/// treasurer), and the sessions of Tom and of Claire (the coordinator), in that order.
pub(crate) async fn forfait_world(host: &Host) -> (World, Client<'_>, Client<'_>) {
    let w = world(host).await;
    let mut tom = signed_in(host, "tom@a.test").await;
    forfait(host, &mut tom, "2024-01-01", &FORFAIT).await;
    let claire = signed_in(host, "claire@a.test").await;
    (w, tom, claire)
}

/// The forfait world with two past BPCO meetings (March and April 2024) closed, Anne
/// and Rémi present 90 min each, and their lines delivered: what dry-runs replay.
pub(crate) async fn two_past_bpco_meetings(host: &Host) -> (World, Client<'_>, Client<'_>) {
    let (w, tom, mut claire) = forfait_world(host).await;
    for (title, start) in [
        ("Groupe BPCO de mars", "2024-03-12T18:00"),
        ("Groupe BPCO d’avril", "2024-04-09T18:00"),
    ] {
        closed_meeting(
            &mut claire,
            title,
            &w.bpco,
            start,
            &[(key(w.anne), 90), (key(w.remi), 90)],
        )
        .await;
    }
    deliver(host, w.sid).await;
    (w, tom, claire)
}

/// A meeting created, its attendance recorded and closed; returns its id.
pub(crate) async fn closed_meeting(
    coordinator: &mut Client<'_>,
    title: &str,
    group: &str,
    start: &str,
    present: &[(String, u32)],
) -> String {
    let id = meeting(coordinator, title, group, start, "").await;
    record(coordinator, &id, present, &[]).await;
    close(coordinator, &id).await;
    id
}

/// Runs the dispatcher until every closing of the structure reached the indemnity
/// module; a refusal or a fault of the module fails the test with its error.
pub(crate) async fn deliver(host: &Host, sid: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        maillage::events::dispatch(&host.state)
            .await
            .expect("a dispatch round");
        let deliveries: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT d.status, d.last_error FROM event_deliveries d JOIN event_outbox e ON e.id = d.event_id
             WHERE e.structure_id = $1 AND d.plugin_id = 'indemnites'",
        )
        .bind(sid)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        assert!(
            !deliveries.is_empty(),
            "no closing was delivered to the indemnity module"
        );
        if let Some((status, Some(error))) = deliveries
            .iter()
            .find(|d| d.0 != "delivered" && d.1.is_some())
        {
            panic!("the indemnity module did not take a closing ({status}): {error}");
        }
        if deliveries.iter().all(|d| d.0 == "delivered") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "closings still undelivered after 120 s: {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A line as a table shows it: `tr[data-ligne][data-statut]`.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub id: String,
    pub status: String,
    pub html: String,
}

impl Row {
    fn number(&self, attribute: &str) -> i64 {
        attr(&self.html, attribute)
            .parse()
            .unwrap_or_else(|e| panic!("{attribute} of {}: {e}", self.html))
    }
    /// The amount cell's cents.
    pub fn cents(&self) -> i64 {
        self.number("data-cents")
    }
    pub fn minutes(&self) -> i64 {
        self.number("data-minutes")
    }
    pub fn adjustment(&self) -> bool {
        self.html.contains("badge ajustement")
    }
    /// The row of this person (the treasurer's table).
    pub fn of(&self, person: &str) -> bool {
        self.html.contains(&format!("<td>{person}</td>"))
    }
    /// The row of the meeting titled so.
    pub fn titled(&self, title: &str) -> bool {
        self.html.contains(&format!(">{title}</a>"))
    }
}

/// The value of the first `name="…"` attribute in `html`.
fn attr(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let rest = &html[at..];
    rest[..rest.find('"').expect("a closing quote")].to_string()
}

/// Every line row of a page (« Mon compte », the treasurer's table).
pub(crate) fn rows(page: &str) -> Vec<Row> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = page[from..].find("data-ligne=\"") {
        let at = from + found;
        let start = page[..at].rfind('<').unwrap_or(0);
        let end = page[at..].find("</tr>").map_or(page.len(), |e| at + e + 5);
        from = end;
        if !page[start..].starts_with("<tr") {
            continue;
        }
        let html = &page[start..end];
        out.push(Row {
            id: attr(html, "data-ligne"),
            status: attr(html, "data-statut"),
            html: html.to_string(),
        });
    }
    out
}

/// The treasurer's lines (`/tresorerie?{query}`).
pub(crate) async fn ledger(treasurer: &mut Client<'_>, query: &str) -> Vec<Row> {
    let path = if query.is_empty() {
        format!("{A}/tresorerie")
    } else {
        format!("{A}/tresorerie?{query}")
    };
    let (status, page) = treasurer.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    rows(&page)
}

/// The only row of `person` for the meeting `title` among `all`.
fn only<'a>(all: &'a [Row], title: &str, person: &str) -> &'a Row {
    let found: Vec<&Row> = all
        .iter()
        .filter(|r| r.titled(title) && r.of(person))
        .collect();
    assert_eq!(found.len(), 1, "{person} at {title}: {found:?}");
    found[0]
}

/// The rows of `person` among `all`.
fn of<'a>(all: &'a [Row], person: &str) -> Vec<&'a Row> {
    all.iter().filter(|r| r.of(person)).collect()
}

/// The table row (`<tr …>…</tr>`) holding `marker`.
pub(crate) fn row_with<'a>(page: &'a str, marker: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in\n{page}"));
    let start = page[..at].rfind("<tr").unwrap_or(0);
    let end = page[at..].find("</tr>").map_or(page.len(), |e| at + e);
    &page[start..end]
}

/// « Mon compte »'s row of a project.
fn project_row<'a>(page: &'a str, project: &str) -> &'a str {
    row_with(page, &format!(">{project}</th>"))
}

/// The text of the element opened by `marker` (up to its first child or end tag).
fn text_after<'a>(page: &'a str, marker: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in\n{page}"));
    let rest = &page[at..];
    let start = rest.find('>').expect("the end of the tag") + 1;
    let end = rest[start..].find('<').map_or(rest.len(), |e| start + e);
    &rest[start..end]
}

/// A line's page: its status, amount and justification.
fn line_status(page: &str) -> String {
    let at = page
        .find("id=\"statut\"")
        .unwrap_or_else(|| panic!("no dd#statut in\n{page}"));
    attr(&page[at..], "data-statut")
}

fn line_cents(page: &str) -> i64 {
    let at = page
        .find("<dd class=\"montant\"")
        .unwrap_or_else(|| panic!("no dd.montant in\n{page}"));
    attr(&page[at..], "data-cents").parse().unwrap()
}

/// The cents of the cell of `class` in `html` (`td.montant.ecart`…).
pub(crate) fn cell_cents(html: &str, class: &str) -> i64 {
    let at = html
        .find(&format!("class=\"{class}\""))
        .unwrap_or_else(|| panic!("no .{class} in {html}"));
    attr(&html[at..], "data-cents").parse().unwrap()
}

async fn line_page(client: &mut Client<'_>, id: &str) -> String {
    let (status, page) = client.get(&format!("{A}/lignes/{id}")).await;
    assert_eq!(status, StatusCode::OK, "line {id}: {page}");
    page
}

async fn my_account(client: &mut Client<'_>) -> String {
    let (status, page) = client.get(&format!("{A}/mon-compte")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The effective dates of the barème's history, as listed (`tr[data-effet]`).
pub(crate) async fn history(treasurer: &mut Client<'_>) -> Vec<String> {
    let (status, page) = treasurer.get(&format!("{A}/bareme")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out = Vec::new();
    let mut rest = page.as_str();
    while let Some(at) = rest.find("data-effet=\"") {
        let after = &rest[at + "data-effet=\"".len()..];
        let end = after.find('"').expect("a closing quote");
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

async fn approve(treasurer: &mut Client<'_>, line: &str) {
    let (status, location, body) = treasurer
        .post_form(&format!("{A}/lignes/{line}/approuver"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "approving {line}: {body}");
    assert!(location.is_some_and(|l| l.contains("ok=approuve")));
}

async fn pay(treasurer: &mut Client<'_>, line: &str, date: &str, reference: &str) {
    let (status, location, body) = treasurer
        .post_form(
            &format!("{A}/lignes/{line}/payer"),
            &[("date", date), ("reference", reference)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "paying {line}: {body}");
    assert!(location.is_some_and(|l| l.contains("ok=paye")));
}

/// The page carries a French error (`[role=alert]`) mentioning one of `words`.
fn assert_alert(body: &str, words: &[&str], what: &str) {
    let at = body
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("{what}: no [role=alert] in\n{body}"));
    let rest = &body[at..];
    let alert = &rest[..rest.find("</div>").unwrap_or(rest.len())];
    let lower = alert.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(&w.to_lowercase())),
        "{what}: the message {alert:?} should mention one of {words:?}"
    );
}

/// B's lines as rows, to see that nothing changed them.
async fn lines_of(host: &Host, sid: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT id || '|' || f_status || '|' || CAST(f_amount AS TEXT) || '|' || COALESCE(f_decision, '') || '|' || COALESCE(f_payment_ref, '') || '|' || CAST(updated_at AS TEXT)
         FROM c_indemnites__lignes WHERE structure_id = $1 ORDER BY 1",
    )
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap()
}

// Exports, read back by real readers.

/// A spreadsheet cell that must be a number (not a text such as "80,00 €").
fn number(cell: &Value) -> f64 {
    cell.as_f64()
        .unwrap_or_else(|| panic!("{cell} is not a number"))
}

// The tests.

#[tokio::test]
async fn a_closed_working_group_pays_80_euros_to_a_member_and_100_to_its_referent() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    // A meeting of today: the host's « Mon compte » shows the year's total.
    closed_meeting(
        &mut claire,
        "Groupe BPCO du jour",
        &w.bpco,
        &paris_minutes_ago(10),
        &[(key(w.anne), 90), (key(w.remi), 120)],
    )
    .await;
    deliver(&host, w.sid).await;

    let mut anne = signed_in(&host, "anne@a.test").await;
    let page = my_account(&mut anne).await;
    for heading in [
        "Nom du projet",
        "Date de début",
        "Indemnité (€)",
        "Temps passé (h)",
    ] {
        assert!(page.contains(heading), "{heading}: {page}");
    }
    let row = project_row(&page, "Parcours BPCO");
    assert!(
        row.contains("data-cents=\"8000\"") && row.contains(">80,00<"),
        "80 € for the member: {row}"
    );
    assert!(
        row.contains("data-minutes=\"90\"") && row.contains(">1,5<"),
        "the time is the 90 minutes recorded: {row}"
    );
    let mine = rows(&page);
    assert_eq!(mine.len(), 1, "one line for one meeting: {mine:?}");
    assert_eq!(mine[0].status, "brouillon");
    assert_eq!(mine[0].cents(), 8000);
    assert!(mine[0].html.contains("80,00 €"), "{}", mine[0].html);
    // The host's « Mon compte » shows the module's widget with the year's total.
    let (status, account) = anne.get("/compte").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("Mes indemnités"), "{account}");
    assert!(
        account.contains("data-cents=\"8000\"") && account.contains("80,00 €"),
        "{account}"
    );

    let mut remi = signed_in(&host, "remi@a.test").await;
    let page = my_account(&mut remi).await;
    let row = project_row(&page, "Parcours BPCO");
    assert!(
        row.contains("data-cents=\"10000\"") && row.contains(">100,00<"),
        "100 € for the référent: {row}"
    );
    assert!(
        row.contains("data-minutes=\"120\"") && row.contains(">2<"),
        "{row}"
    );
    let theirs = rows(&page);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    // Each member reads only their own lines.
    let (status, _) = anne.get(&format!("{A}/lignes/{}", theirs[0].id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Anne opens Rémi's line");

    // Those present only: the invited absentees have no line.
    let all = ledger(&mut tom, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all.iter()
            .any(|r| r.of("Anne Active") && r.cents() == 8000 && r.minutes() == 90)
    );
    assert!(
        all.iter()
            .any(|r| r.of("Rémi Référent") && r.cents() == 10_000 && r.minutes() == 120)
    );
}

#[tokio::test]
async fn salaried_members_need_a_convention_and_non_adherents_and_guests_are_not_paid() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    let title = "Groupe BPCO de mars";
    let id = meeting(
        &mut claire,
        title,
        &w.bpco,
        "2024-03-12T18:00",
        "Paul Externe <paul@externe.example>",
    )
    .await;
    let (status, sheet) = claire.get(&format!("{AGENDA}/r/{id}/emargement")).await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    let guest = {
        let at = sheet
            .find("Paul Externe")
            .unwrap_or_else(|| panic!("the external guest is not on the sheet:\n{sheet}"));
        attr(
            &sheet[sheet[..at].rfind("data-key=\"").unwrap()..],
            "data-key",
        )
    };
    // Nina's adhesion starts after the meeting.
    record(
        &mut claire,
        &id,
        &[
            (key(w.sam), 120),
            (key(w.sylvie), 120),
            (key(w.nina), 120),
            (guest, 120),
        ],
        &[],
    )
    .await;
    close(&mut claire, &id).await;
    deliver(&host, w.sid).await;

    let all: Vec<Row> = ledger(&mut tom, "")
        .await
        .into_iter()
        .filter(|r| r.titled(title))
        .collect();
    let sam = only(&all, title, "Samuel Salarié");
    assert_eq!(
        (sam.status.as_str(), sam.cents()),
        ("brouillon", 8000),
        "salaried under an employer convention: paid like a libéral"
    );
    for name in ["Sylvie Sansconvention", "Nina Nouvelle"] {
        let row = only(&all, title, name);
        assert_eq!(row.status, "non_eligible", "{name}: {row:?}");
        assert_eq!(row.cents(), 0, "{name}");
        assert!(row.html.contains("Non éligible"), "{}", row.html);
    }
    let guest_rows: Vec<&Row> = all.iter().filter(|r| r.of("Paul Externe")).collect();
    assert!(guest_rows.len() <= 1, "{guest_rows:?}");
    for row in &guest_rows {
        assert_eq!(row.status, "non_eligible", "the guest: {row:?}");
        assert_eq!(row.cents(), 0);
        let page = line_page(&mut tom, &row.id).await;
        assert!(page.contains("Invité externe"), "{page}");
    }
    assert_eq!(
        all.iter().map(Row::cents).sum::<i64>(),
        8000,
        "only Samuel is paid: {all:?}"
    );

    // Each reads, in French, why nothing is paid.
    for (email, word) in [("sylvie@a.test", "convention"), ("nina@a.test", "adhérent")] {
        let mut member = signed_in(&host, email).await;
        let page = my_account(&mut member).await;
        let mine = rows(&page);
        assert_eq!(mine.len(), 1, "{email}: {mine:?}");
        assert_eq!(mine[0].status, "non_eligible", "{email}");
        let line = line_page(&mut member, &mine[0].id).await;
        assert_eq!(line_status(&line), "non_eligible");
        assert!(line.contains("Non éligible"), "{line}");
        let reason = text_after(&line, "class=\"justification\"").to_lowercase();
        assert!(reason.contains(word), "{email}: « {reason} »");
    }
    let mut samuel = signed_in(&host, "sam@a.test").await;
    let page = my_account(&mut samuel).await;
    assert!(project_row(&page, "Parcours BPCO").contains(">80,00<"));
}

#[tokio::test]
async fn the_yearly_cap_holds_the_crossing_line_until_the_treasurer_brings_it_down() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    forfait(&host, &mut tom, "2024-01-01", &FORFAIT).await;
    let (status, location, body) = tom
        .post_form(
            &format!("{A}/plafond"),
            &[("annee", "2024"), ("montant", "150")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=plafond")));
    let (_, page) = tom.get(&format!("{A}/plafond")).await;
    let row = row_with(&page, "data-annee=\"2024\"");
    assert!(
        row.contains("150,00 €") && row.contains("Fixé par la structure"),
        "{row}"
    );

    let mut claire = signed_in(&host, "claire@a.test").await;
    let (march, april) = ("Groupe BPCO de mars", "Groupe BPCO d’avril");
    closed_meeting(
        &mut claire,
        march,
        &w.bpco,
        "2024-03-12T18:00",
        &[(key(w.anne), 120)],
    )
    .await;
    closed_meeting(
        &mut claire,
        april,
        &w.bpco,
        "2024-04-09T18:00",
        &[(key(w.anne), 120), (key(w.olga), 120)],
    )
    .await;
    deliver(&host, w.sid).await;

    let all = ledger(&mut tom, "").await;
    let first = only(&all, march, "Anne Active");
    assert_eq!((first.status.as_str(), first.cents()), ("brouillon", 8000));
    let held = only(&all, april, "Anne Active").clone();
    assert_eq!(held.status, "en_attente", "{held:?}");
    assert_eq!(held.cents(), 8000, "held, never cut: {held:?}");
    assert!(
        held.html.to_lowercase().contains("plafond") && held.html.contains("150,00 €"),
        "the reason names the cap: {}",
        held.html
    );
    let olga = only(&all, april, "Olga Autre");
    assert_eq!(
        (olga.status.as_str(), olga.cents()),
        ("brouillon", 8000),
        "the cap is per person"
    );
    // Anne's total counts what is not held.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let page = my_account(&mut anne).await;
    assert!(project_row(&page, "Parcours BPCO").contains("data-cents=\"8000\""));
    assert!(page.contains("En attente"), "{page}");

    let page = line_page(&mut tom, &held.id).await;
    assert_eq!(line_status(&page), "en_attente");
    assert_eq!(line_cents(&page), 8000);
    assert!(page.contains("Ramener au plafond"), "{page}");
    let (status, location, body) = tom
        .post_form(
            &format!("{A}/lignes/{}/decision", held.id),
            &[("decision", "plafond")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=decision")));
    let page = line_page(&mut tom, &held.id).await;
    assert_eq!(line_status(&page), "brouillon", "{page}");
    assert_eq!(
        line_cents(&page),
        7000,
        "the remainder under the cap: {page}"
    );
    assert!(page.contains("70,00 €"));
    let page = my_account(&mut anne).await;
    assert!(
        project_row(&page, "Parcours BPCO").contains("data-cents=\"15000\""),
        "{page}"
    );
    // Decided once: the line is no longer held.
    let (status, _, _) = tom
        .post_form(
            &format!("{A}/lignes/{}/decision", held.id),
            &[("decision", "plafond")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn each_meeting_is_computed_by_the_rule_set_in_force_at_its_date() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    host.state
        .registry
        .rule_sets()
        .install(&wasm("rules_faulty"), Some(w.sid))
        .await
        .expect("the faulty fixture installs for the structure");
    let forfait_version = version_of(&host, "forfait").await;
    let faulty_version = version_of(&host, "faulty-rules").await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    // Chosen out of order: the effective date decides, not when it was chosen.
    assign(
        &mut tom,
        "forfait",
        &forfait_version,
        "2024-04-01",
        &[("s-forfait_membre", "90"), ("s-forfait_referent", "100")],
    )
    .await;
    assign(
        &mut tom,
        "forfait",
        &forfait_version,
        "2024-01-01",
        &FORFAIT,
    )
    .await;
    assign(
        &mut tom,
        "faulty-rules",
        &faulty_version,
        "2024-05-01",
        &[("s-mode", "ok")],
    )
    .await;
    assert_eq!(
        history(&mut tom).await,
        ["2024-05-01", "2024-04-01", "2024-01-01"],
        "the history, newest effective date first"
    );

    let mut claire = signed_in(&host, "claire@a.test").await;
    let meetings = [
        (
            "Groupe BPCO de mars",
            "2024-03-12T18:00",
            8000,
            "forfait",
            &forfait_version,
        ),
        (
            "Groupe BPCO d’avril",
            "2024-04-09T18:00",
            9000,
            "forfait",
            &forfait_version,
        ),
        (
            "Groupe BPCO de mai",
            "2024-05-14T18:00",
            1000,
            "faulty-rules",
            &faulty_version,
        ),
    ];
    for (title, start, _, _, _) in &meetings {
        closed_meeting(&mut claire, title, &w.bpco, start, &[(key(w.anne), 60)]).await;
    }
    deliver(&host, w.sid).await;

    let mut anne = signed_in(&host, "anne@a.test").await;
    let mine = rows(&my_account(&mut anne).await);
    assert_eq!(mine.len(), 3, "{mine:?}");
    for (title, _, cents, rule_set, version) in &meetings {
        let line = mine
            .iter()
            .find(|r| r.titled(title))
            .unwrap_or_else(|| panic!("no line for {title}: {mine:?}"));
        assert_eq!(line.cents(), *cents, "{title}");
        assert_eq!(line.status, "brouillon", "{title}");
        let page = line_page(&mut anne, &line.id).await;
        assert_eq!(
            text_after(&page, "class=\"bareme\"").trim(),
            format!("{rule_set} {version}"),
            "{title}: the rule set and version it was computed with"
        );
    }
}

#[tokio::test]
async fn a_closing_delivered_again_writes_its_lines_once() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO de mars",
        &w.bpco,
        "2024-03-12T18:00",
        &[(key(w.anne), 90), (key(w.remi), 90)],
    )
    .await;
    deliver(&host, w.sid).await;
    let summary = |rows: Vec<Row>| -> Vec<(String, String, i64)> {
        let mut out: Vec<(String, String, i64)> = rows
            .iter()
            .map(|r| (r.id.clone(), r.status.clone(), r.cents()))
            .collect();
        out.sort();
        out
    };
    let before = summary(ledger(&mut tom, "").await);
    assert_eq!(before.len(), 2, "{before:?}");

    // The dispatcher delivers it again (at least once).
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'indemnites'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    deliver(&host, w.sid).await;
    let attempts: i64 =
        sqlx::query_scalar("SELECT attempts FROM event_deliveries WHERE plugin_id = 'indemnites'")
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    assert_eq!(attempts, 2, "delivered twice");
    assert_eq!(summary(ledger(&mut tom, "").await), before);

    // Published again under other idempotency keys, straight into the runtime, twice.
    let payload: String = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE topic = $1 AND structure_id = $2 ORDER BY id DESC",
    )
    .bind(CLOSED_TOPIC)
    .bind(w.sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    for n in 0..2 {
        let request = format!("republication-{n}");
        let event = maillage::storage::StoredEvent {
            idempotency_key: request.clone(),
            source: "agenda".into(),
            topic: CLOSED_TOPIC.into(),
            payload: payload.clone(),
        };
        let outcome = host.deliver_event(w.sid, "indemnites", event).await;
        assert!(
            matches!(outcome, Ok(Ok(()))),
            "a repeated closing is taken without error: {outcome:?}"
        );
    }
    assert_eq!(
        summary(ledger(&mut tom, "").await),
        before,
        "one line per attendee"
    );
    let mut anne = signed_in(&host, "anne@a.test").await;
    let page = my_account(&mut anne).await;
    assert!(
        project_row(&page, "Parcours BPCO").contains("data-cents=\"8000\""),
        "paid once: {page}"
    );
}

#[tokio::test]
async fn a_corrected_attendance_replaces_drafts_keeps_settled_lines_and_adjusts_them() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    // At least one hour of presence.
    forfait(
        &host,
        &mut tom,
        "2024-01-01",
        &[
            ("s-forfait_membre", "80"),
            ("s-forfait_referent", "100"),
            ("s-presence_minimale", "1"),
        ],
    )
    .await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let title = "Groupe BPCO à corriger";
    let id = closed_meeting(
        &mut claire,
        title,
        &w.bpco,
        "2024-03-12T18:00",
        &[(key(w.anne), 90), (key(w.remi), 90), (key(w.olga), 90)],
    )
    .await;
    deliver(&host, w.sid).await;
    let first = ledger(&mut tom, "").await;
    let anne = only(&first, title, "Anne Active").clone();
    let remi = only(&first, title, "Rémi Référent").clone();
    let olga = only(&first, title, "Olga Autre").clone();
    for line in [&anne, &remi, &olga] {
        assert_eq!(line.status, "brouillon", "{line:?}");
    }
    // Rémi's line is paid, Olga's approved, Anne's left a draft.
    approve(&mut tom, &remi.id).await;
    pay(&mut tom, &remi.id, "2024-04-02", "VIR-2024-001").await;
    approve(&mut tom, &olga.id).await;

    // Reopened by the coordinator with a reason: Anne stayed 75 minutes, Rémi 30
    // (under the minimum now), Olga was not there after all.
    let (status, _, body) = claire
        .post_form(
            &format!("{AGENDA}/r/{id}/rouvrir"),
            &[(
                "motif",
                "Feuille mal remplie : Rémi est parti tôt, Olga absente",
            )],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    record(
        &mut claire,
        &id,
        &[(key(w.anne), 75), (key(w.remi), 30)],
        &[key(w.olga)],
    )
    .await;
    close(&mut claire, &id).await;
    deliver(&host, w.sid).await;

    let after: Vec<Row> = ledger(&mut tom, "")
        .await
        .into_iter()
        .filter(|r| r.titled(title))
        .collect();
    let anne_now = of(&after, "Anne Active");
    assert_eq!(
        anne_now.len(),
        1,
        "the draft is replaced, not doubled: {after:?}"
    );
    assert!(!anne_now[0].adjustment());
    assert_eq!(anne_now[0].status, "brouillon");
    assert_eq!(anne_now[0].cents(), 8000);
    assert_eq!(anne_now[0].minutes(), 75, "the corrected time");

    let remi_now = of(&after, "Rémi Référent");
    assert_eq!(remi_now.len(), 2, "{remi_now:?}");
    let paid = remi_now
        .iter()
        .find(|r| !r.adjustment())
        .expect("the paid line");
    assert_eq!(paid.id, remi.id, "the paid line is kept");
    assert_eq!(
        (paid.status.as_str(), paid.cents(), paid.minutes()),
        ("paye", 10_000, 90),
        "and unchanged"
    );
    let adjustment = remi_now
        .iter()
        .find(|r| r.adjustment())
        .expect("an adjustment for Rémi");
    assert_eq!(
        adjustment.cents(),
        -10_000,
        "no longer eligible: everything paid is taken back"
    );
    assert!(adjustment.html.contains("-100,00 €"), "{}", adjustment.html);

    let olga_now = of(&after, "Olga Autre");
    assert_eq!(olga_now.len(), 2, "{olga_now:?}");
    let approved = olga_now
        .iter()
        .find(|r| !r.adjustment())
        .expect("the approved line");
    assert_eq!(approved.id, olga.id);
    assert_eq!(
        (approved.status.as_str(), approved.cents()),
        ("approuve", 8000)
    );
    let taken_back = olga_now
        .iter()
        .find(|r| r.adjustment())
        .expect("an adjustment for Olga, removed from the attendance");
    assert_eq!(taken_back.cents(), -8000);
    assert_eq!(after.len(), 5, "{after:?}");

    // The payment is still on Rémi's line; he reads the adjustment in « Mon compte ».
    let page = line_page(&mut tom, &remi.id).await;
    assert_eq!(line_status(&page), "paye");
    assert!(page.contains("VIR-2024-001"), "{page}");
    let mut remi_client = signed_in(&host, "remi@a.test").await;
    let mine = rows(&my_account(&mut remi_client).await);
    assert!(
        mine.iter()
            .any(|r| r.adjustment() && r.html.contains("-100,00 €")),
        "{mine:?}"
    );
}

#[tokio::test]
async fn only_treasurers_approve_and_pay_once_and_other_structures_lines_do_not_exist() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    let victor = host
        .account(
            "cpts-a",
            "victor@a.test",
            "Victor Vérificateur",
            Role::Member,
        )
        .await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    forfait(&host, &mut tom, "2024-01-01", &FORFAIT).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO de mars",
        &w.bpco,
        "2024-03-12T18:00",
        &[(key(w.anne), 90)],
    )
    .await;
    deliver(&host, w.sid).await;
    let line = ledger(&mut tom, "")
        .await
        .into_iter()
        .next()
        .expect("Anne's line");
    assert_eq!(line.status, "brouillon");
    let path = format!("{A}/lignes/{}", line.id);
    let version = version_of(&host, "forfait").await;

    // Without the role: 403 on every treasurer page and action, for a member and for an
    // admin alike (admins are no treasurers by default), and nothing changes.
    let mut victor_client = signed_in(&host, "victor@a.test").await;
    let mut adele = signed_in(&host, "adele@a.test").await;
    let pages = [
        "tresorerie",
        "tresorerie/export.csv",
        "tresorerie/export.xlsx",
        "bareme",
        "bareme/simulation",
        "plafond",
        "budgets",
    ];
    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{path}/approuver"), vec![]),
        (
            format!("{path}/payer"),
            vec![("date", "2024-04-02"), ("reference", "VIR-PIRATE")],
        ),
        (format!("{path}/decision"), vec![("decision", "refuser")]),
        (
            format!("{A}/tresorerie/approuver"),
            vec![("ligne", line.id.as_str())],
        ),
        (
            format!("{A}/plafond"),
            vec![("annee", "2024"), ("montant", "1")],
        ),
        (
            format!("{A}/bareme"),
            vec![
                ("bareme", "forfait"),
                ("version", version.as_str()),
                ("effet", "2024-01-01"),
                ("s-forfait_membre", "1000"),
            ],
        ),
    ];
    for (who, client) in [("a member", &mut victor_client), ("an admin", &mut adele)] {
        for page in pages {
            let (status, body) = client.get(&format!("{A}/{page}")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} GET {page}");
            assert_alert(&body, &["trésorier"], &format!("{who} GET {page}"));
        }
        for (route, fields) in &actions {
            let (status, _, body) = client.post_form(route, fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} POST {route}: {body}");
        }
    }
    let now = ledger(&mut tom, "").await;
    assert_eq!(
        (now[0].status.as_str(), now[0].cents()),
        ("brouillon", 8000)
    );
    assert_eq!(history(&mut tom).await.len(), 1, "no barème was chosen");
    let (_, caps) = tom.get(&format!("{A}/plafond")).await;
    assert!(row_with(&caps, "data-annee=\"2024\"").contains("PASS"));

    // Granted through the Fiche membre: the same requests succeed.
    grant(&mut adele, victor.id, &["indemnites:tresorier"]).await;
    let (_, fiche) = adele
        .get(&format!("/cpts-a/admin/membres/{}", victor.id))
        .await;
    assert!(
        fiche.contains("value=\"indemnites:tresorier\" checked"),
        "{fiche}"
    );
    let (status, page) = victor_client.get(&format!("{A}/tresorerie")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    approve(&mut victor_client, &line.id).await;
    let (status, _, body) = victor_client
        .post_form(&format!("{path}/approuver"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "approved once: {body}");
    // A malformed payment date is refused; nothing is stored.
    let (status, _, body) = victor_client
        .post_form(
            &format!("{path}/payer"),
            &[("date", "02/04/2024"), ("reference", "VIR-2024-001")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_alert(&body, &["date"], "a malformed payment date");
    assert_eq!(
        line_status(&line_page(&mut victor_client, &line.id).await),
        "approuve"
    );
    pay(&mut victor_client, &line.id, "2024-04-02", "VIR-2024-001").await;
    // Paid twice: 409, and the first payment stands.
    let (status, _, body) = victor_client
        .post_form(
            &format!("{path}/payer"),
            &[("date", "2024-05-01"), ("reference", "VIR-AUTRE")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_alert(&body, &["déjà"], "a second payment");
    let page = line_page(&mut victor_client, &line.id).await;
    assert_eq!(line_status(&page), "paye");
    let payment = &page[page.find("class=\"paiement\"").expect("dd.paiement")..];
    let payment = &payment[..payment.find("</dd>").unwrap_or(payment.len())];
    assert!(
        payment.contains("VIR-2024-001") && !payment.contains("VIR-AUTRE"),
        "{payment}"
    );
    assert!(
        page.contains("Victor Vérificateur"),
        "approved and paid by Victor: {page}"
    );
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mine = rows(&my_account(&mut anne).await);
    assert_eq!(mine[0].status, "paye");

    // Another structure's line: 404 from A's treasurer, and B's data stays as it was.
    let b = host.structure("cpts-b", &["agenda", "indemnity"]).await;
    host.account(
        "cpts-b",
        "bea@b.test",
        "Béa Coordinatrice B",
        Role::Coordinator,
    )
    .await;
    let bob = host
        .account("cpts-b", "bob@b.test", "Bob de B", Role::Member)
        .await;
    let mut bea = signed_in(&host, "bea@b.test").await;
    let (status, location, body) = bea
        .post_form(
            "/cpts-b/agenda/nouvelle",
            &[
                ("titre", "Réunion de B"),
                ("groupe", ""),
                ("type", "groupe-de-travail"),
                ("debut", "2024-03-12T18:00"),
                ("fuseau", "Europe/Paris"),
                ("duree", "60"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let b_meeting = location
        .unwrap()
        .split("/r/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_string();
    let bob_key = key(bob.id);
    for (route, fields) in [
        (
            format!("/cpts-b/agenda/r/{b_meeting}/emargement"),
            vec![("liste", bob_key.as_str()), ("present", bob_key.as_str())],
        ),
        (format!("/cpts-b/agenda/r/{b_meeting}/cloturer"), vec![]),
    ] {
        let (status, _, body) = bea.post_form(&route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{route}: {body}");
    }
    deliver(&host, b.id).await;
    let b_lines = lines_of(&host, b.id).await;
    assert!(!b_lines.is_empty(), "B's closing made a line");
    let b_line = b_lines[0].split('|').next().unwrap().to_string();
    assert!(
        !ledger(&mut victor_client, "")
            .await
            .iter()
            .any(|r| r.id == b_line),
        "B's line is not in A's ledger"
    );
    for route in [
        format!("{A}/lignes/{b_line}"),
        format!("/cpts-b/indemnites/lignes/{b_line}"),
        "/cpts-b/indemnites/tresorerie".to_string(),
    ] {
        let (status, _) = victor_client.get(&route).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {route}");
    }
    for (route, fields) in [
        (format!("{A}/lignes/{b_line}/approuver"), vec![]),
        (
            format!("{A}/lignes/{b_line}/payer"),
            vec![("date", "2024-04-02")],
        ),
        (
            format!("{A}/lignes/{b_line}/decision"),
            vec![("decision", "refuser")],
        ),
        (
            format!("{A}/tresorerie/approuver"),
            vec![("ligne", b_line.as_str())],
        ),
        (
            format!("/cpts-b/indemnites/lignes/{b_line}/approuver"),
            vec![],
        ),
        (
            format!("/cpts-b/indemnites/lignes/{b_line}/payer"),
            vec![("date", "2024-04-02")],
        ),
    ] {
        let (status, _, body) = victor_client.post_form(&route, &fields).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {route}: {body}");
    }
    assert_eq!(lines_of(&host, b.id).await, b_lines, "B's lines changed");
}

#[tokio::test]
async fn the_member_workbook_reads_in_openpyxl_and_the_treasurer_csv_neutralises_formulas() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO de mars",
        &w.bpco,
        "2024-03-12T18:00",
        &[(key(w.anne), 90), (key(w.remi), 120)],
    )
    .await;
    closed_meeting(
        &mut claire,
        "Diabète d’avril",
        &w.diabete,
        "2024-04-09T18:00",
        &[(key(w.anne), 60)],
    )
    .await;
    let formula = "=HYPERLINK(\"http://x.example\",\"clic\")";
    closed_meeting(
        &mut claire,
        formula,
        &w.bpco,
        "2024-05-14T18:00",
        &[(key(w.remi), 60)],
    )
    .await;
    deliver(&host, w.sid).await;

    // « Mon compte » as a workbook.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, headers, bytes) = anne.get_bytes(&format!("{A}/mon-compte.xlsx")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(headers["content-type"], XLSX);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment"),
        "{headers:?}"
    );
    let book = crate::support::read_workbook(&bytes, "indemnites");
    let sheet = book["Indemnités"]
        .as_array()
        .unwrap_or_else(|| panic!("no sheet « Indemnités » in {book}"));
    let lines: Vec<&Vec<Value>> = sheet
        .iter()
        .filter_map(Value::as_array)
        .filter(|r| r.iter().any(|c| !c.is_null()))
        .collect();
    assert_eq!(
        lines[0][..4],
        [
            Value::from("Nom du projet"),
            Value::from("Date de début"),
            Value::from("Indemnité (€)"),
            Value::from("Temps passé (h)"),
        ],
        "{sheet:?}"
    );
    let project = |name: &str| {
        lines
            .iter()
            .find(|r| r[0] == name)
            .copied()
            .unwrap_or_else(|| panic!("no row {name} in {sheet:?}"))
    };
    let bpco = project("Parcours BPCO");
    assert_eq!(bpco[1], "12/03/2024");
    assert_eq!(number(&bpco[2]), 80.0, "the amount is a number: {bpco:?}");
    assert!((number(&bpco[3]) - 1.5).abs() < 1e-9, "{bpco:?}");
    let diabete = project("Diabète");
    assert_eq!(diabete[1], "09/04/2024");
    assert_eq!(number(&diabete[2]), 80.0);
    assert!((number(&diabete[3]) - 1.0).abs() < 1e-9, "{diabete:?}");
    let total = lines.last().unwrap();
    assert_eq!(total[0], "Total", "the totals row comes last: {sheet:?}");
    assert_eq!(number(&total[2]), 160.0);
    assert!((number(&total[3]) - 2.5).abs() < 1e-9, "{total:?}");
    assert_eq!(lines.len(), 4, "header, two projects, total: {sheet:?}");
    let detail = book["Détail"].as_array().expect("a sheet « Détail »");
    let march = detail
        .iter()
        .filter_map(Value::as_array)
        .find(|r| r.iter().any(|c| c == "Groupe BPCO de mars"))
        .unwrap_or_else(|| panic!("{detail:?}"));
    assert!(
        march.iter().any(|c| c.as_f64() == Some(80.0)),
        "the line's amount as a number: {march:?}"
    );

    // The treasurer's CSV: a title starting with "=" is no formula.
    let (status, headers, csv) = tom
        .get_with_headers(&format!("{A}/tresorerie/export.csv"))
        .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.starts_with('\u{feff}'), "UTF-8 with a BOM");
    let table = parse_csv(&csv);
    assert!(
        table[0].iter().any(|c| c == "Réunion") && table[0].iter().any(|c| c == "Montant (€)"),
        "{:?}",
        table[0]
    );
    for cell in table.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '@', '\t', '\r']),
            "a cell starts a formula: {cell:?}\n{csv}"
        );
    }
    assert!(
        table
            .iter()
            .flatten()
            .any(|c| c.starts_with('\'') && c.trim_start_matches('\'') == formula),
        "the title is kept, neutralised:\n{csv}"
    );
    let last = table.last().unwrap();
    assert_eq!(last[0], "Total", "{csv}");
    assert!(
        last.iter().any(|c| c == "360,00"),
        "80 + 100 + 80 + 100: {last:?}"
    );
}

#[tokio::test]
async fn a_dry_run_shows_the_difference_per_person_and_writes_nothing() {
    let host = indemnity_host().await;
    let (w, mut tom, _claire) = two_past_bpco_meetings(&host).await;
    let summary = |rows: Vec<Row>| -> Vec<(String, String, i64)> {
        let mut out: Vec<(String, String, i64)> = rows
            .iter()
            .map(|r| (r.id.clone(), r.status.clone(), r.cents()))
            .collect();
        out.sort();
        out
    };
    let before = summary(ledger(&mut tom, "").await);
    let chosen_before = history(&mut tom).await;

    let version = version_of(&host, "forfait").await;
    let query = form_encode(&[
        ("bareme", "forfait"),
        ("version", &version),
        ("s-forfait_membre", "100"),
        ("s-forfait_referent", "100"),
        ("s-salaries_sous_convention", "0"),
        ("s-salaries_sous_convention", "1"),
        ("s-autres_reunions", "0"),
        ("s-presence_minimale", "0"),
        ("du", "2024-01-01"),
        ("au", "2024-12-31"),
    ]);
    let (status, page) = tom.get(&format!("{A}/bareme/simulation?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let anne = row_with(&page, &format!("data-personne=\"u{}\"", w.anne));
    assert_eq!(cell_cents(anne, "montant actuel"), 16_000, "{anne}");
    assert_eq!(cell_cents(anne, "montant simule"), 20_000, "{anne}");
    assert_eq!(
        cell_cents(anne, "montant ecart"),
        4000,
        "+20 € on each of her two lines: {anne}"
    );
    assert!(anne.contains("40,00 €"), "{anne}");
    let remi = row_with(&page, &format!("data-personne=\"u{}\"", w.remi));
    assert_eq!(cell_cents(remi, "montant ecart"), 0, "{remi}");
    let table = &page[page.find("class=\"simulation").expect("table.simulation")..];
    let total = row_with(table, "class=\"total\"");
    assert_eq!(cell_cents(total, "montant ecart"), 4000, "{total}");

    let (status, csv) = tom.get(&format!("{A}/bareme/simulation.csv?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let table = parse_csv(&csv);
    let last = table.last().unwrap();
    assert_eq!(last[0], "Total", "{csv}");
    assert_eq!(last.last().map(String::as_str), Some("40,00"), "{csv}");

    // Nothing was written: the lines, the member's totals and the barème are as they were.
    assert_eq!(summary(ledger(&mut tom, "").await), before);
    assert_eq!(history(&mut tom).await, chosen_before);
    let mut anne_client = signed_in(&host, "anne@a.test").await;
    let page = my_account(&mut anne_client).await;
    assert!(
        project_row(&page, "Parcours BPCO").contains("data-cents=\"16000\""),
        "{page}"
    );
}

#[tokio::test]
async fn bad_settings_amounts_and_dates_are_refused_in_french_and_nothing_is_stored() {
    let host = indemnity_host().await;
    world(&host).await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    forfait(&host, &mut tom, "2024-01-01", &FORFAIT).await;
    let version = version_of(&host, "forfait").await;
    let chosen = history(&mut tom).await;
    assert_eq!(chosen.len(), 1);

    // (form fields, effective date, words one of which the French error contains)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![("s-forfait_membre", "-5")],
            "2024-06-01",
            vec!["négati"],
        ),
        (
            vec![("s-forfait_membre", "2000")],
            "2024-06-01",
            vec!["compris", "maximum", "au plus", "trop"],
        ),
        (
            vec![("s-forfait_membre", "quatre-vingts")],
            "2024-06-01",
            vec!["montant", "nombre", "valide"],
        ),
        (
            vec![("s-forfait_membre", "80,505")],
            "2024-06-01",
            vec!["montant", "décimale", "valide"],
        ),
        (
            vec![("s-presence_minimale", "-1")],
            "2024-06-01",
            vec!["négati"],
        ),
        (
            vec![("s-presence_minimale", "deux heures")],
            "2024-06-01",
            vec!["durée", "heure", "valide"],
        ),
        (vec![], "2024-02-30", vec!["date"]),
        (vec![], "12/03/2024", vec!["date"]),
        (vec![], "", vec!["date"]),
    ];
    for (settings, effect, words) in &cases {
        let mut fields = vec![
            ("bareme", "forfait"),
            ("version", version.as_str()),
            ("effet", *effect),
        ];
        fields.extend_from_slice(settings);
        let what = format!("{settings:?} from {effect:?}");
        let (status, _, body) = tom.post_form(&format!("{A}/bareme"), &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_alert(&body, words, &what);
    }
    let (status, _, body) = tom
        .post_form(
            &format!("{A}/bareme"),
            &[
                ("bareme", "forfait"),
                ("version", "9.9.9"),
                ("effet", "2024-06-01"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(history(&mut tom).await, chosen, "the history is unchanged");

    // The cap.
    for (year, amount, words) in [
        ("2024", "-150", vec!["négati"]),
        ("2024", "beaucoup", vec!["montant", "valide"]),
        ("2024", "0", vec!["zéro", "supérieur"]),
        ("1850", "150", vec!["année"]),
    ] {
        let (status, _, body) = tom
            .post_form(
                &format!("{A}/plafond"),
                &[("annee", year), ("montant", amount)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{year} {amount}");
        assert_alert(&body, &words, &format!("cap {year} {amount}"));
    }
    let (_, caps) = tom.get(&format!("{A}/plafond")).await;
    let row = row_with(&caps, "data-annee=\"2024\"");
    assert!(
        row.contains("PASS") && !row.contains("Fixé par la structure"),
        "nothing stored: {row}"
    );

    // Malformed filters and dates.
    for (path, words) in [
        (format!("{A}/tresorerie?du=2024-02-30"), vec!["date"]),
        (
            format!("{A}/tresorerie?du=2024-06-01&au=2024-01-01"),
            vec!["période", "date"],
        ),
        (format!("{A}/tresorerie?statut=perdu"), vec!["statut"]),
        (format!("{A}/tresorerie/export.csv?au=demain"), vec!["date"]),
        (
            format!(
                "{A}/bareme/simulation?bareme=forfait&version={version}&du=2024-13-01&au=2024-12-31"
            ),
            vec!["date"],
        ),
    ] {
        let (status, body) = tom.get(&path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_alert(&body, &words, &path);
    }
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, body) = anne.get(&format!("{A}/mon-compte?annee=deux-mille")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_alert(&body, &["année"], "a year that is no year");
}

#[tokio::test]
async fn a_failing_rule_set_holds_only_its_lines_and_the_next_meeting_is_computed() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    host.state
        .registry
        .rule_sets()
        .install(&wasm("rules_faulty"), Some(w.sid))
        .await
        .expect("the faulty fixture installs for the structure");
    let faulty = version_of(&host, "faulty-rules").await;
    let mut tom = signed_in(&host, "tom@a.test").await;
    forfait(&host, &mut tom, "2024-01-01", &FORFAIT).await;
    for (mode, from) in [
        ("trap", "2024-02-01"),
        ("loop", "2024-03-01"),
        ("alloc", "2024-04-01"),
        ("garbage", "2024-05-01"),
        ("ok", "2024-06-01"),
    ] {
        assign(&mut tom, "faulty-rules", &faulty, from, &[("s-mode", mode)]).await;
    }
    let mut claire = signed_in(&host, "claire@a.test").await;
    let january = "Groupe BPCO de janvier";
    closed_meeting(
        &mut claire,
        january,
        &w.bpco,
        "2024-01-16T18:00",
        &[(key(w.anne), 60)],
    )
    .await;
    deliver(&host, w.sid).await;

    for (mode, day, words) in [
        ("trap", "2024-02-06", vec!["erreur", "arrêt"]),
        ("loop", "2024-03-05", vec!["temps", "délai"]),
        ("alloc", "2024-04-02", vec!["mémoire"]),
        ("garbage", "2024-05-07", vec!["montant", "invalide"]),
    ] {
        let title = format!("Réunion au barème {mode}");
        closed_meeting(
            &mut claire,
            &title,
            &w.bpco,
            &format!("{day}T18:00"),
            &[(key(w.anne), 60), (key(w.remi), 60)],
        )
        .await;
        // The closing is taken: the event does not fail.
        deliver(&host, w.sid).await;
        let held: Vec<Row> = ledger(&mut tom, "")
            .await
            .into_iter()
            .filter(|r| r.titled(&title))
            .collect();
        assert_eq!(held.len(), 2, "{mode}: {held:?}");
        for row in &held {
            assert_eq!(row.status, "en_attente", "{mode}: {row:?}");
            let reason = text_after(&row.html, "class=\"motif-attente\"").to_lowercase();
            assert!(reason.contains("barème"), "{mode}: « {reason} »");
            assert!(
                words.iter().any(|word| reason.contains(*word)),
                "{mode}: « {reason} » should mention one of {words:?}"
            );
        }
        let page = line_page(&mut tom, &held[0].id).await;
        assert!(
            page.contains("value=\"recalculer\""),
            "{mode}: the treasurer may compute it again: {page}"
        );
    }
    // Other lines and modules are untouched.
    let all = ledger(&mut tom, "").await;
    let before = only(&all, january, "Anne Active");
    assert_eq!(
        (before.status.as_str(), before.cents()),
        ("brouillon", 8000)
    );
    let (status, page) = claire.get(&format!("{AGENDA}/")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // The held lines wait in Anne's « Mon compte », with their reason.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mine = rows(&my_account(&mut anne).await);
    assert_eq!(
        mine.iter().filter(|r| r.status == "en_attente").count(),
        4,
        "{mine:?}"
    );

    // Mode ok: the next meeting is computed normally.
    let june = "Réunion au barème ok";
    closed_meeting(
        &mut claire,
        june,
        &w.bpco,
        "2024-06-04T18:00",
        &[(key(w.anne), 60)],
    )
    .await;
    deliver(&host, w.sid).await;
    let all = ledger(&mut tom, "").await;
    let computed = only(&all, june, "Anne Active");
    assert_eq!(
        (computed.status.as_str(), computed.cents()),
        ("brouillon", 1000)
    );
    assert!(computed.html.contains("10,00 €"), "{}", computed.html);
}

#[tokio::test]
async fn a_rule_set_importing_anything_is_refused_at_install_with_the_import_named() {
    let host = indemnity_host().await;
    let w = world(&host).await;
    let rule_sets = host.state.registry.rule_sets();
    for scope in [Some(w.sid), None] {
        let error = rule_sets
            .install(&wasm("rules_with_imports"), scope)
            .await
            .expect_err("a rule set that imports WASI is refused")
            .to_string();
        assert!(
            error.contains("imports") && error.contains("wasi:"),
            "the refusal names the import: {error}"
        );
    }
    assert!(
        !rule_sets
            .installed()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == "rules-with-imports"),
        "nothing was installed"
    );
    let mut tom = signed_in(&host, "tom@a.test").await;
    let (status, page) = tom.get(&format!("{A}/bareme")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("data-bareme=\"forfait\""), "{page}");
    assert!(!page.contains("rules-with-imports"), "{page}");
}

#[tokio::test]
async fn an_expense_note_is_attached_by_a_plain_form_without_javascript() {
    let host = indemnity_host().await;
    let (w, _tom, mut claire) = forfait_world(&host).await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO des notes",
        &w.bpco,
        &paris_minutes_ago(10),
        &[(key(w.anne), 90), (key(w.remi), 120)],
    )
    .await;
    deliver(&host, w.sid).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mine = rows(&my_account(&mut anne).await);
    assert_eq!(mine.len(), 1, "{mine:?}");
    let line = mine[0].id.clone();
    let path = format!("{A}/lignes/{line}/note");

    // The form a browser without JavaScript posts: the token is its first part.
    let page = line_page(&mut anne, &line).await;
    let form = &page[page
        .find("enctype=\"multipart/form-data\"")
        .expect("the note form")..];
    let token_at = form
        .find("name=\"csrf\"")
        .expect("the form carries the token");
    let file_at = form
        .find("type=\"file\"")
        .expect("the form has a file field");
    assert!(
        token_at < file_at,
        "the token comes before the file: {form}"
    );

    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let token = anne.csrf();
    let (status, location, body) = anne
        .post_upload_form(
            &path,
            &token,
            ("fichier", "train Lyon.pdf", "application/pdf", pdf),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=note")));
    let page = line_page(&mut anne, &line).await;
    let link = &page[page
        .find("class=\"note-de-frais\"")
        .expect("the note's link")..];
    assert!(
        text_after(link, "class=").contains("train Lyon.pdf"),
        "{link}"
    );
    let href = attr(link, "href");
    let (status, _, bytes) = anne.get_bytes(&href).await;
    assert_eq!(status, StatusCode::OK, "downloading {href}");
    assert_eq!(bytes, pdf.to_vec(), "the note reads back byte for byte");

    // A forged token, or none before the file, is refused and changes nothing.
    let (status, _, body) = anne
        .post_upload_form(
            &path,
            &"0".repeat(48),
            ("fichier", "faux.pdf", "application/pdf", pdf),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Formulaire expiré"), "{body}");
    let mut missing = "--B\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"sans-jeton.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    .as_bytes()
    .to_vec();
    missing.extend_from_slice(pdf);
    missing.extend_from_slice(b"\r\n--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n");
    missing.extend_from_slice(token.as_bytes());
    missing.extend_from_slice(b"\r\n--B--\r\n");
    let request = http::Request::post(&path)
        .header("content-type", "multipart/form-data; boundary=B")
        .header("cookie", anne.cookie_header().unwrap())
        .body(axum::body::Body::from(missing))
        .unwrap();
    let (status, _, _) = host.send(request).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a token after the file is not looked for"
    );

    // A web page is not an expense note: refused in French, the note unchanged.
    let (status, _, body) = anne
        .post_upload_form(
            &path,
            &token,
            (
                "fichier",
                "page.html",
                "text/html",
                b"<script>alert(1)</script>",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Ce format n’est pas accepté"), "{body}");
    let page = line_page(&mut anne, &line).await;
    assert!(
        text_after(&page, "class=\"note-de-frais\"").contains("train Lyon.pdf"),
        "the first note stays"
    );

    // Someone else's line does not exist for another member.
    let mut remi = signed_in(&host, "remi@a.test").await;
    let token = remi.csrf();
    let (status, _, _) = remi
        .post_upload_form(&path, &token, ("fichier", "r.pdf", "application/pdf", pdf))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A treasurer does not approve their own line, alone or in a selection: another
/// treasurer does. Their line shows no checkbox on the treasury page.
#[tokio::test]
async fn a_treasurer_does_not_approve_their_own_line() {
    let host = indemnity_host().await;
    let (w, mut tom, _claire) = two_past_bpco_meetings(&host).await;
    let mut adele = signed_in(&host, "adele@a.test").await;
    grant(&mut adele, w.remi, &["indemnites:tresorier"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;

    let lines = ledger(&mut remi, "").await;
    let own: Vec<&Row> = of(&lines, "Rémi Référent");
    let anne: Vec<&Row> = of(&lines, "Anne Active");
    assert_eq!((own.len(), anne.len()), (2, 2));
    assert!(
        own[0].html.contains("Votre ligne") && !own[0].html.contains("type=\"checkbox\""),
        "{}",
        own[0].html
    );
    let (status, _, body) = remi
        .post_form(&format!("{A}/lignes/{}/approuver", own[0].id), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("un autre trésorier doit l’approuver"),
        "{body}"
    );
    // In a selection with Anne's lines: nothing is approved.
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/tresorerie/approuver"),
            &[
                ("ligne", anne[0].id.as_str()),
                ("ligne", own[1].id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let after = ledger(&mut tom, "").await;
    assert!(
        after.iter().all(|r| r.status == "brouillon"),
        "nothing was approved"
    );
    // Rémi approves Anne's line; Tom approves Rémi's.
    approve(&mut remi, &anne[0].id).await;
    approve(&mut tom, &own[0].id).await;
    let after = ledger(&mut tom, "").await;
    let approved: Vec<&str> = after
        .iter()
        .filter(|r| r.status == "approuve")
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(approved.len(), 2, "{approved:?}");
}
