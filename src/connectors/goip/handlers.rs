//! The gateway's cloud commands (target `goip/{name}`): `sms.send`, `sms.pause`,
//! `sms.resume`, `sms.remove`, `sms.list`, `device.command`, `device.stats`,
//! `device.poll_now`.
//!
//! `sms.send` allocates its tids in the store before anything is sent, keyed by the
//! command id and task index, so a retry after a crash sends the same tids and the
//! device's `13 Duplicated TaskId` tells us it already has them: never sent twice.

use super::device::DeviceError;
use super::driver::{Driver, DriverError};
use super::protocol::args::{self, Callbacks};
use super::protocol::reply::{self, ReplyError, TaskResult};
use super::protocol::request::Call;
use super::state;
use crate::command::{Command, CommandError, Outcome, Registry, Reply};
use crate::connectors::peer;
use crate::event::Class;
use crate::store::StoreError;
use serde_json::{Value, json};
use std::sync::Arc;

/// Registers every command of one gateway.
pub fn register(registry: &mut Registry, driver: Arc<Driver>) {
    let target = driver.source.clone();
    let d = driver.clone();
    registry.register(&target, "sms.send", true, move |c| {
        let d = d.clone();
        async move { send(&d, c).await }
    });
    for (name, kind) in [("sms.pause", Manage::Pause), ("sms.resume", Manage::Resume), ("sms.remove", Manage::Remove)] {
        let d = driver.clone();
        registry.register(&target, name, true, move |c| {
            let d = d.clone();
            async move { manage(&d, kind, c).await }
        });
    }
    let d = driver.clone();
    registry.register(&target, "sms.list", true, move |c| {
        let d = d.clone();
        async move { list(&d, c).await }
    });
    // Not resumable: a reboot or a SIM switch must not be repeated blindly after a crash.
    let d = driver.clone();
    registry.register(&target, "device.command", false, move |c| {
        let d = d.clone();
        async move {
            let call = args::parse_device_command(&c.args).map_err(CommandError::bad_args)?;
            let body = d.call_unrepeated(&call).await.map_err(|e| {
                if peer::Classify::may_have_arrived(&e) {
                    // It may have reached the device: not sent a second time.
                    return CommandError::new("uncertain", format!("the device may have run it ({e}); not sent again"));
                }
                device_error(e)
            })?;
            let map = reply::parse_ok(&body).map_err(reply_error)?;
            Ok(Outcome::data(Value::Object(map)))
        }
    });
    let d = driver.clone();
    registry.register(&target, "device.stats", true, move |c| {
        let d = d.clone();
        async move {
            let call = args::parse_stats(&c.args).map_err(CommandError::bad_args)?;
            let body = d.call_retrying(&call).await.map_err(device_error)?;
            let stats = reply::parse_stats(&body).map_err(reply_error)?;
            Ok(Outcome::data(json!({"stats": stats})))
        }
    });
    let d = driver;
    registry.register(&target, "device.poll_now", true, move |_| {
        let d = d.clone();
        async move {
            d.subscribe().await.map_err(driver_error)?;
            let n = d.poll_sms().await.map_err(driver_error)?;
            Ok(Outcome::data(json!({"subscribed": true, "sms_seen": n})))
        }
    });
}

fn device_error(e: DeviceError) -> CommandError {
    peer::command_error(&e, "refused")
}

fn reply_error(e: ReplyError) -> CommandError {
    device_error(DeviceError::Reply(e))
}

fn driver_error(e: DriverError) -> CommandError {
    match e {
        DriverError::Device(e) => device_error(e),
        DriverError::Store(e) => store_error(e),
    }
}

fn store_error(e: StoreError) -> CommandError {
    CommandError::new("store", e.to_string())
}

async fn send(d: &Driver, cmd: Command) -> Reply {
    let tasks = args::parse_send(&cmd.args).map_err(CommandError::bad_args)?;
    let (scope, cmd_id, n) = (d.source.clone(), cmd.id.clone(), tasks.len());
    let tids = d.store.call(move |db| state::allocate_tids(db, &scope, &cmd_id, n)).await.map_err(store_error)?;
    let callbacks = Callbacks {
        sr_url: format!("{}/sr", d.push_url),
        sr_cnt: d.cfg.sr_cnt,
        sr_prd: d.cfg.sr_prd,
        sms_url: format!("{}/sms", d.push_url),
        sms_cnt: d.cfg.sms_cnt,
        sms_prd: d.cfg.sms_prd,
        success_records: d.cfg.success_records,
    };
    let pairs: Vec<(u64, &args::SmsTask)> = tids.iter().copied().zip(tasks.iter()).collect();
    let body = args::send_body(&pairs, &callbacks);
    let reply = d.call_retrying(&Call::PostSms { body }).await.map_err(device_error)?;
    let results = reply::parse_task_results(&reply).map_err(reply_error)?;
    let mut out = Vec::new();
    let mut items = Vec::new();
    for (index, tid) in tids.iter().enumerate() {
        let result = results.iter().find(|r| r.tid == *tid);
        let (outcome, code, reason) = match result {
            Some(r @ TaskResult { code, text, .. }) => (Some(r.accepted()), Some(*code), text.clone()),
            None => (None, None, "the device's reply does not mention this task".to_string()),
        };
        let status = match outcome {
            Some(true) => "accepted",
            Some(false) => "rejected",
            None => "unknown",
        };
        let data = json!({"tid": tid, "index": index, "cmd_id": cmd.id, "status": status, "code": code,
            "reason": reason, "to": tasks[index].to});
        if let Some(accepted) = outcome {
            let kind = if accepted { "sms.accepted" } else { "sms.rejected" };
            let dedup = format!("goip:{}:task:{tid}:result", d.name);
            items.push(d.event(kind, data.clone(), Class::Critical, Some(dedup)));
        }
        out.push(data);
    }
    // The device has taken the tasks: a full store must not turn that into an error result
    // (the cloud would send again). One small event per task, outside the bound, like the
    // command result itself.
    d.store
        .call(move |db| items.iter().try_for_each(|item| db.enqueue_unbounded(item).map(|_| ())))
        .await
        .map_err(store_error)?;
    Ok(Outcome::data(json!({"tasks": out})))
}

#[derive(Debug, Clone, Copy)]
enum Manage {
    Pause,
    Resume,
    Remove,
}

fn tids_arg(args: &Value) -> Result<Option<Vec<u64>>, CommandError> {
    match args.get("tids") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .map(Value::as_u64)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| CommandError::bad_args("`tids` must be a list of task ids")),
        Some(_) => Err(CommandError::bad_args("`tids` must be a list of task ids (absent = all tasks)")),
    }
}

async fn manage(d: &Driver, kind: Manage, cmd: Command) -> Reply {
    let tids = tids_arg(&cmd.args)?;
    let call = match kind {
        Manage::Pause => Call::PauseSms { tids },
        Manage::Resume => Call::ResumeSms { tids },
        Manage::Remove => Call::RemoveSms { tids },
    };
    let body = d.call_retrying(&call).await.map_err(device_error)?;
    let results = reply::parse_task_results(&body).map_err(reply_error)?;
    let list: Vec<Value> =
        results.iter().map(|r| json!({"tid": r.tid, "ok": r.code == 0, "code": r.code, "reason": r.text})).collect();
    Ok(Outcome::data(json!({"results": list})))
}

async fn list(d: &Driver, cmd: Command) -> Reply {
    let a = &cmd.args;
    let num = |k: &str, default: u64, max: u64| match a.get(k) {
        None => Ok(default),
        Some(v) => {
            v.as_u64().filter(|n| *n <= max).ok_or_else(|| CommandError::bad_args(format!("`{k}` must be 0-{max}")))
        }
    };
    let call = Call::GetTasks {
        port: num("port", 1, 256)? as u16,
        pos: num("pos", 0, 1_000_000)? as u32,
        num: num("num", 10, 100)? as u32,
        has_content: a.get("content").and_then(Value::as_bool).unwrap_or(true),
    };
    let body = d.call_retrying(&call).await.map_err(device_error)?;
    let mut map = reply::parse_ok(&body).map_err(reply_error)?;
    let tids: Vec<u64> = map
        .get("tasks")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|t| t.get("tid").and_then(Value::as_u64)).collect())
        .unwrap_or_default();
    let scope = d.source.clone();
    let owners = d
        .store
        .call(move |db| {
            tids.into_iter().map(|t| Ok((t, state::owner(db, &scope, t)?))).collect::<Result<Vec<_>, StoreError>>()
        })
        .await
        .map_err(store_error)?;
    if let Some(Value::Array(tasks)) = map.get_mut("tasks") {
        for t in tasks.iter_mut() {
            let tid = t.get("tid").and_then(Value::as_u64);
            if let Some((_, owner)) = owners.iter().find(|(id, _)| Some(*id) == tid) {
                t["cmd_id"] = json!(owner);
            }
        }
    }
    map.remove("code");
    Ok(Outcome::data(Value::Object(map)))
}
