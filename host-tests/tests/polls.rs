//! The date-polls module end to end, against its contract (`docs/polls-contract.md`):
//! the real host and component, mail through the outbox and a real SMTP sink, timers
//! fired by handing `timers::fire_due` a later clock, exports read back (the workbook
//! with Python's openpyxl), a member's journey in Chromium, and the benchmark's smoke run.

use std::collections::BTreeSet;
use std::time::Duration;

use http::StatusCode;
use maillage::identity::Account;
use maillage::mail::OutboxMail;
use maillage::mail::sink::SmtpSink;
use maillage::tenancy::Role;
use serde_json::Value;
use sqlx::Row;

use crate::support::{Client, Host, PASSWORD, parse_csv};
use crate::webdriver::{Browser, Chromedriver};

/// The module's mount point in the main test structure.
const A: &str = "/cpts-a/polls";
/// Links in mails start with this.
const PUBLIC_URL: &str = "https://maillage.test";

// Hosts, people, forms.

/// A host with generous plugin limits (debug builds), links in mails under
/// `PUBLIC_URL`, and mail sent to `sink` when one is given.
async fn polls_host(sink: Option<&SmtpSink>) -> Host {
    let smtp = sink.map(|s| format!("smtp://{}", s.addr()));
    Host::with_config(move |c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.plugin_output_mib = 8;
        c.public_url = Some(PUBLIC_URL.to_string());
        c.smtp_url = smtp;
    })
    .await
}

/// An account of `slug` with `role`, signed in.
async fn person<'h>(
    host: &'h Host,
    slug: &str,
    email: &str,
    name: &str,
    role: Role,
) -> (Account, Client<'h>) {
    let account = host.account(slug, email, name, role).await;
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    (account, client)
}

type Fields = Vec<(String, String)>;

/// The fields of `POST /new` every poll needs.
fn poll_form(title: &str, deadline: &str, slots: &[&str]) -> Fields {
    let mut fields = vec![
        ("title".to_string(), title.to_string()),
        ("deadline".to_string(), deadline.to_string()),
    ];
    fields.extend(slots.iter().map(|s| ("slot".to_string(), s.to_string())));
    fields
}

fn with(mut fields: Fields, name: &str, value: &str) -> Fields {
    fields.push((name.to_string(), value.to_string()));
    fields
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn try_create(
    c: &mut Client<'_>,
    base: &str,
    form: &[(String, String)],
) -> (StatusCode, Option<String>, String) {
    c.post_form(&format!("{base}/new"), &pairs(form)).await
}

/// Creates a poll through the form; returns its id.
async fn create_poll(c: &mut Client<'_>, base: &str, form: &[(String, String)]) -> String {
    let (status, location, body) = try_create(c, base, form).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the poll was not created: {}\n{body}",
        alert_text(&body)
    );
    let location = location.expect("a redirect to the poll");
    let prefix = format!("{base}/p/");
    let id = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("redirected to {location}, not to the poll"))
        .to_string();
    assert!(!id.is_empty() && !id.contains('/'), "{location}");
    id
}

/// Posts an answer: `c-{slot}` = choice for each pair, and the comment.
async fn answer<S: AsRef<str>>(
    c: &mut Client<'_>,
    poll: &str,
    choices: &[(S, &str)],
    comment: &str,
) -> (StatusCode, Option<String>, String) {
    let mut fields: Fields = choices
        .iter()
        .map(|(slot, value)| (format!("c-{}", slot.as_ref()), value.to_string()))
        .collect();
    fields.push(("comment".to_string(), comment.to_string()));
    c.post_form(&format!("{poll}/answer"), &pairs(&fields))
        .await
}

/// An answer the module accepts: 303 back to the poll.
async fn answered<S: AsRef<str>>(
    c: &mut Client<'_>,
    poll: &str,
    choices: &[(S, &str)],
    comment: &str,
) {
    let (status, location, body) = answer(c, poll, choices, comment).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "answer refused: {}\n{body}",
        alert_text(&body)
    );
    assert_eq!(
        location.as_deref(),
        Some(poll),
        "back to the poll after answering"
    );
}

async fn close(c: &mut Client<'_>, poll: &str, slot: &str, confirm: bool) -> (StatusCode, String) {
    let mut fields = vec![("slot", slot)];
    if confirm {
        fields.push(("confirm", "1"));
    }
    let (status, _, body) = c.post_form(&format!("{poll}/cloturer"), &fields).await;
    (status, body)
}

/// A form the module carried out (the contract does not fix 303 or 200 for these).
fn accepted(status: StatusCode) -> bool {
    status == StatusCode::SEE_OTHER || status == StatusCode::OK
}

async fn closed_with(c: &mut Client<'_>, poll: &str, slot: &str, confirm: bool) {
    let (status, body) = close(c, poll, slot, confirm).await;
    assert!(
        accepted(status),
        "closing refused ({status}): {}\n{body}",
        alert_text(&body)
    );
}

/// The ids of the polls linked from the list page of `base`.
async fn listed(c: &mut Client<'_>, base: &str) -> BTreeSet<String> {
    let (status, page) = c.get(&format!("{base}/")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let marker = format!("href=\"{base}/p/");
    page.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            let end = rest.find(['"', '/', '?', '#'])?;
            Some(rest[..end].to_string())
        })
        .collect()
}

// Mail, events, timers.

/// The structure's outbox, newest first.
async fn mails(host: &Host, structure_id: i64) -> Vec<OutboxMail> {
    host.state
        .db
        .outbox(Some(structure_id), 200)
        .await
        .expect("the outbox reads")
}

/// The mails queued after the first `before` ones (the outbox lists newest first).
fn since(all: &[OutboxMail], before: usize) -> Vec<OutboxMail> {
    all[..all.len().saturating_sub(before)].to_vec()
}

/// The address alone, whether written `a@b` or `Name <a@b>`.
fn address(to: &str) -> String {
    match (to.rfind('<'), to.rfind('>')) {
        (Some(start), Some(end)) if start < end => to[start + 1..end].to_lowercase(),
        _ => to.trim().to_lowercase(),
    }
}

fn recipients(mails: &[OutboxMail]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().map(|m| address(&m.to)).collect();
    to.sort();
    to
}

fn emails(accounts: &[&Account]) -> Vec<String> {
    let mut to: Vec<String> = accounts.iter().map(|a| a.email.to_lowercase()).collect();
    to.sort();
    to
}

/// The payloads of every `poll.closed` in the event outbox, oldest first.
async fn closed_events(host: &Host) -> Vec<Value> {
    let rows = sqlx::query(
        "SELECT topic, payload FROM event_outbox WHERE topic = 'poll.closed' ORDER BY id",
    )
    .fetch_all(host.state.db.pool())
    .await
    .expect("the event outbox reads");
    rows.iter()
        .map(|row| {
            let payload: String = row.get("payload");
            serde_json::from_str(&payload).expect("a JSON payload")
        })
        .collect()
}

/// The one `poll.closed` payload of this poll.
async fn closed_event(host: &Host, poll: &str) -> Value {
    let mut found: Vec<Value> = closed_events(host)
        .await
        .into_iter()
        .filter(|p| as_text(&p["poll"]) == poll)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "poll.closed is published once for {poll}: {found:?}"
    );
    found.remove(0)
}

/// A JSON string, or any other value as written (user ids may be numbers or strings).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Advances the clock to `now` for timers, then delivers the events; returns how many
/// timers fired.
async fn fire(host: &Host, now: i64) -> usize {
    let fired = maillage::timers::fire_due(&host.state.db, now)
        .await
        .expect("due timers fire");
    let round = maillage::events::dispatch(&host.state)
        .await
        .expect("events are delivered");
    assert_eq!(round.failed, 0, "an event delivery failed");
    fired
}

// Dates: expected instants and French dates are computed with jiff (the IANA database),
// independently of the module's own code, not copied from it.

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Unix seconds of a UTC date and time.
fn utc(year: i64, month: u32, day: u32, hour: i64, minute: i64) -> i64 {
    jiff::civil::date(year as i16, month as i8, day as i8)
        .at(hour as i8, minute as i8, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .expect("a valid test date")
        .timestamp()
        .as_second()
}

/// UTC offset of an IANA zone at an instant, in seconds.
fn offset_of(zone: &str, unix: i64) -> i64 {
    let tz = jiff::tz::TimeZone::get(zone).expect("a known zone");
    let at = jiff::Timestamp::from_second(unix).expect("an instant in range");
    i64::from(tz.to_offset(at).seconds())
}

fn paris(unix: i64) -> i64 {
    offset_of("Europe/Paris", unix)
}

fn reunion(unix: i64) -> i64 {
    offset_of("Indian/Reunion", unix)
}

/// (year, month, day) of a day number since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let date = jiff::Timestamp::from_second(days * 86_400)
        .expect("a day in range")
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    (
        i64::from(date.year()),
        date.month() as u32,
        date.day() as u32,
    )
}

/// « jeudi 3 juin 2027 ».
fn fr_date(year: i64, month: u32, day: u32) -> String {
    const WEEKDAYS: [&str; 7] = [
        "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
    ];
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let weekday = jiff::civil::date(year as i16, month as i8, day as i8)
        .weekday()
        .to_sunday_zero_offset() as usize;
    format!(
        "{} {day} {} {year}",
        WEEKDAYS[weekday],
        MONTHS[month as usize - 1]
    )
}

/// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD" → (year, month, day, time).
fn parse_input(input: &str) -> (i64, u32, u32, Option<(u32, u32)>) {
    let n = |from: usize, to: usize| input[from..to].parse::<u32>().expect("a test date");
    let time = (input.len() >= 16).then(|| (n(11, 13), n(14, 16)));
    (i64::from(n(0, 4)), n(5, 7), n(8, 10), time)
}

/// Whether `text` shows the time « 20:00 » (or « 20 h 00 »), not as part of a longer number.
fn contains_time(text: &str, hour: u32, minute: u32) -> bool {
    let forms = [
        format!("{hour}:{minute:02}"),
        format!("{hour:02}:{minute:02}"),
        format!("{hour} h {minute:02}"),
        format!("{hour:02} h {minute:02}"),
        format!("{hour}h{minute:02}"),
        format!("{hour:02}h{minute:02}"),
    ];
    forms.iter().any(|form| {
        text.match_indices(form.as_str()).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + form.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_digit())
                && !after.is_some_and(|c| c.is_ascii_digit())
        })
    })
}

/// A deadline on the hour, `days` from now, as typed in a zone with this offset.
struct Deadline {
    unix: i64,
    /// "YYYY-MM-DDTHH:MM", local.
    input: String,
    /// « jeudi 10 décembre 2026 », local.
    date_fr: String,
    hour: u32,
    minute: u32,
}

fn deadline_in(days: i64, offset: fn(i64) -> i64) -> Deadline {
    let mut unix = (now_unix() + days * 86_400).div_euclid(3600) * 3600;
    loop {
        let local = unix + offset(unix);
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let seconds = local.rem_euclid(86_400);
        let (hour, minute) = ((seconds / 3600) as u32, (seconds % 3600 / 60) as u32);
        // The 1st of a month may be written « 1er »: avoided rather than guessed.
        if d != 1 {
            return Deadline {
                unix,
                input: format!("{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}"),
                date_fr: fr_date(y, m, d),
                hour,
                minute,
            };
        }
        unix += 86_400;
    }
}

// Reading pages: a small scanner over the module's maud output (attributes quoted with
// `"`, text escaped), enough to find elements by tag, class, id and `data-slot`.

/// An element of a page: its tag, raw attributes and inner HTML.
struct El {
    tag: String,
    attrs: String,
    inner: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<String> {
        let mut rest = self.attrs.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                return None;
            }
            let end = rest
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(rest.len());
            if end == 0 {
                rest = &rest[1..];
                continue;
            }
            let key = &rest[..end];
            rest = &rest[end..];
            let mut value = String::new();
            if let Some(after) = rest.strip_prefix('=') {
                match after.chars().next().filter(|q| *q == '"' || *q == '\'') {
                    Some(quote) => {
                        let quoted = &after[1..];
                        let close = quoted.find(quote).unwrap_or(quoted.len());
                        value = decode(&quoted[..close]);
                        rest = quoted.get(close + 1..).unwrap_or("");
                    }
                    None => {
                        let close = after.find(char::is_whitespace).unwrap_or(after.len());
                        value = decode(&after[..close]);
                        rest = &after[close..];
                    }
                }
            }
            if key.eq_ignore_ascii_case(name) {
                return Some(value);
            }
        }
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }

    fn text(&self) -> String {
        text_of(&self.inner)
    }
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The visible text of some HTML, whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const VOID: [&str; 7] = ["input", "br", "meta", "link", "img", "hr", "col"];

/// The `<tag>` elements of `html` in document order (nested ones too), at most `limit`.
fn elements_upto(html: &str, tag: &str, limit: usize) -> Vec<El> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let next_open = |from: usize| -> Option<usize> {
        let mut at = from;
        while let Some(i) = html[at..].find(&open) {
            let start = at + i;
            let after = html[start + open.len()..].chars().next();
            if after.is_some_and(|c| c == '>' || c == '/' || c.is_whitespace()) {
                return Some(start);
            }
            at = start + open.len();
        }
        None
    };
    let mut found = Vec::new();
    let mut pos = 0;
    while found.len() < limit {
        let Some(start) = next_open(pos) else { break };
        let after = start + open.len();
        let Some(gt) = html[after..].find('>') else {
            break;
        };
        let raw = &html[after..after + gt];
        let body = after + gt + 1;
        pos = body;
        let attrs = raw.trim_end_matches('/').to_string();
        if VOID.contains(&tag) || raw.ends_with('/') {
            found.push(El {
                tag: tag.to_string(),
                attrs,
                inner: String::new(),
            });
            continue;
        }
        let (mut depth, mut at, mut end) = (1, body, html.len());
        while let Some(c) = html[at..].find(&close).map(|i| at + i) {
            match next_open(at) {
                Some(o) if o < c => {
                    depth += 1;
                    at = o + open.len();
                }
                _ => {
                    depth -= 1;
                    if depth == 0 {
                        end = c;
                        break;
                    }
                    at = c + close.len();
                }
            }
        }
        found.push(El {
            tag: tag.to_string(),
            attrs,
            inner: html[body..end].to_string(),
        });
    }
    found
}

fn elements(html: &str, tag: &str) -> Vec<El> {
    elements_upto(html, tag, usize::MAX)
}

/// The element starting where `html[lt..]` starts (at a `<`).
fn element_at(html: &str, lt: usize) -> Option<El> {
    let tag: String = html[lt + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if tag.is_empty() {
        return None;
    }
    elements_upto(&html[lt..], &tag, 1).into_iter().next()
}

fn element_with_id(html: &str, id: &str) -> Option<El> {
    let at = html.find(&format!(" id=\"{id}\""))?;
    element_at(html, html[..at].rfind('<')?)
}

/// Every element carrying `attr`, with its value, in document order.
fn with_attr(html: &str, attr: &str) -> Vec<(String, El)> {
    let needle = format!(" {attr}=\"");
    let mut found = Vec::new();
    for (at, _) in html.match_indices(&needle) {
        if let Some(lt) = html[..at].rfind('<')
            && let Some(el) = element_at(html, lt)
            && let Some(value) = el.attr(attr)
        {
            found.push((value, el));
        }
    }
    found
}

/// The text of every `[role=alert]` of a page.
fn alert_text(body: &str) -> String {
    with_attr(body, "role")
        .into_iter()
        .filter(|(role, _)| role == "alert")
        .map(|(_, el)| el.text())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `table.results` of a poll page.
fn results(page: &str) -> El {
    elements(page, "table")
        .into_iter()
        .find(|t| t.has_class("results"))
        .unwrap_or_else(|| panic!("no table.results on the page:\n{page}"))
}

/// One header per slot column, in order: the first `th[data-slot]` of each slot id in
/// the results table (any element with that `data-slot` if there is no `th`).
fn slot_headers(page: &str) -> Vec<(String, El)> {
    let mut headers: Vec<(String, El)> = Vec::new();
    for (id, el) in with_attr(&results(page).inner, "data-slot") {
        match headers.iter().position(|(known, _)| *known == id) {
            None => headers.push((id, el)),
            Some(i) if headers[i].1.tag != "th" && el.tag == "th" => headers[i].1 = el,
            Some(_) => {}
        }
    }
    headers
}

fn header_ids(page: &str) -> Vec<String> {
    slot_headers(page).into_iter().map(|(id, _)| id).collect()
}

/// The id of the slot whose column shows this local date (and time), in French.
fn slot_id(page: &str, input: &str) -> String {
    let (y, m, d, time) = parse_input(input);
    let date = fr_date(y, m, d);
    let headers = slot_headers(page);
    headers
        .iter()
        .find(|(_, el)| {
            let text = el.text().to_lowercase();
            text.contains(&date) && time.is_none_or(|(h, mi)| contains_time(&text, h, mi))
        })
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| {
            let shown: Vec<String> = headers.iter().map(|(_, el)| el.text()).collect();
            panic!("no slot column shows {date} {time:?}; the columns show {shown:?}")
        })
}

/// The text of `span.own-zone` in a slot's header, if any.
fn own_zone(page: &str, slot: &str) -> Option<String> {
    let (_, header) = slot_headers(page).into_iter().find(|(id, _)| id == slot)?;
    elements(&header.inner, "span")
        .into_iter()
        .find(|s| s.has_class("own-zone"))
        .map(|s| s.text())
}

/// The `td.count` cells with their slot ids (their `data-slot`, else their column).
fn count_cells(page: &str) -> Vec<(String, El)> {
    let headers = header_ids(page);
    elements(&results(page).inner, "td")
        .into_iter()
        .filter(|td| td.has_class("count"))
        .enumerate()
        .map(|(i, td)| {
            let id = td
                .attr("data-slot")
                .or_else(|| headers.get(i).cloned())
                .unwrap_or_default();
            (id, td)
        })
        .collect()
}

/// The number written just before `word` (« 2 oui, 1 si besoin »).
fn number_before(text: &str, word: &str) -> Option<u32> {
    let lower = text.to_lowercase();
    let at = lower.find(word)?;
    let head = lower[..at].trim_end();
    let start = head.rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| {
        i + head[i..].chars().next().map_or(1, char::len_utf8)
    });
    head[start..].parse().ok()
}

fn assert_counts(page: &str, slot: &str, yes: u32, maybe: u32) {
    let text = count_cells(page)
        .into_iter()
        .find(|(id, _)| id == slot)
        .map(|(_, el)| el.text())
        .unwrap_or_else(|| panic!("no td.count for slot {slot}:\n{}", results(page).inner));
    assert_eq!(
        (
            number_before(&text, "oui"),
            number_before(&text, "si besoin")
        ),
        (Some(yes), Some(maybe)),
        "the counts of slot {slot} read {text:?}"
    );
}

/// The slots marked `td.best`.
fn best(page: &str) -> Vec<String> {
    let headers = header_ids(page);
    let mut ids = Vec::new();
    let mut count_index = 0;
    for td in elements(&results(page).inner, "td") {
        let is_count = td.has_class("count");
        if td.has_class("best")
            && let Some(id) = td
                .attr("data-slot")
                .or_else(|| headers.get(count_index).filter(|_| is_count).cloned())
        {
            ids.push(id);
        }
        if is_count {
            count_index += 1;
        }
    }
    ids
}

/// The cells of `name`'s row in the results table, with their slot ids; None when the
/// table has no row for them.
fn row_cells(page: &str, name: &str) -> Option<Vec<(String, El)>> {
    let table = results(page);
    let mut rows = elements(&table.inner, "tr").into_iter().filter(|tr| {
        elements_upto(&tr.inner, "th", 1)
            .into_iter()
            .next()
            .or_else(|| elements_upto(&tr.inner, "td", 1).into_iter().next())
            .is_some_and(|label| label.text().contains(name))
    });
    let row = rows.next()?;
    assert!(
        rows.next().is_none(),
        "two rows for {name}: one answer per person"
    );
    let cells = elements(&row.inner, "td");
    if cells.iter().any(|td| td.attr("data-slot").is_some()) {
        return Some(
            cells
                .into_iter()
                .filter_map(|td| td.attr("data-slot").map(|id| (id, td)))
                .collect(),
        );
    }
    let skip = usize::from(cells.first().is_some_and(|td| td.text().contains(name)));
    Some(
        header_ids(page)
            .into_iter()
            .zip(cells.into_iter().skip(skip))
            .collect(),
    )
}

fn cell(page: &str, name: &str, slot: &str) -> El {
    row_cells(page, name)
        .unwrap_or_else(|| panic!("no row for {name}:\n{}", results(page).inner))
        .into_iter()
        .find(|(id, _)| id == slot)
        .map(|(_, el)| el)
        .unwrap_or_else(|| panic!("no cell of slot {slot} in {name}'s row"))
}

fn assert_choice(page: &str, name: &str, slot: &str, label: &str) {
    let text = cell(page, name, slot).text();
    assert!(
        text.contains(label),
        "{name}'s answer for slot {slot} reads {text:?}, not {label:?}"
    );
}

fn assert_pending(page: &str, name: &str, slot: &str) {
    let el = cell(page, name, slot);
    assert!(
        el.has_class("pending") && el.text().contains("pas encore répondu"),
        "{name} answered before slot {slot} existed: td.pending « pas encore répondu » expected, got {:?}",
        el.text()
    );
}

/// The text of `#sans-reponse` (empty when the page has none).
fn sans_reponse(page: &str) -> String {
    element_with_id(page, "sans-reponse")
        .map(|el| el.text())
        .unwrap_or_default()
}

/// A 422 whose French `[role=alert]` message mentions one of `words`.
fn assert_refused(what: &str, status: StatusCode, body: &str, words: &[&str]) {
    let alert = alert_text(body);
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: expected 422, message {alert:?}"
    );
    let lower = alert.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(&w.to_lowercase())),
        "{what}: the message {alert:?} should mention one of {words:?}"
    );
}

// Exports.

/// The rows of the sheet « Réponses » of a workbook, as openpyxl reads them (the test
/// command installs it in `target/test-tools/py`); trailing empty cells left out.
fn read_xlsx(bytes: &[u8]) -> Vec<Vec<String>> {
    let script = "import json, sys, openpyxl\n\
                  sheet = openpyxl.load_workbook(sys.argv[1])['R\\u00e9ponses']\n\
                  rows = [['' if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]\n\
                  print(json.dumps(rows))\n";
    let stdout =
        crate::support::run_openpyxl(bytes, "export", script, " with a sheet « Réponses »");
    let mut rows: Vec<Vec<String>> =
        serde_json::from_slice(&stdout).expect("openpyxl's rows as JSON");
    for row in &mut rows {
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
    }
    rows.retain(|row| !row.is_empty());
    rows
}

/// The first column of the data rows (the header row left out).
fn first_column(rows: &[Vec<String>]) -> BTreeSet<String> {
    rows.iter()
        .skip(1)
        .filter_map(|r| r.first().cloned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// The tests.

#[tokio::test]
async fn a_poll_reminds_only_the_silent_member_then_mails_everyone_the_chosen_date() {
    let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let host = polls_host(Some(&sink)).await;
    let s = host.structure("cpts-a", &["polls"]).await;
    let (olivia, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (albane, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (bastien, mut bastien_c) = person(
        &host,
        "cpts-a",
        "bastien@a.test",
        "Bastien Bleuet",
        Role::Member,
    )
    .await;
    let (cyprien, mut cyprien_c) = person(
        &host,
        "cpts-a",
        "cyprien@a.test",
        "Cyprien Coquelicot",
        Role::Member,
    )
    .await;

    let deadline = deadline_in(10, paris);
    let form = with(
        with(
            poll_form(
                "Groupe de travail BPCO",
                &deadline.input,
                &["2027-06-03T20:00", "2027-06-10T12:30", "2027-06-17T18:00"],
            ),
            "place",
            "Salle du conseil",
        ),
        "duration",
        "90",
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    let link = format!("{PUBLIC_URL}{poll}");

    // Invitations: every invitee but the organiser, each with the direct link.
    let invitations = mails(&host, s.id).await;
    assert_eq!(
        recipients(&invitations),
        emails(&[&albane, &bastien, &cyprien])
    );
    for m in &invitations {
        assert!(
            m.body.contains(&link),
            "the invitation links to the poll: {}",
            m.body
        );
        assert!(
            format!("{} {}", m.subject, m.body).contains("Répondre au sondage"),
            "{}",
            m.body
        );
    }

    let (status, page) = org.get(&poll).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let header = text_of(&page);
    for shown in [
        "Groupe de travail BPCO",
        "Olivia Organisatrice",
        "Salle du conseil",
        "Ouvert",
    ] {
        assert!(header.contains(shown), "the poll page shows {shown}");
    }
    assert!(
        header.to_lowercase().contains(&deadline.date_fr),
        "the poll page shows its deadline ({})",
        deadline.date_fr
    );
    assert_eq!(slot_headers(&page).len(), 3);
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T12:30");
    let s3 = slot_id(&page, "2027-06-17T18:00");
    assert!(page.contains(&format!("{poll}/answer")), "an answer form");

    // Three of the four invitees answer; Albane changes her mind (one answer each).
    answered(
        &mut albane_c,
        &poll,
        &[(&s1, "non"), (&s2, "non"), (&s3, "non")],
        "",
    )
    .await;
    answered(
        &mut org,
        &poll,
        &[(&s1, "oui"), (&s2, "non"), (&s3, "si-besoin")],
        "",
    )
    .await;
    answered(
        &mut albane_c,
        &poll,
        &[(&s1, "oui"), (&s2, "si-besoin"), (&s3, "non")],
        "En visio si besoin",
    )
    .await;
    answered(
        &mut bastien_c,
        &poll,
        &[(&s1, "si-besoin"), (&s2, "oui"), (&s3, "non")],
        "",
    )
    .await;
    let (_, page) = org.get(&poll).await;
    assert_choice(&page, "Albane Aubépine", &s1, "Oui");
    assert_choice(&page, "Albane Aubépine", &s2, "Si besoin");
    assert_choice(&page, "Bastien Bleuet", &s2, "Oui");
    assert_choice(&page, "Olivia Organisatrice", &s2, "Non");
    assert_counts(&page, &s1, 2, 1);
    assert_counts(&page, &s2, 1, 1);
    assert_counts(&page, &s3, 0, 1);
    assert_eq!(
        best(&page),
        std::slice::from_ref(&s1),
        "the best slot is marked"
    );
    let waiting = sans_reponse(&page);
    assert!(
        waiting.contains("Cyprien Coquelicot")
            && !waiting.contains("Albane Aubépine")
            && !waiting.contains("Bastien Bleuet"),
        "#sans-reponse lists who has not answered: {waiting:?}"
    );

    // The automatic reminder, at deadline − 48 h, to the one who did not answer only.
    let reminder_at = deadline.unix - 48 * 3600;
    let before = mails(&host, s.id).await.len();
    assert_eq!(
        fire(&host, reminder_at - 60).await,
        0,
        "nothing is due before deadline − 48 h"
    );
    assert_eq!(mails(&host, s.id).await.len(), before);
    assert!(
        fire(&host, reminder_at + 1).await >= 1,
        "the reminder is due at deadline − 48 h"
    );
    let all = mails(&host, s.id).await;
    let reminders = since(&all, before);
    assert_eq!(
        recipients(&reminders),
        emails(&[&cyprien]),
        "only the member who did not answer is reminded"
    );
    assert!(reminders[0].body.contains(&link), "{}", reminders[0].body);
    // The timer fired once: a later clock sends nothing more.
    fire(&host, reminder_at + 3600).await;
    assert_eq!(mails(&host, s.id).await.len(), all.len());

    // The last invitee answers: the organiser hears that everyone did, once.
    let before = all.len();
    answered(
        &mut cyprien_c,
        &poll,
        &[(&s1, "oui"), (&s2, "non"), (&s3, "non")],
        "",
    )
    .await;
    let everyone = since(&mails(&host, s.id).await, before);
    assert_eq!(recipients(&everyone), emails(&[&olivia]));
    assert!(
        format!("{} {}", everyone[0].subject, everyone[0].body).contains("Tout le monde a répondu"),
        "{}",
        everyone[0].body
    );

    // Closing with the best slot.
    let before = mails(&host, s.id).await.len();
    closed_with(&mut org, &poll, &s1, false).await;
    let p = closed_event(&host, &id).await;
    assert_eq!(p["title"], "Groupe de travail BPCO");
    assert_eq!(as_text(&p["slot"]["id"]), s1);
    assert_eq!(p["slot"]["whole_day"], Value::Bool(false));
    assert_eq!(
        p["slot"]["start"].as_i64(),
        Some(utc(2027, 6, 3, 18, 0)),
        "20:00 in Paris in June is 18:00 UTC"
    );
    assert_eq!(p["slot"]["zone"], "Europe/Paris");
    assert_eq!(p["slot"]["date"], "2027-06-03");
    assert_eq!(p["slot"]["local"], "2027-06-03T20:00");
    assert_eq!(p["duration_minutes"].as_i64(), Some(90));
    assert_eq!(p["place"], "Salle du conseil");
    assert_eq!(as_text(&p["organiser"]), olivia.id.to_string());
    let invitees: BTreeSet<String> = p["invitees"]
        .as_array()
        .expect("invitees is a list")
        .iter()
        .map(as_text)
        .collect();
    let expected: BTreeSet<String> = [&olivia, &albane, &bastien, &cyprien]
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(invitees, expected);

    // Every invitee is mailed the chosen date, once.
    let all = mails(&host, s.id).await;
    let chosen = since(&all, before);
    let to = recipients(&chosen);
    let distinct: BTreeSet<&String> = to.iter().collect();
    assert_eq!(distinct.len(), to.len(), "one mail each: {to:?}");
    let invited = emails(&[&olivia, &albane, &bastien, &cyprien]);
    for invitee in [&albane, &bastien, &cyprien] {
        assert!(
            to.contains(&invitee.email),
            "{} is told: {to:?}",
            invitee.email
        );
    }
    for m in &chosen {
        let body = m.body.to_lowercase();
        assert!(invited.contains(&address(&m.to)), "{} is not invited", m.to);
        assert!(
            body.contains(&fr_date(2027, 6, 3)) && contains_time(&body, 20, 0),
            "the mail gives the chosen date: {}",
            m.body
        );
    }

    let (_, page) = org.get(&poll).await;
    let retained = element_with_id(&page, "date-retenue")
        .expect("#date-retenue once closed")
        .text()
        .to_lowercase();
    assert!(
        retained.contains(&fr_date(2027, 6, 3)) && contains_time(&retained, 20, 0),
        "{retained}"
    );
    assert!(text_of(&page).contains("Clos"));
    assert!(
        !page.contains(&format!("{poll}/answer")),
        "no answer form once closed"
    );

    // Closing twice is refused and publishes nothing more.
    let (status, _) = close(&mut org, &poll, &s2, true).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(closed_events(&host).await.len(), 1);
    assert_eq!(mails(&host, s.id).await.len(), all.len());

    // The mails leave over SMTP, one message per recipient, to the right addresses.
    let mut sent = 0;
    loop {
        let n = host
            .state
            .mailer
            .deliver_due()
            .await
            .expect("the outbox is sent");
        if n == 0 {
            break;
        }
        sent += n;
    }
    assert_eq!(sent, all.len(), "every queued mail was sent");
    let received = sink.wait_for(all.len(), Duration::from_secs(30)).await;
    assert_eq!(received.len(), all.len());
    let mut delivered: Vec<String> = Vec::with_capacity(received.len());
    for m in &received {
        assert_eq!(
            m.to.len(),
            1,
            "recipients never share a message: {:?}",
            m.to
        );
        let header = m.header("To").unwrap_or_default().to_lowercase();
        assert!(header.contains(&m.to[0]), "To: {header}");
        for other in invited.iter().filter(|a| **a != address(&m.to[0])) {
            assert!(
                !header.contains(other.as_str()),
                "To: {header} shows {other}"
            );
        }
        delivered.push(address(&m.to[0]));
    }
    delivered.sort();
    assert_eq!(delivered, recipients(&all));
}

#[tokio::test]
async fn a_blind_poll_shows_names_to_the_organiser_only_in_pages_exports_and_reminders() {
    let host = polls_host(None).await;
    let s = host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut bastien_c) = person(
        &host,
        "cpts-a",
        "bastien@a.test",
        "Bastien Bleuet",
        Role::Member,
    )
    .await;
    let cyprien = host
        .account(
            "cpts-a",
            "cyprien@a.test",
            "Cyprien Coquelicot",
            Role::Member,
        )
        .await;
    // A coordinator manages polls but is not this one's organiser.
    let (corentin, mut coord) = person(
        &host,
        "cpts-a",
        "corentin@a.test",
        "Corentin Coordinateur",
        Role::Coordinator,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let form = with(
        poll_form(
            "Évaluation anonyme du protocole",
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T20:00"],
        ),
        "visibility",
        "anonyme",
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    answered(&mut org, &poll, &[(&s1, "oui"), (&s2, "oui")], "").await;
    answered(
        &mut albane_c,
        &poll,
        &[(&s1, "oui"), (&s2, "non")],
        "Le jeudi me convient",
    )
    .await;
    answered(
        &mut bastien_c,
        &poll,
        &[(&s1, "oui"), (&s2, "si-besoin")],
        "Plutôt en visio",
    )
    .await;

    // The organiser's name is shown as such; nobody else's may leak.
    let names = [
        "Albane Aubépine",
        "Bastien Bleuet",
        "Cyprien Coquelicot",
        "Corentin Coordinateur",
    ];
    let participants = set(&["Participant 1", "Participant 2", "Participant 3"]);
    for (viewer, client) in [
        ("Albane Aubépine", &mut albane_c),
        ("Corentin Coordinateur", &mut coord),
    ] {
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != viewer).collect();
        let (status, page) = client.get(&poll).await;
        assert_eq!(status, StatusCode::OK);
        for name in &others {
            assert!(
                !page.contains(name),
                "{viewer} sees {name} on a blind poll:\n{page}"
            );
        }
        assert_counts(&page, &s1, 3, 0);
        assert_counts(&page, &s2, 1, 1);

        let (status, csv) = client.get(&format!("{poll}/export.csv")).await;
        assert_eq!(status, StatusCode::OK, "{csv}");
        for name in &others {
            assert!(!csv.contains(name), "{viewer}'s CSV names {name}:\n{csv}");
        }
        assert_eq!(first_column(&parse_csv(&csv)), participants, "{csv}");

        let (status, _, xlsx) = client.get_bytes(&format!("{poll}/export.xlsx")).await;
        assert_eq!(status, StatusCode::OK);
        let sheet = read_xlsx(&xlsx);
        for cell in sheet.iter().flatten() {
            for name in &others {
                assert!(!cell.contains(name), "{viewer}'s workbook names {name}");
            }
        }
        assert_eq!(first_column(&sheet), participants, "{sheet:?}");
    }

    // The organiser sees who answered what, and who did not answer.
    let (_, page) = org.get(&poll).await;
    assert_choice(&page, "Albane Aubépine", &s2, "Non");
    assert_choice(&page, "Bastien Bleuet", &s2, "Si besoin");
    let waiting = sans_reponse(&page);
    assert!(
        waiting.contains("Cyprien Coquelicot") && waiting.contains("Corentin Coordinateur"),
        "{waiting:?}"
    );
    let answered_by = set(&["Olivia Organisatrice", "Albane Aubépine", "Bastien Bleuet"]);
    let (_, csv) = org.get(&format!("{poll}/export.csv")).await;
    assert_eq!(first_column(&parse_csv(&csv)), answered_by, "{csv}");
    let (status, _, xlsx) = org.get_bytes(&format!("{poll}/export.xlsx")).await;
    assert_eq!(status, StatusCode::OK);
    let sheet = read_xlsx(&xlsx);
    assert_eq!(sheet[0].first().map(String::as_str), Some("Participant"));
    assert_eq!(sheet[0].last().map(String::as_str), Some("Commentaire"));
    assert_eq!(first_column(&sheet), answered_by);
    assert!(
        sheet.iter().flatten().any(|c| c == "Le jeudi me convient"),
        "comments are exported: {sheet:?}"
    );

    // The reminder goes to those who did not answer and names nobody else.
    let before = mails(&host, s.id).await.len();
    fire(&host, deadline.unix - 48 * 3600 + 1).await;
    let reminders = since(&mails(&host, s.id).await, before);
    assert_eq!(recipients(&reminders), emails(&[&cyprien, &corentin]));
    for m in &reminders {
        let own = if address(&m.to) == cyprien.email {
            "Cyprien Coquelicot"
        } else {
            "Corentin Coordinateur"
        };
        for name in names.iter().filter(|n| **n != own) {
            assert!(
                !m.body.contains(name) && !m.subject.contains(name),
                "the reminder to {} names {name}: {}",
                m.to,
                m.body
            );
        }
    }
}

#[tokio::test]
async fn an_organiser_only_poll_shows_each_member_their_own_answer_only() {
    let host = polls_host(None).await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut bastien_c) = person(
        &host,
        "cpts-a",
        "bastien@a.test",
        "Bastien Bleuet",
        Role::Member,
    )
    .await;
    host.account(
        "cpts-a",
        "cyprien@a.test",
        "Cyprien Coquelicot",
        Role::Member,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let form = with(
        poll_form(
            "Choix du prestataire",
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T20:00"],
        ),
        "visibility",
        "organisateur",
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    answered(&mut albane_c, &poll, &[(&s1, "oui"), (&s2, "non")], "").await;
    answered(&mut bastien_c, &poll, &[(&s1, "non"), (&s2, "oui")], "").await;

    let (status, page) = albane_c.get(&poll).await;
    assert_eq!(status, StatusCode::OK);
    for hidden in ["Bastien Bleuet", "Cyprien Coquelicot"] {
        assert!(!page.contains(hidden), "Albane sees {hidden}:\n{page}");
    }
    let (status, csv) = albane_c.get(&format!("{poll}/export.csv")).await;
    if status == StatusCode::OK {
        assert!(!csv.contains("Bastien Bleuet"), "{csv}");
    } else {
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    let (_, page) = org.get(&poll).await;
    assert_choice(&page, "Albane Aubépine", &s1, "Oui");
    assert_choice(&page, "Bastien Bleuet", &s2, "Oui");
    assert!(sans_reponse(&page).contains("Cyprien Coquelicot"));
}

#[tokio::test]
async fn editing_slots_keeps_the_answers_to_the_slots_kept() {
    let host = polls_host(None).await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut bastien_c) = person(
        &host,
        "cpts-a",
        "bastien@a.test",
        "Bastien Bleuet",
        Role::Member,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let title = "Formation gestes d’urgence";
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            title,
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T20:00", "2027-06-17T20:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let sa = slot_id(&page, "2027-06-03T20:00");
    let sb = slot_id(&page, "2027-06-10T20:00");
    let sc = slot_id(&page, "2027-06-17T20:00");
    answered(
        &mut albane_c,
        &poll,
        &[(&sa, "oui"), (&sb, "non"), (&sc, "si-besoin")],
        "",
    )
    .await;
    answered(
        &mut bastien_c,
        &poll,
        &[(&sa, "non"), (&sb, "oui"), (&sc, "oui")],
        "",
    )
    .await;

    // Keep the first and last slots, drop the middle one (it has answers), add one.
    let edit = with(
        with(
            poll_form(title, &deadline.input, &["2027-06-24T20:00"]),
            "keep",
            &sa,
        ),
        "keep",
        &sc,
    );
    let modifier = format!("{poll}/modifier");

    // Only managers edit.
    assert_eq!(albane_c.get(&modifier).await.0, StatusCode::FORBIDDEN);
    let (status, _, _) = albane_c.post_form(&modifier, &pairs(&edit)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, form_page) = org.get(&modifier).await;
    assert_eq!(status, StatusCode::OK, "{form_page}");

    // Without confirmation: 409 naming the slot that would lose answers; nothing changes.
    let (_, before) = org.get(&poll).await;
    let (status, _, body) = org.post_form(&modifier, &pairs(&edit)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{}", alert_text(&body));
    assert!(
        text_of(&body)
            .to_lowercase()
            .contains(&fr_date(2027, 6, 10)),
        "the confirmation lists the slot that would lose answers:\n{body}"
    );
    assert!(
        body.contains("name=\"confirm\""),
        "a confirm button:\n{body}"
    );
    let (_, unchanged) = org.get(&poll).await;
    assert_eq!(header_ids(&unchanged), header_ids(&before));
    assert!(
        !results(&unchanged)
            .text()
            .to_lowercase()
            .contains(&fr_date(2027, 6, 24)),
        "the new slot was not added"
    );
    assert_choice(&unchanged, "Albane Aubépine", &sb, "Non");

    // Confirmed: the slot goes, the new one comes with a new id, other answers stay.
    let (status, _, body) = org
        .post_form(&modifier, &pairs(&with(edit, "confirm", "1")))
        .await;
    assert!(accepted(status), "{status}: {}", alert_text(&body));
    let (_, page) = org.get(&poll).await;
    let ids = header_ids(&page);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.contains(&sa) && ids.contains(&sc) && !ids.contains(&sb),
        "{ids:?}"
    );
    let sd = slot_id(&page, "2027-06-24T20:00");
    assert!(
        ![&sa, &sb, &sc].contains(&&sd),
        "a new slot gets a new id, never a former one ({sd})"
    );
    assert!(
        !results(&page)
            .text()
            .to_lowercase()
            .contains(&fr_date(2027, 6, 10))
    );
    assert_choice(&page, "Albane Aubépine", &sa, "Oui");
    assert_choice(&page, "Albane Aubépine", &sc, "Si besoin");
    assert_pending(&page, "Albane Aubépine", &sd);
    assert_choice(&page, "Bastien Bleuet", &sa, "Non");
    assert_choice(&page, "Bastien Bleuet", &sc, "Oui");
    assert_pending(&page, "Bastien Bleuet", &sd);
    assert_counts(&page, &sa, 1, 0);
    assert_counts(&page, &sc, 1, 1);
    assert_counts(&page, &sd, 0, 0);

    // The removed slot takes no answer any more; the new one does.
    let (status, _, _) = answer(
        &mut albane_c,
        &poll,
        &[(&sa, "oui"), (&sb, "oui"), (&sc, "si-besoin")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    answered(
        &mut albane_c,
        &poll,
        &[(&sa, "oui"), (&sc, "si-besoin"), (&sd, "oui")],
        "",
    )
    .await;
    let (_, page) = org.get(&poll).await;
    assert_choice(&page, "Albane Aubépine", &sd, "Oui");
    assert_pending(&page, "Bastien Bleuet", &sd);
    assert_counts(&page, &sd, 1, 0);
}

#[tokio::test]
async fn slots_are_shown_and_stored_in_the_right_time_zones() {
    let host = polls_host(None).await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let capucine = host
        .account(
            "cpts-a",
            "capucine@a.test",
            "Capucine de Cayenne",
            Role::Member,
        )
        .await;
    host.state
        .db
        .set_account_time_zone(capucine.id, Some("America/Cayenne"))
        .await
        .unwrap();
    let mut cap = Client::new(&host);
    cap.login("capucine@a.test", PASSWORD).await;
    let deadline = deadline_in(10, paris);

    // A member in Guyane sees the structure's time and her own, summer and winter.
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            "Réunion inter-territoires",
            &deadline.input,
            &["2027-06-03T20:00", "2027-01-14T20:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (status, page) = cap.get(&poll).await;
    assert_eq!(status, StatusCode::OK);
    let summer = slot_id(&page, "2027-06-03T20:00");
    let winter = slot_id(&page, "2027-01-14T20:00");
    // 20:00 in Paris is 18:00 UTC in June (15:00 in Cayenne), 19:00 UTC in January (16:00).
    let own = own_zone(&page, &summer).expect("span.own-zone for a member in another zone");
    assert!(contains_time(&own, 15, 0), "{own}");
    let own = own_zone(&page, &winter).expect("span.own-zone for a member in another zone");
    assert!(contains_time(&own, 16, 0), "{own}");
    let (_, page) = org.get(&poll).await;
    assert!(
        !elements(&results(&page).inner, "span")
            .iter()
            .any(|s| s.has_class("own-zone")),
        "a member in the structure's zone sees one time"
    );

    // The change to summer time: 02:30 does not exist on 2026-03-29 in Paris.
    let before = listed(&mut org, A).await;
    let (status, _, body) = try_create(
        &mut org,
        A,
        &poll_form(
            "Heure d’été",
            &deadline.input,
            &["2026-03-29T02:30", "2026-03-30T20:00"],
        ),
    )
    .await;
    assert_refused(
        "a local time skipped by the change of hour",
        status,
        &body,
        &["heure", "existe", "créneau"],
    );
    assert_eq!(listed(&mut org, A).await, before, "nothing stored");
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            "Heure d’été",
            &deadline.input,
            &["2026-03-29T03:30", "2026-03-30T20:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let dst = slot_id(&page, "2026-03-29T03:30");
    closed_with(&mut org, &poll, &dst, true).await;
    let p = closed_event(&host, &id).await;
    assert_eq!(
        p["slot"]["start"].as_i64(),
        Some(utc(2026, 3, 29, 1, 30)),
        "03:30 summer time is 01:30 UTC"
    );
    assert_eq!(p["slot"]["zone"], "Europe/Paris");
    assert_eq!(p["slot"]["local"], "2026-03-29T03:30");

    // A poll typed in La Réunion's time, in a structure of metropolitan France: stored
    // in its zone, shown in the structure's.
    let reunion_deadline = deadline_in(10, reunion);
    let form = with(
        poll_form(
            "Visio avec La Réunion",
            &reunion_deadline.input,
            &["2027-06-03T20:00", "2027-06-04T20:00"],
        ),
        "zone",
        "Indian/Reunion",
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    // 20:00 in Saint-Denis (UTC+4) is 16:00 UTC, 18:00 in Paris in June.
    let slot = slot_id(&page, "2027-06-03T18:00");
    closed_with(&mut org, &poll, &slot, true).await;
    let p = closed_event(&host, &id).await;
    assert_eq!(p["slot"]["start"].as_i64(), Some(utc(2027, 6, 3, 16, 0)));
    assert_eq!(p["slot"]["zone"], "Indian/Reunion");
    assert_eq!(p["slot"]["local"], "2027-06-03T20:00");

    // A structure of La Réunion: its polls are typed and shown in its zone.
    host.structure_in_zone("cpts-reunion", "Indian/Reunion", &["polls"])
        .await;
    let (_, mut remi) = person(
        &host,
        "cpts-reunion",
        "remi@reunion.test",
        "Rémi Payet",
        Role::Member,
    )
    .await;
    let base = "/cpts-reunion/polls";
    let id = create_poll(
        &mut remi,
        base,
        &poll_form(
            "Réunion de secteur",
            &reunion_deadline.input,
            &["2027-06-03T20:00", "2027-06-04T20:00"],
        ),
    )
    .await;
    let poll = format!("{base}/p/{id}");
    let (_, page) = remi.get(&poll).await;
    let slot = slot_id(&page, "2027-06-03T20:00");
    closed_with(&mut remi, &poll, &slot, true).await;
    let p = closed_event(&host, &id).await;
    assert_eq!(p["slot"]["start"].as_i64(), Some(utc(2027, 6, 3, 16, 0)));
    assert_eq!(p["slot"]["zone"], "Indian/Reunion");

    // Whole days float: no zone, no second time.
    let form = with(
        poll_form(
            "Journée de formation",
            &deadline.input,
            &["2027-06-03", "2027-06-04"],
        ),
        "kind",
        "journees",
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = cap.get(&poll).await;
    let day = slot_id(&page, "2027-06-03");
    assert_eq!(
        own_zone(&page, &day),
        None,
        "a whole day has no own-zone time"
    );
    closed_with(&mut org, &poll, &day, true).await;
    let p = closed_event(&host, &id).await;
    assert_eq!(p["slot"]["whole_day"], Value::Bool(true));
    assert_eq!(p["slot"]["start"], Value::Null);
    assert_eq!(p["slot"]["zone"], Value::Null);
    assert_eq!(p["slot"]["local"], Value::Null);
    assert_eq!(p["slot"]["date"], "2027-06-03");
}

/// `count` distinct slots (at most 81): three a day from 2027-02-02.
fn many_slots(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("2027-02-{:02}T{:02}:00", 2 + i / 3, [9, 14, 19][i % 3]))
        .collect()
}

#[tokio::test]
async fn bad_input_is_refused_in_french_and_nothing_is_stored() {
    let host = polls_host(None).await;
    let s = host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (albane, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut nestor_c) = person(
        &host,
        "cpts-a",
        "nestor@a.test",
        "Nestor Noninvité",
        Role::Member,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let past = deadline_in(-1, paris);
    let two = ["2027-06-03T20:00", "2027-06-10T20:00"];
    let sixty_one = many_slots(61);
    let sixty_one: Vec<&str> = sixty_one.iter().map(String::as_str).collect();
    let long_title = "Réunion ".repeat(1250);
    let d = deadline.input.as_str();
    let cases = [
        (
            "a deadline in the past",
            poll_form("Date limite passée", &past.input, &two),
            &["limite", "passé", "futur", "avenir", "échéance"][..],
        ),
        (
            "no slot",
            poll_form("Sans créneau", d, &[]),
            &["créneau"][..],
        ),
        (
            "one slot",
            poll_form("Un seul créneau", d, &two[..1]),
            &["créneau"][..],
        ),
        (
            "empty slots only count for nothing",
            poll_form("Créneaux vides", d, &["", "2027-06-03T20:00", ""]),
            &["créneau"][..],
        ),
        (
            "a duplicate slot",
            poll_form(
                "Créneaux en double",
                d,
                &["2027-06-03T20:00", "2027-06-10T20:00", "2027-06-03T20:00"],
            ),
            &["créneau", "double", "deux fois"][..],
        ),
        (
            "61 slots",
            poll_form("Trop de créneaux", d, &sixty_one),
            &["60"][..],
        ),
        (
            "a 10,000-character title",
            poll_form(&long_title, d, &two),
            &["titre"][..],
        ),
        ("an empty title", poll_form("", d, &two), &["titre"][..]),
        (
            "an impossible date",
            poll_form(
                "Date impossible",
                d,
                &["2027-02-30T20:00", "2027-03-02T20:00"],
            ),
            &["date", "créneau"][..],
        ),
        (
            "an unknown zone",
            with(poll_form("Fuseau inconnu", d, &two), "zone", "Mars/Olympus"),
            &["fuseau", "zone"][..],
        ),
        (
            "an unknown group",
            with(
                with(poll_form("Groupe inconnu", d, &two), "audience", "groupe"),
                "group",
                "groupe-inexistant",
            ),
            &["groupe"][..],
        ),
        (
            "an audience of no one",
            with(poll_form("Personne", d, &two), "audience", "membres"),
            &["personne", "membre", "invité", "participant"][..],
        ),
    ];
    let polls_before = listed(&mut org, A).await;
    let mails_before = mails(&host, s.id).await.len();
    let events_before = host.state.db.events(s.id).await.unwrap().len();
    for (what, form, words) in &cases {
        let (status, _, body) = try_create(&mut org, A, form).await;
        assert_refused(what, status, body.as_str(), words);
        assert!(
            body.contains("name=\"title\""),
            "{what}: the form is shown again"
        );
    }
    assert_eq!(listed(&mut org, A).await, polls_before, "no poll stored");
    assert_eq!(
        mails(&host, s.id).await.len(),
        mails_before,
        "no mail queued"
    );
    assert_eq!(
        host.state.db.events(s.id).await.unwrap().len(),
        events_before,
        "no event published"
    );
    assert_eq!(
        fire(&host, now_unix() + 3 * 366 * 86_400).await,
        0,
        "no timer scheduled"
    );

    // 60 slots is the limit, not beyond it.
    let sixty = many_slots(60);
    let sixty: Vec<&str> = sixty.iter().map(String::as_str).collect();
    let id = create_poll(&mut org, A, &poll_form("Soixante créneaux", d, &sixty)).await;
    let (_, page) = org.get(&format!("{A}/p/{id}")).await;
    assert_eq!(slot_headers(&page).len(), 60);

    // Answers: invited members only, existing slots and known values only, while open.
    let before = mails(&host, s.id).await.len();
    let form = with(
        with(
            poll_form("Bureau restreint", d, &two),
            "audience",
            "membres",
        ),
        "member",
        &albane.id.to_string(),
    );
    let id = create_poll(&mut org, A, &form).await;
    let poll = format!("{A}/p/{id}");
    assert_eq!(
        recipients(&since(&mails(&host, s.id).await, before)),
        emails(&[&albane]),
        "only the chosen member is invited"
    );
    let (_, page) = org.get(&poll).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    let (status, _, _) = answer(
        &mut albane_c,
        &poll,
        &[
            (s1.as_str(), "oui"),
            (s2.as_str(), "non"),
            ("inexistant", "oui"),
        ],
        "",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a slot that does not exist"
    );
    let (status, _, _) = answer(
        &mut albane_c,
        &poll,
        &[(&s1, "peut-être"), (&s2, "non")],
        "",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown choice"
    );
    let (status, _, _) = answer(&mut nestor_c, &poll, &[(&s1, "oui"), (&s2, "oui")], "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a member who is not invited");
    let (_, page) = org.get(&poll).await;
    assert!(
        row_cells(&page, "Albane Aubépine").is_none(),
        "nothing stored"
    );
    assert!(
        row_cells(&page, "Nestor Noninvité").is_none(),
        "nothing stored"
    );
    assert_counts(&page, &s1, 0, 0);
    assert_counts(&page, &s2, 0, 0);
    assert!(sans_reponse(&page).contains("Albane Aubépine"));

    // Closing on a slot nobody can attend needs a confirmation.
    answered(&mut albane_c, &poll, &[(&s1, "oui"), (&s2, "non")], "").await;
    let (status, _) = close(&mut org, &poll, &s2, false).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, page) = org.get(&poll).await;
    assert!(
        element_with_id(&page, "date-retenue").is_none(),
        "still open"
    );
    assert!(closed_events(&host).await.is_empty());

    // Once closed, answers are refused and nothing changes; no reminder follows.
    closed_with(&mut org, &poll, &s1, false).await;
    let (status, _, body) = answer(&mut albane_c, &poll, &[(&s1, "non"), (&s2, "oui")], "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        text_of(&body).contains("clos"),
        "« Ce sondage est clos… »: {body}"
    );
    let (_, page) = org.get(&poll).await;
    assert_choice(&page, "Albane Aubépine", &s1, "Oui");
    assert_counts(&page, &s1, 1, 0);
    let before = mails(&host, s.id).await.len();
    fire(&host, deadline.unix - 48 * 3600 + 1).await;
    let later = since(&mails(&host, s.id).await, before);
    assert!(
        !later.iter().any(|m| m.body.contains(&poll)),
        "no reminder for a closed poll: {:?}",
        recipients(&later)
    );
}

/// Every route of a poll, through `base`, answers 404 to this client.
async fn assert_not_found_everywhere(c: &mut Client<'_>, base: &str, id: &str, slot: &str) {
    let poll = format!("{base}/p/{id}");
    for uri in [
        poll.clone(),
        format!("{poll}/export.csv"),
        format!("{poll}/export.xlsx"),
        format!("{poll}/modifier"),
    ] {
        assert_eq!(c.get(&uri).await.0, StatusCode::NOT_FOUND, "GET {uri}");
    }
    let choice = format!("c-{slot}");
    let posts = [
        (
            format!("{poll}/answer"),
            vec![(choice.as_str(), "non"), ("comment", "intrusion")],
        ),
        (
            format!("{poll}/cloturer"),
            vec![("slot", slot), ("confirm", "1")],
        ),
        (
            format!("{poll}/modifier"),
            vec![("title", "Piraté"), ("keep", slot), ("confirm", "1")],
        ),
    ];
    for (uri, fields) in &posts {
        let (status, _, _) = c.post_form(uri, fields).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {uri}");
    }
}

#[tokio::test]
async fn another_structure_never_reaches_a_poll() {
    let host = polls_host(None).await;
    let a = host.structure("cpts-a", &["polls"]).await;
    host.structure("cpts-b", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut bruno) = person(&host, "cpts-b", "bruno@b.test", "Bruno de B", Role::Member).await;
    let (_, mut berthe) = person(
        &host,
        "cpts-b",
        "berthe@b.test",
        "Berthe Coordinatrice",
        Role::Coordinator,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            "Réservé à A",
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T20:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    answered(&mut albane_c, &poll, &[(&s1, "oui"), (&s2, "non")], "").await;
    let (_, before) = org.get(&poll).await;
    let mails_before = mails(&host, a.id).await.len();
    let events_before = host.state.db.events(a.id).await.unwrap().len();

    // A member of B only: A's URLs do not exist for them.
    assert_not_found_everywhere(&mut bruno, A, &id, &s1).await;
    assert_eq!(bruno.get(&format!("{A}/")).await.0, StatusCode::NOT_FOUND);
    // B's coordinator, with A's poll id under B's URLs and under A's.
    assert_not_found_everywhere(&mut berthe, "/cpts-b/polls", &id, &s1).await;
    assert_not_found_everywhere(&mut berthe, A, &id, &s1).await;
    let (_, list_b) = berthe.get("/cpts-b/polls/").await;
    assert!(!list_b.contains("Réservé à A"));
    let (_, widget_b) = berthe.get("/cpts-b/polls/widget").await;
    assert!(!widget_b.contains("Réservé à A"));

    // A's poll is as it was.
    let (_, after) = org.get(&poll).await;
    assert_eq!(results(&after).inner, results(&before).inner);
    assert!(text_of(&after).contains("Ouvert"));
    assert!(!after.contains("Piraté") && !after.contains("intrusion"));
    assert_choice(&after, "Albane Aubépine", &s1, "Oui");
    assert!(closed_events(&host).await.is_empty());
    assert_eq!(mails(&host, a.id).await.len(), mails_before);
    assert_eq!(
        host.state.db.events(a.id).await.unwrap().len(),
        events_before
    );
}

#[tokio::test]
async fn the_csv_export_neutralises_formulas() {
    let host = polls_host(None).await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut arobase) = person(
        &host,
        "cpts-a",
        "arobase@a.test",
        "@Arobase Dupont",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let (_, mut bastien_c) = person(
        &host,
        "cpts-a",
        "bastien@a.test",
        "Bastien Bleuet",
        Role::Member,
    )
    .await;
    let deadline = deadline_in(10, paris);
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            "+cmd",
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T20:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    answered(
        &mut arobase,
        &poll,
        &[(&s1, "oui"), (&s2, "non")],
        "=HYPERLINK(\"http://x\")",
    )
    .await;
    answered(
        &mut albane_c,
        &poll,
        &[(&s1, "si-besoin"), (&s2, "oui")],
        "-2+3",
    )
    .await;
    answered(
        &mut bastien_c,
        &poll,
        &[(&s1, "non"), (&s2, "oui")],
        "+33 6 12 34 56 78; sinon par mail",
    )
    .await;

    let (status, csv) = org.get(&format!("{poll}/export.csv")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.starts_with('\u{feff}'), "UTF-8 with a BOM");
    let rows = parse_csv(&csv);
    let cells: Vec<&String> = rows.iter().flatten().collect();
    // The title, if the export carries it, is covered here as well.
    for cell in &cells {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell starts a formula: {cell:?}\n{csv}"
        );
    }
    for expected in [
        "'=HYPERLINK(\"http://x\")",
        "'@Arobase Dupont",
        "'-2+3",
        "'+33 6 12 34 56 78; sinon par mail",
    ] {
        assert!(
            cells.iter().any(|c| c.as_str() == expected),
            "{expected:?} is not a cell of\n{csv}"
        );
    }
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "quotes are doubled inside a quoted cell:\n{csv}"
    );
    let header = &rows[0];
    assert_eq!(header.first().map(String::as_str), Some("Participant"));
    let arobase_row = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("'@Arobase Dupont"))
        .expect("a row for @Arobase Dupont");
    assert_eq!(arobase_row.get(1).map(String::as_str), Some("Oui"), "{csv}");
    assert_eq!(arobase_row.get(2).map(String::as_str), Some("Non"), "{csv}");
}

#[tokio::test]
async fn the_dashboard_widget_lists_polls_awaiting_my_answer() {
    let host = polls_host(None).await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    let (_, mut albane_c) = person(
        &host,
        "cpts-a",
        "albane@a.test",
        "Albane Aubépine",
        Role::Member,
    )
    .await;
    let bastien = host
        .account("cpts-a", "bastien@a.test", "Bastien Bleuet", Role::Member)
        .await;
    let deadline = deadline_in(12, paris);
    let two = ["2027-06-03T20:00", "2027-06-10T20:00"];
    let waiting = create_poll(
        &mut org,
        A,
        &poll_form("Réunion plénière", &deadline.input, &two),
    )
    .await;
    create_poll(
        &mut org,
        A,
        &with(
            with(
                poll_form("Réservé au bureau", &deadline.input, &two),
                "audience",
                "membres",
            ),
            "member",
            &bastien.id.to_string(),
        ),
    )
    .await;
    let closed = create_poll(
        &mut org,
        A,
        &poll_form("Sondage déjà clos", &deadline.input, &two),
    )
    .await;
    let closed_poll = format!("{A}/p/{closed}");
    let (_, page) = org.get(&closed_poll).await;
    closed_with(
        &mut org,
        &closed_poll,
        &slot_id(&page, "2027-06-03T20:00"),
        true,
    )
    .await;

    let widget_uri = format!("{A}/widget");
    let (status, widget) = albane_c.get(&widget_uri).await;
    assert_eq!(status, StatusCode::OK, "{widget}");
    assert!(!widget.contains("<html"), "a fragment, without the layout");
    assert!(widget.contains("Réunion plénière"), "{widget}");
    assert!(widget.contains(&format!("{A}/p/{waiting}")), "{widget}");
    let shown = text_of(&widget).to_lowercase();
    assert!(
        shown.contains(&deadline.date_fr) && contains_time(&shown, deadline.hour, deadline.minute),
        "the widget gives the deadline {} {}:{:02}: {shown}",
        deadline.date_fr,
        deadline.hour,
        deadline.minute
    );
    assert!(!widget.contains("Réservé au bureau"), "not invited");
    assert!(!widget.contains("Sondage déjà clos"), "closed");
    let (_, home) = albane_c.get("/cpts-a/").await;
    assert!(home.contains("Réunion plénière"), "on the dashboard");

    let (_, page) = albane_c.get(&format!("{A}/p/{waiting}")).await;
    let s1 = slot_id(&page, "2027-06-03T20:00");
    let s2 = slot_id(&page, "2027-06-10T20:00");
    answered(
        &mut albane_c,
        &format!("{A}/p/{waiting}"),
        &[(&s1, "oui"), (&s2, "oui")],
        "",
    )
    .await;
    let (_, widget) = albane_c.get(&widget_uri).await;
    assert!(!widget.contains("Réunion plénière"), "answered: {widget}");
    assert!(widget.contains("Aucun sondage en attente."), "{widget}");
    let (_, home) = albane_c.get("/cpts-a/").await;
    assert!(!home.contains("Réunion plénière"));
}

/// The page raised no console error and scrolls only vertically.
fn assert_clean_and_fitting(b: &Browser, what: &str) {
    let errors = b.console_errors();
    assert!(errors.is_empty(), "{what}: console errors {errors:?}");
    let fits = b.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        vec![],
    );
    assert_eq!(fits, Value::Bool(true), "{what} scrolls sideways at 390 px");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_answers_a_poll_on_a_phone_in_chromium() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let public = base.clone();
    let host = Host::with_config(move |c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.public_url = Some(public);
    })
    .await;
    host.structure("cpts-a", &["polls"]).await;
    let (_, mut org) = person(
        &host,
        "cpts-a",
        "olivia@a.test",
        "Olivia Organisatrice",
        Role::Member,
    )
    .await;
    host.account("cpts-a", "albane@a.test", "Albane Aubépine", Role::Member)
        .await;
    let deadline = deadline_in(10, paris);
    let title = "Réunion sur téléphone";
    let id = create_poll(
        &mut org,
        A,
        &poll_form(
            title,
            &deadline.input,
            &["2027-06-03T20:00", "2027-06-10T12:30", "2027-06-17T18:00"],
        ),
    )
    .await;
    let poll = format!("{A}/p/{id}");
    let (_, page) = org.get(&poll).await;
    let picks = [
        (slot_id(&page, "2027-06-03T20:00"), "oui"),
        (slot_id(&page, "2027-06-10T12:30"), "si-besoin"),
        (slot_id(&page, "2027-06-17T18:00"), "non"),
    ];
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let (url, path, chosen) = (format!("{base}{poll}"), poll.clone(), picks.clone());
    let rows = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        b.set_window_size(390, 844);
        // The link of the invitation, opened signed out: log in, then back to the poll.
        b.goto(&url);
        assert!(
            b.current_url().contains("/connexion"),
            "{}",
            b.current_url()
        );
        b.find("#identifiant").send_keys("albane@a.test");
        b.find("#mot_de_passe").send_keys(PASSWORD);
        b.find("main form button[type=submit]").click();
        b.wait_for_text(title);
        assert!(b.current_url().ends_with(&path), "{}", b.current_url());
        assert_clean_and_fitting(&b, "the poll page");
        for (slot, value) in &chosen {
            b.find(&format!("input[name='c-{slot}'][value='{value}']"))
                .click();
        }
        b.find("form[action$='/answer'] button").click();
        b.wait_for_text("1 oui");
        let rows = b.execute(
            "return [...document.querySelectorAll('table.results tr')]\
             .filter(r => r.innerText.includes('Albane Aubépine')).map(r => r.innerText);",
            vec![],
        );
        assert_clean_and_fitting(&b, "the poll page after answering");
        drop(b);
        drop(driver);
        rows
    })
    .await
    .unwrap();
    server.abort();

    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "her row in the grid: {rows:?}");
    let row = rows[0].as_str().unwrap_or_default();
    for label in ["Oui", "Si besoin", "Non"] {
        assert!(row.contains(label), "{row}");
    }
    let (_, page) = org.get(&poll).await;
    for ((slot, _), label) in picks.iter().zip(["Oui", "Si besoin", "Non"]) {
        assert_choice(&page, "Albane Aubépine", slot, label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_polls_smoke() {
    // Tiny sizes: the benchmark checks its own results (every answer kept, once, as
    // sent); timings are printed, never asserted.
    maillage::bench::polls(5, 3, 2, None)
        .await
        .expect("the polls benchmark runs and finds every answer");
}
