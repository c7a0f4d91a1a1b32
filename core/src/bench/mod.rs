//! `maillage bench runtime`: the per-request sandbox cost, and requests/s of a plugin
//! page against a native axum handler doing the same work, measured in the same run.
//! Prints numbers and ratios; never asserts (targets: ≤ 20 µs p50, ≥ 0.8x native).

mod agenda;
pub use agenda::agenda;
mod client;
mod cloud;
pub use cloud::cloud;
mod directory;
pub use directory::directory;
mod indemnity;
pub use indemnity::indemnity;
mod polls;
pub use polls::polls;
mod projects;
pub use projects::projects;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use maud::html;
use tower::ServiceExt;

use crate::config::Config;
use crate::http::{AppState, Ctx, app};
use crate::tenancy::StructureKind;
use crate::web;

const SLUG: &str = "cpts-bench";
const POLLS: usize = 20;

/// A new benchmark structure with the bundled module `module_id` installed and enabled,
/// every capability it asks for granted.
pub(super) async fn bundled_structure(
    state: &AppState,
    module_id: &str,
    slug: &str,
    name: &str,
    zone: &str,
) -> anyhow::Result<crate::tenancy::Structure> {
    bundled_structure_with(state, &[module_id], slug, name, zone).await
}

/// A new benchmark structure with each of the bundled modules `module_ids` (their names
/// in [`crate::BUNDLED`], e.g. "indemnity" for the module `indemnites`) installed and
/// enabled, every capability each asks for granted.
pub(super) async fn bundled_structure_with(
    state: &AppState,
    module_ids: &[&str],
    slug: &str,
    name: &str,
    zone: &str,
) -> anyhow::Result<crate::tenancy::Structure> {
    let mut plugins = Vec::with_capacity(module_ids.len());
    for module_id in module_ids {
        let (_, wasm) = crate::BUNDLED
            .iter()
            .find(|(id, _)| id == module_id)
            .ok_or_else(|| anyhow::anyhow!("{module_id} is not bundled"))?;
        plugins.push(state.registry.install(wasm).await?);
    }
    let db = &state.db;
    let structure = db
        .create_structure(slug, name, StructureKind::Cpts, zone)
        .await?;
    for plugin in plugins {
        let m = plugin.manifest();
        let grants: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
        db.enable_module(structure.id, &m.id, &m.version.to_string(), &grants)
            .await?;
    }
    Ok(structure)
}

/// A new account `email` named `name`, a member of `structure_id` with `role` (no
/// module role).
pub(super) async fn bench_account(
    db: &crate::storage::Db,
    structure_id: i64,
    email: &str,
    name: &str,
    role: crate::tenancy::Role,
) -> anyhow::Result<crate::identity::Account> {
    let account = db.create_account(email, None, name).await?;
    db.set_membership(structure_id, account.id, role).await?;
    Ok(account)
}

/// Gives every account whose e-mail matches `email_like` the password hash of
/// `from`: hashing hundreds of passwords would only time argon2.
pub(super) async fn copy_password_hash(
    db: &crate::storage::Db,
    from: i64,
    email_like: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE accounts SET password_hash = (SELECT password_hash FROM accounts WHERE id = $1) WHERE email LIKE $2",
    )
    .bind(from)
    .bind(email_like)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A new session of `account` as a browser's `Cookie` header, with the CSRF token the
/// host derives from the session (benchmarks speak plain HTTP).
pub(super) async fn session_cookie(state: &AppState, account: i64) -> anyhow::Result<String> {
    anyhow::ensure!(
        !state.cookie_secure,
        "the benchmark speaks plain HTTP (cookies without the __Host- prefix)"
    );
    let secret = state.db.create_session(account, false).await?;
    Ok(format!(
        "{}={secret}; maillage_csrf={}",
        crate::http::session_cookie_name(state.cookie_secure),
        crate::http::csrf::session_token(&secret)
    ))
}

/// Installs `wasm` and enables it, with these grants, in a new benchmark structure.
async fn bench_structure(
    state: &AppState,
    wasm: &[u8],
    grants: &[&str],
) -> anyhow::Result<(
    std::sync::Arc<crate::plugins::LoadedPlugin>,
    crate::tenancy::Structure,
)> {
    let plugin = state.registry.install(wasm).await?;
    let structure = state
        .db
        .create_structure(
            SLUG,
            "CPTS Banc d’essai",
            StructureKind::Cpts,
            "Europe/Paris",
        )
        .await?;
    let grants: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
    state
        .db
        .enable_module(
            structure.id,
            &plugin.manifest().id,
            &plugin.manifest().version.to_string(),
            &grants,
        )
        .await?;
    Ok((plugin, structure))
}

pub async fn runtime(iterations: usize, seconds: Duration) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("maillage-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = crate::open(&Config::with_data_dir(&dir)).await?;
    let (_, polls_wasm) = crate::BUNDLED
        .iter()
        .find(|(id, _)| *id == "polls")
        .ok_or_else(|| anyhow::anyhow!("polls not bundled"))?;
    let (plugin, structure) =
        bench_structure(&state, polls_wasm, &["storage", "events", "groups"]).await?;
    // Both paths serve a signed-in member: session lookup is part of every request.
    let account = state
        .db
        .create_account("banc@maillage.localhost", None, "Banc d’essai")
        .await?;
    state
        .db
        .set_membership(structure.id, account.id, crate::tenancy::Role::Member)
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p` percentile of `sorted` (zero when there is no sample).
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Whether a target is met, as the benchmarks print it.
fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

/// The start of a body, for an error message.
fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}

/// Unix seconds as a civil date-time in `zone`.
fn local_datetime(secs: i64, zone: &str) -> anyhow::Result<jiff::civil::DateTime> {
    let tz = jiff::tz::TimeZone::get(zone).map_err(|e| anyhow::anyhow!("zone {zone}: {e}"))?;
    let instant =
        jiff::Timestamp::from_second(secs).map_err(|e| anyhow::anyhow!("instant {secs}: {e}"))?;
    Ok(instant.to_zoned_datetime(tz).datetime())
}

/// "YYYY-MM-DDTHH:MM" in `zone` of Unix seconds, as a form's `datetime-local` takes it.
fn local_input(secs: i64, zone: &str) -> anyhow::Result<String> {
    let local = local_datetime(secs, zone)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute()
    ))
}

/// Runs `run` on each backend: SQLite in `work/SQLite`, then, given `postgres_url`,
/// PostgreSQL (data in `work/PostgreSQL`) in a throwaway schema `bench_{label}_{pid}`,
/// dropped after the run whether it failed or not. `run` takes the backend's index
/// (0 for SQLite), its name and its state.
async fn on_each_backend<F, Fut>(
    work: &std::path::Path,
    postgres_url: Option<String>,
    label: &str,
    run: F,
) -> anyhow::Result<()>
where
    F: FnMut(usize, &'static str, AppState) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    on_each_backend_with(work, postgres_url, label, |_| {}, run).await
}

/// [`on_each_backend`], each backend's configuration changed by `configure` before it
/// opens (a larger blob limit, say).
async fn on_each_backend_with<C, F, Fut>(
    work: &std::path::Path,
    postgres_url: Option<String>,
    label: &str,
    configure: C,
    mut run: F,
) -> anyhow::Result<()>
where
    C: Fn(&mut Config),
    F: FnMut(usize, &'static str, AppState) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut backends = vec![("SQLite", None)];
    if let Some(url) = postgres_url {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (n, (name, url)) in backends.into_iter().enumerate() {
        let mut config = Config::with_data_dir(work.join(name));
        configure(&mut config);
        let schema = format!("bench_{label}_{}", std::process::id());
        if let Some(url) = &url {
            config.database_url = Some(url.clone());
            config.database_schema = Some(schema.clone());
        }
        let state = crate::open(&config).await?;
        let outcome = run(n, name, state.clone()).await;
        if url.is_some() {
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(state.db.pool())
                .await?;
        }
        outcome?;
    }
    Ok(())
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
    let html = html! {
        div.toolbar {
            h1 { "Sondages de date" }
            a.button href={ "/" (SLUG) "/polls/new" } { "Créer un sondage" }
        }
        ul.cards {
            @for poll in &rows {
                li {
                    a href={ "/" (SLUG) "/polls/p/" (poll["id"].as_str().unwrap_or("")) } {
                        (poll["title"].as_str().unwrap_or(""))
                    }
                    " "
                    span.muted {
                        (poll["slots"].as_array().map(|s| s.len()).unwrap_or(0))
                        " créneaux · par "
                        (poll["author"].as_str().unwrap_or(""))
                    }
                }
            }
        }
    };
    Html(
        web::page(
            "Sondages de date",
            &member.shell(&manifests, Some("polls")),
            html,
        )
        .into_string(),
    )
    .into_response()
}

/// `maillage bench data`: inserts/s and indexed lookups/s through a plugin (the
/// listener fixture, `batch` statements per call) against the same statements sent
/// through sqlx directly, in the same run, on SQLite and, given a URL, on PostgreSQL.
/// Target: ≥ 0.7x.
pub async fn data(calls: usize, batch: usize, postgres_url: Option<String>) -> anyhow::Result<()> {
    let mut backends = vec![("SQLite", None)];
    if let Some(url) = postgres_url {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (name, url) in backends {
        let dir = std::env::temp_dir().join(format!("maillage-bench-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::with_data_dir(&dir);
        let schema = format!("bench_{}", std::process::id());
        if let Some(url) = &url {
            config.database_url = Some(url.clone());
            config.database_schema = Some(schema.clone());
        }
        let state = crate::open(&config).await?;
        println!("{name}: {calls} calls × {batch} statements");
        data_on(&state, calls, batch).await?;
        if url.is_some() {
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(state.db.pool())
                .await?;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

async fn data_on(state: &AppState, calls: usize, batch: usize) -> anyhow::Result<()> {
    let wasm =
        std::fs::read(std::path::Path::new(crate::PLUGIN_BUILD_DIR).join("fixture_listener.wasm"))?;
    let granted = ["storage".to_string(), "blobs".to_string()];
    let (plugin, structure) = bench_structure(state, &wasm, &["storage", "blobs"]).await?;
    let runtime = state.registry.runtime().clone();
    let caps = plugin.effective_capabilities(&granted);
    let call = |method: &str, uri: String| {
        let ctx = crate::plugins::CallContext::anonymous(&structure, "listener", "bench", "");
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(bytes::Bytes::new())
            .expect("static request");
        let runtime = runtime.clone();
        let plugin = plugin.clone();
        let caps = caps.clone();
        async move {
            let response = runtime.handle_http(&plugin, ctx, caps, request).await?;
            anyhow::ensure!(
                response.status() == 200,
                "plugin answered {}",
                response.status()
            );
            Ok::<_, anyhow::Error>(())
        }
    };
    let table = crate::storage::collections::table_name("listener", "items");
    let insert_sql = format!(
        "INSERT INTO {table} (structure_id, id, created_at, updated_at, search_text, f_code, f_label, f_amount, f_qty, f_done) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    let select_sql = format!(
        "SELECT * FROM {table} WHERE structure_id = $1 AND f_code = $2 ORDER BY id LIMIT 2"
    );
    let statements = (calls * batch) as f64;

    // Inserts.
    let start = Instant::now();
    for c in 0..calls {
        call("POST", format!("/bench/insert?n={batch}&prefix=p{c}")).await?;
    }
    let plugin_inserts = statements / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for c in 0..calls {
        let mut tx = state.db.pool().begin().await?;
        for i in 0..batch {
            sqlx::query(&insert_sql)
                .bind(structure.id)
                .bind(format!("n{c}-{i}"))
                .bind(0i64)
                .bind(0i64)
                .bind("reunion")
                .bind(format!("n{c}-{i}"))
                .bind("Réunion")
                .bind(i as i64)
                .bind(1i64)
                .bind(false)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let native_inserts = statements / start.elapsed().as_secs_f64();

    // Indexed lookups by unique code.
    let start = Instant::now();
    for c in 0..calls {
        call("GET", format!("/bench/query?n={batch}&prefix=p{c}")).await?;
    }
    let plugin_queries = statements / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for c in 0..calls {
        let mut conn = state.db.pool().acquire().await?;
        for i in 0..batch {
            let rows = sqlx::query(&select_sql)
                .bind(structure.id)
                .bind(format!("n{c}-{i}"))
                .fetch_all(&mut *conn)
                .await?;
            anyhow::ensure!(rows.len() == 1, "lookup found {}", rows.len());
        }
    }
    let native_queries = statements / start.elapsed().as_secs_f64();

    // The host's records layer alone (no sandbox, no JSON across the boundary): tells
    // which side of the boundary the plugin's overhead is on.
    let records = crate::storage::collections::Records {
        backend: state.db.backend(),
        schema: plugin.schema(),
        structure_id: structure.id,
    };
    let start = Instant::now();
    for c in 0..calls {
        let mut conn = state.db.pool().acquire().await?;
        for i in 0..batch {
            let spec = crate::storage::collections::QuerySpec {
                filter: "code = {:c}".into(),
                params: serde_json::json!({ "c": format!("n{c}-{i}") }).to_string(),
                limit: 1,
                ..Default::default()
            };
            let page = records.query(&mut conn, "items", &spec).await?;
            anyhow::ensure!(page.items.len() == 1, "lookup found {}", page.items.len());
        }
    }
    let host_queries = statements / start.elapsed().as_secs_f64();

    println!(
        "  inserts/s        plugin {plugin_inserts:>9.0}   sqlx {native_inserts:>9.0}   ratio {:.2}x (target ≥ 0.7x)",
        plugin_inserts / native_inserts
    );
    println!(
        "  indexed reads/s  plugin {plugin_queries:>9.0}   sqlx {native_queries:>9.0}   ratio {:.2}x (target ≥ 0.7x)",
        plugin_queries / native_queries
    );
    println!(
        "  (indexed reads/s through the host records layer alone: {host_queries:.0}, {:.2}x of sqlx)",
        host_queries / native_queries
    );
    Ok(())
}
