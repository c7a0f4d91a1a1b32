//! The lists: upcoming and past meetings, the month and the week, « Mes réunions » with
//! the personal feed's address, the dashboard widget, and the feed itself.

use maillage_sdk::html::{Markup, csrf_field, href, html};
use maillage_sdk::records::{Query, StoreError};
use maillage_sdk::time::jiff::civil::Date;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::{Response, time};

use crate::calendar;
use crate::model::{self, Answer, Invitation, MEETINGS, Meeting, Viewer};
use crate::ui::{self, PageResult};

/// Meetings with a start in [from, to), in start order, that the viewer may read.
fn visible_between(
    viewer: &Viewer,
    from: i64,
    to: i64,
    limit: u32,
) -> Result<(Vec<Meeting>, Vec<Invitation>), StoreError> {
    let (found, _) = Query::new()
        .filter("start_at >= {:from} && start_at < {:to}")
        .param("from", from)
        .param("to", to)
        .sort("start_at")
        .limit(limit)
        .fetch::<Meeting>(MEETINGS)?;
    readable(viewer, found)
}

/// Keeps the meetings the viewer may read, with the viewer's invitations to them.
fn readable(
    viewer: &Viewer,
    meetings: Vec<Meeting>,
) -> Result<(Vec<Meeting>, Vec<Invitation>), StoreError> {
    let ids: Vec<String> = meetings.iter().map(|m| m.id.clone()).collect();
    let mine = model::my_invitations(viewer, &ids)?;
    let kept = meetings
        .into_iter()
        .filter(|m| viewer.can_read(m, mine.iter().any(|i| i.meeting == m.id)))
        .collect();
    Ok((kept, mine))
}

fn my_answer<'a>(mine: &'a [Invitation], meeting: &Meeting) -> Option<&'a Invitation> {
    mine.iter().find(|i| i.meeting == meeting.id)
}

/// One meeting in a list: date, title, group, my answer.
fn item(viewer: &Viewer, meeting: &Meeting, mine: &[Invitation]) -> Markup {
    html! {
        li class="meeting-item" {
            a href=(href(&meeting.path())) { (meeting.title) }
            @if meeting.is_cancelled() {
                " " span class="badge cancelled" { "Annulée" }
            }
            br;
            span class="muted" {
                (meeting.when_with_zone()) " · " (meeting.group_label(viewer))
            }
            @if let Some(invitation) = my_answer(mine, meeting) {
                " " (ui::answer_badge(invitation.answer()))
            }
        }
    }
}

fn views_nav(current: &str) -> Markup {
    let links = [
        ("/", "Liste"),
        ("/mois", "Mois"),
        ("/semaine", "Semaine"),
        ("/mes-reunions", "Mes réunions"),
    ];
    html! {
        nav aria-label="Vues de l’agenda" {
            ul class="subnav" {
                @for (path, label) in links {
                    li {
                        a href=(href(path)) aria-current=[(path == current).then_some("page")] { (label) }
                    }
                }
            }
        }
    }
}

fn toolbar(viewer: &Viewer, current: &str) -> Markup {
    html! {
        div class="toolbar" {
            h1 { "Réunions" }
            @if viewer.may_create_any() {
                a class="button" href=(href("/nouvelle")) { "Nouvelle réunion" }
            }
        }
        (views_nav(current))
    }
}

/// `GET /`: upcoming and past meetings.
pub fn list(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let now = time::now_seconds();
    // Started less than a day ago counts as upcoming while it lasts.
    let (upcoming, mine_up) = visible_between(&viewer, now - 86_400, i64::MAX / 2, 200)?;
    let upcoming: Vec<Meeting> = upcoming.into_iter().filter(|m| m.end_at() > now).collect();
    let (past_found, _) = Query::new()
        .filter("start_at < {:now}")
        .param("now", now)
        .sort("-start_at")
        .limit(100)
        .fetch::<Meeting>(MEETINGS)?;
    let (past, mine_past) = readable(&viewer, past_found)?;
    let past: Vec<Meeting> = past
        .into_iter()
        .filter(|m| m.end_at() <= now)
        .take(50)
        .collect();
    let body = html! {
        (ui::head())
        (toolbar(&viewer, "/"))
        (ui::notice_block(query))
        section aria-labelledby="a-venir" {
            h2 id="a-venir" { "À venir" }
            @if upcoming.is_empty() {
                p class="empty" { "Aucune réunion à venir." }
            } @else {
                ul class="cards meetings" {
                    @for m in &upcoming { (item(&viewer, m, &mine_up)) }
                }
            }
        }
        section aria-labelledby="passees" {
            h2 id="passees" { "Passées" }
            @if past.is_empty() {
                p class="empty" { "Aucune réunion passée." }
            } @else {
                ul class="cards meetings" {
                    @for m in &past { (item(&viewer, m, &mine_past)) }
                }
            }
        }
        @if viewer.coordinator {
            (republish_form())
        }
    };
    Ok(Response::page("Réunions", body))
}

/// For coordinators, under the list: `meeting.saved` again for every group's meeting
/// (`POST /republier`), for a module enabled after they were saved.
fn republish_form() -> Markup {
    html! {
        section id="republier" aria-labelledby="republier-titre" {
            h2 id="republier-titre" { "Autres modules" }
            form method="post" action=(href("/republier")) {
                (csrf_field())
                p class="muted" {
                    "Un module activé après coup (les projets, par exemple) peut recevoir à "
                    "nouveau toutes les réunions des groupes, passées, à venir et annulées."
                }
                button type="submit" class="secondary" { "Republier les réunions aux autres modules" }
            }
        }
    }
}

/// Midnight of a date in `tz` (the earlier instant when it is ambiguous, the next one
/// that exists when it falls in a gap).
fn midnight(date: Date, tz: &TimeZone) -> i64 {
    tz.to_ambiguous_timestamp(date.at(0, 0, 0, 0))
        .compatible()
        .map(|t| t.as_second())
        .unwrap_or(0)
}

fn today(tz: &TimeZone) -> Date {
    time::local(time::now(), tz).date()
}

fn add_days(date: Date, days: i32) -> Date {
    let mut d = date;
    for _ in 0..days.unsigned_abs() {
        d = if days > 0 {
            d.tomorrow()
        } else {
            d.yesterday()
        }
        .unwrap_or(d);
    }
    d
}

/// The local date of a meeting in the structure's zone.
fn local_date(meeting: &Meeting, tz: &TimeZone) -> Date {
    time::local(meeting.start(), tz).date()
}

fn structure_tz() -> TimeZone {
    time::zone_or_default(&maillage_sdk::context().time_zone)
}

fn month_title(date: Date) -> String {
    format!(
        "{} {}",
        maillage_sdk::fr::month_name(date.month() as u32),
        date.year()
    )
}

/// `GET /mois?mois=YYYY-MM`.
pub fn month(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let tz = structure_tz();
    let asked = ui::param(query, "mois");
    let first = time::parse_date(&format!("{asked}-01"))
        .unwrap_or_else(|_| today(&tz))
        .first_of_month();
    let next = add_days(first, i32::from(first.days_in_month()));
    let previous = add_days(first, -1).first_of_month();
    let (meetings, mine) =
        visible_between(&viewer, midnight(first, &tz), midnight(next, &tz), 500)?;
    let lead = i32::from(first.weekday().to_monday_zero_offset());
    let days = i32::from(first.days_in_month());
    let cells = ((lead + days + 6) / 7) * 7;
    let now_date = today(&tz);
    let weeks: Vec<Vec<Option<Date>>> = (0..cells / 7)
        .map(|w| {
            (0..7)
                .map(|d| {
                    let n = w * 7 + d - lead;
                    (0..days).contains(&n).then(|| add_days(first, n))
                })
                .collect()
        })
        .collect();
    let key = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let body = html! {
        (ui::head())
        (toolbar(&viewer, "/mois"))
        div class="toolbar" {
            a href=(href(&format!("/mois?mois={}", key(previous)))) { "← Mois précédent" }
            h2 { (month_title(first)) }
            a href=(href(&format!("/mois?mois={}", key(next)))) { "Mois suivant →" }
        }
        div class="table-scroll" {
            table class="month" {
                caption class="sr" { "Réunions de " (month_title(first)) }
                thead {
                    tr {
                        @for name in ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"] {
                            th scope="col" { (name) }
                        }
                    }
                }
                tbody {
                    @for week in &weeks {
                        tr {
                            @for cell in week {
                                @match cell {
                                    Some(day) => {
                                        @let todays: Vec<&Meeting> = meetings.iter().filter(|m| local_date(m, &tz) == *day).collect();
                                        @let class = format!(
                                            "{}{}",
                                            if *day == now_date { "today " } else { "" },
                                            if todays.is_empty() { "empty-day" } else { "busy-day" }
                                        );
                                        td class=(class) {
                                            span class="day-number" { (day.day()) }
                                            span class="day-name" { (time::date_fr(*day)) }
                                            @if !todays.is_empty() {
                                                ul {
                                                    @for m in &todays {
                                                        li {
                                                            (time::time_fr(time::local(m.start(), &tz))) " "
                                                            a href=(href(&m.path())) { (m.title) }
                                                            @if m.is_cancelled() { " (annulée)" }
                                                            @if let Some(i) = my_answer(&mine, m) {
                                                                " " (ui::answer_badge(i.answer()))
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    None => {
                                        td class="other" {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(href(&format!("/semaine?jour={}", time::date_input(first)))) { "Voir la semaine" } }
    };
    Ok(Response::page(
        &format!("Réunions — {}", month_title(first)),
        body,
    ))
}

/// `GET /semaine?jour=YYYY-MM-DD`: the week (Monday to Sunday) of that day.
pub fn week(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let tz = structure_tz();
    let day = time::parse_date(&ui::param(query, "jour")).unwrap_or_else(|_| today(&tz));
    let monday = add_days(day, -i32::from(day.weekday().to_monday_zero_offset()));
    let next_monday = add_days(monday, 7);
    let (meetings, mine) = visible_between(
        &viewer,
        midnight(monday, &tz),
        midnight(next_monday, &tz),
        500,
    )?;
    let days: Vec<Date> = (0..7).map(|n| add_days(monday, n)).collect();
    let sunday = add_days(monday, 6);
    let title = format!(
        "Semaine du {} au {}",
        time::date_fr(monday),
        time::date_fr(sunday)
    );
    let body = html! {
        (ui::head())
        (toolbar(&viewer, "/semaine"))
        div class="toolbar" {
            a href=(href(&format!("/semaine?jour={}", time::date_input(add_days(monday, -7))))) { "← Semaine précédente" }
            h2 { (title) }
            a href=(href(&format!("/semaine?jour={}", time::date_input(next_monday)))) { "Semaine suivante →" }
        }
        div class="week" {
            @for d in &days {
                @let todays: Vec<&Meeting> = meetings.iter().filter(|m| local_date(m, &tz) == *d).collect();
                section aria-label=(time::date_fr(*d)) {
                    h3 { (time::date_fr(*d)) }
                    @if todays.is_empty() {
                        p class="empty" { "Aucune réunion." }
                    } @else {
                        ul class="meetings" {
                            @for m in &todays { (item(&viewer, m, &mine)) }
                        }
                    }
                }
            }
        }
        p { a href=(href(&format!("/mois?mois={:04}-{:02}", monday.year(), monday.month()))) { "Voir le mois" } }
    };
    Ok(Response::page(&title, body))
}

/// Every meeting the viewer is invited to, with their invitations, in start order.
fn my_meetings(viewer: &Viewer) -> Result<(Vec<Meeting>, Vec<Invitation>), StoreError> {
    let Some(user) = viewer.id() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let query = Query::new()
        .filter("user = {:u}")
        .param("u", user)
        .sort("-created_at");
    let mine: Vec<Invitation> = query.fetch_all(model::INVITATIONS, 2000)?;
    let ids: Vec<String> = mine.iter().map(|i| i.meeting.clone()).collect();
    Ok((model::meetings_by_id(&ids)?, mine))
}

/// `GET /mes-reunions`: my meetings with my answer, and my feed's address.
pub fn mine(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let now = time::now_seconds();
    let (meetings, mine) = my_meetings(&viewer)?;
    let upcoming: Vec<&Meeting> = meetings.iter().filter(|m| m.end_at() > now).collect();
    let past: Vec<&Meeting> = meetings
        .iter()
        .rev()
        .filter(|m| m.end_at() <= now)
        .take(30)
        .collect();
    let feed = maillage_sdk::feed_url();
    let row = |m: &Meeting| {
        let invitation = my_answer(&mine, m);
        html! {
            tr {
                td { a href=(href(&m.path())) { (m.title) } @if m.is_cancelled() { " " span class="badge cancelled" { "Annulée" } } }
                td { (m.when_with_zone()) }
                td { (m.group_label(&viewer)) }
                td {
                    @if let Some(i) = invitation {
                        (ui::invitation_answer(i, true))
                    }
                }
            }
        }
    };
    let body = html! {
        (ui::head())
        (toolbar(&viewer, "/mes-reunions"))
        (ui::notice_block(query))
        h2 { "Mes réunions à venir" }
        @if upcoming.is_empty() {
            p class="empty" { "Aucune réunion à venir." }
        } @else {
            table class="list mine" {
                thead { tr { th scope="col" { "Réunion" } th scope="col" { "Date" } th scope="col" { "Groupe" } th scope="col" { "Ma réponse" } } }
                tbody { @for m in &upcoming { (row(m)) } }
            }
        }
        h2 { "Mes réunions passées" }
        @if past.is_empty() {
            p class="empty" { "Aucune réunion passée." }
        } @else {
            table class="list mine" {
                thead { tr { th scope="col" { "Réunion" } th scope="col" { "Date" } th scope="col" { "Groupe" } th scope="col" { "Ma réponse" } } }
                tbody { @for m in &past { (row(m)) } }
            }
        }
        section id="abonnement" aria-labelledby="abonnement-titre" {
            h2 id="abonnement-titre" { "Mon agenda dans mon logiciel de calendrier" }
            @if let Some(url) = &feed {
                p {
                    "Abonnez votre logiciel d’agenda (Outlook, Google Agenda, Calendrier d’Apple, "
                    "Thunderbird…) à cette adresse : vos réunions s’y affichent et se mettent à jour "
                    "toutes les heures."
                }
                label for="flux" { "Adresse de mon agenda personnel" }
                div class="feed" {
                    input type="url" id="flux" class="feed-url" readonly value=(url) data-select-on-focus;
                    button type="button" class="secondary" data-copy="flux" data-copy-status="flux-statut" hidden {
                        "Copier l’adresse"
                    }
                }
                p id="flux-statut" class="muted" role="status" {}
                p class="muted" {
                    "Cette adresse est personnelle et secrète : ne la communiquez à personne. "
                    "Vous pouvez la révoquer à tout moment sur "
                    a href="/compte" { "« Mon compte »" }
                    " ; une nouvelle adresse apparaîtra alors ici."
                }
            } @else {
                p class="muted" { "L’adresse de votre agenda n’est pas disponible." }
            }
        }
    };
    Ok(Response::page("Mes réunions", body))
}

/// `GET /widget`: my next meetings, for the dashboard.
pub fn widget() -> PageResult {
    let viewer = Viewer::current();
    let now = time::now_seconds();
    let (found, _) = Query::new()
        .filter("start_at >= {:from} && status != {:cancelled}")
        .param("from", now - 86_400)
        .param("cancelled", model::CANCELLED)
        .sort("start_at")
        .limit(200)
        .fetch::<Meeting>(MEETINGS)?;
    let ids: Vec<String> = found.iter().map(|m| m.id.clone()).collect();
    let mine = model::my_invitations(&viewer, &ids)?;
    let next: Vec<&Meeting> = found
        .iter()
        .filter(|m| m.end_at() > now && my_answer(&mine, m).is_some())
        .take(5)
        .collect();
    let body = html! {
        (ui::head())
        @if next.is_empty() {
            p class="muted" { "Aucune réunion à venir." }
        } @else {
            ul {
                @for m in &next {
                    li {
                        a href=(href(&m.path())) { (m.title) }
                        br;
                        span class="muted" { (calendar::short_when(m)) }
                        @if let Some(i) = my_answer(&mine, m) {
                            " " (ui::answer_badge(i.answer()))
                            @if i.answer() == Answer::None {
                                " " a href=(href(&format!("{}#reponse", m.path()))) { "Répondre" }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(href("/mes-reunions")) { "Toutes mes réunions" } }
    };
    Ok(Response::fragment(body))
}

/// `GET /flux`: the member's feed (the host serves it at their secret `feed_url()`).
pub fn feed() -> PageResult {
    let viewer = Viewer::current();
    let (meetings, _) = my_meetings(&viewer)?;
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/calendar; charset=utf-8".into()),
            (
                "content-disposition".into(),
                "inline; filename=\"reunions.ics\"".into(),
            ),
            ("cache-control".into(), "private, max-age=300".into()),
        ],
        body: calendar::feed(&meetings).into_bytes(),
    })
}
