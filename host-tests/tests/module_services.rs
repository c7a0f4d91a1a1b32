//! The host services of WIT 0.2.2, called by a real component (the listener fixture):
//! timers (durable, delivered once through the event path, cancelled, rolled back with
//! their call), mail to members (by account id only, in the call's transaction, with an
//! HTML part and attachments over real SMTP), the members list and the member's zone.

use std::time::Duration;

use http::StatusCode;
use maillage::mail::sink::SmtpSink;
use maillage::storage::now_secs;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD};

const BASE: &str = "/cpts-a/listener";

async fn received(client: &mut Client<'_>) -> serde_json::Value {
    let (status, body) = client.get(&format!("{BASE}/received")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn deliver(host: &Host, now: i64) -> usize {
    let fired = maillage::timers::fire_due(&host.state.db, now)
        .await
        .unwrap();
    maillage::events::dispatch(&host.state).await.unwrap();
    fired
}

#[tokio::test]
async fn a_timer_fires_once_at_its_instant_and_can_be_cancelled() {
    let host = Host::new().await;
    let structure = host.structure("cpts-a", &["listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let in_an_hour = (now_secs() + 3600).to_string();
    let (status, _, body) = member
        .post_form(
            &format!("{BASE}/timer"),
            &[
                ("topic", "listener.rappel"),
                ("at", &in_an_hour),
                ("title", "rappel"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, body) = member
        .post_form(
            &format!("{BASE}/timer"),
            &[
                ("topic", "listener.annule"),
                ("at", &in_an_hour),
                ("title", "annulé"),
            ],
        )
        .await;
    let cancelled = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, body) = member
        .post_form(&format!("{BASE}/timer/{cancelled}/cancel"), &[])
        .await;
    assert!(body.contains("\"cancelled\":true"), "{body}");

    // Not due yet: nothing happens.
    assert_eq!(deliver(&host, now_secs()).await, 0);
    assert_eq!(received(&mut member).await["deliveries"], 0);
    // The clock passes the instant: delivered to the listener, keyed by the timer id.
    assert_eq!(deliver(&host, now_secs() + 3601).await, 1);
    let got = received(&mut member).await;
    assert_eq!(got["deliveries"], 1, "{got}");
    assert_eq!(got["received"][0]["event_key"], id);
    assert_eq!(got["received"][0]["title"], "rappel");
    // Fired once: later rounds deliver nothing more; the cancelled one never fires.
    assert_eq!(deliver(&host, now_secs() + 7200).await, 0);
    assert_eq!(received(&mut member).await["deliveries"], 1);
    assert_eq!(
        maillage::timers::pending(&host.state.db, structure.id, "listener")
            .await
            .unwrap(),
        0
    );
    // Cancelling a fired or unknown timer says so.
    let (_, _, body) = member
        .post_form(&format!("{BASE}/timer/{id}/cancel"), &[])
        .await;
    assert!(body.contains("\"cancelled\":false"), "{body}");
}

#[tokio::test]
async fn timers_are_durable_scoped_and_rolled_back_with_their_call() {
    let host = Host::new().await;
    let a = host.structure("cpts-a", &["listener"]).await;
    let b = host.structure("cpts-b", &["listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let mut other = host.member("cpts-b", Role::Member).await;
    let soon = (now_secs() + 60).to_string();
    let (_, _, body) = member
        .post_form(
            &format!("{BASE}/timer"),
            &[
                ("topic", "listener.durable"),
                ("at", &soon),
                ("title", "après redémarrage"),
            ],
        )
        .await;
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another structure's member cannot cancel it.
    let (_, _, body) = other
        .post_form(&format!("/cpts-b/listener/timer/{id}/cancel"), &[])
        .await;
    assert!(body.contains("\"cancelled\":false"), "{body}");
    // A call that fails takes its timer with it.
    let (status, _, _) = member
        .post_form(&format!("{BASE}/timer-then-fail"), &[])
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        maillage::timers::pending(&host.state.db, a.id, "listener")
            .await
            .unwrap(),
        1
    );
    // Bad input: not JSON-able topics or instants out of range are refused.
    let (status, _, _) = member
        .post_form(
            &format!("{BASE}/timer"),
            &[
                ("topic", "listener.x"),
                ("at", "99999999999"),
                ("title", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The host stops; another starts on the same data and fires it.
    drop(member);
    drop(other);
    let dir = host.stop_keeping_data();
    let host = Host::at(dir.clone()).await;
    assert_eq!(deliver(&host, now_secs() + 61).await, 1);
    let mut member = host.member("cpts-a", Role::Member).await;
    let got = received(&mut member).await;
    assert_eq!(got["received"][0]["title"], "après redémarrage", "{got}");
    let mut other = host.member("cpts-b", Role::Member).await;
    let (_, body) = other.get("/cpts-b/listener/received").await;
    assert!(
        body.contains("\"deliveries\":0"),
        "structure B got A's timer: {body}"
    );
    assert_eq!(
        maillage::timers::pending(&host.state.db, b.id, "listener")
            .await
            .unwrap(),
        0
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn modules_mail_members_by_id_only_with_html_and_attachments() {
    let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let host = Host::with_config(|c| c.smtp_url = Some(format!("smtp://{}", sink.addr()))).await;
    let a = host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let anne = host
        .account("cpts-a", "anne@cpts-a.fr", "Anne Adam", Role::Member)
        .await;
    let bruno = host
        .account("cpts-a", "bruno@cpts-a.fr", "Bruno Brun", Role::Member)
        .await;
    let outsider = host
        .account("cpts-b", "olga@cpts-b.fr", "Olga Autre", Role::Member)
        .await;
    let mut client = Client::new(&host);
    client.login("anne@cpts-a.fr", PASSWORD).await;

    // The members list names the structure's members, not others.
    let (_, body) = client.get(&format!("{BASE}/members")).await;
    assert!(
        body.contains("Anne Adam") && body.contains("Bruno Brun"),
        "{body}"
    );
    assert!(!body.contains("Olga"), "{body}");

    // A recipient of another structure: refused whole, nothing queued.
    let before = host.state.db.outbox(Some(a.id), 100).await.unwrap().len();
    let (status, _, body) = client
        .post_form(
            &format!("{BASE}/mail"),
            &[
                ("to", &bruno.id.to_string()),
                ("to", &outsider.id.to_string()),
                ("subject", "Réunion"),
                ("text", "Bonjour"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not members"), "{body}");
    let (status, _, _) = client
        .post_form(
            &format!("{BASE}/mail"),
            &[("to", "anne@cpts-a.fr"), ("subject", "x"), ("text", "y")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an address is not an id"
    );
    let (status, _, _) = client
        .post_form(
            &format!("{BASE}/mail"),
            &[
                ("to", &bruno.id.to_string()),
                ("subject", "deux\nlignes"),
                ("text", "y"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        host.state.db.outbox(Some(a.id), 100).await.unwrap().len(),
        before
    );

    // Two members, one mail each, with the HTML part and the calendar attachment.
    let (status, _, body) = client
        .post_form(
            &format!("{BASE}/mail"),
            &[
                ("to", &anne.id.to_string()),
                ("to", &bruno.id.to_string()),
                ("subject", "Réunion du groupe BPCO"),
                ("text", "Bonjour, voici l’invitation."),
                ("attach", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"queued\":2"), "{body}");
    // The host's sender (`serve` runs it; here by hand) delivers over SMTP.
    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 2);
    let mails = sink.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 2);
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["anne@cpts-a.fr", "bruno@cpts-a.fr"],
        "one mail each, no shared list"
    );
    let raw = mails[0].body();
    assert!(raw.contains("text/calendar"), "{raw}");
    assert!(raw.contains("reunion.ics"), "{raw}");
    assert!(raw.contains("text/html"), "{raw}");
    assert!(mails[0].header("Subject").is_some(), "the subject is kept");
    let outbox = host.state.db.outbox(Some(a.id), 100).await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|m| m.source_plugin.as_deref() == Some("listener")),
        "the outbox says which module sent it"
    );
}

#[tokio::test]
async fn a_member_sets_their_own_time_zone_and_modules_read_it() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let (_, body) = member.get(&format!("{BASE}/zone")).await;
    let zone: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(zone["user_time_zone"], serde_json::Value::Null);
    assert!(
        zone["public_url"].as_str().unwrap().starts_with("http"),
        "{zone}"
    );
    let (status, location, _) = member
        .post_form("/compte/fuseau", &[("fuseau", "America/Cayenne")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/compte?ok=fuseau"));
    let (_, page) = member.get("/compte?ok=fuseau").await;
    assert!(
        page.contains("Votre fuseau horaire est enregistré."),
        "{page}"
    );
    let (_, body) = member.get(&format!("{BASE}/zone")).await;
    assert!(
        body.contains("\"user_time_zone\":\"America/Cayenne\""),
        "{body}"
    );
    // The structure's own zone is no second zone.
    member
        .post_form("/compte/fuseau", &[("fuseau", "Europe/Paris")])
        .await;
    let (_, body) = member.get(&format!("{BASE}/zone")).await;
    assert!(body.contains("\"user_time_zone\":null"), "{body}");
    // A zone the platform does not offer is refused.
    let (status, _, _) = member
        .post_form("/compte/fuseau", &[("fuseau", "Mars/Olympus")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A module that did not ask for (or was not granted) mail or timers cannot use them.
#[tokio::test]
async fn mail_and_timers_need_their_grant() {
    let host = Host::new().await;
    let s = host.structure("cpts-a", &["listener"]).await;
    let plugin = host.state.registry.get("listener", "0.1.0").await.unwrap();
    host.state
        .db
        .enable_module(
            s.id,
            "listener",
            &plugin.manifest().version.to_string(),
            &["storage".to_string()],
        )
        .await
        .unwrap();
    let mut member = host.member("cpts-a", Role::Member).await;
    let (status, _, _) = member
        .post_form(
            &format!("{BASE}/timer"),
            &[("topic", "listener.x"), ("at", "0"), ("title", "x")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "capability denied"
    );
    let (status, _, _) = member
        .post_form(
            &format!("{BASE}/mail"),
            &[("to", "1"), ("subject", "x"), ("text", "y")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "capability denied"
    );
    assert_eq!(
        maillage::timers::pending(&host.state.db, s.id, "listener")
            .await
            .unwrap(),
        0
    );
}

/// A member's secret feed URL: read without a session as that member, refused when
/// forged, revoked on « Mon compte », and dead once they leave the structure.
#[tokio::test]
async fn a_personal_feed_is_read_with_its_secret_url_only() {
    let host = Host::new().await;
    let s = host.structure("cpts-a", &["listener"]).await;
    let anne = host
        .account("cpts-a", "anne@cpts-a.fr", "Anne Adam", Role::Member)
        .await;
    let mut client = Client::new(&host);
    client.login("anne@cpts-a.fr", PASSWORD).await;
    let (_, body) = client.get(&format!("{BASE}/feed-url")).await;
    let url = serde_json::from_str::<serde_json::Value>(&body).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = url[url.find("/flux/").expect("a /flux/ URL")..].to_string();
    // The same URL on every call: a calendar subscribes once.
    let (_, again) = client.get(&format!("{BASE}/feed-url")).await;
    assert!(again.contains(&path), "{again}");

    let mut anonymous = Client::new(&host);
    let (status, feed) = anonymous.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(feed.contains("X-WR-CALNAME:Anne Adam"), "{feed}");
    let (_, headers, _) = anonymous.get_with_headers(&path).await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    // Forged or altered secrets.
    let id = path.trim_start_matches("/flux/").split('-').next().unwrap();
    for forged in [
        format!("/flux/{id}-0000000000000000000000000000000000000000"),
        format!("{path}0"),
        "/flux/nothing".to_string(),
    ] {
        assert_eq!(
            anonymous.get(&forged).await.0,
            StatusCode::NOT_FOUND,
            "{forged}"
        );
    }
    // « Mon compte » lists it; revoking kills it; the module then gives a new one.
    let (_, account) = client.get("/compte").await;
    assert!(account.contains("Abonnements d’agenda"), "{account}");
    let feed_id = id.to_string();
    let (status, location, _) = client
        .post_form(&format!("/compte/flux/{feed_id}/revoquer"), &[])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/compte?ok=flux"))
    );
    assert_eq!(anonymous.get(&path).await.0, StatusCode::NOT_FOUND);
    let (_, body) = client.get(&format!("{BASE}/feed-url")).await;
    let fresh = serde_json::from_str::<serde_json::Value>(&body).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh = fresh[fresh.find("/flux/").unwrap()..].to_string();
    assert_ne!(fresh, path);
    assert_eq!(anonymous.get(&fresh).await.0, StatusCode::OK);
    // Another member cannot revoke Anne's feed.
    let mut other = host.member("cpts-a", Role::Member).await;
    let fresh_id = fresh
        .trim_start_matches("/flux/")
        .split('-')
        .next()
        .unwrap();
    let (status, _, _) = other
        .post_form(&format!("/compte/flux/{fresh_id}/revoquer"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Once Anne leaves the structure, her feed is gone.
    host.state
        .db
        .remove_membership(s.id, anne.id)
        .await
        .unwrap();
    assert_eq!(anonymous.get(&fresh).await.0, StatusCode::NOT_FOUND);
}

/// Mail to an address outside the structure needs "mail-external": refused with the
/// reason without it (nothing queued), sent with it; a malformed address is refused.
#[tokio::test]
async fn external_addresses_need_their_own_grant() {
    let host = Host::new().await;
    let s = host.structure("cpts-a", &["listener"]).await;
    let plugin = host.state.registry.get("listener", "0.1.0").await.unwrap();
    let all: Vec<String> = plugin
        .manifest()
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .collect();
    let without: Vec<String> = all
        .iter()
        .filter(|c| *c != "mail-external")
        .cloned()
        .collect();
    let grant = |granted: Vec<String>| {
        let db = host.state.db.clone();
        async move {
            db.enable_module(s.id, "listener", "0.1.0", &granted)
                .await
                .unwrap()
        }
    };
    grant(without).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let mail_to = |address: &'static str| {
        [
            ("external", address),
            ("subject", "Réunion"),
            ("text", "Bonjour"),
        ]
    };
    let (status, _, body) = member
        .post_form(&format!("{BASE}/mail"), &mail_to("invite@ailleurs.example"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("mail-external"), "{body}");
    assert!(
        host.state
            .db
            .outbox(Some(s.id), 10)
            .await
            .unwrap()
            .is_empty()
    );

    grant(all).await;
    let (status, _, body) = member
        .post_form(&format!("{BASE}/mail"), &mail_to("pas une adresse"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, body) = member
        .post_form(&format!("{BASE}/mail"), &mail_to("invite@ailleurs.example"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outbox = host.state.db.outbox(Some(s.id), 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to, "invite@ailleurs.example");
}
