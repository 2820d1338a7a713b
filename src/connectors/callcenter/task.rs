//! `cc.task.create`: a call task with any number of callees — CallTaskCreate with the first
//! 1000, then CallTaskAddNumbers for each further 1000 — resumable after a crash.
//!
//! The job is committed before every step ([`TaskJob`]). Before the first creation the
//! seat's current task is looked up (CallTaskQuery). A creation whose answer was lost, or
//! that a crash interrupted, is never simply sent again: the seat's task is looked up
//! first, and one that differs from the task it had before is taken as ours (`adopted`).
//! Adding numbers again after a lost answer is harmless: the platform counts repeats in
//! `report.repeat`. What this does not guarantee (docs/mqtt.md): a task created for the same
//! seat by someone else between a lost answer and the look-up would be taken as ours.

use super::commands::{request, send, store};
use super::driver::Driver;
use super::protocol::api::Api;
use super::protocol::envelope::Response;
use super::service::single;
use super::state::{TaskJob, task_key};
use crate::command::{Command, CommandError, Outcome, Reply};
use crate::connectors::lenient::{text_of, u64_of};
use crate::connectors::state::Json;
use serde_json::{Map, Value, json};

/// Callees per request (digest: "`callees`* (≤1000)").
const CHUNK: usize = 1000;
/// Creations sent (each after a look-up found no new task) before the command gives up.
const MAX_CREATIONS: u32 = 3;

pub async fn create(d: &Driver, c: Command) -> Reply {
    let callees = c.args.get("callees").and_then(Value::as_array).cloned().unwrap_or_default();
    if callees.is_empty() {
        return Err(CommandError::bad_args("callees: a list of at least one number"));
    }
    let chunks: Vec<Vec<Value>> = callees.chunks(CHUNK).map(<[Value]>::to_vec).collect();
    let mut first = c.args.clone();
    first["callees"] = json!(chunks[0]);
    let marker = format!("tb-{}", &c.id.chars().filter(char::is_ascii_alphanumeric).take(24).collect::<String>());
    if first.get("userData").is_none_or(Value::is_null) {
        first["userData"] = json!(marker);
    }
    // Every request checked before anything is committed or sent.
    let create_req = request(d, Api::CallTaskCreate, &first)?;
    let agent = create_req.get("agent").and_then(text_of).unwrap_or_default();
    let user_data = create_req.get("userData").and_then(text_of).unwrap_or_default();
    let adds: Vec<Map<String, Value>> = chunks[1..]
        .iter()
        .map(|chunk| {
            let args = json!({"taskID": "0", "agent": agent, "callees": chunk, "userData": user_data});
            request(d, Api::CallTaskAddNumbers, &args)
        })
        .collect::<Result<_, _>>()?;

    let mut job = load(d, &c.id).await?.unwrap_or(TaskJob { user_data: user_data.clone(), ..TaskJob::default() });
    if job.task_id.is_none() && job.before.is_none() {
        job.before = Some(current_task(d, &agent).await?.unwrap_or_default());
        save(d, &c.id, &job).await?;
    }
    while job.task_id.is_none() {
        // A creation may have been taken: the seat's task is looked up first. One that
        // cannot be looked up leaves it uncertain (not "unreachable": a task may exist).
        let found = match job.create_tries {
            0 => None,
            _ => current_task(d, &agent).await.map_err(|e| {
                let why = format!(
                    "a creation was sent and not answered, and the seat's task cannot be looked up: {}",
                    e.reason
                );
                CommandError::new("uncertain", why)
            })?,
        };
        if let Some(found) = found.filter(|found| Some(found) != job.before.as_ref()) {
            log::info!(
                "{}: task {found} found for seat {agent} after a lost creation: taken as this command's",
                d.scope()
            );
            job.task_id = Some(found);
            job.chunks_done = 1;
            job.adopted = true;
            save(d, &c.id, &job).await?;
            break;
        }
        if job.create_tries >= MAX_CREATIONS {
            let why = format!("{} creations sent, none answered, and no new task for seat {agent}", job.create_tries);
            return Err(CommandError::new("uncertain", why));
        }
        job.create_tries += 1;
        save(d, &c.id, &job).await?;
        match step(d, Api::CallTaskCreate, &agent, create_req.clone()).await {
            Ok(r) => {
                let Some(id) = r.text("taskID") else {
                    // Taken, but not named: the seat's new task is it; never created again.
                    let found = current_task(d, &agent).await.ok().flatten();
                    let Some(id) = found.filter(|found| Some(found) != job.before.as_ref()) else {
                        let why =
                            format!("CallTaskCreate was taken but named no taskID, and seat {agent} shows no new task");
                        return Err(CommandError::new("uncertain", why));
                    };
                    (job.task_id, job.chunks_done, job.adopted) = (Some(id), 1, true);
                    save(d, &c.id, &job).await?;
                    break;
                };
                job.task_id = Some(id);
                job.chunks_done = 1;
                job.reports.push(r.fields.get("report").cloned().unwrap_or(Value::Null));
                save(d, &c.id, &job).await?;
            }
            // The answer was lost: the seat's task is looked up before anything is sent again.
            Err(e) if e.code == "uncertain" => log::warn!("{}: task creation: {}", d.scope(), e.reason),
            Err(e) => return Err(e),
        }
    }
    let task_id = job.task_id.clone().unwrap_or_default();
    for (i, mut add) in adds.into_iter().enumerate() {
        if i + 1 < job.chunks_done {
            continue;
        }
        add.insert("taskID".into(), json!(task_id));
        let r = step(d, Api::CallTaskAddNumbers, &agent, add).await.map_err(|e| {
            // The task exists: not "nothing done" — the cloud must know which, and how far.
            let (code, added, n) = (e.code, i + 1, chunks.len());
            let why = format!("{code}: {} (task {task_id} created; {added} of {n} callee lists added)", e.reason);
            CommandError::new("partial", why)
        })?;
        job.chunks_done = i + 2;
        job.reports.push(r.fields.get("report").cloned().unwrap_or(Value::Null));
        save(d, &c.id, &job).await?;
    }
    Ok(Outcome::data(json!({
        "taskID": task_id,
        "userData": job.user_data,
        "callees": callees.len(),
        "requests": {"create": 1, "add_numbers": chunks.len() - 1},
        "report": sum(&job.reports),
        "reports": job.reports,
        "adopted": job.adopted,
    })))
}

/// One request of the job; its refusal is the command's.
async fn step(d: &Driver, api: Api, agent: &str, req: Map<String, Value>) -> Result<Response, CommandError> {
    let call = single(api, Some(agent.to_string()), req);
    let r = send(d, &call).await?.into_iter().next().ok_or_else(|| CommandError::new("bad_reply", "no response"))?;
    if r.error != 0 {
        super::commands::answer(r.clone())?;
    }
    Ok(r)
}

/// The seat's task as CallTaskQuery says (`None`: none — also when the platform refuses the
/// query, as a platform with no task for the seat may).
async fn current_task(d: &Driver, agent: &str) -> Result<Option<String>, CommandError> {
    let req = request(d, Api::CallTaskQuery, &json!({"agent": agent}))?;
    let call = single(Api::CallTaskQuery, Some(agent.to_string()), req);
    let r = send(d, &call).await?.into_iter().next().ok_or_else(|| CommandError::new("bad_reply", "no response"))?;
    if r.error != 0 {
        log::info!("{}: CallTaskQuery for seat {agent}: error {} {}: no task", d.scope(), r.error, r.msg);
        return Ok(None);
    }
    Ok(r.text("taskID").filter(|t| t != "0"))
}

/// The reports added up: `total`, `error`, `repeat`.
fn sum(reports: &[Value]) -> Value {
    let add = |k: &str| reports.iter().filter_map(|r| r.get(k).and_then(u64_of)).sum::<u64>();
    json!({"total": add("total"), "error": add("error"), "repeat": add("repeat")})
}

async fn load(d: &Driver, cmd_id: &str) -> Result<Option<TaskJob>, CommandError> {
    let (scope, key) = (d.scope().to_string(), task_key(cmd_id));
    d.store.call(move |db| key.get(db, &scope)).await.map(|j| j.map(|j| j.0)).map_err(store)
}

async fn save(d: &Driver, cmd_id: &str, job: &TaskJob) -> Result<(), CommandError> {
    let (scope, key, job) = (d.scope().to_string(), task_key(cmd_id), job.clone());
    d.store.call(move |db| key.put(db, &scope, &Json(job))).await.map_err(store)
}
