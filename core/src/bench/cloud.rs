//! `maillage bench cloud`: the documents module's files and the national library
//! (docs/cloud-library-design.md, C.3), in-process over real TCP with the benchmarks'
//! HTTP client (`client.rs`, bodies streamed both ways), the blob limit raised to
//! 256 MiB, on SQLite and, given a URL, on PostgreSQL (a throwaway schema).
//!
//! - (a) Baseline: a file of fixed-seed random bytes (`--size-mib`, 200) written in a
//!   temporary folder, read with a 64 KiB loop, then copied with `std::fs::copy` (MB/s:
//!   the reference of the other figures).
//! - (b) Upload, as the module's admin: the file streamed from disk through the host's
//!   route `POST /{s}/fichiers/documents` (multipart, the `csrf` field first, the file as
//!   `fichier`; 201 and its id, size and SHA-256), then recorded as a document of a
//!   project by the module's `POST /{s}/documents/g/{g}/deposes` (303). The SHA-256 the
//!   host answers and the one of its `blobs` row are the file's. Target: at least a third
//!   of the copy's speed.
//! - (c) Download: `GET /{s}/fichiers/documents/{id}`, read as it arrives, hashed and
//!   discarded. Target: at least half of the read's speed.
//! - (d) The file published in the library (`library::propose` and `library::confirm`,
//!   as the module and the host's confirmation page call them: the host copies the
//!   object), then downloaded by a member of another structure from
//!   `/{s2}/fichiers/documents/bibliotheque/{entry}/1`, hashed. Targets: the publication
//!   within twice the copy's time; the download as (c).
//! - (e) Memory: `VmRSS` (`/proc/self/status`) sampled every 10 ms on a thread of its
//!   own; idle after start-up and one small request, the peak over (b) to (d). Target:
//!   peak − idle < 64 MB.
//! - (f) Search: `--entries` (10,000) entries seeded from three structures by
//!   `library::seed_for_bench` (the writes of a confirmation), 60 % Markdown texts of 1 to
//!   30 KB drawn from a 3,000-word French-like vocabulary with Zipf frequencies, 40 %
//!   files (metadata only), 0 to 5 tags out of 80; then `--queries` (500) searches as a
//!   member of a fourth structure, over HTTP on `/{s}/documents/bibliotheque` (the
//!   module's call, `library.search`, its tags and the rendering) and through
//!   `library::search` alone, in seven classes: a frequent word, a rare word, two words,
//!   a tag, a tag and a word, no words (browsing), page 2 by cursor. Target: p95 < 30 ms
//!   for each class.
//!
//! Everything is drawn from fixed seeds. Timings are printed, never asserted; a hash, a
//! size or a count that differs is an error. When the documents module takes no file
//! through the host's upload route yet (403 there) or has no `deposes` route (404),
//! (b) to (e) print « non mesuré » and (a) and (f) still run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::client::{CHUNK, Connection, FilePart};
use super::{excerpt, ms, pct};
use crate::http::AppState;
use crate::library::{
    self, Caller, FileInfo, Licence, Proposal, ProposalContent, SearchSpec, SeedContent, SeedEntry,
};
use crate::storage::Backend;
use crate::storage::collections::fold;
use crate::tenancy::{Role, StructureKind};

/// The documents module: its id (its URL segment, its library).
const MODULE: &str = "documents";
/// Its name in [`crate::BUNDLED`].
const BUNDLED: &str = "cloud";
const ZONE: &str = "Europe/Paris";
/// The structures that publish; the first one also uploads the file.
const PUBLISHERS: [&str; 3] = [
    "cpts-banc-documents-a",
    "cpts-banc-documents-b",
    "cpts-banc-documents-c",
];
/// The structure whose member reads across: the library's downloads and searches.
const READER: &str = "cpts-banc-documents-lecteurs";
/// The run's blob limit, in MiB, at least (C.3); more for a larger file.
const BLOB_LIMIT_MIB: u64 = 256;
/// The largest file measured, in MiB (the module's per-file limit is 1,024 Mo).
const MAX_SIZE_MIB: u64 = 1000;
/// The module's limits for the run (`/reglages`, in Mo): its largest.
const FILE_LIMIT_MO: &str = "1024";
const QUOTA_MO: &str = "100000";
/// The measured file's name and type, as a browser sends them.
const FILE_NAME: &str = "banc-d-essai.bin";
const FILE_TYPE: &str = "application/octet-stream";
/// Entries per write transaction of the seeding.
const SEED_BATCH: usize = 500;
/// The module's page of results (`catalog::PAGE_SIZE`).
const PAGE: u32 = 20;
/// Words of the vocabulary, and tags.
const VOCABULARY: usize = 3000;
/// Zipf exponent of the words' frequencies.
const ZIPF_EXPONENT: f64 = 1.0;
/// A Markdown text's size, in bytes.
const MIN_TEXT: usize = 1024;
const MAX_TEXT: usize = 30 * 1024;
/// Ranks of the words a query draws: frequent, the second of two words, rare.
const FREQUENT: (usize, usize) = (0, 10);
const SECOND: (usize, usize) = (20, 300);
const RARE: (usize, usize) = (2000, VOCABULARY);
/// The search's target, per class.
const SEARCH_TARGET: Duration = Duration::from_millis(30);
/// The memory's target: peak − idle, in MB.
const MEMORY_TARGET_MB: f64 = 64.0;
/// How often `VmRSS` is sampled.
const RSS_EVERY: Duration = Duration::from_millis(10);
/// The seeds: the file's bytes, the library's vocabulary, its entries, the queries.
const FILE_SEED: u64 = 0x6d61_696c_6c61_6765;
const VOCABULARY_SEED: u64 = 0x766f_6361_6275_6c61;
const ENTRY_SEED: u64 = 0x656e_7472_6565_7331;
const QUERY_SEED: u64 = 0x7175_6572_6965_7331;

/// Syllables of the vocabulary's words, accents included (the host folds them).
const SYLLABLES: [&str; 40] = [
    "ba", "ca", "dé", "fo", "gui", "la", "ma", "né", "po", "ri", "sa", "té", "vo", "zé", "an",
    "ber", "cor", "dri", "é", "fan", "gen", "hor", "is", "jou", "ker", "lan", "mon", "nui", "or",
    "pré", "qua", "ron", "sé", "tri", "un", "ver", "cha", "ssi", "tion", "eau",
];
/// The tags: 20 themes, each alone and with three aspects (80).
const THEMES: [&str; 20] = [
    "Diabète",
    "Insuffisance cardiaque",
    "Santé mentale",
    "Soins non programmés",
    "Personnes âgées",
    "Plaies chroniques",
    "Addictions",
    "Périnatalité",
    "Vaccination",
    "Cancérologie",
    "Handicap",
    "Nutrition",
    "Douleur chronique",
    "Soins palliatifs",
    "Prévention",
    "Accès aux soins",
    "Urgences",
    "Pharmacie",
    "Kinésithérapie",
    "Télésanté",
];
const ASPECTS: [&str; 4] = ["", " : protocole", " : formation", " : parcours"];

/// Runs the benchmark: (a) once, then (b) to (f) on SQLite, then on PostgreSQL when a URL
/// is given. Small sizes (`cloud(5, 300, 20, None)`) make the test suite's smoke run.
pub async fn cloud(
    size_mib: u64,
    entries: usize,
    queries: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_SIZE_MIB).contains(&size_mib),
        "the file is 1 to {MAX_SIZE_MIB} MiB (asked for {size_mib})"
    );
    let work = std::env::temp_dir().join(format!("maillage-bench-cloud-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let outcome = run(&work, size_mib, entries, queries, postgres_url).await;
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

async fn run(
    work: &Path,
    size_mib: u64,
    entries: usize,
    queries: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    let file = work.join(FILE_NAME);
    println!(
        "(a) baseline: {size_mib} MiB of fixed-seed random bytes in {}",
        work.display()
    );
    let baseline = {
        let file = file.clone();
        let copy = work.join("copie.bin");
        tokio::task::spawn_blocking(move || Baseline::measure(&file, &copy, size_mib << 20))
            .await??
    };
    baseline.print();
    let limit = BLOB_LIMIT_MIB.max(size_mib + 1);
    let (baseline, file) = (&baseline, file.as_path());
    super::on_each_backend_with(
        work,
        postgres_url,
        "cloud",
        |config| config.blob_limit_mib = limit,
        move |_, name, state| async move {
            println!(
                "\n{name}: a {size_mib} MiB file through the documents module, then {entries} library entries and {queries} searches"
            );
            let outcome = on_backend(&state, file, baseline, entries, queries).await;
            // The backend's copies of the file (the upload's, the library's).
            let blobs = crate::config::Config::with_data_dir(work.join(name)).blob_dir();
            let _ = std::fs::remove_dir_all(blobs);
            outcome
        },
    )
    .await
}

/// (a): the file written, read and copied.
struct Baseline {
    size: u64,
    /// Hex SHA-256 of the file.
    sha256: String,
    read: Duration,
    copy: Duration,
}

impl Baseline {
    fn measure(file: &Path, copy: &Path, size: u64) -> anyhow::Result<Baseline> {
        use std::io::Read;
        let sha256 = write_random(file, size)?;
        let mut source = std::fs::File::open(file)?;
        let mut buffer = vec![0u8; CHUNK];
        let mut read_bytes = 0u64;
        let started = Instant::now();
        loop {
            let n = source.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            read_bytes += n as u64;
        }
        let read = started.elapsed();
        anyhow::ensure!(
            read_bytes == size,
            "read {read_bytes} bytes of a {size}-byte file"
        );
        let started = Instant::now();
        let copied = std::fs::copy(file, copy)?;
        let copy_time = started.elapsed();
        let _ = std::fs::remove_file(copy);
        anyhow::ensure!(copied == size, "copied {copied} bytes of {size}");
        Ok(Baseline {
            size,
            sha256,
            read,
            copy: copy_time,
        })
    }

    /// MB/s of the read.
    fn read_speed(&self) -> f64 {
        mb_per_s(self.size, self.read)
    }

    /// MB/s of the copy.
    fn copy_speed(&self) -> f64 {
        mb_per_s(self.size, self.copy)
    }

    fn print(&self) {
        println!(
            "    read with a 64 KiB loop: {:.0} MB/s ({:.3} s); std::fs::copy: {:.0} MB/s ({:.3} s) (the reference)",
            self.read_speed(),
            self.read.as_secs_f64(),
            self.copy_speed(),
            self.copy.as_secs_f64()
        );
    }
}

/// Writes `size` bytes of [`FILE_SEED`]'s random stream to `path`; their hex SHA-256.
fn write_random(path: &Path, size: u64) -> anyhow::Result<String> {
    use std::io::Write;
    let mut rng = Rng::new(FILE_SEED);
    let mut out = std::fs::File::create(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        hasher.update(&block[..n]);
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(hex(&hasher.finalize()))
}

/// A member of one of the benchmark's structures, signed in.
struct Member {
    structure_id: i64,
    slug: String,
    account: i64,
    cookie: String,
}

/// The benchmark's structures, people and server.
struct Bench<'a> {
    state: &'a AppState,
    address: SocketAddr,
    /// Admins of the three structures that publish.
    publishers: Vec<Member>,
    /// A member of the fourth, who reads.
    reader: Member,
    /// The first publisher's project (a host group), where the file is deposited.
    group: i64,
}

async fn on_backend(
    state: &AppState,
    file: &Path,
    baseline: &Baseline,
    entries: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let (publishers, reader, group) = people(state).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::serve(state.clone(), listener));
    let bench = Bench {
        state,
        address,
        publishers,
        reader,
        group,
    };
    let outcome = measure(&bench, file, baseline, entries, queries).await;
    server.abort();
    outcome
}

/// The documents module installed once and enabled in four structures with every
/// capability it asks (`library` and `library-publish` included); an admin in each of
/// the three that publish, a member in the fourth; a project of the first one.
async fn people(state: &AppState) -> anyhow::Result<(Vec<Member>, Member, i64)> {
    let (_, wasm) = crate::BUNDLED
        .iter()
        .find(|(id, _)| *id == BUNDLED)
        .ok_or_else(|| anyhow::anyhow!("{BUNDLED} is not bundled"))?;
    let plugin = state.registry.install(wasm).await?;
    let manifest = plugin.manifest();
    anyhow::ensure!(
        manifest.id == MODULE,
        "the bundled {BUNDLED} is the module {}, not {MODULE}",
        manifest.id
    );
    let grants: Vec<String> = manifest
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .collect();
    let version = manifest.version.to_string();
    let db = &state.db;
    let mut members = Vec::with_capacity(PUBLISHERS.len() + 1);
    for (n, slug) in PUBLISHERS
        .iter()
        .copied()
        .chain(std::iter::once(READER))
        .enumerate()
    {
        let reads = n == PUBLISHERS.len();
        let name = if reads {
            "CPTS Banc d’essai des lecteurs".to_string()
        } else {
            format!("CPTS Banc d’essai des documents {}", n + 1)
        };
        let structure = db
            .create_structure(slug, &name, StructureKind::Cpts, ZONE)
            .await?;
        db.enable_module(structure.id, &manifest.id, &version, &grants)
            .await?;
        let (role, local, who) = if reads {
            (Role::Member, "lectrice", "Lectrice du banc")
        } else {
            (Role::Admin, "admin", "Administratrice du banc")
        };
        let account = super::bench_account(
            db,
            structure.id,
            &format!("{local}@{slug}.test"),
            &format!("{who} {}", n + 1),
            role,
        )
        .await?;
        let cookie = super::session_cookie(state, account.id).await?;
        members.push(Member {
            structure_id: structure.id,
            slug: structure.slug,
            account: account.id,
            cookie,
        });
    }
    let reader = members
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no reading structure"))?;
    let first = &members[0];
    let group = db
        .create_group(
            first.structure_id,
            "Projet du banc d’essai des documents",
            "Les documents du banc d’essai.",
            true,
            first.account,
        )
        .await?;
    Ok((members, reader, group))
}

async fn measure(
    bench: &Bench<'_>,
    file: &Path,
    baseline: &Baseline,
    entries: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let mut client = Connection::open(bench.address).await?;
    let admin = &bench.publishers[0];
    // The module's limits: its largest, so that the host's blob limit is the one met.
    let settings = format!("/{}/{MODULE}/reglages", admin.slug);
    let reply = client
        .post(
            &settings,
            &admin.cookie,
            &fields(&[("limite_fichier_mo", FILE_LIMIT_MO), ("quota_mo", QUOTA_MO)]),
        )
        .await?;
    anyhow::ensure!(
        reply.status == 303,
        "POST {settings} answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    // Idle: after start-up and one small request.
    let home = format!("/{}/{MODULE}/", admin.slug);
    let reply = client.get(&home, &admin.cookie).await?;
    anyhow::ensure!(
        reply.status == 200,
        "GET {home} answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let idle = idle_rss().await;
    match transfers(bench, &mut client, file, baseline).await? {
        Ok(measured) => measured.print(baseline, idle),
        Err(why) => {
            for figure in [
                "(b) upload",
                "(c) download",
                "(d) publication and download from another structure",
                "(e) memory, peak − idle",
            ] {
                println!("{figure:<56} non mesuré ({why})");
            }
        }
    }
    search(bench, &mut client, entries, queries).await
}

/// What (b) to (e) measured.
struct Transfers {
    upload: Duration,
    deposit: Duration,
    download: Duration,
    publish: Duration,
    across: Duration,
    entry: i64,
    /// KiB; none without `/proc`.
    peak: Option<u64>,
}

/// The host's answer to an upload (201).
struct Uploaded {
    id: String,
    size: u64,
    sha256: String,
    path: String,
}

impl Uploaded {
    fn parse(body: &str) -> anyhow::Result<Uploaded> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
            anyhow::anyhow!("the upload's answer is not JSON ({e}): {}", excerpt(body))
        })?;
        let text = |key: &str| {
            value[key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("the upload's answer has no {key}: {body}"))
        };
        Ok(Uploaded {
            id: text("id")?,
            size: value["size"]
                .as_u64()
                .ok_or_else(|| anyhow::anyhow!("the upload's answer has no size: {body}"))?,
            sha256: text("sha256")?,
            path: text("path")?,
        })
    }
}

/// (b) to (e), or why they cannot be measured: the module takes no file through the
/// host's upload route (403) or has no `deposes` route (404). A small file goes through
/// both routes first.
async fn transfers(
    bench: &Bench<'_>,
    client: &mut Connection,
    file: &Path,
    baseline: &Baseline,
) -> anyhow::Result<Result<Transfers, String>> {
    let admin = &bench.publishers[0];
    let upload = format!("/{}/fichiers/{MODULE}", admin.slug);
    let deposit = format!("/{}/{MODULE}/g/{}/deposes", admin.slug, bench.group);
    let token = [("csrf".to_string(), csrf_of(&admin.cookie))];

    let probe = file.with_file_name("sonde.txt");
    std::fs::write(&probe, "Sonde du banc d’essai des documents.\n")?;
    let reply = Connection::open(bench.address)
        .await?
        .post_file(
            &upload,
            &admin.cookie,
            &token,
            &FilePart {
                field: "fichier",
                name: "sonde.txt",
                content_type: "text/plain",
                path: &probe,
            },
        )
        .await?;
    if matches!(reply.status, 403 | 404) {
        return Ok(Err(format!(
            "POST {upload} answered {}: {}",
            reply.status,
            excerpt(&reply.body)
        )));
    }
    anyhow::ensure!(
        reply.status == 201,
        "POST {upload} of a small file answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let small = Uploaded::parse(&reply.body)?;
    let reply = client
        .post(
            &deposit,
            &admin.cookie,
            &deposit_fields(&admin.cookie, &small.id),
        )
        .await?;
    if reply.status == 404 {
        return Ok(Err(format!("POST {deposit} answered 404")));
    }
    anyhow::ensure!(
        reply.status == 303,
        "POST {deposit} of a small file answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );

    let sampler = RssSampler::start();
    // (b) The upload, on a connection of its own, then the document recorded.
    let started = Instant::now();
    let reply = Connection::open(bench.address)
        .await?
        .post_file(
            &upload,
            &admin.cookie,
            &token,
            &FilePart {
                field: "fichier",
                name: FILE_NAME,
                content_type: FILE_TYPE,
                path: file,
            },
        )
        .await?;
    let upload_time = started.elapsed();
    anyhow::ensure!(
        reply.status == 201,
        "POST {upload} of the file answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let uploaded = Uploaded::parse(&reply.body)?;
    anyhow::ensure!(
        uploaded.size == baseline.size && uploaded.sha256 == baseline.sha256,
        "the host stored {} bytes of SHA-256 {}; the file has {} bytes of SHA-256 {}",
        uploaded.size,
        uploaded.sha256,
        baseline.size,
        baseline.sha256
    );
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT sha256, size FROM blobs WHERE structure_id = $1 AND plugin_id = $2 AND id = $3",
    )
    .bind(admin.structure_id)
    .bind(MODULE)
    .bind(&uploaded.id)
    .fetch_optional(bench.state.db.pool())
    .await?;
    anyhow::ensure!(
        row.as_ref()
            .is_some_and(|(sha256, size)| *sha256 == baseline.sha256
                && u64::try_from(*size).ok() == Some(baseline.size)),
        "the stored blob {} is {row:?}, not the file's SHA-256 {}",
        uploaded.id,
        baseline.sha256
    );
    let started = Instant::now();
    let reply = client
        .post(
            &deposit,
            &admin.cookie,
            &deposit_fields(&admin.cookie, &uploaded.id),
        )
        .await?;
    let deposit_time = started.elapsed();
    anyhow::ensure!(
        reply.status == 303,
        "POST {deposit} of the file answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );

    // (c) Its download, hashed.
    let download_time = download(bench.address, &uploaded.path, &admin.cookie, baseline).await?;

    // (d) Published as the module proposes it and the host's page confirms it, then
    // downloaded by a member of another structure.
    let caller = Caller {
        structure_id: admin.structure_id,
        module_id: MODULE.to_string(),
        account_id: Some(admin.account),
        may_publish: true,
    };
    let proposal = Proposal {
        new_version_of: None,
        title: format!("Fichier du banc d’essai ({} Mio)", baseline.size >> 20),
        description: "Un fichier de données aléatoires.".to_string(),
        tags: vec!["Banc d’essai".to_string()],
        licence: Licence::Cc0,
        content: ProposalContent::File {
            blob_id: uploaded.id.clone(),
        },
        note: String::new(),
        source_ref: uploaded.id.clone(),
        return_path: "/".to_string(),
    };
    let mut tx = bench.state.db.begin_write().await?;
    let proposed = library::propose(&mut tx, &caller, &proposal).await?;
    tx.commit().await?;
    let started = Instant::now();
    let published = library::confirm(
        &bench.state.db,
        &bench.state.blobs,
        admin.structure_id,
        admin.account,
        &proposed,
    )
    .await?;
    let publish_time = started.elapsed();
    let reader = &bench.reader;
    let across =
        library::download_path(&reader.slug, MODULE, published.entry_id, published.version);
    let across_time = download(bench.address, &across, &reader.cookie, baseline).await?;
    let peak = sampler.stop();
    Ok(Ok(Transfers {
        upload: upload_time,
        deposit: deposit_time,
        download: download_time,
        publish: publish_time,
        across: across_time,
        entry: published.entry_id,
        peak,
    }))
}

impl Transfers {
    fn print(&self, baseline: &Baseline, idle: Option<u64>) {
        let (read, copy) = (baseline.read_speed(), baseline.copy_speed());
        let upload = mb_per_s(baseline.size, self.upload);
        let download = mb_per_s(baseline.size, self.download);
        let across = mb_per_s(baseline.size, self.across);
        let publish_limit = baseline.copy * 2;
        println!("{:<56} {:<30} target", "figure", "measured");
        row(
            "(b) upload: POST /fichiers/documents (streamed)",
            format!("{upload:.0} MB/s ({:.2} s)", self.upload.as_secs_f64()),
            format!(
                "≥ {:.0} MB/s (a third of the copy): {}",
                copy / 3.0,
                verdict(upload >= copy / 3.0)
            ),
        );
        row(
            "    then POST …/g/{g}/deposes (the document recorded)",
            format!("{:.1} ms", ms(self.deposit)),
            "–".to_string(),
        );
        row(
            "(c) download: GET /fichiers/documents/{id} (hashed)",
            format!("{download:.0} MB/s ({:.2} s)", self.download.as_secs_f64()),
            format!(
                "≥ {:.0} MB/s (half of the read): {}",
                read / 2.0,
                verdict(download >= read / 2.0)
            ),
        );
        row(
            &format!(
                "(d) publication (propose + confirm: the host's copy), entry {}",
                self.entry
            ),
            format!("{:.3} s", self.publish.as_secs_f64()),
            format!(
                "≤ {:.3} s (twice the copy): {}",
                publish_limit.as_secs_f64(),
                verdict(self.publish <= publish_limit)
            ),
        );
        row(
            "(d) download from another structure (hashed)",
            format!("{across:.0} MB/s ({:.2} s)", self.across.as_secs_f64()),
            format!(
                "≥ {:.0} MB/s (half of the read): {}",
                read / 2.0,
                verdict(across >= read / 2.0)
            ),
        );
        match (idle, self.peak) {
            (Some(idle), Some(peak)) => {
                let to_mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
                let grown = to_mb(peak.saturating_sub(idle));
                row(
                    "(e) memory: VmRSS peak over (b)–(d) − idle",
                    format!(
                        "{grown:.1} MB (idle {:.1}, peak {:.1})",
                        to_mb(idle),
                        to_mb(peak)
                    ),
                    format!(
                        "< {MEMORY_TARGET_MB:.0} MB: {}",
                        verdict(grown < MEMORY_TARGET_MB)
                    ),
                );
            }
            _ => row(
                "(e) memory: VmRSS peak over (b)–(d) − idle",
                "non mesuré (no /proc/self/status)".to_string(),
                String::new(),
            ),
        }
        println!("    sizes and SHA-256 checked: the host's answer, its blob row, both downloads");
    }
}

/// One line of the transfers' table.
fn row(figure: &str, measured: String, target: String) {
    println!("{figure:<56} {measured:<30} {target}");
}

/// « atteint » or « non atteint ».
fn verdict(met: bool) -> &'static str {
    if met { "atteint" } else { "non atteint" }
}

/// Downloads `path` as `cookie` on a connection of its own, hashing what arrives, and
/// checks its size and SHA-256 against the file's; how long it took.
async fn download(
    address: SocketAddr,
    path: &str,
    cookie: &str,
    baseline: &Baseline,
) -> anyhow::Result<Duration> {
    let mut connection = Connection::open(address).await?;
    let mut hasher = Sha256::new();
    let started = Instant::now();
    let (reply, bytes) = connection
        .get_streamed(path, cookie, &mut |piece: &[u8]| hasher.update(piece))
        .await?;
    let took = started.elapsed();
    anyhow::ensure!(
        reply.status == 200,
        "GET {path} answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let sha256 = hex(&hasher.finalize());
    anyhow::ensure!(
        bytes == baseline.size && sha256 == baseline.sha256,
        "GET {path} gave {bytes} bytes of SHA-256 {sha256}; the file has {} bytes of SHA-256 {}",
        baseline.size,
        baseline.sha256
    );
    Ok(took)
}

/// The fields of `POST …/g/{g}/deposes`: the token, the project's root, the blob.
fn deposit_fields(cookie: &str, blob: &str) -> Vec<(String, String)> {
    vec![
        ("csrf".to_string(), csrf_of(cookie)),
        ("dossier".to_string(), String::new()),
        ("blob".to_string(), blob.to_string()),
    ]
}

/// The CSRF token a benchmark cookie carries (`maillage_csrf=…`).
fn csrf_of(cookie: &str) -> String {
    cookie
        .split("maillage_csrf=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .unwrap_or_default()
        .to_string()
}

/// A form's fields from (name, value) pairs.
fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64().max(1e-9)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This process's resident memory, in KiB (`VmRSS`); none without `/proc`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The idle resident memory: the median of eleven samples, [`RSS_EVERY`] apart.
async fn idle_rss() -> Option<u64> {
    let mut samples = Vec::with_capacity(11);
    for _ in 0..11 {
        if let Some(kib) = rss_kib() {
            samples.push(kib);
        }
        tokio::time::sleep(RSS_EVERY).await;
    }
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied()
}

/// The peak resident memory, sampled every [`RSS_EVERY`] on a thread of its own until
/// [`RssSampler::stop`] (or the sampler is dropped).
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::Builder::new()
                .name("banc-vmrss".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(kib) = rss_kib() {
                            peak.fetch_max(kib, Ordering::Relaxed);
                        }
                        std::thread::sleep(RSS_EVERY);
                    }
                })
                .ok()
        };
        RssSampler { stop, peak, thread }
    }

    /// The peak in KiB, a last sample included; none without `/proc`.
    fn stop(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(kib) = rss_kib() {
            self.peak.fetch_max(kib, Ordering::Relaxed);
        }
        let peak = self.peak.load(Ordering::Relaxed);
        (peak > 0).then_some(peak)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// xorshift64*: the benchmark's fixed-seed random numbers, without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0 to `n` − 1 (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// `low` to `high`, both included.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The library's texts: a French-like vocabulary with Zipf frequencies, and the tags.
struct Corpus {
    /// By rank: the first the most frequent.
    words: Vec<String>,
    /// Cumulative weights of `words`, by rank.
    cumulative: Vec<f64>,
    tags: Vec<String>,
}

impl Corpus {
    fn new() -> Corpus {
        let mut rng = Rng::new(VOCABULARY_SEED);
        let mut words = Vec::with_capacity(VOCABULARY);
        let mut seen = std::collections::HashSet::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            let syllables = rng.between(2, 4);
            let word: String = (0..syllables)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            let folded = fold(&word);
            // Whole words the search keeps: no stop word, nothing it would split.
            let kept = folded.chars().count() >= 3
                && !folded.contains(' ')
                && !library::STOP_WORDS.contains(&folded.as_str());
            if kept && seen.insert(folded) {
                words.push(word);
            }
        }
        let mut cumulative = Vec::with_capacity(VOCABULARY);
        let mut total = 0.0;
        for rank in 0..VOCABULARY {
            total += 1.0 / ((rank + 1) as f64).powf(ZIPF_EXPONENT);
            cumulative.push(total);
        }
        let mut tags = Vec::with_capacity(THEMES.len() * ASPECTS.len());
        for theme in THEMES {
            for aspect in ASPECTS {
                tags.push(format!("{theme}{aspect}"));
            }
        }
        Corpus {
            words,
            cumulative,
            tags,
        }
    }

    /// A word drawn with the Zipf frequencies.
    fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let drawn = rng.unit() * total;
        let rank = self
            .cumulative
            .partition_point(|c| *c <= drawn)
            .min(self.words.len() - 1);
        &self.words[rank]
    }

    /// A word of rank `from` to `to` (excluded), drawn evenly.
    fn ranked(&self, rng: &mut Rng, (from, to): (usize, usize)) -> &str {
        let to = to.min(self.words.len()).max(1);
        let from = from.min(to - 1);
        &self.words[from + rng.below(to - from)]
    }

    fn tag(&self, rng: &mut Rng) -> &str {
        &self.tags[rng.below(self.tags.len())]
    }

    /// `min` to `max` words, the first capitalised, without a final stop.
    fn phrase(&self, rng: &mut Rng, min: usize, max: usize) -> String {
        let mut out = String::new();
        for k in 0..rng.between(min, max) {
            let word = self.word(rng);
            if k == 0 {
                capitalised(&mut out, word);
            } else {
                out.push(' ');
                out.push_str(word);
            }
        }
        out
    }

    /// A sentence of `min` to `max` words appended to `out`.
    fn sentence(&self, rng: &mut Rng, out: &mut String, min: usize, max: usize) {
        out.push_str(&self.phrase(rng, min, max));
        out.push('.');
    }

    /// A Markdown text of about `target` bytes: a title, then paragraphs, headings and
    /// lists.
    fn markdown(&self, rng: &mut Rng, target: usize) -> String {
        let mut text = String::with_capacity(target + 512);
        text.push_str("# ");
        text.push_str(&self.phrase(rng, 3, 8));
        text.push_str("\n\n");
        while text.len() < target {
            match rng.below(10) {
                0 => {
                    text.push_str("## ");
                    text.push_str(&self.phrase(rng, 2, 6));
                    text.push_str("\n\n");
                }
                1 => {
                    for _ in 0..rng.between(3, 5) {
                        text.push_str("- ");
                        self.sentence(rng, &mut text, 4, 10);
                        text.push('\n');
                    }
                    text.push('\n');
                }
                _ => {
                    for s in 0..rng.between(3, 7) {
                        if s > 0 {
                            text.push(' ');
                        }
                        self.sentence(rng, &mut text, 6, 18);
                    }
                    text.push_str("\n\n");
                }
            }
        }
        text
    }

    /// Entry `i` of `entries`: three in every five a Markdown text (60 %), the others
    /// files; published by the structures in turn, a minute apart, the last a minute ago.
    fn entry(
        &self,
        rng: &mut Rng,
        i: usize,
        entries: usize,
        now: i64,
        publishers: &[Member],
    ) -> SeedEntry {
        let owner = &publishers[i % publishers.len()];
        let title = self.phrase(rng, 3, 8);
        let mut description = String::new();
        self.sentence(rng, &mut description, 8, 25);
        let count = rng.below(6);
        let mut tags: Vec<String> = Vec::with_capacity(count);
        while tags.len() < count {
            let tag = self.tag(rng);
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_string());
            }
        }
        let licence = Licence::ALL[rng.below(Licence::ALL.len())];
        let content = if i % 5 < 3 {
            let target = rng.between(MIN_TEXT, MAX_TEXT);
            SeedContent::Markdown(self.markdown(rng, target))
        } else {
            SeedContent::File(FileInfo {
                name: format!("{}.pdf", fold(&title).replace(' ', "-")),
                content_type: "application/pdf".to_string(),
                size: 20_000 + rng.below(8_000_000) as u64,
                sha256: (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect(),
            })
        };
        SeedEntry {
            owner_structure_id: owner.structure_id,
            published_by: owner.account,
            source_ref: format!("banc-{i}"),
            title,
            description,
            tags,
            licence,
            content,
            published_at: now - i64::try_from(entries - i).unwrap_or(i64::MAX / 120) * 60,
        }
    }
}

/// `word` with its first letter capitalised, appended to `out`.
fn capitalised(out: &mut String, word: &str) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
}

/// The query classes of (f).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Frequent,
    Rare,
    TwoWords,
    Tag,
    TagAndWord,
    Browse,
    NextPage,
}

const CLASSES: [Class; 7] = [
    Class::Frequent,
    Class::Rare,
    Class::TwoWords,
    Class::Tag,
    Class::TagAndWord,
    Class::Browse,
    Class::NextPage,
];

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::Frequent => "frequent word",
            Class::Rare => "rare word",
            Class::TwoWords => "two words",
            Class::Tag => "tag",
            Class::TagAndWord => "tag + word",
            Class::Browse => "empty (browse)",
            Class::NextPage => "page 2 by cursor",
        }
    }
}

/// A search as the module's page takes it: `q`, `etiquette`, `apres`.
#[derive(Debug, Clone)]
struct Query {
    words: String,
    tag: Option<String>,
    cursor: Option<String>,
}

impl Query {
    fn of_words(words: &str) -> Query {
        Query {
            words: words.to_string(),
            tag: None,
            cursor: None,
        }
    }

    fn of_tag(tag: &str, words: &str) -> Query {
        Query {
            words: words.to_string(),
            tag: Some(tag.to_string()),
            cursor: None,
        }
    }

    /// What the module asks the host for it (a page of [`PAGE`]).
    fn spec(&self) -> SearchSpec {
        SearchSpec {
            words: self.words.clone(),
            tag: self.tag.clone(),
            mine: false,
            include_withdrawn: false,
            limit: PAGE,
            cursor: self.cursor.clone(),
        }
    }

    /// Its page in the structure `slug`.
    fn path(&self, slug: &str) -> String {
        let encode = |text: &str| {
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        };
        let mut pairs = Vec::new();
        if !self.words.is_empty() {
            pairs.push(format!("q={}", encode(&self.words)));
        }
        if let Some(tag) = &self.tag {
            pairs.push(format!("etiquette={}", encode(tag)));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(format!("apres={}", encode(cursor)));
        }
        let page = format!("/{slug}/{MODULE}/bibliotheque");
        if pairs.is_empty() {
            page
        } else {
            format!("{page}?{}", pairs.join("&"))
        }
    }
}

/// A query of `class`; none for page 2 when there is no second page.
async fn draw_query(
    corpus: &Corpus,
    class: Class,
    rng: &mut Rng,
    conn: &mut AnyConnection,
    caller: &Caller,
) -> anyhow::Result<Option<Query>> {
    Ok(Some(match class {
        Class::Frequent => Query::of_words(corpus.ranked(rng, FREQUENT)),
        Class::Rare => Query::of_words(corpus.ranked(rng, RARE)),
        Class::TwoWords => {
            let first = corpus.ranked(rng, FREQUENT);
            let second = corpus.ranked(rng, SECOND);
            Query::of_words(&format!("{first} {second}"))
        }
        Class::Tag => Query::of_tag(corpus.tag(rng), ""),
        Class::TagAndWord => Query::of_tag(corpus.tag(rng), corpus.ranked(rng, FREQUENT)),
        Class::Browse => Query::of_words(""),
        Class::NextPage => {
            let word = Query::of_words(corpus.ranked(rng, FREQUENT));
            match second_page(conn, caller, word).await? {
                Some(query) => query,
                None => match second_page(conn, caller, Query::of_words("")).await? {
                    Some(query) => query,
                    None => return Ok(None),
                },
            }
        }
    }))
}

/// `first` with the cursor of its second page (from the host's search, not timed); none
/// when it has one page.
async fn second_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    first: Query,
) -> anyhow::Result<Option<Query>> {
    let page = library::search(conn, caller, &first.spec()).await?;
    Ok(page.next.map(|cursor| Query {
        cursor: Some(cursor),
        ..first
    }))
}

/// One class's timings.
struct Measured {
    class: Class,
    http: Vec<Duration>,
    host: Vec<Duration>,
    /// Entries found, over all its queries.
    results: usize,
}

/// (f): the library seeded, then searched.
async fn search(
    bench: &Bench<'_>,
    client: &mut Connection,
    entries: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let state = bench.state;
    if entries == 0 {
        println!("(f) library search: non mesuré (no entries asked)");
        return Ok(());
    }
    let corpus = Corpus::new();
    let started = Instant::now();
    let mut rng = Rng::new(ENTRY_SEED);
    let now = crate::storage::now_secs();
    let mut texts = 0;
    for start in (0..entries).step_by(SEED_BATCH) {
        let batch: Vec<SeedEntry> = (start..(start + SEED_BATCH).min(entries))
            .map(|i| corpus.entry(&mut rng, i, entries, now, &bench.publishers))
            .collect();
        texts += batch
            .iter()
            .filter(|e| matches!(e.content, SeedContent::Markdown(_)))
            .count();
        let ids = library::seed_for_bench(&state.db, MODULE, &batch).await?;
        anyhow::ensure!(
            ids.len() == batch.len(),
            "{} entries seeded of {}",
            ids.len(),
            batch.len()
        );
    }
    let seeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM library_entries WHERE module_id = $1 AND source_ref LIKE $2",
    )
    .bind(MODULE)
    .bind("banc-%")
    .fetch_one(state.db.pool())
    .await?;
    anyhow::ensure!(
        usize::try_from(seeded).ok() == Some(entries),
        "{seeded} entries in the library, {entries} seeded"
    );
    let visible: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM library_entries
         WHERE module_id = $1 AND withdrawn_at IS NULL AND hidden_at IS NULL",
    )
    .bind(MODULE)
    .fetch_one(state.db.pool())
    .await?;
    println!(
        "(f) {entries} entries from {} structures ({texts} Markdown texts of 1–30 KB, {} files, 0–5 tags of {}) seeded through library::seed_for_bench in {:.1} s",
        bench.publishers.len(),
        entries - texts,
        corpus.tags.len(),
        started.elapsed().as_secs_f64()
    );
    // A served installation refreshes its planner statistics every ten minutes, and
    // PostgreSQL's autovacuum analyses a table after a bulk insert: measure in that
    // steady state, not right after the seeding.
    let started = Instant::now();
    state.db.refresh_planner_statistics().await?;
    if state.db.backend() == Backend::Postgres {
        sqlx::raw_sql("ANALYZE library_entries, library_versions, library_entry_tags")
            .execute(state.db.pool())
            .await?;
    }
    println!(
        "    planner statistics refreshed in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let reader = &bench.reader;
    let caller = Caller::reader(reader.structure_id, MODULE);
    let mut conn = state.db.pool().acquire().await?;
    let mut rng = Rng::new(QUERY_SEED);
    let mut measured: Vec<Measured> = CLASSES
        .iter()
        .map(|class| Measured {
            class: *class,
            http: Vec::new(),
            host: Vec::new(),
            results: 0,
        })
        .collect();
    let mut skipped = 0;
    // Each class once to warm up, then the measured queries.
    for n in 0..CLASSES.len() + queries {
        let class = CLASSES[n % CLASSES.len()];
        let Some(query) = draw_query(&corpus, class, &mut rng, &mut conn, &caller).await? else {
            skipped += 1;
            continue;
        };
        let spec = query.spec();
        let path = query.path(&reader.slug);
        let started = Instant::now();
        let reply = client.get(&path, &reader.cookie).await?;
        let http = started.elapsed();
        anyhow::ensure!(
            reply.status == 200,
            "GET {path} answered {}: {}",
            reply.status,
            excerpt(&reply.body)
        );
        let started = Instant::now();
        let page = library::search(&mut conn, &caller, &spec).await?;
        let host = started.elapsed();
        let shown = reply.body.matches("data-entree=\"").count();
        anyhow::ensure!(
            shown == page.items.len(),
            "GET {path} lists {shown} entries, library::search found {}",
            page.items.len()
        );
        if class == Class::Frequent {
            anyhow::ensure!(!page.items.is_empty(), "GET {path} found nothing");
        }
        if class == Class::Browse {
            let expected = usize::try_from(visible).unwrap_or(0).min(PAGE as usize);
            anyhow::ensure!(
                page.items.len() == expected,
                "browsing lists {} entries, {expected} expected",
                page.items.len()
            );
        }
        if n < CLASSES.len() {
            continue;
        }
        let m = &mut measured[n % CLASSES.len()];
        m.http.push(http);
        m.host.push(host);
        m.results += page.items.len();
    }
    drop(conn);
    let skipped = if skipped > 0 {
        format!(" ({skipped} without a second page skipped)")
    } else {
        String::new()
    };
    println!(
        "(f) library search as a member of a fourth structure, {queries} queries{skipped}: p50 / p95"
    );
    println!(
        "    {:<18} {:>24} {:>24} {:>9}   target p95 < {} ms (HTTP)",
        "class",
        "HTTP page",
        "library::search alone",
        "results",
        SEARCH_TARGET.as_millis()
    );
    for m in &mut measured {
        if m.http.is_empty() {
            println!("    {:<18} none measured", m.class.label());
            continue;
        }
        m.http.sort();
        m.host.sort();
        let p95 = pct(&m.http, 0.95);
        let http = format!("{:.2} / {:.2} ms", ms(pct(&m.http, 0.50)), ms(p95));
        let host = format!(
            "{:.2} / {:.2} ms",
            ms(pct(&m.host, 0.50)),
            ms(pct(&m.host, 0.95))
        );
        let results = m.results as f64 / m.http.len() as f64;
        println!(
            "    {:<18} {http:>24} {host:>24} {results:>9.1}   {}",
            m.class.label(),
            verdict(p95 < SEARCH_TARGET)
        );
    }
    println!(
        "    counts checked: every page lists the entries library::search finds; browsing a page of {PAGE}"
    );
    Ok(())
}
