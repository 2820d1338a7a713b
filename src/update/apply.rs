//! `agent.update {"url","manifest","signature","allow_downgrade"}`: everything is checked
//! before the running binary is touched — the manifest and its signature, then the
//! downloaded file's size, SHA-256 and ELF identity (this machine's class, byte order and
//! machine), then the new binary's own `--version` and `check-config` on the running
//! config. A file that fails any of them is deleted and nothing else changes. Then the swap,
//! the probation marker, `agent.update.applied`, and the restart into the watcher.

use super::manifest::{self, Manifest, elf_identity};
use super::probation::{self, Marker, Stage};
use super::swap;
use crate::command::agent::AgentContext;
use crate::command::{Command, CommandError, Effect, Outcome, Reply};
use crate::http::client::{Client, Reach, Url};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the new binary's `--version` and `check-config` may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

fn refused(code: &str, why: impl Into<String>) -> CommandError {
    CommandError::new(code, why)
}

pub async fn apply(ctx: &AgentContext, cmd: &Command) -> Reply {
    let cfg = &ctx.config.update;
    let text = |k: &str| cmd.args.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (url, manifest_text, signature) = (text("url"), text("manifest"), text("signature"));
    let allow_downgrade = cmd.args.get("allow_downgrade").and_then(Value::as_bool).unwrap_or(false);
    let keys: Vec<Vec<u8>> = cfg.public_keys.iter().filter_map(|k| manifest::parse_key(k).ok()).collect();
    let running = crate::version::version();
    let m = manifest::check(&manifest_text, &signature, &keys, &running, allow_downgrade, cfg.max_bytes)
        .map_err(|e| refused("refused", e.to_string()))?;
    let url = Url::parse(&url).map_err(|e| CommandError::bad_args(format!("url: {e}")))?;
    let dir = super::dir(&ctx.config);
    std::fs::create_dir_all(&dir).map_err(|e| refused("io", format!("{}: {e}", dir.display())))?;

    log::info!("update to {}: downloading {} bytes", m.version, m.size);
    let client = Client::new(Reach::Internet, &cfg.tls_ca_file);
    let reply = client
        .get(&url, m.size as usize, Duration::from_millis(cfg.timeout_ms))
        .await
        .map_err(|e| refused("download_failed", e.to_string()))?;
    if reply.status != 200 {
        return Err(refused("download_failed", format!("HTTP {}", reply.status)));
    }
    let file = dir.join(format!("telbridge-{}", m.version));
    // Hashing a binary of megabytes (seconds on a MIPS router) and writing it with fsync
    // stay off the runtime's threads. The download moves there (not copied: it may be
    // most of a router's free memory).
    {
        let (m, file, body) = (m.clone(), file.clone(), reply.body);
        tokio::task::spawn_blocking(move || {
            check_file(&m, &body)?;
            write_executable(&file, &body).map_err(|e| refused("io", format!("{}: {e}", file.display())))
        })
        .await
        .map_err(|e| refused("io", e.to_string()))??;
    }
    if let Err(e) = try_binary(&file, &m.version, &ctx.config_path).await {
        let _ = std::fs::remove_file(&file);
        return Err(e);
    }

    let binary = super::binary(&ctx.config);
    let installed = swap::plan(&binary).map_err(|e| refused("install_failed", format!("{}: {e}", binary.display())))?;
    let now = crate::event::now_ms();
    let marker = Marker {
        cmd_id: cmd.id.clone(),
        from: running.clone(),
        to: m.version.clone(),
        installed: installed.clone(),
        config: ctx.config_path.clone(),
        stage: Stage::Trial,
        started_ms: now,
        deadline_ms: now + cfg.probation_secs * 1000,
        starts: 0,
        max_starts: cfg.max_starts,
        reason: None,
    };
    // The marker first: killed between the two, the next start finds the previous version
    // running under a marker that names the new one, and reports the update rolled back.
    probation::write(&dir, &marker).map_err(|e| refused("io", format!("probation marker: {e}")))?;
    {
        let (plan, f) = (installed.clone(), file.clone());
        let done = tokio::task::spawn_blocking(move || swap::install(&plan, &f))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        if let Err(e) = done {
            probation::remove(&dir);
            let why = format!("{}: {e} (its directory must be writable: see docs/update.md)", binary.display());
            return Err(refused("install_failed", why));
        }
    }
    let data = json!({"from": running, "to": m.version, "binary": installed.binary, "previous": installed.previous,
                      "probation_secs": cfg.probation_secs, "cmd_id": cmd.id});
    let event = crate::agent::agent_event(&ctx.config.agent.id, "agent.update.applied", data);
    ctx.store.enqueue_unbounded(event).await.map_err(|e| refused("store", e.to_string()))?;
    log::warn!("update to {} installed at {}: restarting under probation", m.version, installed.binary.display());
    // The previous code watches the new version.
    let argv = vec![installed.previous.clone().into_os_string(), "watch-update".into(), dir.into_os_string()];
    Ok(Outcome {
        data: json!({"restarting": true, "from": running, "to": m.version}),
        then: Some(Effect::Exec { argv, reason: format!("update to {}", m.version) }),
    })
}

/// Size, SHA-256, and an ELF for this machine.
fn check_file(m: &Manifest, data: &[u8]) -> Result<(), CommandError> {
    if data.len() as u64 != m.size {
        return Err(refused("bad_file", format!("{} bytes, the manifest says {}", data.len(), m.size)));
    }
    let sha = crate::event::to_hex(&Sha256::digest(data));
    if sha != m.sha256 {
        return Err(refused("bad_file", format!("SHA-256 {sha}, the manifest says {}", m.sha256)));
    }
    let own = own_elf_header().ok().and_then(|b| elf_identity(&b));
    let new = elf_identity(&data[..data.len().min(64)]);
    match (own, new) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (_, None) => Err(refused("wrong_architecture", "not an ELF executable")),
        (own, Some(b)) => {
            Err(refused("wrong_architecture", format!("ELF class/order/machine {b:?}, this machine runs {own:?}")))
        }
    }
}

/// The first 64 bytes of the running binary (its ELF header), not the whole file.
fn own_elf_header() -> std::io::Result<[u8; 64]> {
    use std::io::Read;
    let mut header = [0u8; 64];
    std::fs::File::open("/proc/self/exe")?.read_exact(&mut header)?;
    Ok(header)
}

fn write_executable(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("part");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o755).open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The new binary must say its version and accept the running config.
async fn try_binary(file: &PathBuf, version: &str, config: &Path) -> Result<(), CommandError> {
    let run = |args: Vec<std::ffi::OsString>| {
        let mut c = tokio::process::Command::new(file);
        c.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
        async move { tokio::time::timeout(PROBE_TIMEOUT, c.output()).await }
    };
    let out = run(vec!["--version".into()])
        .await
        .map_err(|_| refused("bad_binary", "--version did not answer"))?
        .map_err(|e| refused("bad_binary", format!("cannot run it: {e}")))?;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || said != format!("telbridge {version}") {
        return Err(refused("bad_binary", format!("--version says {said:?} ({}), the manifest {version}", out.status)));
    }
    let out = run(vec!["check-config".into(), "-c".into(), config.as_os_str().to_owned()])
        .await
        .map_err(|_| refused("bad_binary", "check-config did not answer"))?
        .map_err(|e| refused("bad_binary", format!("cannot run it: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(refused("bad_binary", format!("it refuses the running config: {why}")));
    }
    Ok(())
}
