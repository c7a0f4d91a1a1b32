//! Maillage host: auth, tenancy and storage around sandboxed WebAssembly plugins.
//! See ARCHITECTURE.md for the codemap and the invariants.

pub mod audit;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo;
pub mod events;
pub mod feeds;
pub mod groups;
pub mod http;
pub mod identity;
pub mod imports;
pub mod library;
pub mod mail;
pub mod metrics;
pub mod module_admin;
pub mod people;
pub mod plugins;
pub mod rpps_fixture;
pub mod scaffold;
pub mod storage;
pub mod tenancy;
pub mod timers;
pub mod web;

/// Folder where `core/build.rs` put the compiled first-party plugins and fixtures.
pub const PLUGIN_BUILD_DIR: &str = env!("MAILLAGE_PLUGIN_BUILD_DIR");

include!(concat!(env!("OUT_DIR"), "/bundled_plugins.rs"));

use std::sync::Arc;

/// Everything a running host needs, opened from a configuration.
pub async fn open(config: &config::Config) -> anyhow::Result<http::AppState> {
    std::fs::create_dir_all(&config.data_dir)?;
    let db = config.open_database().await?;
    let blobs =
        storage::blobs::BlobStore::open(&config.blob_backend(), config.blob_limit_mib << 20)?;
    // Objects of blobs deleted before a stop or a crash: best effort, bounded in time (an
    // unreachable bucket retries for minutes), and the server's periodic sweep takes
    // over what is left. Cutting a sweep short is safe: an object deleted whose queue
    // row stayed is found gone next time.
    match tokio::time::timeout(
        std::time::Duration::from_secs(BLOB_SWEEP_STARTUP_SECS),
        blobs.sweep_erasures(&db, BLOB_SWEEP_BATCH),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "blob erasure sweep at startup failed"),
        Err(_) => tracing::warn!(
            seconds = BLOB_SWEEP_STARTUP_SECS,
            "blob erasure sweep at startup cut short; the server's sweep goes on"
        ),
    }
    let runtime = plugins::PluginRuntime::new(
        db.clone(),
        blobs.clone(),
        config.component_cache_dir(),
        config.limits(),
    )?;
    let registry =
        plugins::registry::Registry::new(runtime, db.clone(), blobs.clone(), config.package_dir())?;
    for (id, wasm) in BUNDLED_RULE_SETS {
        if let Err(e) = registry.rule_sets().install(wasm, None).await {
            tracing::warn!(rule_set = id, error = %e, "bundled rule set not installed");
        }
    }
    let smtp = config.smtp_settings()?;
    let mailer = mail::Mailer::new(db.clone(), &config.mail_from, smtp)?;
    registry
        .runtime()
        .connect_mailer(&config.public_url(), mailer.wake_handle());
    Ok(http::AppState(Arc::new(http::AppInner {
        db,
        blobs,
        registry,
        mailer,
        body_limit: (config.body_limit_mib as usize) << 20,
        import_limit: config.import_limit_mib << 20,
        import_dir: config.data_dir.join("imports"),
        import_jobs: Default::default(),
        public_url: config.public_url(),
        cookie_secure: config.cookie_secure,
        trusted_proxies: config.trusted_proxies.clone().unwrap_or_default(),
        module_assets: Default::default(),
        csp_reports: Default::default(),
        metrics: Default::default(),
        metrics_token: config.metrics_token.clone(),
    })))
}

/// Objects erased per blob sweep (at startup, then each period while serving).
const BLOB_SWEEP_BATCH: u32 = 1000;
/// Longest the startup sweep may hold `open` up, in seconds.
const BLOB_SWEEP_STARTUP_SECS: u64 = 30;
/// Seconds between two blob erasure sweeps while the server serves.
const BLOB_SWEEP_INTERVAL_SECS: u64 = 30;

/// Serves until Ctrl-C / SIGTERM, then lets in-flight requests finish. Also runs the
/// mail sender, the event dispatcher, the purge of expired sessions and the blob
/// erasure sweep for as long as it serves.
pub async fn serve(state: http::AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let sender = state.mailer.spawn();
    let dispatcher = events::spawn(state.clone());
    let purger = identity::spawn_purge(state.db.clone());
    let sweeper = spawn_blob_sweep(state.db.clone(), state.blobs.clone());
    let statistics = spawn_planner_statistics(state.db.clone());
    let service = http::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sender.abort();
    dispatcher.abort();
    purger.abort();
    sweeper.abort();
    statistics.abort();
    Ok(())
}

/// How often SQLite's planner statistics are checked (`Db::refresh_planner_statistics`).
const PLANNER_STATISTICS_INTERVAL_SECS: u64 = 600;

fn spawn_planner_statistics(db: storage::Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(
            PLANNER_STATISTICS_INTERVAL_SECS,
        ));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: opening the database just did it.
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = db.refresh_planner_statistics().await {
                tracing::warn!(error = %e, "refreshing the planner statistics failed");
            }
        }
    })
}

/// The blob erasure sweep every `BLOB_SWEEP_INTERVAL_SECS` (the erasing itself is
/// `BlobStore::sweep_erasures`). A full batch is followed by the next one at once.
fn spawn_blob_sweep(
    db: storage::Db,
    blobs: storage::blobs::BlobStore,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every =
            tokio::time::interval(std::time::Duration::from_secs(BLOB_SWEEP_INTERVAL_SECS));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            loop {
                match blobs.sweep_erasures(&db, BLOB_SWEEP_BATCH).await {
                    // A full batch of successes: more may be queued.
                    Ok(report) if report.erased >= u64::from(BLOB_SWEEP_BATCH) => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "blob erasure sweep failed");
                        break;
                    }
                }
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
