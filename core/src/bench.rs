//! `maillage bench runtime`: the per-request sandbox cost, and requests/s of a plugin
//! page against a native axum handler doing the same work, measured in the same run.
//! Prints numbers and ratios; never asserts (targets: ≤ 20 µs p50, ≥ 0.8x native).

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower::ServiceExt;

use crate::config::Config;
use crate::http::{AppState, Ctx, app};
use crate::tenancy::StructureKind;
use crate::web;

const SLUG: &str = "cpts-bench";
const POLLS: usize = 20;

pub async fn runtime(iterations: usize, seconds: Duration) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("maillage-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = crate::open(&Config::with_data_dir(&dir)).await?;
    let (_, polls_wasm) = crate::BUNDLED
        .iter()
        .find(|(id, _)| *id == "polls")
        .ok_or_else(|| anyhow::anyhow!("polls not bundled"))?;
    let plugin = state.registry.install(polls_wasm).await?;
    let structure = state
        .db
        .create_structure(
            SLUG,
            "CPTS Banc d’essai",
            StructureKind::Cpts,
            "Europe/Paris",
        )
        .await?;
    state
        .db
        .enable_module(
            structure.id,
            "polls",
            &plugin.manifest().version.to_string(),
            &[
                "storage".to_string(),
                "events".to_string(),
                "groups".to_string(),
            ],
        )
        .await?;
    // Both paths serve a signed-in member: session lookup is part of every request.
    let account = state
        .db
        .create_account("banc@maillage.localhost", None, "Banc d’essai")
        .await?;
    state
        .db
        .set_membership(
            structure.id,
            account.id,
            crate::tenancy::Role::Member,
            false,
        )
        .await?;
    let cookie = format!(
        "maillage_session={}",
        state.db.create_session(account.id, false).await?
    );
    let records = crate::storage::collections::Records {
        backend: state.db.backend(),
        schema: plugin.schema(),
        structure_id: structure.id,
    };
    let mut conn = state.db.pool().acquire().await?;
    for i in 0..POLLS {
        let poll = serde_json::json!({"title": format!("Réunion {i}"), "description": "", "slots": ["2026-12-01T20:00", "2026-12-02T20:00"], "author": "Bench"});
        records
            .insert(&mut conn, "polls", &poll.to_string())
            .await?;
    }
    drop(conn);

    // 1. Sandbox cost: fresh store + instantiate + call + drop.
    let runtime = state.registry.runtime().clone();
    for _ in 0..200 {
        runtime.sandbox_roundtrip(&plugin).await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        runtime.sandbox_roundtrip(&plugin).await?;
        samples.push(start.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "sandbox round-trip (fresh store + instantiate + describe + drop), {iterations} iterations:"
    );
    println!(
        "  p50 {:>8.1} µs   p99 {:>8.1} µs   (target p50 ≤ 20 µs)",
        micros(pct(0.50)),
        micros(pct(0.99))
    );

    // 2. Plugin page vs native handler rendering the same list from the same store.
    let router = app(state.clone()).merge(
        Router::new()
            .route("/native/polls", get(native_polls))
            .with_state(state.clone()),
    );
    let plugin_uri = format!("/{SLUG}/polls/");
    let a = body_of(&router, &plugin_uri, &cookie).await;
    let b = body_of(&router, "/native/polls", &cookie).await;
    anyhow::ensure!(
        a.contains("Réunion 19") && b.contains("Réunion 19"),
        "bench pages do not show the seeded polls"
    );

    for concurrency in [1usize, 4] {
        let native = throughput(&router, "/native/polls", &cookie, concurrency, seconds).await;
        let plugin_rps = throughput(&router, &plugin_uri, &cookie, concurrency, seconds).await;
        println!("list of {POLLS} polls, concurrency {concurrency}:");
        println!("  native axum handler {native:>9.0} req/s");
        println!(
            "  polls plugin        {plugin_rps:>9.0} req/s   ratio {:.2}x native (target ≥ 0.8x)",
            plugin_rps / native
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn body_of(router: &Router, uri: &str, cookie: &str) -> String {
    let response = router
        .clone()
        .oneshot(
            http::Request::get(uri)
                .header(http::header::COOKIE, cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn throughput(
    router: &Router,
    uri: &str,
    cookie: &str,
    concurrency: usize,
    duration: Duration,
) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let router = router.clone();
        let uri = uri.to_string();
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < duration {
                let response = router
                    .clone()
                    .oneshot(
                        http::Request::get(&uri)
                            .header(http::header::COOKIE, &cookie)
                            .body(axum::body::Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// What a native module would do for the same page: resolve the structure and its
/// modules, read the polls, render the list inside the layout.
async fn native_polls(State(state): State<AppState>, ctx: Ctx) -> axum::response::Response {
    let member = match ctx.member_of(SLUG, crate::tenancy::Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure = &member.membership.structure;
    let modules = state
        .db
        .enabled_modules(structure.id)
        .await
        .unwrap_or_default();
    let mut manifests = Vec::new();
    for m in modules {
        if let Ok(p) = state.registry.get(&m.plugin_id, &m.version).await {
            manifests.push(p.manifest().clone());
        }
    }
    // The same statement the plugin runs: newest polls through the collections layer.
    let version = manifests
        .iter()
        .find(|m| m.id == "polls")
        .map(|m| m.version.to_string())
        .unwrap_or_default();
    let rows = match state.registry.get("polls", &version).await {
        Ok(plugin) => {
            let records = crate::storage::collections::Records {
                backend: state.db.backend(),
                schema: plugin.schema(),
                structure_id: member.membership.structure.id,
            };
            let spec = crate::storage::collections::QuerySpec {
                sort: "-created_at".into(),
                limit: 500,
                ..Default::default()
            };
            match state.db.pool().acquire().await {
                Ok(mut conn) => records
                    .query(&mut conn, "polls", &spec)
                    .await
                    .map(|p| p.items)
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            }
        }
        Err(_) => Vec::new(),
    };
    let mut html = String::from("<div class=\"toolbar\"><h1>Sondages de date</h1>");
    html.push_str(&format!("<a class=\"button\" href=\"/{SLUG}/polls/new\">Créer un sondage</a></div><ul class=\"cards\">"));
    for poll in &rows {
        let id = poll["id"].as_str().unwrap_or("");
        html.push_str(&format!(
            "<li><a href=\"/{SLUG}/polls/p/{id}\">{}</a> <span class=\"muted\">{} créneaux · par {}</span></li>",
            web::escape(poll["title"].as_str().unwrap_or("")),
            poll["slots"].as_array().map(|s| s.len()).unwrap_or(0),
            web::escape(poll["author"].as_str().unwrap_or(""))
        ));
    }
    html.push_str("</ul>");
    Html(web::page(
        "Sondages de date",
        &member.shell(&manifests, Some("polls")),
        &html,
    ))
    .into_response()
}
