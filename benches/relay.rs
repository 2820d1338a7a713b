//! `cargo bench --bench relay`: relay throughput from the HTTP ingress to PUBACK, next
//! to a plain rumqttc QoS 1 publisher against the same mosquitto in the same run; per
//! event the agent's CPU, store commits and those of them that waited for an fsync of the
//! WAL, and bytes written to disk (`/proc/PID/io` `write_bytes`, and `cancelled_write_bytes`:
//! written to temp files deleted before write-back); with valgrind
//! installed, **instructions per event** under callgrind (they repeat exactly from run to
//! run, unlike times: the headline figure); the agent's idle and peak RSS; the stripped
//! release binary's size. Prints numbers only; nothing is asserted (these machines are
//! noisy). `BENCH_CALLGRIND=0` skips the callgrind runs.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EVENTS: usize = 20_000;
/// The stored envelope of one bench event (id, seq, ts, source, type, data), about.
const ENVELOPE: usize = 300;
/// Events per callgrind run (valgrind runs ~50x slower).
const CALLGRIND_EVENTS: usize = 2_000;
const PAYLOAD: usize = 200;

/// Rounds of (plain publisher, agent) run alternately; medians are reported, so a noisy
/// neighbour on the machine skews one round, not the result. `BENCH_ROUNDS=0` runs only
/// the instruction counts.
fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

fn main() {
    let dir = temp_dir("bench");
    let broker = Mosquitto::start(&dir);
    let insn = Counter::from_env();
    // `BENCH_ONLY=batched`, `single`, `kept`, `lone` or `trickle` runs one of the loads. The
    // lone client posts its next event as soon as the last is answered: every event its own
    // request and its own commit. The trickle is the field's usual load: events further apart
    // than a commit's wait for company, so every delete after PUBACK is a commit of its own as
    // well. `single` opens a connection for every request, as devices do; `kept` sends the
    // same requests on connections kept open, as a client with a connection pool does.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let loads = [
        Load { name: "batched", label: "batches of 100, 4 clients", batch: 100, clients: 4, gap: None, kept: false },
        Load {
            name: "single",
            label: "one event per request, 8 clients",
            batch: 1,
            clients: 8,
            gap: None,
            kept: false,
        },
        Load {
            name: "kept",
            label: "one event per request, 8 clients on kept connections",
            batch: 1,
            clients: 8,
            gap: None,
            kept: true,
        },
        Load { name: "lone", label: "one event per request, 1 client", batch: 1, clients: 1, gap: None, kept: false },
        Load {
            name: "trickle",
            label: "one event every 20 ms, 1 client",
            batch: 1,
            clients: 1,
            gap: Some(Duration::from_millis(20)),
            kept: false,
        },
    ];
    for load in loads {
        let (name, label) = (load.name, load.label);
        if !only.is_empty() && only != name {
            continue;
        }
        if let Counter::Qemu { qemu, agent } = &insn {
            // Under emulation only the instruction count means anything.
            match instructions(&insn, &dir, broker.port, &load) {
                Ok(per_event) => {
                    println!("{label}: {per_event:.0} guest instructions per event ({agent} under {qemu})")
                }
                Err(why) => println!("{label}: instructions not measured ({why})"),
            }
            continue;
        }
        let events = load.events();
        let rounds = rounds();
        let (mut plain, mut agent_rates, mut cpu, mut idle, mut peak) = (vec![], vec![], vec![], 0, 0);
        let (mut commits, mut synced, mut written, mut cancelled, mut idle_anon) = (vec![], vec![], vec![], vec![], 0);
        let (mut kernel, mut load_cpu, mut broker_cpu) = (vec![], vec![], vec![]);
        let mut by_thread: Vec<Vec<(String, f64)>> = vec![];
        for round in 0..rounds {
            // A trickle's rate is its pace: no reference for it.
            if load.gap.is_none() {
                plain.push(plain_publisher(broker.port, events));
            }
            let run_dir = dir.join(format!("{}-{round}", label.replace([' ', ','], "_")));
            std::fs::create_dir_all(&run_dir).expect("dir");
            let http = free_port();
            let extra = std::env::var("BENCH_MQTT").unwrap_or_default();
            let config = write_config(&run_dir, "bench", broker.port, http, &extra, "");
            let text = std::fs::read_to_string(&config).expect("config").replace("\"debug\"", "\"info\"");
            std::fs::write(&config, text).expect("config");
            let agent = match bench_agent() {
                Some(exe) => Agent::start_exe(std::path::Path::new(&exe), &config, http),
                None => Agent::start(&config, http),
            };
            let pid = agent.pid().expect("pid");
            std::thread::sleep(Duration::from_millis(500));
            idle = idle.max(rss_kb(pid, "VmRSS"));
            // The rest of the RSS is clean pages of the binary and libraries (shared, given
            // back by the kernel under pressure): what the agent itself holds is anonymous.
            idle_anon = idle_anon.max(rss_kb(pid, "RssAnon"));
            // The same load once before measuring: an agent that has been running, whose
            // store file has grown to its working size (a new file's first minutes write
            // more: see docs/store.md).
            relay(http, events, &load);
            let (cpu_before, commits_before, synced_before, written_before, cancelled_before) = (
                cpu_secs(pid),
                counter(http, "telbridge_store_commits_total"),
                counter(http, "telbridge_store_synced_commits_total"),
                io(pid, "write_bytes"),
                io(pid, "cancelled_write_bytes"),
            );
            let (load_before, broker_before) = (cpu_secs(std::process::id()).0, cpu_secs(broker.pid()).0);
            let threads_before = thread_cpu(pid);
            agent_rates.push(relay(http, events, &load));
            let cpu_after = cpu_secs(pid);
            by_thread.push(split_by_name(&threads_before, &thread_cpu(pid), cpu_after.0 - cpu_before.0, events));
            load_cpu.push((cpu_secs(std::process::id()).0 - load_before) / events as f64 * 1e6);
            broker_cpu.push((cpu_secs(broker.pid()).0 - broker_before) / events as f64 * 1e6);
            cpu.push((cpu_after.0 - cpu_before.0) / events as f64 * 1e6);
            kernel.push((cpu_after.1 - cpu_before.1) / events as f64 * 1e6);
            let per_100 = |name: &str, before: u64| (counter(http, name) - before) as f64 * 100.0 / events as f64;
            commits.push(per_100("telbridge_store_commits_total", commits_before));
            synced.push(per_100("telbridge_store_synced_commits_total", synced_before));
            written.push((io(pid, "write_bytes") - written_before) as f64 / events as f64);
            // Written to files deleted or truncated before the kernel wrote them back (SQLite's
            // temp files): they never reached the disk.
            cancelled.push((io(pid, "cancelled_write_bytes") - cancelled_before) as f64 / events as f64);
            peak = peak.max(rss_kb(pid, "VmHWM"));
        }
        if rounds > 0 {
            let a = median(&mut agent_rates);
            println!(
                "{label} ({events} events of ~{PAYLOAD} B, median of {rounds} alternating rounds, each after a warm-up of as many):"
            );
            let share = if load.gap.is_none() {
                let p = median(&mut plain);
                println!("  plain rumqttc QoS 1 publisher, same broker: {p:>9.0} msg/s");
                format!(" = {:.0} % of plain", a / p * 100.0)
            } else {
                String::new()
            };
            println!("  agent, HTTP ingress to PUBACK:              {a:>9.0} events/s{share}");
            println!(
                "  agent CPU per event: {:.1} us ({:.1} us of it in the kernel); RSS idle {idle} KB ({idle_anon} KB anonymous), peak {peak} KB",
                median(&mut cpu),
                median(&mut kernel)
            );
            // Where the agent's CPU went, by thread name (the middle round's split).
            let split = by_thread.get(by_thread.len() / 2).cloned().unwrap_or_default();
            let split: Vec<String> = split.iter().map(|(name, us)| format!("{name} {us:.1}")).collect();
            println!("  of it by thread, us per event: {}", split.join(", "));
            // The machine is shared: what the load generator and the broker spend beside the agent.
            println!(
                "  beside it, per event: load generator {:.1} us, mosquitto {:.1} us of CPU ({} cores here)",
                median(&mut load_cpu),
                median(&mut broker_cpu),
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
            );
            let (gross, gone) = (median(&mut written), median(&mut cancelled));
            println!(
                "  store commits per 100 events: {:.2}, fsynced {:.2}; bytes written per event: {:.0} ({:.1}x the ~{ENVELOPE} B envelope), {gone:.0} of them to files gone before write-back",
                median(&mut commits),
                median(&mut synced),
                gross,
                gross / ENVELOPE as f64
            );
        } else {
            println!("{label}:");
        }
        if std::env::var("BENCH_CALLGRIND").map(|v| v != "0").unwrap_or(true) {
            match instructions(&insn, &dir, broker.port, &load) {
                Ok(per_event) => println!("  instructions per event (callgrind, whole agent): {per_event:.0}"),
                Err(why) => println!("  instructions per event: not measured ({why})"),
            }
        }
    }
    match bench_agent() {
        Some(exe) => {
            let size = std::fs::metadata(&exe).map(|m| m.len()).unwrap_or(0);
            println!("telbridge binary {exe}: {size} bytes");
        }
        None => {
            let size = std::fs::metadata(env!("CARGO_BIN_EXE_telbridge")).map(|m| m.len()).unwrap_or(0);
            println!("telbridge binary (bench profile = release, stripped): {size} bytes");
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Publishes `n` QoS 1 messages and waits for every PUBACK; returns messages/s.
fn plain_publisher(port: u16, n: usize) -> f64 {
    let mut opts = rumqttc::MqttOptions::new("bench-plain", "127.0.0.1", port);
    opts.set_inflight(64);
    let (client, mut conn) = rumqttc::Client::new(opts, 128);
    let payload = vec![b'x'; PAYLOAD];
    let start = Instant::now();
    std::thread::spawn(move || {
        for _ in 0..n {
            client.publish("bench/plain", rumqttc::QoS::AtLeastOnce, false, payload.clone()).expect("publish");
        }
    });
    let mut acked = 0;
    for event in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = event {
            acked += 1;
            if acked == n {
                break;
            }
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A load: `clients` threads posting requests of `batch` events, each after the last was
/// answered and `gap` more; each request on a connection of its own, or all of a client's on
/// one (`kept`).
struct Load {
    name: &'static str,
    label: &'static str,
    batch: usize,
    clients: usize,
    gap: Option<Duration>,
    kept: bool,
}

impl Load {
    /// Events per timed run: about as many seconds for each load.
    fn events(&self) -> usize {
        match (self.batch, self.clients, self.gap) {
            (_, _, Some(_)) => EVENTS / 40,
            (1, 1, None) => EVENTS / 8,
            (1, _, None) => EVENTS / 4,
            _ => EVENTS,
        }
    }
}

/// Posts `n` events as `load` says; waits until the agent counted them all as acknowledged
/// by the broker; returns events/s.
fn relay(http: u16, n: usize, load: &Load) -> f64 {
    let (batch, clients, gap, kept) = (load.batch, load.clients, load.gap, load.kept);
    let base = counter(http, "telbridge_events_out_total");
    let start = Instant::now();
    let per_client = n / clients;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let pad = "x".repeat(PAYLOAD - 60);
                let mut connection = kept.then(|| common::http::Kept::connect(http).expect("connect"));
                for b in 0..per_client / batch {
                    let body: Vec<Value> = (0..batch)
                        .map(|i| json!({"source": format!("bench/{c}"), "type": "bench.event", "data": {"i": b * batch + i, "pad": pad}}))
                        .collect();
                    let body = Value::Array(body);
                    let reply = match connection.as_mut() {
                        Some(c) => c.post_json("/v1/events", TOKEN, &body),
                        None => common::http::post_json(http, "/v1/events", Some(TOKEN), &body),
                    }
                    .expect("post");
                    assert_eq!(reply.status, 200);
                    if let Some(gap) = gap {
                        std::thread::sleep(gap);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let total = (per_client / batch * batch * clients) as u64;
    wait_for(Duration::from_secs(300), "all events acknowledged", || {
        (counter(http, "telbridge_events_out_total") >= base + total).then_some(())
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// A counter from `/metrics`; 0 where the agent has none (an older build).
fn counter(http: u16, name: &str) -> u64 {
    common::http::metric(http, name).unwrap_or(0)
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The agent's CPU time so far (user and kernel), and the kernel's part, in seconds.
fn cpu_secs(pid: u32) -> (f64, f64) {
    let (_, user, kernel) = stat_cpu(&format!("/proc/{pid}/stat")).unwrap_or_default();
    (user + kernel, kernel)
}

/// The name, user and kernel CPU seconds in a process's or thread's `stat` file (utime and
/// stime are its fields 14 and 15, the 12th and 13th after the name).
fn stat_cpu(path: &str) -> Option<(String, f64, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(').map_or("?", |(_, n)| n).to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    Some((name, ticks(11), ticks(12)))
}

/// `BENCH_AGENT`: another build of the agent to run (the static musl one `cross/build.sh`
/// makes, or one with symbols to profile); unset or empty, the bench's own.
fn bench_agent() -> Option<String> {
    std::env::var("BENCH_AGENT").ok().filter(|exe| !exe.is_empty())
}

/// Each thread's name and CPU seconds (user and kernel), by thread id.
fn thread_cpu(pid: u32) -> std::collections::BTreeMap<String, (String, f64)> {
    let mut threads = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return threads };
    for task in tasks.flatten() {
        if let Some((name, user, kernel)) = stat_cpu(&task.path().join("stat").to_string_lossy()) {
            threads.insert(task.file_name().to_string_lossy().into_owned(), (name, user + kernel));
        }
    }
    threads
}

/// The CPU between two [`thread_cpu`] readings in us per event, summed by thread name (the
/// runtime's workers and its blocking pool share one name), and what threads that ended in
/// between used (the process's total less the threads still there). Ticks are 10 ms: a few us
/// per event on the shorter loads.
fn split_by_name(
    before: &std::collections::BTreeMap<String, (String, f64)>,
    after: &std::collections::BTreeMap<String, (String, f64)>,
    total: f64,
    events: usize,
) -> Vec<(String, f64)> {
    let mut by_name = std::collections::BTreeMap::<String, f64>::new();
    for (tid, (name, secs)) in after {
        let was = before.get(tid).map_or(0.0, |(_, s)| *s);
        *by_name.entry(name.clone()).or_default() += secs - was;
    }
    let ended = total - by_name.values().sum::<f64>();
    by_name.insert("threads that ended".into(), ended.max(0.0));
    by_name.into_iter().map(|(name, secs)| (name, secs / events as f64 * 1e6)).collect()
}

/// A counter of `/proc/PID/io`.
fn io(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}: "))).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Where instructions are counted: callgrind on this machine, or the guest instructions of
/// a cross-built agent under qemu-user (`BENCH_QEMU` = the qemu binary, `BENCH_AGENT` = the
/// agent built for its target), through the plugin in `benches/qemu-insn.c`.
enum Counter {
    Callgrind,
    Qemu { qemu: String, agent: String },
}

impl Counter {
    fn from_env() -> Counter {
        match (std::env::var("BENCH_QEMU"), bench_agent()) {
            (Ok(qemu), Some(agent)) if !qemu.is_empty() => Counter::Qemu { qemu, agent },
            _ => Counter::Callgrind,
        }
    }

    /// The shell line that runs the agent with its instructions counted into `out`.
    fn wrapper(&self, dir: &std::path::Path, out: &std::path::Path) -> Result<String, String> {
        match self {
            Counter::Callgrind => {
                let ok =
                    std::process::Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
                if !ok {
                    return Err("valgrind is not installed".into());
                }
                let agent = bench_agent().unwrap_or_else(|| env!("CARGO_BIN_EXE_telbridge").into());
                Ok(format!("valgrind --tool=callgrind --callgrind-out-file={} {agent}", out.display()))
            }
            Counter::Qemu { qemu, agent } => {
                let plugin = dir.join("qemu-insn.so");
                let source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/qemu-insn.c");
                let built = std::process::Command::new("cc")
                    .args(["-shared", "-fPIC", "-O2", "-o", &plugin.display().to_string(), source, "-lpthread"])
                    .status()
                    .map_err(|e| format!("cc: {e}"))?;
                if !built.success() {
                    return Err("the qemu plugin did not build".into());
                }
                Ok(format!("{qemu} -plugin {},out={} {agent}", plugin.display(), out.display()))
            }
        }
    }

    /// The agent's instruction count so far (callgrind: its counters are zeroed at the
    /// first call, dumped at the second).
    fn read(&self, pid: u32, dir: &std::path::Path, out: &std::path::Path, first: bool) -> Result<u64, String> {
        match self {
            Counter::Callgrind => {
                let arg = if first { "-z" } else { "-d" };
                std::process::Command::new("callgrind_control")
                    .args([arg, &pid.to_string()])
                    .output()
                    .map_err(|e| format!("callgrind_control: {e}"))?;
                if first {
                    return Ok(0);
                }
                std::thread::sleep(Duration::from_secs(1));
                callgrind_total(dir)
            }
            Counter::Qemu { .. } => {
                // The plugin writes the total every 20 ms.
                std::thread::sleep(Duration::from_millis(100));
                let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
                text.trim().parse().map_err(|e| format!("count {text:?}: {e}"))
            }
        }
    }
}

/// Instructions per event of the whole agent (every thread), counted from when the agent
/// is up to the end of the load.
fn instructions(counter: &Counter, dir: &std::path::Path, broker: u16, load: &Load) -> Result<f64, String> {
    let label = load.label;
    // The trickle runs in real time: fewer of its events (the agent idles between them).
    let events = if load.gap.is_some() { CALLGRIND_EVENTS / 4 } else { CALLGRIND_EVENTS };
    let run_dir = dir.join(format!("instructions-{}", label.replace([' ', ','], "_")));
    std::fs::create_dir_all(&run_dir).map_err(|e| e.to_string())?;
    let out = run_dir.join("count.out");
    let script = run_dir.join("counted.sh");
    let wrapper = counter.wrapper(&run_dir, &out)?;
    std::fs::write(&script, format!("#!/bin/sh\nexec {wrapper} \"$@\"\n")).map_err(|e| e.to_string())?;
    std::process::Command::new("chmod")
        .args(["+x", &script.display().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    let http = free_port();
    let config = write_config(&run_dir, "bench", broker, http, "", "");
    let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?.replace("\"debug\"", "\"info\"");
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let mut agent = Agent::start_exe(&script, &config, http);
    std::thread::sleep(Duration::from_secs(2));
    let pid = agent.pid().ok_or("no pid")?;
    let before = counter.read(pid, &run_dir, &out, true)?;
    relay(http, events, load);
    let after = counter.read(pid, &run_dir, &out, false)?;
    agent.kill();
    Ok(after.saturating_sub(before) as f64 / events as f64)
}

/// The total of callgrind's dump after zeroing: the file with the highest part number.
fn callgrind_total(dir: &std::path::Path) -> Result<u64, String> {
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("count.out")))
        .collect();
    parts.sort();
    let dump = parts.iter().rev().find(|p| p.extension().is_some_and(|e| e.to_string_lossy().parse::<u32>().is_ok()));
    let text = std::fs::read_to_string(dump.ok_or("no callgrind dump")?).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: ")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no totals in the dump".into())
}
