//! Fault fixtures: each misbehaviour fails that request only, with a French 500 page and
//! a classified fault; a healthy plugin (and the same plugin) answers right after.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use maillage::plugins::{CallContext, Fault, LoadedPlugin};

use maillage::tenancy::Role;

use crate::support::{Client, Host};

async fn faulty_host() -> Host {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "faulty"]).await;
    host
}

async fn assert_still_serving(c: &mut Client<'_>) {
    let (status, body) = c.get("/cpts-a/faulty/ok").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the faulty plugin's healthy route answers after a fault"
    );
    assert!(body.contains("toujours vivant"));
    let (status, body) = c.get("/cpts-a/polls/").await;
    assert_eq!(status, StatusCode::OK, "another plugin is unaffected");
    assert!(body.contains("Sondages de date"));
}

async fn assert_contained(c: &mut Client<'_>, route: &str) {
    let (status, body) = c.get(&format!("/cpts-a/faulty{route}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{route}");
    assert!(
        body.contains("a rencontré une erreur"),
        "French error page for {route}: {body}"
    );
    assert!(body.contains("Référence de l’incident"));
    assert!(
        !body.contains("panic") && !body.contains("wasm"),
        "no internals leak to the user"
    );
    assert_still_serving(c).await;
}

/// The classified fault, straight from the runtime.
async fn fault_of(host: &Host, route: &str) -> Fault {
    let structure = host
        .state
        .db
        .structure_by_slug("cpts-a")
        .await
        .unwrap()
        .unwrap();
    // Called straight into the runtime, without the edge: no session needed.
    let plugin: Arc<LoadedPlugin> = host.state.registry.get("faulty", "0.1.0").await.unwrap();
    let ctx = CallContext::anonymous(&structure, "faulty", "test", "t");
    let request = http::Request::get(format!("/cpts-a/faulty{route}"))
        .body(Bytes::new())
        .unwrap();
    let granted = plugin.manifest().capabilities.clone();
    host.state
        .registry
        .runtime()
        .handle_http(&plugin, ctx, granted, request)
        .await
        .expect_err("the fixture must fault")
}

#[tokio::test]
async fn a_trap_fails_only_that_request() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let fault = fault_of(&host, "/trap").await;
    assert!(matches!(fault, Fault::Trap(_)), "{fault:?}");
    assert_contained(&mut c, "/trap").await;
}

#[tokio::test]
async fn an_endless_loop_hits_the_deadline() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let start = std::time::Instant::now();
    let fault = fault_of(&host, "/loop").await;
    assert!(matches!(fault, Fault::Deadline(_)), "{fault:?}");
    // Generous bound: the 300 ms deadline fired, the loop did not run on forever.
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_contained(&mut c, "/loop").await;
}

#[tokio::test]
async fn allocating_past_the_cap_is_stopped() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let fault = fault_of(&host, "/alloc").await;
    assert!(matches!(fault, Fault::Memory(_)), "{fault:?}");
    assert_contained(&mut c, "/alloc").await;
}

#[tokio::test]
async fn a_huge_body_is_cut_at_the_output_cap() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let fault = fault_of(&host, "/huge").await;
    assert!(matches!(fault, Fault::OutputTooLarge(_)), "{fault:?}");
    assert_contained(&mut c, "/huge").await;
}

#[tokio::test]
async fn undeclared_imports_are_refused_and_write_nothing() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    match fault_of(&host, "/undeclared-store").await {
        Fault::CapabilityDenied(cap) => assert_eq!(cap, "storage"),
        other => panic!("expected a capability fault, got {other:?}"),
    }
    match fault_of(&host, "/undeclared-event").await {
        Fault::CapabilityDenied(cap) => assert_eq!(cap, "events"),
        other => panic!("expected a capability fault, got {other:?}"),
    }
    assert_contained(&mut c, "/undeclared-store").await;
    assert_contained(&mut c, "/undeclared-event").await;
    let structure = host
        .state
        .db
        .structure_by_slug("cpts-a")
        .await
        .unwrap()
        .unwrap();
    assert!(host.state.db.events(structure.id).await.unwrap().is_empty());
    let stolen: i64 =
        sqlx::query_scalar("SELECT count(*) FROM plugin_collections WHERE plugin_id = 'faulty'")
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    assert_eq!(stolen, 0);
}

#[tokio::test]
async fn many_faults_in_parallel_leave_the_host_healthy() {
    let host = faulty_host().await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let routes = [
        "/trap",
        "/alloc",
        "/huge",
        "/undeclared-store",
        "/trap",
        "/alloc",
    ];
    let results = futures_join(&host, &c, &routes).await;
    assert!(
        results
            .iter()
            .all(|s| *s == StatusCode::INTERNAL_SERVER_ERROR),
        "{results:?}"
    );
    assert_still_serving(&mut c).await;
}

async fn futures_join(host: &Host, c: &Client<'_>, routes: &[&str]) -> Vec<StatusCode> {
    let cookie = c.cookie_header().expect("signed in");
    let mut handles = Vec::new();
    for route in routes {
        let router = host.router.clone();
        let cookie = cookie.clone();
        let uri = format!("/cpts-a/faulty{route}");
        handles.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = http::Request::get(uri)
                .header(http::header::COOKIE, cookie)
                .body(axum::body::Body::empty())
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_writes_of_a_failing_call_are_rolled_back_together() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let notes = || async {
        sqlx::query_scalar::<_, String>("SELECT f_path FROM c_listener__notes ORDER BY id")
            .fetch_all(host.state.db.pool())
            .await
            .unwrap()
    };
    let (status, _) = c.get("/cpts-a/listener/write-then-trap").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        notes().await.is_empty(),
        "no write of the trapped call survives"
    );
    // A call that ends well commits, and reads its own writes before that.
    let (status, page) = c.get("/cpts-a/listener/write-and-read").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("relu : true, listées : 1"), "{page}");
    assert_eq!(notes().await, ["/write-and-read"]);
}
