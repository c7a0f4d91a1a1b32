//! The minimal polls plugin, end to end through the HTTP edge.

use http::StatusCode;

use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD};

async fn create_poll(client: &mut Client<'_>, base: &str, title: &str, slots: &[&str]) -> String {
    client.get(&format!("{base}/new")).await;
    let mut fields = vec![("title", title)];
    fields.extend(slots.iter().map(|s| ("slot", *s)));
    let (status, location, body) = client.post_form(&format!("{base}/new"), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    location.expect("redirect to the poll")
}

#[tokio::test]
async fn create_answer_and_see_the_results_grid() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    host.account("cpts-a", "alice@test.fr", "Dr Alice Martin", Role::Member)
        .await;
    host.account("cpts-a", "bob@test.fr", "Bob Kiné", Role::Member)
        .await;
    let mut alice = Client::new(&host);
    alice.login("alice@test.fr", PASSWORD).await;
    let poll = create_poll(
        &mut alice,
        "/cpts-a/polls",
        "Groupe de travail BPCO",
        &["2026-12-03T20:00", "2026-12-04T12:30", "2026-12-03T20:00"],
    )
    .await;
    assert!(poll.starts_with("/cpts-a/polls/p/"), "{poll}");

    let (status, page) = alice.get(&poll).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Groupe de travail BPCO"));
    assert!(page.contains("jeudi 3 décembre 2026") && page.contains("vendredi 4 décembre 2026"));
    // The duplicate slot was merged: exactly two columns of answers.
    assert_eq!(page.matches("data-slot=").count(), 2);
    assert!(
        page.contains("<html lang=\"fr\">"),
        "the shell wraps the fragment"
    );

    let answer = format!("{poll}/answer");
    let (s, _, _) = alice
        .post_form(
            &answer,
            &[("name", "Dr Alice Martin"), ("c0", "oui"), ("c1", "non")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut bob = Client::new(&host);
    bob.login("bob@test.fr", PASSWORD).await;
    bob.get(&poll).await;
    bob.post_form(
        &answer,
        &[("name", "Bob Kiné"), ("c0", "si-besoin"), ("c1", "oui")],
    )
    .await;
    // Answering again replaces the earlier answer; members answer under their own name.
    alice
        .post_form(
            &answer,
            &[
                ("name", "Dr Alice Martin"),
                ("c0", "oui"),
                ("c1", "si-besoin"),
            ],
        )
        .await;

    let (_, page) = alice.get(&poll).await;
    assert_eq!(
        page.matches("<th scope=\"row\">Dr Alice Martin</th>")
            .count(),
        1
    );
    assert!(page.contains("<th scope=\"row\">Bob Kiné</th>"));
    assert!(page.contains("<td class=\"best\" data-slot=\"0\"><span class=\"total-yes\">1</span> oui · <span class=\"total-maybe\">1</span> si besoin"), "{page}");
    assert!(page.contains("data-slot=\"1\"><span class=\"total-yes\">1</span> oui · <span class=\"total-maybe\">1</span> si besoin"));

    // The list and the dashboard widget show it.
    let (_, list) = alice.get("/cpts-a/polls/").await;
    assert!(list.contains("Groupe de travail BPCO"));
    let (_, home) = alice.get("/cpts-a/").await;
    assert!(home.contains("Sondages en cours") && home.contains("Groupe de travail BPCO"));
    assert!(
        home.contains("href=\"/cpts-a/polls/\""),
        "navigation comes from the manifest"
    );

    // Creating the poll published an event in the durable outbox.
    let structure = host
        .state
        .db
        .structure_by_slug("cpts-a")
        .await
        .unwrap()
        .unwrap();
    let events = host.state.db.events(structure.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].topic, "poll.created");
    assert_eq!(events[0].source, "polls");
}

#[tokio::test]
async fn bad_input_is_refused_in_french_and_stores_nothing() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    let mut c = host.member("cpts-a", Role::Member).await;
    c.get("/cpts-a/polls/new").await;

    let (s, _, body) = c
        .post_form(
            "/cpts-a/polls/new",
            &[("title", "Une seule date"), ("slot", "2026-12-03T20:00")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("au moins deux créneaux"));
    let (s, _, body) = c
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Date fausse"),
                ("slot", "2026-02-30T20:00"),
                ("slot", "2026-03-01T20:00"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("n’est pas une date valide"));
    let (s, _, body) = c
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", ""),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Veuillez indiquer un titre"));
    // Markup in a title is escaped, never rendered.
    let poll = create_poll(
        &mut c,
        "/cpts-a/polls",
        "<script>alert(1)</script>",
        &["2026-12-03T20:00", "2026-12-04T20:00"],
    )
    .await;
    let (_, page) = c.get(&poll).await;
    assert!(!page.contains("<script>alert(1)</script>") && page.contains("&lt;script&gt;"));

    // An incomplete answer is refused and nothing is recorded.
    let (s, _, body) = c
        .post_form(
            &format!("{poll}/answer"),
            &[("name", "Chloé"), ("c0", "oui")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Veuillez répondre pour chaque créneau"));
    assert!(!body.contains("<th scope=\"row\">Chloé</th>"));
    let (s, _, _) = c
        .post_form(
            &format!("{poll}/answer"),
            &[("name", "Chloé"), ("c0", "peut-être"), ("c1", "oui")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, page) = c.get(&poll).await;
    assert!(!page.contains("<th scope=\"row\">Chloé</th>"));

    // Unknown poll ids and malformed ids are 404.
    assert_eq!(
        c.get("/cpts-a/polls/p/ffffffffffffffffffffffff").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/cpts-a/polls/p/..%2F..").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    let mut c = host.member("cpts-a", Role::Member).await;
    c.get("/cpts-a/polls/new").await;
    let fields = [
        ("title", "Sans jeton"),
        ("slot", "2026-12-03T20:00"),
        ("slot", "2026-12-04T20:00"),
    ];
    let (s, _, body) = c.post_raw("/cpts-a/polls/new", &fields).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("Formulaire expiré"));
    let mut forged = vec![("csrf", "0".repeat(48))];
    forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, _) = c.post_raw("/cpts-a/polls/new", &forged).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = c.get("/cpts-a/polls/").await;
    assert!(!list.contains("Sans jeton"));
}

#[tokio::test]
async fn structures_never_see_each_others_polls_and_disabled_modules_do_not_exist() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    host.structure("cpts-b", &["polls"]).await;
    host.structure("msp-c", &[]).await;
    // One person in all three structures: only the URL's structure decides what is seen.
    for slug in ["cpts-a", "cpts-b", "msp-c"] {
        host.account(slug, "multi@test.fr", "Multi Structures", Role::Member)
            .await;
    }
    let mut c = host.member("cpts-a", Role::Member).await;
    c.login("multi@test.fr", PASSWORD).await;
    let poll_a = create_poll(
        &mut c,
        "/cpts-a/polls",
        "Réservé à A",
        &["2026-12-03T20:00", "2026-12-04T20:00"],
    )
    .await;
    let id = poll_a.rsplit('/').next().unwrap();

    // Same poll id under another structure: not found, and B's list and widget are empty.
    assert_eq!(
        c.get(&format!("/cpts-b/polls/p/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list_b) = c.get("/cpts-b/polls/").await;
    assert!(!list_b.contains("Réservé à A") && list_b.contains("Aucun sondage"));
    let (_, home_b) = c.get("/cpts-b/").await;
    assert!(!home_b.contains("Réservé à A"));
    // Answering A's poll through B's URL writes nothing anywhere.
    let (s, _, _) = c
        .post_form(
            &format!("/cpts-b/polls/p/{id}/answer"),
            &[("name", "Intrus"), ("c0", "oui"), ("c1", "oui")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, page_a) = c.get(&poll_a).await;
    assert!(!page_a.contains("Intrus"));

    // A structure that did not enable the module: 404, for reads and writes.
    assert_eq!(c.get("/msp-c/polls/").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get(&format!("/msp-c/polls/p/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, _, _) = c
        .post_form(
            "/msp-c/polls/new",
            &[
                ("title", "x"),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get("/structure-inconnue/polls/").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, home_c) = c.get("/msp-c/").await;
    assert!(home_c.contains("Aucun module n’est activé"));

    // Disabling a module makes it disappear at once; its data stays for re-enabling.
    let a = host
        .state
        .db
        .structure_by_slug("cpts-a")
        .await
        .unwrap()
        .unwrap();
    host.state.db.disable_module(a.id, "polls").await.unwrap();
    assert_eq!(c.get(&poll_a).await.0, StatusCode::NOT_FOUND);
    host.state
        .db
        .enable_module(a.id, "polls", "0.2.0", &["storage".to_string()])
        .await
        .unwrap();
    assert_eq!(c.get(&poll_a).await.0, StatusCode::OK);
}
