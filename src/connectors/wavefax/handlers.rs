//! The fax server's cloud commands (target `wavefax/{name}`): `fax.send`, `fax.status`,
//! `fax.resend`, `fax.cancel`, `fax.delete`, `fax.file.ack`, `fax.poll_now`.
//!
//! The server's own preconditions (resend and delete only a finished fax, cancel only an
//! unfinished one) are checked with `getoutfax` first and refused with a clear error
//! rather than the server's bare code.

use super::driver::{Driver, DriverError};
use super::protocol::args;
use super::protocol::codes::{BAD_FAX_ID, BAD_NUMBER};
use super::protocol::reply::{self, ReplyError};
use super::protocol::request::Call;
use super::server::ServerError;
use super::state::{Tracked, track};
use crate::command::{Command, CommandError, Outcome, Registry, Reply};
use crate::connectors::peer;
use serde_json::json;
use std::future::Future;
use std::sync::Arc;

/// Maps a driver failure to the command error the cloud sees: the server's own codes and
/// the fax-specific failures by name, the rest by the error's class.
pub fn command_error(e: DriverError) -> CommandError {
    match e {
        DriverError::Document(why) => CommandError::new("document", why),
        DriverError::SubmitUncertain(why) => CommandError::new("submit_uncertain", why),
        e @ DriverError::NotListedYet => CommandError::new("submit_uncertain", e.to_string()),
        DriverError::Refused(why) => CommandError::new("refused", why),
        DriverError::Store(e) => CommandError::new("store", e.to_string()),
        DriverError::Server(ServerError::TooLarge(n)) => {
            CommandError::new("document", format!("larger than max_file_bytes ({n})"))
        }
        DriverError::Server(ServerError::Status(s)) => CommandError::new("server_error", format!("http status {s}")),
        DriverError::Server(ServerError::Reply(ReplyError::Server { code, name, msg })) => {
            let kind = match code {
                BAD_FAX_ID => "unknown_fax",
                BAD_NUMBER => "bad_number",
                _ => "refused",
            };
            CommandError::new(kind, format!("code {code} ({name}) {msg}").trim().to_string())
        }
        DriverError::Server(e) => peer::command_error(&e, "refused"),
    }
}

fn on<F, Fut>(registry: &mut Registry, d: &Arc<Driver>, name: &str, resumable: bool, f: F)
where
    F: Fn(Arc<Driver>, Command) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let d = d.clone();
    registry.register(&d.source.clone(), name, resumable, move |c| f(d.clone(), c));
}

/// Registers every command of one fax server.
pub fn register(registry: &mut Registry, driver: Arc<Driver>) {
    on(registry, &driver, "fax.send", true, |d, c| async move { send(&d, c).await });
    on(registry, &driver, "fax.status", true, |d, c| async move {
        let faxid = args::fax_id(&c.args).map_err(CommandError::bad_args)?;
        let fax = d.out_fax(&faxid).await.map_err(command_error)?;
        Ok(Outcome::data(json!({"faxid": faxid, "status": fax.status, "state": fax.state.name(),
            "errcode": fax.errcode, "reason": fax.reason, "error": fax.error, "final": fax.state.is_final(), "fields": fax.fields})))
    });
    // A resend dials again: never repeated blindly after a crash.
    on(registry, &driver, "fax.resend", false, |d, c| async move { resend(&d, c).await });
    on(registry, &driver, "fax.cancel", true, |d, c| async move {
        let faxid = args::fax_id(&c.args).map_err(CommandError::bad_args)?;
        let fax = d.out_fax(&faxid).await.map_err(command_error)?;
        if fax.state.is_final() {
            return Err(CommandError::new(
                "already_finished",
                format!("fax {faxid} is already {}; cancelfax only works on an unfinished fax", fax.state.name()),
            ));
        }
        d.call_retrying(&Call::CancelFax { faxid: faxid.clone() }).await.map_err(|e| command_error(e.into()))?;
        d.poll_soon();
        Ok(Outcome::data(json!({"faxid": faxid, "cancelled": true})))
    });
    on(registry, &driver, "fax.delete", true, |d, c| async move {
        let faxid = args::fax_id(&c.args).map_err(CommandError::bad_args)?;
        let fax = d.out_fax(&faxid).await.map_err(command_error)?;
        if !fax.state.is_final() {
            return Err(CommandError::new(
                "not_finished",
                format!(
                    "fax {faxid} is {}; deleteoutfax only works on a finished fax (cancel it first)",
                    fax.state.name()
                ),
            ));
        }
        d.call_retrying(&Call::DeleteOutFax { faxid: faxid.clone() }).await.map_err(|e| command_error(e.into()))?;
        Ok(Outcome::data(json!({"faxid": faxid, "deleted": true})))
    });
    on(registry, &driver, "fax.file.ack", true, |d, c| async move {
        let ack = crate::connectors::files::ack::parse(&c.args).map_err(CommandError::bad_args)?;
        let file_id = ack.file_id;
        match d.acknowledge(&file_id, ack.ok, &ack.reason).await.map_err(command_error)? {
            Some(v) => Ok(Outcome::data(v)),
            None => Err(CommandError::new("unknown_file", format!("{} has no file {file_id:?}", d.source))),
        }
    });
    on(registry, &driver, "fax.poll_now", true, |d, _| async move {
        let changed = d.poll_outbound().await.map_err(command_error)?;
        let received = if d.cfg.poll_in_secs > 0 { d.inbox_round().await.map_err(command_error)? } else { 0 };
        Ok(Outcome::data(json!({"outbound_changed": changed, "inbound_new": received})))
    });
}

async fn send(d: &Driver, cmd: Command) -> Reply {
    let plan = args::parse_send(&cmd.args, &d.cfg.dialing(), d.cfg.utc_offset_minutes, d.cfg.max_file_bytes)
        .map_err(CommandError::bad_args)?;
    let data = d.send(&cmd.id, &plan).await.map_err(command_error)?;
    d.peer.metrics.inc(&d.peer.metric("faxes_out_total"));
    Ok(Outcome::data(data))
}

async fn resend(d: &Driver, cmd: Command) -> Reply {
    let (faxid, to) = args::parse_resend(&cmd.args, &d.cfg.dialing()).map_err(CommandError::bad_args)?;
    let fax = d.out_fax(&faxid).await.map_err(command_error)?;
    if !fax.state.is_final() {
        return Err(CommandError::new(
            "not_finished",
            format!("fax {faxid} is {}; resendfax only works on a finished fax", fax.state.name()),
        ));
    }
    let r = d.call_unrepeated(&Call::ResendFax { faxid: faxid.clone(), faxnum: to.clone() }).await.map_err(|e| {
        // It may have reached the server (no answer, or one that cannot be read): a second
        // try could dial the fax twice.
        let unread = matches!(&e, ServerError::Reply(r) if !matches!(r, ReplyError::Server { .. }));
        if peer::Classify::may_have_arrived(&e) || unread {
            let reason = format!("the server may have resent fax {faxid} ({e}); see fax.status before resending");
            return CommandError::new("uncertain", reason);
        }
        command_error(e.into())
    })?;
    // With a new number the server makes a new fax; without, the same one goes again.
    let tracked = match (to.is_some(), reply::field(&r, "faxid")) {
        (true, Ok(new)) => new,
        _ => faxid.clone(),
    };
    let (server, cmd_id, id) = (d.name.clone(), cmd.id.clone(), tracked.clone());
    d.store
        .call(move |db| track(db, &server, &cmd_id, &[Tracked { faxid: id, kind: "fax" }]))
        .await
        .map_err(|e| command_error(e.into()))?;
    d.poll_soon();
    Ok(Outcome::data(json!({"faxid": faxid, "tracked_faxid": tracked, "new_number": to})))
}
