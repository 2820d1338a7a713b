//! `telbridge-sim`: device and vendor simulators for tests and for trying telbridge
//! without hardware. `telbridge-sim goip [options]` serves a simulated GoIP gateway,
//! `telbridge-sim fax [options]` a WaveFax server; each prints `listening on ADDR` once it
//! accepts connections.

use std::process::ExitCode;
use std::time::Duration;
use telbridge::connectors::goip::protocol::crypto::AuthOrder;
use telbridge::http::Router;
use telbridge::sim::goip::{Options, Sim, state::Rules};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const USAGE: &str = "usage: telbridge-sim goip [--listen ADDR] [--user U] [--password P] [--ports N] [--slots N]
                          [--auth-order path-seq|seq-path] [--session-only] [--session-path PATH]
                          [--fail-suffix DIGITS] [--send-interval-ms N] [--post-delay-ms N]
  Simulates an EJOIN/GoIP gateway (see docs/simulators.md). Defaults: 127.0.0.1:0, admin/admin,
  8 ports x 4 slots, path-seq, plain and session accepted, fail suffix 666, 100 ms per send.
       telbridge-sim fax [--listen ADDR] [--user U] [--password P] [--token-ttl-secs N] [--step-ms N]
                         [--submit-delay-ms N]
  Simulates a WaveFax server. Defaults: 127.0.0.1:0, ops/ops, tokens live 600 s, a job state step
  every 200 ms; numbers ending 444 are busy, 555 time out; submissions answered at once.
";

/// Which simulator, configured.
enum Choice {
    Goip(Options),
    Fax(telbridge::sim::fax::Options),
}

fn parse_fax(args: &[String]) -> Result<(String, Choice), String> {
    let mut opts = telbridge::sim::fax::Options {
        user: "ops".into(),
        password: "ops".into(),
        token_ttl: Duration::from_secs(600),
        step: Duration::from_millis(200),
        submit_delay: Duration::ZERO,
    };
    let mut listen = "127.0.0.1:0".to_string();
    each_flag(args, &[], |flag, value| {
        let value = value.unwrap_or_default();
        match flag {
            "--listen" => listen = value.to_string(),
            "--user" => opts.user = value.to_string(),
            "--password" => opts.password = value.to_string(),
            "--token-ttl-secs" => opts.token_ttl = Duration::from_secs(number(flag, value)?),
            "--step-ms" => opts.step = Duration::from_millis(number(flag, value)?.max(1)),
            "--submit-delay-ms" => opts.submit_delay = Duration::from_millis(number(flag, value)?),
            _ => return Err(format!("unknown option {flag}")),
        }
        Ok(())
    })?;
    Ok((listen, Choice::Fax(opts)))
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a number"))
}

/// Walks `--flag value` pairs (and the bare `switches`), calling `f` for each.
fn each_flag(
    args: &[String],
    switches: &[&str],
    mut f: impl FnMut(&str, Option<&str>) -> Result<(), String>,
) -> Result<(), String> {
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if switches.contains(&flag.as_str()) {
            f(flag, None)?;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        f(flag, Some(value))?;
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<(String, Choice), String> {
    if args.first().is_some_and(|a| a == "fax") {
        return parse_fax(&args[1..]);
    }
    let mut opts = Options {
        user: "admin".into(),
        password: "admin".into(),
        rules: Rules { max_ports: 8, max_slots: 4, fail_suffix: "666".into() },
        order: AuthOrder::PathThenSeq,
        session_only: false,
        session_path: "/crypt_sess.json".into(),
        send_interval: Duration::from_millis(100),
        post_delay: Duration::ZERO,
    };
    let mut listen = "127.0.0.1:0".to_string();
    match args.first().map(String::as_str) {
        Some("goip") => {}
        Some(other) => return Err(format!("unknown simulator {other:?} (this build has: goip, fax)")),
        None => return Err("which simulator?".into()),
    }
    each_flag(&args[1..], &["--session-only"], |flag, value| {
        let value = value.unwrap_or_default();
        match flag {
            "--session-only" => opts.session_only = true,
            "--listen" => listen = value.to_string(),
            "--user" => opts.user = value.to_string(),
            "--password" => opts.password = value.to_string(),
            "--ports" => opts.rules.max_ports = number(flag, value)?.clamp(1, 64) as u16,
            "--slots" => opts.rules.max_slots = number(flag, value)?.clamp(1, 8) as u8,
            "--fail-suffix" => opts.rules.fail_suffix = value.to_string(),
            "--session-path" => opts.session_path = value.to_string(),
            "--post-delay-ms" => opts.post_delay = Duration::from_millis(number(flag, value)?),
            "--send-interval-ms" => opts.send_interval = Duration::from_millis(number(flag, value)?.max(1)),
            "--auth-order" => {
                opts.order = match value {
                    "path-seq" => AuthOrder::PathThenSeq,
                    "seq-path" => AuthOrder::SeqThenPath,
                    _ => return Err("--auth-order is path-seq or seq-path".into()),
                }
            }
            _ => return Err(format!("unknown option {flag}")),
        }
        Ok(())
    })?;
    Ok((listen, Choice::Goip(opts)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (listen, choice) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("telbridge-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _ = simple_logger::SimpleLogger::new().with_level(log::LevelFilter::Info).init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telbridge-sim: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("telbridge-sim: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        let router: Router = match choice {
            Choice::Goip(opts) => {
                let sim = Sim::new(opts);
                sim.spawn();
                sim.router()
            }
            Choice::Fax(opts) => {
                let sim = telbridge::sim::fax::Sim::new(opts);
                sim.spawn();
                sim.router()
            }
        };
        match listener.local_addr() {
            Ok(addr) => println!("listening on {addr}"),
            Err(e) => eprintln!("telbridge-sim: {e}"),
        }
        let limits = telbridge::http::Limits { max_body_bytes: 64 << 20, request_timeout: Duration::from_secs(60) };
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            s.cancel();
        });
        telbridge::http::serve(listener, router, limits, stop, TaskTracker::new()).await;
        ExitCode::SUCCESS
    })
}
