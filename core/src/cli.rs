//! The `maillage` command line: serve, demo, bench, plugin tools, administration,
//! imports. In the library so that the tests run the very commands an operator types
//! (`cli::run_args`); `main.rs` only sets up logging and the runtime.

use clap::{Parser, Subcommand};

use crate as maillage;
use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "maillage",
    version,
    about = "Coordination platform for CPTS and MSP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform.
    Serve(Config),
    /// Create the demo structures with their modules, then serve.
    Demo {
        /// Seed the demo data, print the structures and accounts, and exit without
        /// serving (a second run changes nothing).
        #[arg(long)]
        seed_only: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Benchmarks (numbers, not pass/fail).
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
    /// Plugin package tools.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
    /// Structures, accounts and invitations, from the command line.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Bulk imports into a structure's module.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Developer tools.
    Dev {
        #[command(subcommand)]
        action: DevCommand,
    },
    /// Copy a running SQLite installation (database, blobs, packages) into a new folder.
    /// With PostgreSQL, prints how to back it up with pg_dump and the bucket.
    Backup {
        /// Folder to write the backup into (created; must be empty).
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        config: Config,
    },
    /// Put a backup back into the data folder (stop the server first).
    Restore {
        /// A folder written by `maillage backup`.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace the database, blobs and packages of a data folder that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Copy this SQLite installation into a new PostgreSQL database or schema (stop the
    /// server first); then serve with DATABASE_URL on the same data folder.
    Migrate {
        /// The PostgreSQL server and database, `postgres://user@host:port/database`.
        #[arg(long)]
        to: String,
        /// Schema to create the tables in (created if missing; default: the server's).
        #[arg(long)]
        to_schema: Option<String>,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// Writes a synthetic RPPS "Personne activité" extract (national layout) for tests
    /// and benchmarks of the directory.
    RppsFixture {
        /// Activity lines to write (the real extract has about 2,000,000).
        #[arg(long, default_value_t = 10_000)]
        lines: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Comma-separated postal codes of the sites (default: a spread of places).
        #[arg(long, default_value = "")]
        postal_codes: String,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Imports the national RPPS "Personne activité" extract into a structure's
    /// directory (module `annuaire`): the professionals of its territory.
    Rpps {
        /// The extract (UTF-8, `|`-separated, header line first).
        file: std::path::PathBuf,
        /// Slug of the structure.
        #[arg(long)]
        structure: String,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a structure (CPTS or MSP).
    CreateStructure {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// cpts or msp
        #[arg(long, default_value = "cpts")]
        kind: String,
        #[arg(long, default_value = "Europe/Paris")]
        time_zone: String,
        /// Postal codes, comma-separated.
        #[arg(long, default_value = "")]
        territory: String,
        #[command(flatten)]
        config: Config,
    },
    /// Invite a person into a structure: mails a link to set a password, and prints it.
    Invite {
        #[arg(long)]
        structure: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, coordinator or member
        #[arg(long, default_value = "member")]
        role: String,
        /// A role declared by a module enabled in the structure, `PLUGIN:ROLE` (e.g.
        /// `annuaire:gestionnaire`); repeatable. An existing account holds it once it
        /// accepts the invitation.
        #[arg(long = "module-role", value_name = "PLUGIN:ROLE")]
        module_roles: Vec<String>,
        #[command(flatten)]
        config: Config,
    },
    /// Enable a module for a structure (installing the bundled first-party package if
    /// no version of it is installed), or change its version and grants.
    EnableModule {
        #[arg(long)]
        structure: String,
        /// Module id, e.g. `annuaire` or `polls`.
        module: String,
        /// An installed version (default: the newest installed).
        #[arg(long)]
        version: Option<String>,
        /// A capability the module asks for and the structure grants (repeatable);
        /// `all` grants everything it asks for.
        #[arg(long = "grant")]
        grants: Vec<String>,
        #[command(flatten)]
        config: Config,
    },
    /// Disable a module for a structure (its data is kept).
    DisableModule {
        #[arg(long)]
        structure: String,
        module: String,
        #[command(flatten)]
        config: Config,
    },
    /// Make an account a platform operator (creating it if needed; prints a link to set
    /// its password when it has none).
    Operator {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Opérateur")]
        name: String,
        #[command(flatten)]
        config: Config,
    },
    /// The national library's moderation: list every module's entries, hide one from the
    /// other structures or show it again (audited in the platform log and the owner's
    /// journal, as the command line).
    Library {
        #[command(subcommand)]
        action: library::LibraryCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The directory: import of a national-size RPPS extract into one territory, and
    /// search latency over HTTP, on SQLite and (given a URL) PostgreSQL.
    Directory {
        /// Lines of the synthetic extract (the real one has about 2,000,000).
        #[arg(long, default_value_t = 2_000_000)]
        lines: usize,
        /// Rounds of the query mix.
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        #[arg(long)]
        postgres_url: Option<String>,
    },
    /// Per-request sandbox cost and plugin vs native requests/s.
    Runtime {
        /// Iterations of the sandbox round-trip.
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
        /// Seconds per throughput measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Date polls: results page latency over HTTP (60 slots × 300 participants) and every
    /// member answering at once, on SQLite and (given a URL) PostgreSQL.
    Polls {
        /// Members answering the poll.
        #[arg(long, default_value_t = 300)]
        participants: usize,
        /// Slots of the poll (2 to 60).
        #[arg(long, default_value_t = 60)]
        slots: usize,
        /// Requests of the results page measured.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// Meetings: closing the attendance of a 30-attendee meeting until its event is
    /// committed, and the personal ICS feed of a member invited to 500 meetings, over
    /// HTTP, on SQLite and (given a URL) PostgreSQL.
    Agenda {
        /// Attendees present at each meeting closed.
        #[arg(long, default_value_t = 30)]
        attendees: usize,
        /// Meetings the feed's member is invited to (at most 2000).
        #[arg(long, default_value_t = 500)]
        meetings: usize,
        /// Meetings closed, and feed requests, measured.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// Indemnities: a 30-attendee closing until its lines are committed, the dry-run of
    /// a rule set over 10,000 past lines, and one rule-set call, over HTTP, on SQLite and
    /// (given a URL) PostgreSQL.
    Indemnity {
        /// Attendees present at each meeting closed.
        #[arg(long, default_value_t = 30)]
        attendees: usize,
        /// Meetings closed (and dry-runs, at most 10) measured.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Past lines the dry-run computes again (at most 20,000).
        #[arg(long, default_value_t = 10_000)]
        lines: usize,
        /// Rule-set calls measured.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, alias = "postgres", env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// Projects: the project page and « Mes tâches » in a structure of 200 projects,
    /// 5,000 tasks and 50,000 thread messages, with the dashboard and the thread's
    /// poller, over HTTP, on SQLite and (given a URL) PostgreSQL.
    Projects {
        /// Projects, each on a working group of 5 to 30 members (at most 9,999).
        #[arg(long, default_value_t = 200)]
        projects: usize,
        /// Tasks, spread evenly over the projects (four time entries each).
        #[arg(long, default_value_t = 5000)]
        tasks: usize,
        /// Thread messages (one project in twenty busy, holding half of them).
        #[arg(long, default_value_t = 50_000)]
        messages: usize,
        /// Requests of each page measured.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// Documents and the national library: a 200 MiB file uploaded to the documents
    /// module (streamed), downloaded, published and downloaded from another structure
    /// (MB/s against a plain read and copy, resident memory), then the library's search
    /// over 10,000 entries by query class, over HTTP, on SQLite and (given a URL)
    /// PostgreSQL.
    Cloud {
        /// Size of the file, in MiB (1 to 1000).
        #[arg(long, default_value_t = 200)]
        size_mib: u64,
        /// Library entries seeded from three structures (60 % Markdown texts, 40 % files).
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        /// Searches measured, spread over the seven query classes.
        #[arg(long, default_value_t = 500)]
        queries: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
    /// Inserts/s and indexed reads/s through a plugin vs sqlx directly, per backend.
    Data {
        /// Plugin calls per measurement.
        #[arg(long, default_value_t = 50)]
        calls: usize,
        /// Statements per call.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Also measure on this PostgreSQL server (a throwaway schema is used).
        #[arg(long, env = "MAILLAGE_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
    },
}

/// What `maillage plugin new` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NewKind {
    /// A module (world maillage:plugin/module): pages, collections, events.
    Module,
    /// An indemnity rule set (world maillage:indemnity/rule-set): a pure function.
    Rules,
    /// The same in Python, built with componentize-py (the example rule set « horaire »).
    RulesPython,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Write a new plugin project (Cargo.toml, rust-toolchain.toml, src with a working
    /// example and unit tests, fixtures for a rule set, a README) into DIR/NAME.
    New {
        /// module or rules.
        #[arg(value_enum)]
        kind: NewKind,
        /// The project's folder and package name, and the module's or rule set's id:
        /// lowercase letters, digits and dashes, 2 to 40, starting with a letter.
        name: String,
        /// The folder to create NAME in (default: the current folder).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// The plugins/sdk folder of a Maillage checkout, which the project depends on
        /// by path (default: the checkout this binary was built from).
        #[arg(long)]
        sdk: Option<std::path::PathBuf>,
    },
    /// Validate a component without installing it: a module (manifest, WIT version) or an
    /// indemnity rule set (its rules WIT version, purity, description); its size; with
    /// --fixtures, every case of a folder against its expected outcome.
    Check {
        file: std::path::PathBuf,
        /// For a rule set: a folder of `*.json` cases, each with its "expected" outcome;
        /// the check fails if one does not give it.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<std::path::PathBuf>,
        #[command(flatten)]
        config: Config,
    },
    /// Run one rule-set call on a case (JSON: meeting, attendee, settings, optionally the
    /// expected outcome) and print the outcome, the time and the fuel it took.
    Run {
        file: std::path::PathBuf,
        /// The case, a JSON file.
        #[arg(long, value_name = "CASE.json")]
        input: std::path::PathBuf,
    },
    /// Validate and install a component into the platform: a module, or an indemnity
    /// rule set (world maillage:indemnity/rule-set), offered to every structure or, with
    /// --structure, to that one only.
    Install {
        file: std::path::PathBuf,
        /// For a rule set: the structure (slug) it is installed for.
        #[arg(long)]
        structure: Option<String>,
        /// For a rule set installed for --structure: put it in force there for meetings
        /// from this date (YYYY-MM-DD), with its default settings (the history is kept).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        #[command(flatten)]
        config: Config,
    },
    /// The web page's dry-run of a rule set over a structure's lines, printed as a table
    /// of differences per person: the rule set is made available to the structure (not
    /// put in force) and nothing else is written.
    DryRun {
        file: std::path::PathBuf,
        /// Slug of the structure (its indemnity module must be enabled).
        #[arg(long)]
        structure: String,
        /// First meeting date of the period (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: String,
        /// Last meeting date of the period (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: String,
        /// Ask as this member, a treasurer or an admin of the structure (default: its
        /// first admin).
        #[arg(long = "as", value_name = "EMAIL")]
        as_email: Option<String>,
        #[command(flatten)]
        config: Config,
    },
}

/// The plugin tools' commands (check, run, install, dry-run).
mod plugin_tools;

/// `maillage admin library list|hide|unhide`.
mod library;

/// Runs the command line `args` (the program name first), as the binary does.
pub async fn run_args<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    run(cli).await
}

/// [`run_args`], returning what the plugin commands (check, run, install, dry-run) and
/// the library's (`admin library`) report instead of printing it: tests read the
/// operator's very output.
pub async fn run_args_captured<I, T>(args: I) -> (anyhow::Result<()>, String)
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let result = plugin_tools::CAPTURED
        .scope(out.clone(), run_args(args))
        .await;
    let text = out.lock().map(|s| s.clone()).unwrap_or_default();
    (result, text)
}

/// The binary's entry: parses the process's arguments (printing help or usage errors
/// as clap does) and runs them.
pub async fn run_process() -> anyhow::Result<()> {
    run(Cli::parse()).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Dev {
            action:
                DevCommand::RppsFixture {
                    lines,
                    seed,
                    postal_codes,
                    output,
                },
        } => {
            let options = maillage::rpps_fixture::FixtureOptions {
                lines,
                seed,
                postal_codes: postal_codes
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            let people = match output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let people = maillage::rpps_fixture::write(&mut file, &options)?;
                    std::io::Write::flush(&mut file)?;
                    people
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    let people = maillage::rpps_fixture::write(&mut out, &options)?;
                    std::io::Write::flush(&mut out)?;
                    people
                }
            };
            eprintln!("{lines} activity lines for {people} professionals");
            Ok(())
        }
        Command::Import {
            what:
                ImportCommand::Rpps {
                    file,
                    structure,
                    config,
                },
        } => import_rpps(&config, &structure, &file).await,
        Command::Backup { to, config } => {
            let summary = maillage::backup::backup(&config, &to).await?;
            println!(
                "backup written to {}: database {} bytes, {} blob file(s), {} package file(s)",
                to.display(),
                summary.database_bytes,
                summary.blob_files,
                summary.package_files
            );
            if summary.blobs_in_bucket {
                println!(
                    "note: blobs are in the S3 bucket {}: back it up with the bucket's tools (versioning, or aws s3 sync)",
                    config.s3_bucket.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Restore {
            from,
            force,
            config,
        } => {
            let summary = maillage::backup::restore(&config, &from, force).await?;
            println!(
                "restored {} into {}: {} blob file(s), {} package file(s)",
                from.display(),
                config.data_dir.display(),
                summary.blob_files,
                summary.package_files
            );
            if summary.blobs_in_bucket {
                println!(
                    "note: blobs are configured in an S3 bucket: copy the backup's blobs/ folder into it if it lost them"
                );
            }
            Ok(())
        }
        Command::Migrate {
            to,
            to_schema,
            config,
        } => {
            let summary = maillage::backup::migrate(&config, &to, to_schema.as_deref()).await?;
            for (table, rows) in &summary.tables {
                println!("  {table}: {rows} row(s)");
            }
            println!(
                "copied {} table(s) into PostgreSQL (plugin collections of: {})",
                summary.tables.len(),
                if summary.plugins.is_empty() {
                    "none".to_string()
                } else {
                    summary.plugins.join(", ")
                }
            );
            let schema = to_schema
                .as_deref()
                .map(|s| format!(" MAILLAGE_DATABASE_SCHEMA={s}"))
                .unwrap_or_default();
            println!(
                "next: serve with DATABASE_URL=<the --to URL>{schema} and the same data folder ({}); blobs and packages stay there{}",
                config.data_dir.display(),
                if config.s3_bucket.is_some() {
                    " and in the bucket"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Serve(config) => serve(config, false).await,
        Command::Demo {
            seed_only: true,
            config,
        } => maillage::demo::seed_only(&config).await,
        Command::Demo {
            seed_only: false,
            config,
        } => serve(config, true).await,
        Command::Bench {
            which:
                BenchCommand::Runtime {
                    iterations,
                    seconds,
                },
        } => {
            maillage::bench::runtime(iterations, std::time::Duration::from_secs_f64(seconds)).await
        }
        Command::Bench {
            which:
                BenchCommand::Directory {
                    lines,
                    rounds,
                    postgres_url,
                },
        } => maillage::bench::directory(lines, rounds, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Polls {
                    participants,
                    slots,
                    rounds,
                    postgres_url,
                },
        } => maillage::bench::polls(participants, slots, rounds, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Agenda {
                    attendees,
                    meetings,
                    rounds,
                    postgres_url,
                },
        } => maillage::bench::agenda(attendees, meetings, rounds, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Indemnity {
                    attendees,
                    rounds,
                    lines,
                    calls,
                    postgres_url,
                },
        } => maillage::bench::indemnity(attendees, rounds, lines, calls, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Projects {
                    projects,
                    tasks,
                    messages,
                    rounds,
                    postgres_url,
                },
        } => maillage::bench::projects(projects, tasks, messages, rounds, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Cloud {
                    size_mib,
                    entries,
                    queries,
                    postgres_url,
                },
        } => maillage::bench::cloud(size_mib, entries, queries, postgres_url).await,
        Command::Bench {
            which:
                BenchCommand::Data {
                    calls,
                    batch,
                    postgres_url,
                },
        } => maillage::bench::data(calls, batch, postgres_url).await,
        Command::Plugin {
            action:
                PluginCommand::Check {
                    file,
                    fixtures,
                    config,
                },
        } => plugin_tools::check(&config, &file, fixtures.as_deref()).await,
        Command::Plugin {
            action: PluginCommand::Run { file, input },
        } => plugin_tools::run(&file, &input).await,
        Command::Plugin {
            action:
                PluginCommand::DryRun {
                    file,
                    structure,
                    from,
                    to,
                    as_email,
                    config,
                },
        } => {
            plugin_tools::dry_run(&config, &file, &structure, &from, &to, as_email.as_deref()).await
        }
        Command::Plugin {
            action:
                PluginCommand::New {
                    kind,
                    name,
                    dir,
                    sdk,
                },
        } => new_plugin(kind, &name, dir, sdk),
        Command::Admin { action } => admin(action).await,
        Command::Plugin {
            action:
                PluginCommand::Install {
                    file,
                    structure,
                    from,
                    config,
                },
        } => plugin_tools::install(&config, &file, structure.as_deref(), from.as_deref()).await,
    }
}

async fn admin(action: AdminCommand) -> anyhow::Result<()> {
    use maillage::audit::{AuditRecord, audit_and_commit};
    use maillage::identity::invitations::{self, Invitation};
    use maillage::tenancy::{Role, StructureKind};
    match action {
        AdminCommand::Library { action } => library::run(action).await,
        AdminCommand::CreateStructure {
            slug,
            name,
            kind,
            time_zone,
            territory,
            config,
        } => {
            let state = maillage::open(&config).await?;
            let kind = StructureKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("kind must be cpts or msp, got {kind:?}"))?;
            // The structure, its territory and the audit entry in one write transaction.
            let mut tx = state.db.begin_write().await?;
            let structure = state
                .db
                .create_structure_in(&mut tx, &slug, &name, kind, &time_zone)
                .await?;
            state
                .db
                .set_territory_in(&mut tx, structure.id, &territory)
                .await?;
            audit_and_commit(
                tx,
                AuditRecord {
                    actor: None,
                    structure_id: None,
                    action: "structure.create",
                    target: &slug,
                    before: None,
                    after: Some(serde_json::json!({"name": name, "time_zone": time_zone})),
                },
            )
            .await?;
            println!("created structure {slug} ({name})");
            Ok(())
        }
        AdminCommand::Invite {
            structure,
            email,
            name,
            role,
            module_roles,
            config,
        } => {
            let module_roles = module_roles
                .iter()
                .map(|value| parse_module_role(value))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let state = maillage::open(&config).await?;
            let structure = state
                .db
                .structure_by_slug(&structure)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no structure with slug {structure:?}"))?;
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("role must be admin, coordinator or member, got {role:?}")
            })?;
            for (plugin, module_role) in &module_roles {
                let Some(module) = state.db.enabled_module(structure.id, plugin).await? else {
                    anyhow::bail!("module {plugin:?} is not enabled in {}", structure.slug);
                };
                let loaded = state
                    .registry
                    .get(&module.plugin_id, &module.version)
                    .await
                    .map_err(|e| anyhow::anyhow!("module {plugin}: {e}"))?;
                if !loaded.manifest().roles.iter().any(|r| &r.id == module_role) {
                    anyhow::bail!("module {plugin:?} declares no role {module_role:?}");
                }
            }
            let invitation = Invitation {
                structure: &structure,
                email: &email,
                display_name: &name,
                role,
                invited_by: None,
            };
            // The invitation (account, membership or offer, link, queued mail), the module
            // roles and the audit entry in one write transaction.
            let mut tx = state.db.begin_write().await?;
            let (account, link) =
                invitations::invite_in(&mut tx, &state.db, &state.public_url, invitation)
                    .await
                    .map_err(|e| anyhow::anyhow!("invitation refused: {e}"))?;
            // Granted now; for an existing account (offer waiting for its consent) the
            // roles count once it accepts (`people::module_roles` joins memberships).
            // No admin grants them: the member's own id stands in `granted_by`.
            let now = maillage::storage::now_secs();
            for (plugin, module_role) in &module_roles {
                maillage::people::set_module_role(
                    &mut tx,
                    structure.id,
                    account.id,
                    plugin,
                    module_role,
                    true,
                    account.id,
                    now,
                )
                .await?;
            }
            let granted: Vec<String> = module_roles
                .iter()
                .map(|(plugin, module_role)| format!("{plugin}:{module_role}"))
                .collect();
            audit_and_commit(
                tx,
                AuditRecord {
                    actor: None,
                    structure_id: Some(structure.id),
                    action: "member.invite",
                    target: &account.email,
                    before: None,
                    after: Some(serde_json::json!({
                        "email": account.email,
                        "role": role.as_str(),
                        "module_roles": granted,
                    })),
                },
            )
            .await?;
            // Deliver now when an SMTP server is configured; the outbox keeps it otherwise.
            let sent = state.mailer.deliver_due().await?;
            println!(
                "invited {} into {} as {}",
                account.email,
                structure.slug,
                role.as_str()
            );
            match link {
                Some(link) => println!("set-password link (valid 7 days): {link}"),
                None => println!("the account already has a password; it was told by mail"),
            }
            if sent == 0 {
                println!("note: the mail waits in the outbox (no SMTP server reached)");
            }
            Ok(())
        }
        AdminCommand::EnableModule {
            structure,
            module,
            version,
            grants,
            config,
        } => {
            let state = maillage::open(&config).await?;
            let structure = structure_by_slug(&state, &structure).await?;
            let enabled = maillage::module_admin::enable_module(
                &state, &structure, &module, version, &grants,
            )
            .await?;
            println!(
                "enabled {} {} for {} with capabilities [{}]",
                enabled.module,
                enabled.version,
                structure.slug,
                enabled.granted.join(", ")
            );
            if !enabled.not_granted.is_empty() {
                println!(
                    "note: not granted: {} (add --grant CAP, or --grant all)",
                    enabled.not_granted.join(", ")
                );
            }
            Ok(())
        }
        AdminCommand::DisableModule {
            structure,
            module,
            config,
        } => {
            let state = maillage::open(&config).await?;
            let structure = structure_by_slug(&state, &structure).await?;
            maillage::module_admin::disable_module(&state, &structure, &module).await?;
            println!(
                "disabled {module} for {} (its data is kept)",
                structure.slug
            );
            Ok(())
        }
        AdminCommand::Operator {
            email,
            name,
            config,
        } => {
            let state = maillage::open(&config).await?;
            // The account (if new), the operator flag, the set-password link and the
            // audit entry in one write transaction.
            let mut tx = state.db.begin_write().await?;
            let existing = state.db.account_by_login_in(&mut tx, &email).await?;
            let account = match existing {
                Some(a) => a,
                None => {
                    state
                        .db
                        .create_account_in(&mut tx, &email, None, &name)
                        .await?
                }
            };
            state
                .db
                .set_platform_operator_in(&mut tx, account.id, true)
                .await?;
            let secret = if account.active {
                None
            } else {
                Some(
                    state
                        .db
                        .issue_token_in(
                            &mut tx,
                            account.id,
                            maillage::identity::TokenPurpose::Invitation,
                        )
                        .await?,
                )
            };
            audit_and_commit(
                tx,
                AuditRecord {
                    actor: None,
                    structure_id: None,
                    action: "account.operator",
                    target: &account.email,
                    before: Some(
                        serde_json::json!({"platform_operator": account.platform_operator}),
                    ),
                    after: Some(serde_json::json!({"platform_operator": true})),
                },
            )
            .await?;
            println!("{} is a platform operator", account.email);
            if let Some(secret) = secret {
                println!(
                    "set-password link (valid 7 days): {}/mot-de-passe/{secret}",
                    state.public_url
                );
            }
            Ok(())
        }
    }
}

async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    // The demo delivers its mail to a local SMTP sink that files it as .eml.
    let mut _sink = None;
    if demo && config.smtp_url.is_none() {
        let folder = config.data_dir.join("courriels");
        let sink = maillage::mail::sink::SmtpSink::start(
            "127.0.0.1:0".parse().expect("static address"),
            Some(folder.clone()),
        )
        .await?;
        config.smtp_url = Some(format!("smtp://{}", sink.addr()));
        println!(
            "Courriels de démonstration : serveur SMTP local {}, messages dans {}",
            sink.addr(),
            folder.display()
        );
        _sink = Some(sink);
    }
    let state = maillage::open(&config).await?;
    if demo {
        maillage::demo::seed(&state).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "Maillage is listening");
    if demo {
        for s in maillage::demo::DEMO_STRUCTURES {
            println!("  {} : http://{addr}/{}/", s.name, s.slug);
        }
        println!(
            "Comptes de démonstration (mot de passe : {}) :",
            maillage::demo::DEMO_PASSWORD
        );
        for a in maillage::demo::DEMO_ACCOUNTS {
            let roles: Vec<String> = a
                .memberships
                .iter()
                .map(|(slug, role, _)| format!("{} de {slug}", role.label().to_lowercase()))
                .collect();
            let what = if a.operator {
                "opérateur de la plateforme".to_string()
            } else {
                roles.join(", ")
            };
            println!("  {:<32} identifiant {:<13} {what}", a.email, a.username);
        }
    }
    println!("Maillage est prêt : http://{addr}/");
    maillage::serve(state, listener).await
}

/// The SDK of the checkout this binary was built from: `plugin new`'s default `--sdk`.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// `maillage plugin new`: writes the project, then says what to run next.
fn new_plugin(
    kind: NewKind,
    name: &str,
    dir: Option<std::path::PathBuf>,
    sdk: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use maillage::scaffold::{self, Kind};
    let sdk = match sdk {
        Some(sdk) => sdk,
        None if std::path::Path::new(BUILT_FROM_SDK).is_dir() => BUILT_FROM_SDK.into(),
        // A Python rule set depends on no SDK (it carries its WIT).
        None if kind == NewKind::RulesPython => std::path::PathBuf::new(),
        None => anyhow::bail!("pass --sdk PATH: the plugins/sdk folder of a Maillage checkout"),
    };
    let parent = dir.unwrap_or_else(|| ".".into());
    let (kind, what) = match kind {
        NewKind::Module => (Kind::Module, "module"),
        NewKind::Rules => (Kind::Rules, "rule set"),
        NewKind::RulesPython => (Kind::PythonRules, "Python rule set"),
    };
    let project = scaffold::new_project(kind, name, &parent, &sdk)?;
    let wasm = format!(
        "target/wasm32-wasip2/release/{}.wasm",
        name.replace('-', "_")
    );
    println!("created the {what} {name} in {}", project.display());
    println!("next, in that folder (see its README.md):");
    println!("  cd {}", project.display());
    if kind == Kind::PythonRules {
        let wasm = format!("{name}.wasm");
        println!("  python3 -m venv .venv && .venv/bin/pip install componentize-py==0.25.1");
        println!(
            "  .venv/bin/componentize-py -d wit -w rule-set componentize --stub-wasi -p src -o {wasm} app"
        );
        println!("  maillage plugin check {wasm} --fixtures fixtures");
        println!("  maillage plugin install {wasm} --structure SLUG");
        println!(
            "  maillage plugin dry-run {wasm} --structure SLUG --from 2025-01-01 --to 2025-12-31"
        );
        return Ok(());
    }
    println!("  cargo test");
    println!("  cargo build --release --target wasm32-wasip2");
    match kind {
        Kind::Module => {
            println!("  maillage plugin check {wasm}");
            println!("  maillage plugin install {wasm}");
            println!("  maillage admin enable-module --structure SLUG {name} --grant all");
        }
        Kind::Rules | Kind::PythonRules => {
            println!("  maillage plugin check {wasm} --fixtures fixtures");
            println!("  maillage plugin install {wasm} --structure SLUG");
            println!(
                "  maillage plugin dry-run {wasm} --structure SLUG --from 2025-01-01 --to 2025-12-31"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod plugin_new_tests {
    use super::{Cli, Command, NewKind, PluginCommand};
    use clap::Parser;

    #[test]
    fn parses_kind_name_dir_and_sdk() {
        let cli = Cli::try_parse_from([
            "maillage",
            "plugin",
            "new",
            "rules",
            "forfait-lac",
            "--dir",
            "/tmp/x",
            "--sdk",
            "/src/maillage/plugins/sdk",
        ])
        .unwrap();
        let Command::Plugin {
            action:
                PluginCommand::New {
                    kind,
                    name,
                    dir,
                    sdk,
                },
        } = cli.command
        else {
            panic!("not plugin new");
        };
        assert_eq!(kind, NewKind::Rules);
        assert_eq!(name, "forfait-lac");
        assert_eq!(dir.unwrap(), std::path::Path::new("/tmp/x"));
        assert_eq!(
            sdk.unwrap(),
            std::path::Path::new("/src/maillage/plugins/sdk")
        );
        let Command::Plugin {
            action: PluginCommand::New { kind, dir, sdk, .. },
        } = Cli::try_parse_from(["maillage", "plugin", "new", "module", "notes"])
            .unwrap()
            .command
        else {
            panic!("not plugin new");
        };
        assert_eq!((kind, dir, sdk), (NewKind::Module, None, None));
        assert!(Cli::try_parse_from(["maillage", "plugin", "new", "widget", "x"]).is_err());
    }

    #[test]
    fn the_default_sdk_is_this_checkout() {
        // The binary under test is built from a checkout: its SDK is there.
        assert!(
            std::path::Path::new(super::BUILT_FROM_SDK)
                .join("Cargo.toml")
                .is_file()
        );
    }
}

/// A `--module-role` value: `plugin:role`, each part lowercase letters, digits and dashes.
fn parse_module_role(value: &str) -> anyhow::Result<(String, String)> {
    let well_formed = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match value.split_once(':') {
        Some((plugin, role)) if well_formed(plugin) && well_formed(role) => {
            Ok((plugin.to_string(), role.to_string()))
        }
        _ => Err(anyhow::anyhow!(
            "--module-role must be PLUGIN:ROLE (lowercase letters, digits and dashes), got {value:?}"
        )),
    }
}

async fn structure_by_slug(
    state: &maillage::http::AppState,
    slug: &str,
) -> anyhow::Result<maillage::tenancy::Structure> {
    state.db.structure_by_slug(slug).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no structure {slug:?}: create it with `maillage admin create-structure --slug {slug} --name …`"
        )
    })
}

/// `maillage import rpps`: runs the import with a progress bar on stderr.
async fn import_rpps(config: &Config, slug: &str, file: &std::path::Path) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    let state = maillage::open(config).await?;
    let structure = structure_by_slug(&state, slug).await?;
    if state
        .db
        .enabled_module(structure.id, "annuaire")
        .await?
        .is_none()
    {
        anyhow::bail!(
            "the directory (module annuaire) is not enabled for {slug}: run `maillage admin enable-module --structure {slug} annuaire --grant all` first"
        );
    }
    let size = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .len();
    let progress = std::sync::Arc::new(maillage::imports::Progress::new(size));
    let shown = progress.clone();
    let bar = tokio::spawn(async move {
        loop {
            let done = shown.per_mille() as usize;
            let filled = done * 30 / 1000;
            let phase = match shown.state() {
                maillage::imports::JobState::Applying => "writing",
                _ => "reading",
            };
            eprint!(
                "\r[{}{}] {:>3}% {} lines, {} on the territory ({phase})   ",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                done / 10,
                shown.lines.load(Ordering::Relaxed),
                shown.kept.load(Ordering::Relaxed),
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = maillage::imports::run(
        &state,
        &structure,
        "annuaire",
        &maillage::imports::Importer::CommandLine,
        file,
        &name,
        &progress,
    )
    .await;
    bar.abort();
    eprintln!();
    let summary = match outcome {
        Ok(summary) => summary,
        Err(maillage::imports::ImportError::TooManyBadLines {
            errors, bad, lines, ..
        }) => {
            for (line, reason) in errors.iter().take(20) {
                eprintln!("line {line}: {reason}");
            }
            anyhow::bail!("{bad} malformed line(s) out of {lines}: nothing was imported");
        }
        Err(e) => return Err(e.into()),
    };
    for (line, reason) in &summary.errors {
        eprintln!("line {line}: {reason} (skipped)");
    }
    let applied = &summary.applied;
    // The module's own remarks (French, for the gestionnaire), as they are.
    for notice in applied["notices"].as_array().into_iter().flatten() {
        if let Some(text) = notice.as_str() {
            println!("note: {text}");
        }
    }
    println!(
        "imported in {:.1} s: {} lines read, {} on the territory, {} professionals, {} new arrivals, {} departures, {} malformed line(s) skipped",
        summary.elapsed.as_secs_f64(),
        summary.lines,
        summary.kept_lines,
        applied["people"],
        applied["arrivals"],
        applied["departures"],
        summary.bad_lines,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_module_role;

    #[test]
    fn module_roles_are_plugin_colon_role() {
        assert_eq!(
            parse_module_role("annuaire:gestionnaire").unwrap(),
            ("annuaire".to_string(), "gestionnaire".to_string())
        );
        for bad in [
            "annuaire",
            "annuaire:",
            ":gestionnaire",
            "Annuaire:gestionnaire",
            "a:b:c",
            "a: b",
        ] {
            let e = parse_module_role(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
