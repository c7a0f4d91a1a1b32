//! Durable event delivery: fan-out to the subscribed modules of the event's structure,
//! at-least-once delivery with idempotency keys, retries with backoff, the dead-letter
//! list for admins, and delivery resumed by a restarted host.

use http::StatusCode;
use maillage::events::{MAX_ATTEMPTS, Round, dispatch};
use maillage::tenancy::Role;

use crate::support::{Client, Host, test_config};

async fn create_poll(client: &mut Client<'_>, slug: &str, title: &str) {
    let (status, _, body) = client
        .post_form(
            &format!("/{slug}/polls/new"),
            &[
                ("title", title),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

/// Events the listener fixture filed in a structure.
async fn received(host: &Host, slug: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM c_listener__received WHERE structure_id = $1")
        .bind(host.structure_id(slug).await)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

async fn delivery(host: &Host) -> (String, i64, i64, Option<String>) {
    let row: (String, i64, i64, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, next_attempt_at, last_error FROM event_deliveries ORDER BY event_id DESC LIMIT 1",
    )
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    row
}

#[tokio::test]
async fn events_reach_subscribers_once_each_and_failures_wait_for_an_admin() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "listener"]).await;
    host.structure("cpts-b", &["polls"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let mut b = host.member("cpts-b", Role::Member).await;

    create_poll(&mut a, "cpts-a", "Réunion plénière").await;
    assert_eq!(
        dispatch(&host.state).await.unwrap(),
        Round {
            delivered: 1,
            failed: 0
        }
    );
    assert_eq!(received(&host, "cpts-a").await, 1);
    assert_eq!(
        dispatch(&host.state).await.unwrap(),
        Round::default(),
        "delivered once"
    );

    // At least once: a repeated delivery (say, after a crash before it was recorded)
    // carries the same idempotency key, and the subscriber files it once.
    sqlx::query("UPDATE event_deliveries SET status = 'pending'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(dispatch(&host.state).await.unwrap().delivered, 1);
    assert_eq!(received(&host, "cpts-a").await, 1);

    // Structure B has no subscriber: its event goes nowhere, A's listener sees nothing of it.
    create_poll(&mut b, "cpts-b", "Réunion de B").await;
    assert_eq!(dispatch(&host.state).await.unwrap(), Round::default());
    assert_eq!(received(&host, "cpts-a").await, 1);
    assert_eq!(received(&host, "cpts-b").await, 0);

    // A refusal is retried with backoff, then given up.
    create_poll(&mut a, "cpts-a", "Sondage à refuser").await;
    let before = maillage::storage::now_secs();
    assert_eq!(
        dispatch(&host.state).await.unwrap(),
        Round {
            delivered: 0,
            failed: 1
        }
    );
    let (status, attempts, next, error) = delivery(&host).await;
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(next >= before + 5, "retried later, not at once");
    assert!(error.unwrap().contains("refus volontaire"));
    assert_eq!(
        dispatch(&host.state).await.unwrap(),
        Round::default(),
        "not due yet"
    );
    for _ in 1..MAX_ATTEMPTS {
        sqlx::query("UPDATE event_deliveries SET next_attempt_at = 0 WHERE status = 'pending'")
            .execute(host.state.db.pool())
            .await
            .unwrap();
        dispatch(&host.state).await.unwrap();
    }
    let (status, attempts, _, _) = delivery(&host).await;
    assert_eq!((status.as_str(), attempts), ("dead", MAX_ATTEMPTS));

    // The dead-letter list: admins only, with "Relancer".
    assert_eq!(
        a.get("/cpts-a/admin/evenements").await.0,
        StatusCode::FORBIDDEN
    );
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let (status, page) = admin.get("/cpts-a/admin/evenements").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Abandonné")
            && page.contains("poll.created")
            && page.contains("refus volontaire")
    );
    let event_id: i64 =
        sqlx::query_scalar("SELECT event_id FROM event_deliveries WHERE status = 'dead'")
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/evenements/{event_id}/listener/relancer"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, attempts, _, _) = delivery(&host).await;
    assert_eq!((status.as_str(), attempts), ("pending", 0));
    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    assert!(journal.contains("event.retry"));
}

#[tokio::test]
async fn a_restarted_host_delivers_what_was_committed_before() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    create_poll(&mut a, "cpts-a", "Avant le redémarrage").await;
    // The first host stops before dispatching; a new one opens the same data folder.
    let restarted = maillage::open(&test_config(&host.dir)).await.unwrap();
    assert_eq!(dispatch(&restarted).await.unwrap().delivered, 1);
    assert_eq!(received(&host, "cpts-a").await, 1);
}

const SECOND_HOST_DIR: &str = "MAILLAGE_SECOND_HOST_DIR";

/// Runs only as the child process of the two-host test: a second host on the same
/// database delivers events until none has been left for a while.
#[tokio::test]
async fn second_host_dispatcher() {
    let Ok(dir) = std::env::var(SECOND_HOST_DIR) else {
        return; // not the child: nothing to do
    };
    let host = Host::at(dir.into()).await;
    println!("ready");
    let mut idle_rounds = 0;
    while idle_rounds < 20 {
        let round = maillage::events::dispatch_as(&host.state, "host-two")
            .await
            .unwrap();
        if round == Round::default() {
            idle_rounds += 1;
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        } else {
            idle_rounds = 0;
        }
    }
}

/// Two host processes on one PostgreSQL database share a burst of events: each delivery
/// is made once, by one of them.
#[tokio::test]
async fn two_hosts_on_one_postgresql_database_deliver_each_event_once() {
    if !crate::support::on_postgres() {
        // One SQLite file serves one host by design; this runs in the PostgreSQL pass.
        return;
    }
    let first = Host::new().await;
    first.structure("cpts-a", &["polls", "listener"]).await;
    let mut a = first.member("cpts-a", Role::Member).await;
    const EVENTS: i64 = 60;
    for i in 0..EVENTS {
        create_poll(&mut a, "cpts-a", &format!("Réunion {i}")).await;
    }
    let mut second = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "events::second_host_dispatcher",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SECOND_HOST_DIR, &first.dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(second.stdout.take().unwrap()));
    loop {
        let line = lines.next().expect("the second host starts").unwrap();
        // The harness may print the test's name on the same line first.
        if line.ends_with("ready") {
            break;
        }
    }
    // Both hosts now deliver at the same time.
    let mut delivered = 0;
    while delivered < EVENTS as usize {
        let round = maillage::events::dispatch_as(&first.state, "host-one")
            .await
            .unwrap();
        assert_eq!(round.failed, 0);
        delivered += round.delivered;
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM event_deliveries WHERE status = 'pending'")
                .fetch_one(first.state.db.pool())
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        second.wait().unwrap().success(),
        "the second host finished cleanly"
    );

    let db = first.state.db.pool();
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM c_listener__deliveries")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(calls, EVENTS, "the subscriber was called once per event");
    let repeated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event_deliveries WHERE status != 'delivered' OR attempts != 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(repeated, 0);
    let hosts: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT delivered_by FROM event_deliveries ORDER BY delivered_by",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(hosts, ["host-one", "host-two"], "both hosts took a share");
}
