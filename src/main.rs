//! The `telbridge` binary: parses the command line, sets up logging, signals and the
//! one tokio runtime, and hands over to [`telbridge::agent::run`].

use std::process::ExitCode;
use telbridge::agent::Ended;
use telbridge::cli::{self, Cli};
use telbridge::config::Config;
use tokio_util::sync::CancellationToken;

/// With the `mimalloc` feature, a static musl build allocates with mimalloc: with musl's own
/// allocator the agent spends ~40 % more CPU per event on one event per request and ~70 % more
/// on batches, but returns large blocks to the kernel at once, where mimalloc keeps them
/// (x86_64 musl, README "Measured"). Its arenas are committed as they are used
/// (`.cargo/config.toml`).
#[cfg(all(feature = "mimalloc", target_env = "musl"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("telbridge: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match cli {
        Cli::Version => {
            println!("telbridge {}", telbridge::version::version());
            ExitCode::SUCCESS
        }
        Cli::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Cli::CheckConfig { config } => match Config::load(&config) {
            Ok(c) => {
                println!("{}: ok (agent {}, broker {}:{})", config.display(), c.agent.id, c.mqtt.host, c.mqtt.port);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", config.display());
                ExitCode::from(1)
            }
        },
        Cli::Run { config } => run(config),
        Cli::WatchUpdate { dir } => telbridge::update::watch::run(&dir),
        Cli::Keygen { key } => tool(telbridge::update::tools::keygen(&key)),
        Cli::Sign { key, file, version, target } => {
            tool(telbridge::update::tools::sign(&key, &file, &version, &target))
        }
        Cli::Restamp { out, version, fail_start } => {
            tool(telbridge::update::tools::restamp(&out, &version, fail_start))
        }
    }
}

/// A release tool's outcome: its output on stdout, or its error.
fn tool(r: Result<String, String>) -> ExitCode {
    match r {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("telbridge: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(config: std::path::PathBuf) -> ExitCode {
    // Every record passes the logger, which masks secrets; `log::max_level` (config,
    // `agent.log_level`) filters.
    let logger = simple_logger::SimpleLogger::new().with_level(log::LevelFilter::Trace);
    let _ = log::set_boxed_logger(Box::new(telbridge::scrub::Scrubbing(logger)));
    log::set_max_level(log::LevelFilter::Info);
    if let Err(e) = telbridge::update::follow_watcher() {
        eprintln!("telbridge: {e}; not starting");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers()).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telbridge: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(on_signals(shutdown.clone()));
        match telbridge::agent::run(&config, shutdown).await {
            Ok(Ended::Stopped) => {
                log::info!("stopped");
                ExitCode::SUCCESS
            }
            Ok(Ended::Promote) => ExitCode::from(telbridge::update::PROMOTE),
            Ok(Ended::Exec(argv)) => {
                use std::os::unix::process::CommandExt;
                let Some((program, args)) = argv.split_first() else { return ExitCode::from(1) };
                log::warn!("replacing this process with {}", program.to_string_lossy());
                let err = std::process::Command::new(program).args(args).exec();
                log::error!("cannot exec {}: {err}", program.to_string_lossy());
                ExitCode::from(1)
            }
            Err(e) => {
                log::error!("{e:#}");
                ExitCode::from(1)
            }
        }
    })
}

/// The first SIGTERM or SIGINT starts a graceful stop; a second one exits at once.
async fn on_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        log::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    for round in 0..2 {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if round == 0 {
            log::info!("signal received: stopping (again to exit at once)");
            shutdown.cancel();
        }
    }
    std::process::exit(130);
}

/// The runtime's worker threads: one per core, at most two (the store's writer has a
/// thread of its own). On a single-core router a second worker only adds wake-ups.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(2)
}
