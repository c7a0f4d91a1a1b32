//! The `maillage` binary: serve, demo, bench, plugin tools.

use clap::{Parser, Subcommand};
use maillage::config::Config;

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
    Demo(Config),
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
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Per-request sandbox cost and plugin vs native requests/s.
    Runtime {
        /// Iterations of the sandbox round-trip.
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
        /// Seconds per throughput measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Validate a component (manifest, WIT version) without installing it.
    Check {
        file: std::path::PathBuf,
        #[command(flatten)]
        config: Config,
    },
    /// Validate and install a component into the platform.
    Install {
        file: std::path::PathBuf,
        #[command(flatten)]
        config: Config,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(config) => serve(config, false).await,
        Command::Demo(config) => serve(config, true).await,
        Command::Bench {
            which:
                BenchCommand::Runtime {
                    iterations,
                    seconds,
                },
        } => {
            maillage::bench::runtime(iterations, std::time::Duration::from_secs_f64(seconds)).await
        }
        Command::Plugin {
            action: PluginCommand::Check { file, config },
        } => {
            let state = maillage::open(&config).await?;
            let wasm = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let plugin = state.registry.runtime().load(&wasm).await?;
            let m = plugin.manifest();
            println!(
                "ok: {} {} (\"{}\"), maillage:plugin@{}, capabilities: [{}]",
                m.id,
                m.version,
                m.name,
                plugin.wit_version(),
                m.capabilities
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
        Command::Plugin {
            action: PluginCommand::Install { file, config },
        } => {
            let state = maillage::open(&config).await?;
            let wasm = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let plugin = state.registry.install(&wasm).await?;
            println!(
                "installed {} {}",
                plugin.manifest().id,
                plugin.manifest().version
            );
            Ok(())
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
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
    }
    println!("Maillage est prêt : http://{addr}/");
    maillage::serve(state, listener).await
}
