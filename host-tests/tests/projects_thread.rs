//! The project thread's « Messages précédents » paging and its highlighted @mentions
//! (docs/projects-contract.md, « Threads »), through the real host and the real
//! component: the latest 100 messages in order, the 100 before a message and the ones
//! before those, a malformed position refused, browsing back marking nothing read; a
//! mention of someone who may read the project as `span.mention[data-user]`, the rest of
//! the text escaped with its line breaks.

use http::StatusCode;

use crate::projects::{
    A, assert_refused, count, first, message_ids, page, poller_url, posted, project_path,
    projects_host, signed_in, thread_items, unread_listed, world,
};
use crate::support::Client;

const BAD_CURSOR: &str = "La position demandée dans la discussion est illisible.";

/// The page a link of the thread leads to; the link must end with `#fil` (the thread's
/// place on the page, which a browser keeps to itself).
async fn follow(c: &mut Client<'_>, href: &str) -> String {
    let (url, fragment) = href
        .split_once('#')
        .unwrap_or_else(|| panic!("no #fil in {href}"));
    assert_eq!(fragment, "fil", "{href}");
    page(c, url).await
}

/// The link « Messages précédents » of a page: `a.messages-precedents[href]`.
fn older_link(html: &str) -> String {
    let a = first(html, "a.messages-precedents");
    assert_eq!(a.text(), "Messages précédents", "{}", a.html);
    a.get("href")
}

/// The position the poller of a page asks from: `apres={created_at}.{id}`.
fn poller_cursor(html: &str) -> String {
    let url = poller_url(html);
    url.split_once("apres=")
        .and_then(|(_, rest)| rest.split('&').next())
        .unwrap_or_else(|| panic!("no apres= in {url}"))
        .to_string()
}

/// What a page of older messages is: the link back to the latest, no poller.
fn assert_older_page(html: &str, g: &str, what: &str) {
    let back = first(html, "a.derniers-messages");
    assert_eq!(
        back.text(),
        "Revenir aux derniers messages",
        "{what}: {}",
        back.html
    );
    assert_eq!(back.get("href"), format!("{A}/p/{g}#fil"), "{what}");
    assert_eq!(count(html, "div#fil-suivi"), 0, "{what}: no poller");
    assert_eq!(count(html, "div#fil"), 1, "{what}: the anchor of the links");
}

#[tokio::test]
async fn older_messages_page_back_a_hundred_at_a_time_without_marking_anything_read() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let g = w.open.clone();

    // 105 messages, many within the same second: they keep the order they were posted in.
    let mut order: Vec<String> = Vec::new();
    for i in 0..105 {
        let client = if i % 2 == 0 { &mut anne } else { &mut remi };
        order.push(posted(client, &g, &format!("Message numéro {i}")).await);
    }
    assert_eq!(
        unread_listed(&mut gus, &g).await,
        105,
        "Gustave saw nothing yet"
    );

    // The page: exactly the latest 100, in order, the poller, and the way back.
    let p = page(&mut anne, &project_path(&g)).await;
    let items = thread_items(&p);
    assert_eq!(message_ids(&items), order[5..].to_vec(), "{p}");
    assert!(
        items[0].text().contains("Message numéro 5"),
        "{}",
        items[0].html
    );
    assert!(
        items[99].text().contains("Message numéro 104"),
        "{}",
        items[99].html
    );
    assert_eq!(count(&p, "div#fil-suivi"), 1, "the latest page keeps up");
    assert_eq!(count(&p, "a.derniers-messages"), 0, "{p}");
    assert_eq!(count(&p, "div#fil"), 1, "{p}");
    let older = older_link(&p);
    assert!(
        older.starts_with(&format!("{A}/p/{g}?avant="))
            && older.ends_with(&format!(".{}#fil", order[5])),
        "the position of the oldest shown: {older}"
    );

    // « Messages précédents »: the 5 older ones in order, nothing before them. Gustave
    // goes there first: browsing back marks nothing read.
    let p = follow(&mut gus, &older).await;
    let items = thread_items(&p);
    assert_eq!(message_ids(&items), order[..5].to_vec(), "{p}");
    assert!(
        items[0].text().contains("Message numéro 0"),
        "{}",
        items[0].html
    );
    assert_eq!(count(&p, "a.messages-precedents"), 0, "nothing older: {p}");
    assert_older_page(&p, &g, "the 5 oldest");
    assert_eq!(count(&p, "li.non-lu"), 5, "still new to Gustave: {p}");
    assert_eq!(
        unread_listed(&mut gus, &g).await,
        105,
        "an older page moves no read marker"
    );

    // The 100 before the newest (same-second neighbours included), then the 4 before.
    let newest = poller_cursor(&page(&mut anne, &project_path(&g)).await);
    assert!(newest.ends_with(&format!(".{}", order[104])), "{newest}");
    let p = follow(&mut gus, &format!("{A}/p/{g}?avant={newest}#fil")).await;
    assert_eq!(
        message_ids(&thread_items(&p)),
        order[4..104].to_vec(),
        "{p}"
    );
    assert_older_page(&p, &g, "the 100 before the newest");
    let older = older_link(&p);
    assert!(older.ends_with(&format!(".{}#fil", order[4])), "{older}");
    let p = follow(&mut gus, &older).await;
    assert_eq!(message_ids(&thread_items(&p)), order[..4].to_vec(), "{p}");
    assert_eq!(count(&p, "a.messages-precedents"), 0, "{p}");
    assert_eq!(unread_listed(&mut gus, &g).await, 105, "still nothing read");

    // The latest page marks them read; going back afterwards changes nothing.
    let p = page(&mut gus, &project_path(&g)).await;
    assert_eq!(count(&p, "li.non-lu"), 100, "{p}");
    assert_eq!(unread_listed(&mut gus, &g).await, 0, "Gustave, once seen");
    let p = follow(&mut gus, &older_link(&p)).await;
    assert_eq!(count(&p, "li.non-lu"), 0, "read already: {p}");
    assert_eq!(unread_listed(&mut gus, &g).await, 0);
    // A new message stays unread while Gustave browses back.
    order.push(posted(&mut anne, &g, "Message numéro 105").await);
    let p = page(&mut remi, &project_path(&g)).await;
    assert!(
        older_link(&p).ends_with(&format!(".{}#fil", order[6])),
        "{p}"
    );
    follow(&mut gus, &older_link(&p)).await;
    assert_eq!(
        unread_listed(&mut gus, &g).await,
        1,
        "browsing back does not mark the new message read"
    );

    // Malformed positions: 422 in French.
    for query in [
        "?avant=",
        "?avant=abc",
        "?avant=12",
        "?avant=-1.x",
        "?avant=1e3.x",
        "?avant=1.a%2Fb",
        "?avant=1733000000.a%20b",
    ] {
        let (status, body) = gus.get(&format!("{}{query}", project_path(&g))).await;
        assert_refused(status, &body, BAD_CURSOR, query);
    }
    assert_eq!(
        unread_listed(&mut gus, &g).await,
        1,
        "refusals mark nothing"
    );
}

#[tokio::test]
async fn mentions_are_highlighted_and_the_rest_of_the_text_stays_escaped() {
    let host = projects_host().await;
    let w = world(&host, &["projects"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let g = w.open.clone();
    // Anne's page before: its poller is to bring Rémi's message.
    let url = poller_url(&page(&mut anne, &project_path(&g)).await);

    let text = "Merci @Anne Active <script>alert(1)</script>\n\
                À voir avec @oscar dehors & @Bob Ailleurs.";
    let m = posted(&mut remi, &g, text).await;
    let p = page(&mut anne, &project_path(&g)).await;
    let li = first(&p, &format!("li#message-{m}"));
    // Anne (of the group) and Oscar (an open project: every member may read it), as
    // written; not Bob, of another structure.
    let spans = li.all("span.mention");
    assert_eq!(spans.len(), 2, "{}", li.html);
    assert_eq!(spans[0].get("data-user"), w.anne.to_string(), "{}", li.html);
    assert_eq!(spans[0].text(), "@Anne Active");
    assert_eq!(
        spans[1].get("data-user"),
        w.oscar.to_string(),
        "{}",
        li.html
    );
    assert_eq!(spans[1].text(), "@oscar dehors");
    assert_eq!(
        count(&p, &format!("span.mention[data-user={}]", w.anne)),
        1,
        "{p}"
    );
    // The rest: escaped, its line break kept.
    let body = li.first("div.thread-text");
    assert!(
        body.inner.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        body.html
    );
    assert!(!li.html.contains("<script"), "{}", li.html);
    assert!(body.inner.contains("&amp; @Bob Ailleurs."), "{}", body.html);
    assert_eq!(
        body.count("br"),
        2,
        "the line break and the end: {}",
        body.html
    );
    assert!(
        body.text().starts_with("Merci @Anne Active <script>"),
        "{}",
        body.html
    );

    // The poller brings it highlighted too.
    let (status, answer) = anne.get(&url).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let polled = first(&answer, &format!("li#message-{m}"));
    assert_eq!(
        polled.count(&format!("span.mention[data-user={}]", w.anne)),
        1,
        "{}",
        polled.html
    );
    assert!(!polled.html.contains("<script"), "{}", polled.html);

    // A closed project: Oscar may not read it, his name stays plain text.
    let m = posted(
        &mut anne,
        &w.closed,
        "Point d’étape pour @Oscar Dehors et @Rémi Référent",
    )
    .await;
    let p = page(&mut remi, &project_path(&w.closed)).await;
    let li = first(&p, &format!("li#message-{m}"));
    let spans = li.all("span.mention");
    assert_eq!(spans.len(), 1, "{}", li.html);
    assert_eq!(spans[0].get("data-user"), w.remi.to_string());
    assert_eq!(spans[0].text(), "@Rémi Référent");

    // A message without any mention has none.
    let m = posted(&mut anne, &g, "Écrire à jean@exemple.fr, sans mention").await;
    let p = page(&mut remi, &project_path(&g)).await;
    assert_eq!(
        first(&p, &format!("li#message-{m}")).count("span.mention"),
        0,
        "{p}"
    );
}
