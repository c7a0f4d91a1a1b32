//! `maillage bench directory`: the RPPS import of a national-size extract into one
//! structure's territory, and the search's latency over a fixed query mix through
//! HTTP (a real TCP connection to the real server), on SQLite and, given a URL, on
//! PostgreSQL. Baselines from the same run: reading the file alone, and `/healthz`
//! over the same connection. Targets: import < 60 s, search p95 < 20 ms.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::http::AppState;
use crate::imports::{Importer, Progress};
use crate::tenancy::{Role, StructureKind};

/// Two territories: a typical CPTS (ten postal codes of Gironde, a few thousand
/// professionals), and a very large one (the city 74000 and 39 other codes of
/// Haute-Savoie: ~62,000 professionals, far more than any real CPTS).
/// (slug, department, first code index, codes)
const TERRITORIES: [(&str, &str, u32, u32); 2] = [
    ("cpts-typique", "33", 1, 10),
    ("cpts-tres-grande", "74", 0, 40),
];

fn territory(department: &str, first: u32, count: u32) -> String {
    (first..first + count)
        .map(|i| format!("{department}{:03}", i * 10))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The search mix: what coordinators and members ask, from broad to narrow.
const QUERIES: &[&str] = &[
    "",
    "profession=10",
    "profession=10&specialite=M%C3%A9decine%20g%C3%A9n%C3%A9rale",
    "profession=10&specialite=P%C3%A9diatrie&cp_modifies=1&cp=74000&cp=74010",
    "profession=60&cp_modifies=1&cp=74120",
    "nom=martin",
    "nom=lef&profession=70",
    "statut=adherent",
    "prise_en_charge=diabete&profession=60",
    "materiel=echographe&profession=10&statut=membre",
];

pub async fn directory(
    lines: usize,
    rounds: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("maillage-bench-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let extract = work.join("PS_LibreAcces_Personne_activite.txt");
    let started = Instant::now();
    let people = {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&extract)?);
        let people = crate::rpps_fixture::write(
            &mut out,
            &crate::rpps_fixture::FixtureOptions {
                lines,
                seed: 2026,
                postal_codes: Vec::new(),
            },
        )?;
        std::io::Write::flush(&mut out)?;
        people
    };
    let size = std::fs::metadata(&extract)?.len();
    println!(
        "extract: {lines} lines, {people} professionals, {} MB, generated in {:.1} s",
        size / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    // Baseline: reading the file line by line, nothing else.
    let started = Instant::now();
    let mut reader = BufReader::new(tokio::fs::File::open(&extract).await?);
    let mut line = Vec::new();
    let mut count = 0usize;
    while reader.read_until(b'\n', &mut line).await? > 0 {
        count += 1;
        line.clear();
    }
    let read_only = started.elapsed();
    println!(
        "baseline: reading the {count} lines alone takes {:.2} s",
        read_only.as_secs_f64()
    );

    let extract = &extract;
    super::on_each_backend(&work, postgres_url, "dir", |_, name, state| async move {
        println!("\n{name}");
        for (slug, department, first, count) in TERRITORIES {
            let territory = territory(department, first, count);
            on_backend(&state, slug, &territory, extract, read_only, rounds).await?;
        }
        Ok::<(), anyhow::Error>(())
    })
    .await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

async fn on_backend(
    state: &AppState,
    slug: &str,
    territory: &str,
    extract: &std::path::Path,
    read_only: Duration,
    rounds: usize,
) -> anyhow::Result<()> {
    let (_, wasm) = crate::BUNDLED
        .iter()
        .find(|(id, _)| *id == "directory")
        .ok_or_else(|| anyhow::anyhow!("the directory is not bundled"))?;
    let plugin = state.registry.install(wasm).await?;
    let structure = state
        .db
        .create_structure(slug, slug, StructureKind::Cpts, "Europe/Paris")
        .await?;
    state.db.set_territory(structure.id, territory).await?;
    let structure = state
        .db
        .structure(structure.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("structure vanished"))?;
    let m = plugin.manifest();
    let grants: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
    state
        .db
        .enable_module(structure.id, &m.id, &m.version.to_string(), &grants)
        .await?;

    let progress = Progress::new(std::fs::metadata(extract)?.len());
    let summary = crate::imports::run(
        state,
        &structure,
        &m.id,
        &Importer::CommandLine,
        extract,
        "extrait.txt",
        &progress,
    )
    .await?;
    let import = summary.elapsed;
    println!(
        "{slug}: {} postal codes\nimport: {:.1} s for {} lines ({} on the territory: {} professionals); {:.1}x the time of reading the file alone; target < 60 s: {}",
        territory.split(", ").count(),
        import.as_secs_f64(),
        summary.lines,
        summary.kept_lines,
        summary.applied["people"],
        import.as_secs_f64() / read_only.as_secs_f64().max(1e-9),
        super::met(import < Duration::from_secs(60)),
    );

    // A manager's session, and the server on a real port.
    let account = state
        .db
        .create_account(&format!("gestion@{slug}.test"), None, "Gestionnaire")
        .await?;
    state
        .db
        .set_membership(structure.id, account.id, Role::Coordinator)
        .await?;
    crate::people::grant_module_role(
        &state.db,
        structure.id,
        account.id,
        "annuaire",
        "gestionnaire",
    )
    .await?;
    let secret = state.db.create_session(account.id, false).await?;
    let cookie = format!(
        "{}={secret}",
        crate::http::session_cookie_name(state.cookie_secure)
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::serve(state.clone(), listener));
    let mut client = KeepAlive::connect(address, &cookie).await?;

    // Warm-up: compile caches, connection pools, SQLite's page cache.
    for query in QUERIES {
        let (status, body) = client.get(&format!("/{slug}/annuaire/?{query}")).await?;
        anyhow::ensure!(
            status == 200 && body.contains("Résultats exacts"),
            "search {query:?} answered {status}"
        );
    }
    let mut search = Vec::new();
    let mut floor = Vec::new();
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); QUERIES.len()];
    for _ in 0..rounds {
        for (i, query) in QUERIES.iter().enumerate() {
            let started = Instant::now();
            client.get(&format!("/{slug}/annuaire/?{query}")).await?;
            search.push(started.elapsed());
            per_query[i].push(started.elapsed());
            let started = Instant::now();
            client.get("/healthz").await?;
            floor.push(started.elapsed());
        }
    }
    server.abort();
    search.sort();
    floor.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "search over HTTP ({} requests, {} queries × {rounds}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; target p95 < 20 ms: {}",
        search.len(),
        QUERIES.len(),
        ms(pct(&search, 0.50)),
        ms(pct(&search, 0.95)),
        ms(*search.last().unwrap_or(&Duration::ZERO)),
        super::met(pct(&search, 0.95) < Duration::from_millis(20)),
    );
    for (query, times) in QUERIES.iter().zip(per_query.iter_mut()) {
        times.sort();
        println!("  p50 {:>6.2} ms  ?{query}", ms(pct(times, 0.50)));
    }
    println!(
        "baseline /healthz on the same connection: p50 {:.3} ms (search p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&search, 0.50)) / ms(pct(&floor, 0.50)).max(1e-9),
    );
    Ok(())
}

/// One member's kept-alive connection (the shared benchmark client).
struct KeepAlive {
    connection: super::client::Connection,
    cookie: String,
}

impl KeepAlive {
    async fn connect(address: std::net::SocketAddr, cookie: &str) -> anyhow::Result<Self> {
        Ok(KeepAlive {
            connection: super::client::Connection::open(address).await?,
            cookie: cookie.to_string(),
        })
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<(u16, String)> {
        let reply = self.connection.get(path, &self.cookie).await?;
        Ok((reply.status, reply.body))
    }
}
