//! Crash test: a host process is killed with SIGKILL in the middle of a burst of writes
//! and event publications. Every write it acknowledged is there afterwards, every
//! committed event has its write (and the reverse), and every committed event is delivered.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use http::StatusCode;
use maillage::tenancy::Role;

use crate::support::{Client, Host};

const CHILD_DIR: &str = "MAILLAGE_CRASH_CHILD_DIR";
const CHILD_COOKIES: &str = "MAILLAGE_CRASH_CHILD_COOKIES";

/// Runs only as the child process: creates polls until killed, printing `ack N` once
/// the server answered that poll N was created.
#[tokio::test]
async fn crash_child_writer() {
    let (Ok(dir), Ok(cookies)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_COOKIES)) else {
        return; // not the child: nothing to do
    };
    let host = Host::at(dir.into()).await;
    let mut client = Client::new(&host);
    for pair in cookies.split("; ") {
        let (name, value) = pair.split_once('=').expect("name=value");
        client.cookies.insert(name.into(), value.into());
    }
    for i in 0.. {
        let title = format!("Crash {i}");
        let (status, _, body) = client
            .post_form(
                "/cpts-a/polls/new",
                &[
                    ("title", &title),
                    ("slot", "2026-12-03T20:00"),
                    ("slot", "2026-12-04T20:00"),
                    ("deadline", crate::support::POLL_DEADLINE.as_str()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        println!("ack {i}");
    }
}

#[tokio::test]
async fn a_killed_host_loses_no_acknowledged_write_and_no_committed_event() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "listener"]).await;
    let client = host.member("cpts-a", Role::Member).await;
    let cookies = client.cookie_header().unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &host.dir)
        .env(CHILD_COOKIES, &cookies)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 40 {
        let line = lines.next().expect("the child writes acks").unwrap();
        if let Some(n) = line.rsplit_once("ack ").map(|(_, n)| n) {
            acknowledged.push(n.parse::<u32>().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no graceful shutdown
    child.wait().unwrap();
    // Acks written before the kill but not read yet count too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.rsplit_once("ack ").map(|(_, n)| n) {
            acknowledged.push(n.parse().unwrap());
        }
    }

    // Restart on the same folder.
    let restarted = Host::at(host.dir.clone()).await;
    let db = restarted.state.db.pool();
    let titles: Vec<String> = sqlx::query_scalar("SELECT f_title FROM c_polls__polls")
        .fetch_all(db)
        .await
        .unwrap();
    for n in &acknowledged {
        assert!(
            titles.contains(&format!("Crash {n}")),
            "acknowledged poll {n} was lost"
        );
    }
    // Writes and their events committed together: one event per stored poll, no more.
    let event_titles = json_titles(
        db,
        "SELECT payload FROM event_outbox WHERE topic = 'poll.created'",
    )
    .await;
    let (mut a, mut b) = (titles.clone(), event_titles);
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "every stored poll has its event and every event its poll"
    );

    // Timers survive the kill -9 too: each stored poll scheduled its reminder (the
    // deadline is a month ahead) in the same transaction, and no other.
    let reminders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM timers WHERE plugin_id = 'polls' AND topic = 'polls.reminder' AND status = 'pending'",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(
        reminders as usize,
        titles.len(),
        "one durable reminder per stored poll"
    );

    // Every committed event reaches the subscriber.
    let mut delivered = 0;
    loop {
        let round = maillage::events::dispatch(&restarted.state).await.unwrap();
        assert_eq!(round.failed, 0);
        if round.delivered == 0 {
            break;
        }
        delivered += round.delivered;
    }
    assert_eq!(delivered, titles.len());
    let received: i64 = sqlx::query_scalar("SELECT count(*) FROM c_listener__received")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(received as usize, titles.len());
}

/// The "title" of each JSON payload the query returns (read in Rust: the SQL JSON
/// functions differ between SQLite and PostgreSQL).
async fn json_titles(db: &sqlx::AnyPool, sql: &str) -> Vec<String> {
    let documents: Vec<String> = sqlx::query_scalar(sql).fetch_all(db).await.unwrap();
    documents
        .iter()
        .map(|d| {
            let value: serde_json::Value = serde_json::from_str(d).unwrap();
            value["title"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}
