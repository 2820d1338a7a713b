//! WaveFax against the real `telbridge-sim fax` process over loopback.
//!
//! First the server client (`telbridge::connectors::wavefax::server`) alone: session, uploads, merge
//! submit, state polling to success and to busy, token expiry mid-flow, a wrong password
//! that is not retried in a loop, and an inbound fax downloaded byte for byte. Then the
//! whole agent with a `[[wavefax]]` server, a real broker and the cloud's side recording:
//! `fax.send` to success and to busy, preconditions, crash recovery, the inbound relay.
// Needs the simulators, which need every driver.
#![cfg(feature = "wavefax")]

mod common;

use common::sim::Sim;
use serde_json::json;
use std::time::Duration;
use telbridge::connectors::wavefax::protocol::codes::OutState;
use telbridge::connectors::wavefax::protocol::reply::{self, ReplyError};
use telbridge::connectors::wavefax::protocol::request::{Call, SubmitOptions};
use telbridge::connectors::wavefax::server::{Credentials, Server, ServerError};

fn server(sim: &Sim, password: &str) -> Server {
    let creds = Credentials { user: "ops".into(), domain: false, password: password.into() };
    Server::new(&sim.url(), creds, Duration::from_secs(5)).expect("server")
}

async fn wait_final(s: &Server, faxid: &str) -> reply::OutFax {
    for _ in 0..200 {
        let body = s.call(&Call::GetOutFax { faxid: faxid.into() }).await.expect("getoutfax");
        let fax = reply::parse_out_fax(serde_json::to_string(&body).expect("json").as_bytes()).expect("parse");
        if fax.state.is_final() {
            return fax;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fax {faxid} never finished");
}

#[tokio::test]
async fn two_documents_are_merged_into_one_fax_that_succeeds_across_a_token_expiry() {
    let sim = Sim::fax(&["--step-ms", "20"]);
    let s = server(&sim, "ops");
    let mut ids = Vec::new();
    for (name, data) in [("a.pdf", b"%PDF-1.4 a".to_vec()), ("b.txt", b"hello".to_vec())] {
        let r = s.call(&Call::PutFile { filename: name.into(), data }).await.expect("putfile");
        ids.push(reply::field(&r, "fileid").expect("fileid"));
    }
    // The server forgets every session: the next call logs in again and is retried once.
    common::http::post_json(sim.port, "/sim/expire", None, &json!({})).expect("expire");
    let opts = SubmitOptions { recipient: "Li".into(), subject: "quote".into(), convert: true, ..Default::default() };
    let r = s
        .call(&Call::SubmitFaxMerge { faxnum: "+86(20)87057352".into(), fileids: ids.clone(), opts })
        .await
        .expect("merge after expiry");
    let faxid = reply::fax_ids(&r).expect("faxid").remove(0);
    let fax = wait_final(&s, &faxid).await;
    assert_eq!((fax.state, fax.error), (OutState::Succeeded, "none"));
    assert_eq!(fax.fields["sentpages"], 2);
    let state = sim.state();
    assert_eq!(state["out"][0]["files"], json!(ids), "one job with both files");
    assert_eq!(state["logins"], 2, "logged in once, and once more after the expiry");
}

#[tokio::test]
async fn a_busy_number_fails_with_its_errcode_and_a_bad_number_is_refused() {
    let sim = Sim::fax(&["--step-ms", "20"]);
    let s = server(&sim, "ops");
    let f = s.call(&Call::PutFile { filename: "a.tif".into(), data: vec![0; 10] }).await.expect("putfile");
    let fileid = reply::field(&f, "fileid").expect("fileid");
    let submit = |faxnum: &str| Call::SubmitFax {
        faxnum: faxnum.into(),
        fileid: fileid.clone(),
        opts: SubmitOptions::default(),
    };
    let r = s.call(&submit("+852 22222444")).await.expect("submit");
    let fax = wait_final(&s, &reply::fax_ids(&r).expect("id")[0]).await;
    assert_eq!((fax.state, fax.errcode, fax.error), (OutState::Failed, 4, "busy"));
    match s.call(&submit("+86 20")).await {
        Err(ServerError::Reply(ReplyError::Server { code, name, .. })) => {
            assert_eq!((code, name), (251_658_336, "bad fax number format"))
        }
        other => panic!("expected a number error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_reported_and_not_retried_in_a_loop() {
    let sim = Sim::fax(&[]);
    let s = server(&sim, "wrong");
    for _ in 0..5 {
        let e = s.call(&Call::GetOutFaxIds { start: "20260101T000000".into(), end: "20270101T000000".into() }).await;
        assert!(matches!(&e, Err(ServerError::Credentials(why)) if why.contains("wrong password")), "{e:?}");
    }
    assert_eq!(sim.state()["logins"], 1, "one login attempt, then the back-off");
}

#[tokio::test]
async fn an_inbound_fax_is_listed_in_its_window_and_downloaded_byte_for_byte() {
    use base64::Engine;
    let sim = Sim::fax(&[]);
    let s = server(&sim, "ops");
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let r = common::http::post_json(
        sim.port,
        "/sim/infax",
        None,
        &json!({"from": "+85222222222", "pages": 3, "data": b64}),
    )
    .expect("inject");
    let faxid = r.json()["faxid"].as_str().expect("faxid").to_string();
    // A window spelled in the digest's format (YYYYMMDDTHHNNSS), around any "now".
    let window = Call::GetInFaxIds { start: "20000101T000000".into(), end: "21000101T000000".into(), folder: None };
    let listed = s.call(&window).await.expect("ids");
    assert_eq!(reply::fax_ids(&listed).expect("ids"), vec![faxid.clone()]);
    let info = s.call(&Call::GetInFax { faxid: faxid.clone() }).await.expect("getinfax");
    assert_eq!((info["callerid"].as_str(), info["pages"].as_u64()), (Some("+85222222222"), Some(3)));
    let file = s
        .call(&Call::GetFaxFile { fileid: reply::field(&info, "fileid").expect("fileid"), pdf: true })
        .await
        .expect("file");
    let url = reply::field(&file, "fileurl").expect("url");
    assert!(url.ends_with(".pdf"));
    assert_eq!(s.download(&url, 1 << 20).await.expect("download"), data);
    assert!(matches!(s.download(&url, 1000).await, Err(ServerError::TooLarge(1000))));
    s.call(&Call::DeleteInFax { faxid: faxid.clone() }).await.expect("delete");
    assert!(s.call(&Call::GetInFax { faxid }).await.is_err(), "gone after deleteinfax");
}

// ---- The agent with a `[[wavefax]]` server, end to end over a real broker ----

use common::site::{Site, WAIT};
use common::wait_for;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A site whose `[[wavefax]]` server `fax1` is the simulator.
fn fax_site(name: &str, sim: &Sim, extra: &str) -> Site {
    let timeout = if extra.contains("timeout_ms") { "" } else { "timeout_ms = 5000\n" };
    let toml = format!(
        "[[wavefax]]\nname = \"fax1\"\nurl = \"{}\"\nuser = \"ops\"\npassword = \"ops\"\nutc_offset_minutes = 0\n\
         area_code = \"20\"\npoll_out_secs = 1\n{timeout}{extra}\n",
        sim.url()
    );
    Site::start(name, "wavefax/fax1", &toml)
}

fn sha256(data: &[u8]) -> String {
    telbridge::connectors::files::chunks::sha256_hex(data)
}

/// The states `fax.status` reported for `faxid`, in order.
fn states(s: &Site, faxid: &str) -> Vec<String> {
    s.events("fax.status")
        .iter()
        .filter(|d| d["faxid"] == faxid)
        .filter_map(|d| d["state"].as_str().map(str::to_string))
        .collect()
}

fn final_status(s: &Site, faxid: &str) -> Value {
    s.wait_event("fax.status", &format!("fax {faxid} to finish"), |d| d["faxid"] == faxid && d["final"] == true)
}

#[test]
fn a_fax_of_two_documents_is_merged_across_a_token_expiry_and_reported_until_it_succeeds() {
    use base64::Engine;
    let sim = Sim::fax(&["--step-ms", "300"]);
    let s = fax_site("fax-send", &sim, "");
    // The first inbox poll logs in; then the server forgets every session.
    wait_for(WAIT, "the first login", || (sim.state()["logins"].as_u64()? >= 1).then_some(()));
    common::http::post_json(sim.port, "/sim/expire", None, &json!({})).expect("expire");
    let pdf: Vec<u8> = b"%PDF-1.4 quote ".iter().copied().chain((0..20_000u32).map(|i| (i % 253) as u8)).collect();
    let r = common::http::request(sim.port, "POST", "/sim/docs/quote.pdf", &[], &pdf).expect("host document");
    assert_eq!(r.status, 200);
    let note = "注意 / note".as_bytes().to_vec();
    let result = s.call(
        "send-1",
        "fax.send",
        json!({"to": "+862087057352", "recipient": "Li Lei", "subject": "Quote",
            "documents": [{"url": format!("{}/docs/quote.pdf", sim.url()), "sha256": sha256(&pdf)},
                          {"data": B64.encode(&note), "filename": "note.txt"}]}),
    );
    assert_eq!(result["status"], "ok", "{result}");
    let data = &result["data"];
    let faxid = data["faxids"][0].as_str().expect("faxid").to_string();
    assert_eq!(data["jobs"][0]["kind"], "fax");
    assert_eq!(data["jobs"][0]["to"], "+86(20)87057352");
    assert_eq!(data["recovered"], false);

    let done = final_status(&s, &faxid);
    assert_eq!(
        (done["state"].as_str(), done["errcode"].as_u64(), done["error"].as_str()),
        (Some("succeeded"), Some(0), Some("none"))
    );
    assert_eq!(done["cmd_id"], "send-1");
    assert_eq!(done["sentpages"].as_u64(), Some(2), "server fields kept: {done}");
    let seen = states(&s, &faxid);
    assert!(seen.len() >= 2 && seen.last().map(String::as_str) == Some("succeeded"), "{seen:?}");
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "each change reported once");

    let state = sim.state();
    assert_eq!(state["calls"]["submitfaxmerge"], 1, "merged, submitted once");
    assert_eq!(state["logins"], 2, "logged in again once after the expiry");
    let job = state["out"].as_array().expect("out").iter().find(|j| j["faxid"] == faxid.as_str()).expect("job").clone();
    let files: Vec<Value> = job["files"].as_array().expect("files").clone();
    let by_id = |id: &Value| state["files"].as_array().expect("files").iter().find(|f| f["fileid"] == *id).cloned();
    let uploaded: Vec<(Value, Value)> =
        files.iter().filter_map(by_id).map(|f| (f["name"].clone(), f["sha256"].clone())).collect();
    assert_eq!(uploaded, [(json!("quote.pdf"), json!(sha256(&pdf))), (json!("note.txt"), json!(sha256(&note)))]);
}

#[test]
fn a_fax_with_a_status_outside_the_document_is_reported_and_does_not_hold_up_the_others() {
    let sim = Sim::fax(&["--step-ms", "300"]);
    let s = fax_site("fax-odd-status", &sim, "poll_in_secs = 0");
    let doc = json!([{"data": "SUkqAA==", "filename": "page.tif"}]);
    let send = |id: &str, to: &str| {
        let r = s.call(id, "fax.send", json!({"to": to, "documents": doc}));
        r["data"]["faxids"][0].as_str().expect("faxid").to_string()
    };
    let odd = send("odd-1", "+85222222333");
    assert_eq!(sim.control("/sim/outstatus", &json!({"faxid": odd, "status": 10}))["ok"], true);
    let good = send("odd-2", "+85222222334");
    let done = final_status(&s, &good);
    assert_eq!(done["state"], "succeeded", "the fax tracked after it is polled");
    let seen = s.wait_event("fax.status", "the odd status", |d| d["faxid"] == odd.as_str() && d["status"] == 10);
    assert_eq!((seen["state"].as_str(), seen["final"].as_bool()), (Some("unknown"), Some(false)), "{seen}");
}

#[test]
fn a_received_fax_is_not_offered_again_while_its_offer_waits_in_the_outbox() {
    let sim = Sim::fax(&[]);
    let mut s = fax_site("fax-reoffer-outage", &sim, "poll_in_secs = 1\nfile_reoffer_secs = 1");
    s._broker.stop();
    sim.control("/sim/infax", &json!({"from": "+85222222222", "pages": 1, "data": "SUkqAA=="}));
    let offers = |s: &Site| -> i64 {
        let sql = "SELECT count(*) FROM outbox WHERE topic = 'evt/wavefax/fax1/fax.received'";
        s.db().query_row(sql, [], |r| r.get(0)).expect("count")
    };
    wait_for(WAIT, "the fax spooled and offered", || (offers(&s) == 1).then_some(()));
    // Several re-offer periods with the uplink down: the first offer still waits.
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(offers(&s), 1, "one offer queued, not one per period");
    s._broker.resume();
    s.wait_event("fax.received", "the offer, once the broker is back", |_| true);
}

#[test]
fn a_resend_whose_reply_is_lost_is_answered_uncertain_and_not_sent_twice() {
    // The server resends at once and answers after the agent's timeout: a second resendfax
    // would dial the fax again.
    let sim = Sim::fax(&["--step-ms", "100", "--resend-delay-ms", "5000"]);
    let s = fax_site("fax-resend-lost", &sim, "poll_in_secs = 0\ntimeout_ms = 1000\ncommand_retry_secs = 10");
    let doc = json!([{"data": "SUkqAA==", "filename": "page.tif"}]);
    let r = s.call("rl-1", "fax.send", json!({"to": "+85222222444", "documents": doc}));
    let faxid = r["data"]["faxids"][0].as_str().expect("faxid").to_string();
    final_status(&s, &faxid);
    let resent = s.call("rl-2", "fax.resend", json!({"faxid": faxid, "to": "+85222222333"}));
    assert_eq!(resent["error"]["code"], "uncertain", "{resent}");
    std::thread::sleep(Duration::from_secs(2));
    let calls = sim.state()["calls"]["resendfax"].as_u64();
    assert_eq!(calls, Some(1), "resendfax sent once: {}", sim.state());
    assert_eq!(sim.state()["out"].as_array().map(Vec::len), Some(2), "the fax and one resent copy");
}

#[test]
fn a_busy_fax_fails_with_its_errcode_and_the_servers_preconditions_are_clear_errors() {
    let sim = Sim::fax(&["--step-ms", "100"]);
    let s = fax_site("fax-busy", &sim, "poll_in_secs = 0");
    let doc = json!([{"data": "SUkqAA==", "filename": "page.tif"}]);
    let r = s.call("busy-1", "fax.send", json!({"to": "+85222222444", "documents": doc}));
    let faxid = r["data"]["faxids"][0].as_str().expect("faxid").to_string();
    let failed = final_status(&s, &faxid);
    assert_eq!(
        (failed["state"].as_str(), failed["errcode"].as_u64(), failed["error"].as_str()),
        (Some("failed"), Some(4), Some("busy"))
    );

    let cancel = s.call("cancel-1", "fax.cancel", json!({"faxid": faxid}));
    assert_eq!(cancel["error"]["code"], "already_finished", "{cancel}");
    let resent = s.call("resend-1", "fax.resend", json!({"faxid": faxid, "to": "+85222222333"}));
    let new_id = resent["data"]["tracked_faxid"].as_str().expect("new fax").to_string();
    assert_ne!(new_id, faxid);
    s.send("cancel-2", "fax.cancel", json!({"faxid": new_id}));
    let cancelled = final_status(&s, &new_id);
    let cancel2 = s.result("cancel-2");
    if cancel2["status"] == "ok" {
        assert_eq!((cancelled["errcode"].as_u64(), cancelled["error"].as_str()), (Some(11), Some("cancelled by user")));
    } else {
        assert_eq!(cancel2["error"]["code"], "already_finished", "it finished before the cancel: {cancel2}");
    }
    let deleted = s.call("del-1", "fax.delete", json!({"faxid": faxid}));
    assert_eq!(deleted["data"]["deleted"], true, "{deleted}");
    let unknown = s.call("status-1", "fax.status", json!({"faxid": faxid}));
    assert_eq!(unknown["error"]["code"], "unknown_fax", "{unknown}");
    let bad = s.call("bad-1", "fax.send", json!({"to": "12ab", "documents": doc}));
    assert_eq!(bad["error"]["code"], "bad_args", "{bad}");
    assert!(bad["error"]["reason"].as_str().is_some_and(|r| r.contains("fax number")), "{bad}");
    let bad = s.call("bad-2", "fax.send", json!({"to": "+86 20", "documents": doc}));
    assert_eq!(bad["error"]["code"], "bad_args", "our own number check refuses it first: {bad}");
}

/// Reassembles the chunks of `file_id` seen so far, checking their fields.
#[test]
fn an_inbound_fax_reaches_the_cloud_whole_and_once_across_a_crash_and_is_deleted_only_after_the_ack() {
    use base64::Engine;
    let sim = Sim::fax(&[]);
    let mut s = fax_site("fax-in", &sim, "poll_in_secs = 1\ndelete_after_ack = true\nchunk_bytes = 4096");
    let file: Vec<u8> = b"%PDF-1.4\n".iter().copied().chain((0..30_000u32).map(|i| (i * 31 % 256) as u8)).collect();
    let r = common::http::post_json(
        sim.port,
        "/sim/infax",
        None,
        &json!({"from": "+85222222222", "pages": 2, "data": B64.encode(&file)}),
    )
    .expect("deliver a fax");
    let faxid = r.json()["faxid"].as_str().expect("faxid").to_string();

    let meta = s.wait_event("fax.received", "fax.received", |d| d["fax_id"] == faxid.as_str());
    assert_eq!((meta["callerid"].as_str(), meta["pages"].as_u64()), (Some("+85222222222"), Some(2)));
    let info = &meta["file"];
    let file_id = info["file_id"].as_str().expect("file id").to_string();
    assert_eq!(
        (info["bytes"].as_u64(), info["sha256"].as_str()),
        (Some(file.len() as u64), Some(sha256(&file).as_str()))
    );
    assert_eq!((info["chunks"].as_u64(), info["content_type"].as_str()), (Some(8), Some("application/pdf")));
    let whole = wait_for(WAIT, "every chunk", || s.reassemble("fax.file", &file_id));
    assert_eq!(whole, file, "byte-identical");
    assert_eq!(sha256(&whole), info["sha256"].as_str().expect("sha"));

    // A crash, and a few more polls over the same window: the fax is not relayed again.
    // It starts again with larger chunks (say for a broker's new limit).
    s.agent.kill();
    let config = std::fs::read_to_string(&s.agent.config).expect("config");
    std::fs::write(&s.agent.config, config.replace("chunk_bytes = 4096", "chunk_bytes = 8192")).expect("config");
    s.agent.restart();
    let polls = sim.state()["calls"]["getinfaxids"].as_u64().expect("polls");
    wait_for(WAIT, "three more inbox polls", || {
        (sim.state()["calls"]["getinfaxids"].as_u64()? >= polls + 3).then_some(())
    });
    // The same event again (its PUBACK came, its delete had not yet when the agent was
    // killed) is the at-least-once contract; a second fax.received would be a new id.
    let ids: std::collections::BTreeSet<String> = s
        .rec
        .on("/evt/wavefax/fax1/fax.received")
        .iter()
        .filter_map(|m| m.json()["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 1, "one fax.received");
    assert_eq!(sim.state()["inbox"], json!([faxid]), "not deleted before the ack");
    let spooled: (String, i64) = s
        .db()
        .query_row("SELECT state, length(data) FROM spool WHERE file_id = ?1", [&file_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("spool row");
    assert_eq!(spooled, ("spooled".to_string(), file.len() as i64));

    let unknown = s.call("ack-0", "fax.file.ack", json!({"file_id": "nope"}));
    assert_eq!(unknown["error"]["code"], "unknown_file");
    // The cloud found the file damaged: it is offered again, whole, from the spool.
    let again = s.call("ack-bad", "fax.file.ack", json!({"file_id": file_id, "ok": false, "reason": "sha mismatch"}));
    assert_eq!(again["data"]["reoffered"], true, "{again}");
    let reoffer = s.wait_event("fax.received", "the re-offer", |d| d["reoffered"] == true);
    assert_eq!((reoffer["file"]["chunks"].as_u64(), reoffer["file"]["chunk_bytes"].as_u64()), (Some(4), Some(8192)));
    // The first offer's chunks may come twice (the crash came between a PUBACK and its
    // delete): the re-offer's are those cut in 4.
    let recut = || -> Vec<Value> { s.events("fax.file").into_iter().filter(|c| c["count"] == 4).collect() };
    let recut = wait_for(WAIT, "the chunks again", || Some(recut()).filter(|r| r.len() >= 4));
    assert!(recut.iter().all(|c| c["offset"].as_u64() == c["index"].as_u64().map(|i| i * 8192)), "{recut:?}");
    assert!(s.events("fax.file").iter().all(|c| c["count"] == 4 || c["count"] == 8));
    assert_eq!(sim.state()["inbox"], json!([faxid]), "a refused file keeps the fax on the server");
    let ack = s.call("ack-1", "fax.file.ack", json!({"file_id": file_id}));
    assert_eq!((ack["data"]["deleted"].as_bool(), ack["data"]["state"].as_str()), (Some(true), Some("done")), "{ack}");
    assert_eq!(sim.state()["inbox"], json!([]), "deleted on the server after the ack");
    s.wait_event("fax.deleted", "fax.deleted", |d| d["file_id"] == file_id.as_str());
    let row: (String, Option<Vec<u8>>) = s
        .db()
        .query_row("SELECT state, data FROM spool WHERE file_id = ?1", [&file_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("row");
    assert_eq!(row, ("done".to_string(), None), "the spool let the file go");
}

#[test]
fn a_send_cut_off_by_a_crash_after_the_server_took_it_is_adopted_not_submitted_again() {
    // The server records the job, then holds its reply for 8 s, longer than the agent's 5 s
    // timeout: the agent dies meanwhile (a late kill would find a timed-out submit, adopted
    // all the same).
    let sim = Sim::fax(&["--submit-delay-ms", "8000", "--step-ms", "100"]);
    let mut s = fax_site("fax-crash", &sim, "poll_in_secs = 0");
    s.send("crash-1", "fax.send", json!({"to": "87057352", "documents": [{"data": "SUkqAA==", "filename": "p.tif"}]}));
    wait_for(WAIT, "the server to take the job", || (sim.state()["out"].as_array()?.len() == 1).then_some(()));
    s.agent.kill();
    s.agent.restart();
    let result = s.result("crash-1");
    assert_eq!(result["status"], "ok", "{result}");
    assert_eq!(result["data"]["recovered"], true, "{result}");
    let state = sim.state();
    assert_eq!(state["calls"]["submitfax"], 1, "submitted once");
    assert_eq!(state["calls"]["putfile"], 1, "uploaded once");
    assert_eq!(result["data"]["faxids"][0], state["out"][0]["faxid"]);
    let done = final_status(&s, result["data"]["faxids"][0].as_str().expect("faxid"));
    assert_eq!(done["state"], "succeeded");
}

#[test]
fn a_wrong_password_raises_device_down_once_and_is_not_retried_in_a_loop() {
    let sim = Sim::fax(&["--password", "right"]);
    let s = fax_site("fax-auth", &sim, "poll_in_secs = 1");
    let down = s.wait_event("device.down", "device.down", |_| true);
    assert!(down["reason"].as_str().is_some_and(|r| r.contains("wrong password")), "{down}");
    assert!(!down.to_string().contains("\"ops\""), "no password in events");
    let r =
        s.call("send-1", "fax.send", json!({"to": "87057352", "documents": [{"data": "eA==", "filename": "a.pdf"}]}));
    assert_eq!(r["error"]["code"], "auth_failed", "{r}");
    // A window of three inbox rounds (poll_in_secs = 1): during the back-off none of them may
    // log in. (Nothing else marks a round that stops before the server, so time it is.)
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sim.state()["logins"], 1, "one login attempt during the back-off");
    assert_eq!(s.events("device.down").len(), 1);
    assert_eq!(s.agent_status()["drivers"]["wavefax/fax1"]["state"], "down");
}

#[test]
fn files_travel_over_https_a_document_downloaded_and_a_received_fax_uploaded_then_deleted() {
    use base64::Engine;
    let dir = common::temp_dir("fax-https-peer");
    let document: Vec<u8> = b"%PDF-1.7 from the cloud ".iter().copied().chain(0..=255u8).collect();
    let cloud = common::https::HttpsServer::start(&dir, document.clone());
    let sim = Sim::fax(&["--step-ms", "50"]);
    let extra = format!(
        "poll_in_secs = 1\ndelete_after_ack = true\nupload_url = \"{}\"\nupload_token = \"up-t0ken\"\ntls_ca_file = \"{}\"",
        cloud.url("/inbound"),
        cloud.ca.display()
    );
    let s = fax_site("fax-https", &sim, &extra);

    let r = s.call(
        "send-1",
        "fax.send",
        json!({"to": "+85222222222", "documents": [{"url": cloud.url("/docs/offer.pdf")}]}),
    );
    assert_eq!(r["status"], "ok", "{r}");
    let state = sim.state();
    assert_eq!(state["files"][0]["name"], "offer.pdf", "the name comes from the URL");
    assert_eq!(state["files"][0]["sha256"], json!(sha256(&document)), "downloaded over https byte for byte");

    let file: Vec<u8> = b"II*\0".iter().copied().chain((0..9000u32).map(|i| (i % 7) as u8)).collect();
    let r = common::http::post_json(sim.port, "/sim/infax", None, &json!({"data": B64.encode(&file)})).expect("fax");
    let faxid = r.json()["faxid"].as_str().expect("faxid").to_string();
    let meta = s.wait_event("fax.received", "fax.received", |d| d["fax_id"] == faxid.as_str());
    assert_eq!(
        (meta["file"]["delivery"].as_str(), meta["file"]["content_type"].as_str()),
        (Some("http"), Some("image/tiff"))
    );
    let file_id = meta["file"]["file_id"].as_str().expect("file id").to_string();
    let uploaded = s.wait_event("fax.file.uploaded", "the upload", |d| d["file_id"] == file_id.as_str());
    assert_eq!(uploaded["status"], 200);
    let post = cloud.requests().into_iter().find(|q| q.method == "POST").expect("upload request");
    assert_eq!(post.path, "/inbound");
    assert_eq!(post.body, file, "uploaded byte for byte");
    assert_eq!(post.header("authorization").as_deref(), Some("Bearer up-t0ken"));
    assert_eq!(post.header("x-telbridge-sha256"), Some(sha256(&file)));
    assert_eq!(post.header("x-telbridge-file-id"), Some(file_id.clone()));
    s.wait_event("fax.deleted", "the delete after the upload", |d| d["file_id"] == file_id.as_str());
    assert_eq!(sim.state()["inbox"], json!([]));
    assert!(s.events("fax.file").is_empty(), "no MQTT chunks in upload mode");
    assert!(!s.agent.log().contains("up-t0ken"), "the upload token is never logged");
}

#[test]
fn a_full_spool_leaves_new_faxes_on_the_server_until_an_ack_makes_room() {
    use base64::Engine;
    let sim = Sim::fax(&[]);
    let s = fax_site(
        "fax-spool",
        &sim,
        "poll_in_secs = 1\nspool_max_bytes = 20000\nmax_file_bytes = 20000\nchunk_bytes = 8192",
    );
    let deliver = |fill: u8| {
        let r = common::http::post_json(sim.port, "/sim/infax", None, &json!({"data": B64.encode(vec![fill; 15_000])}))
            .expect("deliver");
        r.json()["faxid"].as_str().expect("faxid").to_string()
    };
    let first = deliver(1);
    let meta = s.wait_event("fax.received", "the first fax", |d| d["fax_id"] == first.as_str());
    let second = deliver(2);
    s.wait_event("spool.full", "spool.full", |d| d["max_bytes"] == 20000);
    let polls = sim.state()["calls"]["getinfaxids"].as_u64().expect("polls");
    wait_for(WAIT, "two more polls", || (sim.state()["calls"]["getinfaxids"].as_u64()? >= polls + 2).then_some(()));
    assert!(s.events("fax.received").iter().all(|d| d["fax_id"] != second.as_str()), "no room: it waits");
    assert_eq!(sim.state()["inbox"], json!([first.clone(), second.clone()]), "both still on the server");
    let ack = s.call("ack-1", "fax.file.ack", json!({"file_id": meta["file"]["file_id"]}));
    assert_eq!(ack["data"]["state"], "done", "{ack}");
    let later = s.wait_event("fax.received", "the second fax", |d| d["fax_id"] == second.as_str());
    assert_eq!(later["file"]["bytes"], 15_000);
    s.wait_event("spool.recovered", "spool.recovered", |_| true);
    let whole = wait_for(WAIT, "its chunks", || s.reassemble("fax.file", later["file"]["file_id"].as_str()?));
    assert_eq!(whole, vec![2u8; 15_000]);
}

#[test]
fn a_fax_the_server_cannot_read_does_not_hold_up_the_next_and_is_relayed_without_its_file_in_the_end() {
    use base64::Engine;
    let sim = Sim::fax(&[]);
    let s = fax_site("fax-broken", &sim, "poll_in_secs = 1\ndelete_after_ack = true");
    let deliver = |body: Value| {
        let r = common::http::post_json(sim.port, "/sim/infax", None, &body).expect("deliver");
        r.json()["faxid"].as_str().expect("faxid").to_string()
    };
    let broken = deliver(json!({"data": B64.encode(b"unreadable"), "broken": true}));
    let good = deliver(json!({"data": B64.encode(b"%PDF-1.4 fine")}));
    s.wait_event("fax.received", "the good fax, past the broken one", |d| d["fax_id"] == good.as_str());
    let given_up = s.wait_event("fax.received", "the broken fax, in the end", |d| d["fax_id"] == broken.as_str());
    assert_eq!(given_up["file"], Value::Null);
    let why = given_up["file_error"].as_str().expect("file_error");
    assert!(why.contains("database error") && why.contains("after 3 rounds"), "{why}");
    assert_eq!(given_up["callerid"], "02087057352", "its metadata is still relayed");
    let order: Vec<String> =
        s.events("fax.received").iter().filter_map(|d| d["fax_id"].as_str().map(str::to_string)).collect();
    assert_eq!(order, [good.clone(), broken.clone()], "the good fax did not wait for the broken one");
    let polls = sim.state()["calls"]["getinfaxids"].as_u64().expect("polls");
    wait_for(WAIT, "two more polls", || (sim.state()["calls"]["getinfaxids"].as_u64()? >= polls + 2).then_some(()));
    assert_eq!(s.events("fax.received").iter().filter(|d| d["fax_id"] == broken.as_str()).count(), 1);
    assert!(sim.state()["inbox"].as_array().expect("inbox").contains(&json!(broken)), "never deleted without its file");
    assert!(
        s.events("fax.file").iter().all(|c| c["fax_id"] != broken.as_str()),
        "no chunks for a fax without its file"
    );
}

#[test]
fn a_file_the_server_cannot_fetch_for_a_moment_is_relayed_whole_once_it_can() {
    // Issue 10 item 10: a transient 251658772 used to relay the fax at once without its file.
    use base64::Engine;
    let sim = Sim::fax(&[]);
    let s = fax_site("fax-transient", &sim, "poll_in_secs = 1");
    let data = b"%PDF-1.4 back in a moment";
    let body = json!({"data": B64.encode(data), "fetch_failures": 2});
    let r = common::http::post_json(sim.port, "/sim/infax", None, &body).expect("deliver");
    let faxid = r.json()["faxid"].as_str().expect("faxid").to_string();
    let got = s.wait_event("fax.received", "the fax", |d| d["fax_id"] == faxid.as_str());
    assert_eq!(got["file"]["sha256"], sha256(data), "relayed with its file: {got}");
    assert_eq!(got["file_error"], Value::Null);
    let calls = sim.state()["calls"].clone();
    assert!(calls["getfaxfile"].as_u64() >= Some(3), "two refusals, then the file: {calls}");
}

#[test]
fn a_merged_send_cut_off_by_a_crash_is_adopted_though_the_server_renamed_its_file() {
    // Issue 10 item 11: the server lists only sent faxes and gives a merged fax a file id of
    // its own; the agent must find the job by what it sent, never submit a second time. Jobs
    // take ~3 s to be sent (7 steps of 400 ms), so the first lookups after the restart see
    // only the earlier fax, which matches number and subject but belongs to another command.
    // The reply is held longer than the agent's 5 s timeout, so a late kill changes nothing.
    let sim = Sim::fax(&["--submit-delay-ms", "8000", "--step-ms", "400", "--rename-merged"]);
    let mut s = fax_site("fax-merge-crash", &sim, "poll_in_secs = 0");
    let docs = json!([{"data": "SUkqAA==", "filename": "a.tif"}, {"data": "SUkqAA==", "filename": "b.tif"}]);
    let fax = json!({"to": "87057352", "subject": "Quote", "documents": docs});
    // An earlier fax to the same number with the same subject: it must never be adopted.
    let earlier = s.call("merge-0", "fax.send", fax.clone());
    let earlier_id = earlier["data"]["faxids"][0].as_str().expect("earlier fax").to_string();
    s.wait_event("fax.status", "the earlier fax sent", |d| d["faxid"] == earlier_id.as_str() && d["final"] == true);
    s.send("merge-1", "fax.send", fax);
    wait_for(WAIT, "the server to take the job", || (sim.state()["out"].as_array()?.len() == 2).then_some(()));
    s.agent.kill();
    s.agent.restart();
    let result = s.result("merge-1");
    let recovered = (result["status"].as_str(), result["data"]["recovered"].as_bool());
    assert_eq!(recovered, (Some("ok"), Some(true)), "{result}");
    let adopted = result["data"]["faxids"].as_array().expect("faxids");
    assert_eq!(adopted.len(), 1, "{result}");
    assert_ne!(adopted[0].as_str(), Some(earlier_id.as_str()), "the earlier command's fax is not adopted");
    let state = sim.state();
    assert_eq!(state["calls"]["submitfaxmerge"], 2, "each command submitted once");
    assert_eq!(state["out"].as_array().map(Vec::len), Some(2), "two jobs on the server");
}

#[test]
fn a_submit_lost_with_the_server_is_answered_uncertain_and_settled_when_the_server_is_back() {
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    // Its jobs never finish, so never show in its list: the agent cannot find and adopt the
    // job before the server dies, however late the test is.
    let sim = Sim::fax(&["--listen", &listen, "--submit-delay-ms", "10000", "--step-ms", "60000"]);
    let s = fax_site(
        "fax-uncertain",
        &sim,
        "poll_in_secs = 0\ntimeout_ms = 1000\ncommand_retry_secs = 3\nsubmit_settle_secs = 2",
    );
    s.send("lost-1", "fax.send", json!({"to": "87057352", "documents": [{"data": "SUkqAA==", "filename": "p.tif"}]}));
    wait_for(WAIT, "the server to take the job", || (sim.state()["out"].as_array()?.len() == 1).then_some(()));
    // The server dies with its reply (and, being a simulator, with the job).
    drop(sim);
    let result = s.result("lost-1");
    assert_eq!(result["error"]["code"], "submit_uncertain", "{result}");
    assert!(s.events("fax.submit_resolved").is_empty(), "nothing to say while the server is away");
    let again = Sim::fax(&["--listen", &listen]);
    let resolved = s.wait_event("fax.submit_resolved", "the settlement", |d| d["cmd_id"] == "lost-1");
    assert_eq!((resolved["submitted"].as_bool(), resolved["faxids"].as_array().map(Vec::len)), (Some(false), Some(0)));
    assert_eq!(again.state()["calls"]["submitfax"], Value::Null, "looked, never submitted on its own");
    let polls = again.state()["calls"]["getoutfaxids"].as_u64().expect("looked once");
    // A barrier: an outbound round run by the command itself, after the settlement.
    let polled = s.call("poll-after", "fax.poll_now", json!({}));
    assert_eq!(polled["status"], "ok", "{polled}");
    assert_eq!(again.state()["calls"]["getoutfaxids"].as_u64(), Some(polls), "settled once");
}

#[test]
fn a_scheduled_submit_whose_reply_was_lost_is_not_settled_as_unsent_before_its_time() {
    // The server takes the job, answers after the agent's timeout, and holds it until its
    // time: only sent jobs are listed, so it cannot be found before then.
    let sim = Sim::fax(&["--submit-delay-ms", "2500", "--step-ms", "50"]);
    let extra = "poll_in_secs = 0\ntimeout_ms = 1000\ncommand_retry_secs = 2\nsubmit_settle_secs = 2";
    let s = fax_site("fax-scheduled-lost", &sim, extra);
    let at = telbridge::event::format_rfc3339_ms(telbridge::event::now_ms() + 3_600_000);
    let doc = json!([{"data": "SUkqAA==", "filename": "p.tif"}]);
    let r = s.call("sched-1", "fax.send", json!({"to": "87057352", "documents": doc, "schedule_at": at}));
    assert_eq!(r["error"]["code"], "submit_uncertain", "{r}");
    // Past the settle window: a "not submitted" now would have the cloud send it again, and
    // both would dial at the hour.
    std::thread::sleep(Duration::from_secs(5));
    assert!(s.events("fax.submit_resolved").is_empty(), "{:?}", s.events("fax.submit_resolved"));
    assert_eq!(sim.state()["out"][0]["status"], 5, "still scheduled on the server");
}

#[test]
fn a_submit_reply_lost_in_transit_is_found_on_the_server_within_the_same_command() {
    // The server takes the job and answers after the agent's 1 s timeout.
    let sim = Sim::fax(&["--submit-delay-ms", "2500", "--step-ms", "50"]);
    let s = fax_site("fax-lostreply", &sim, "poll_in_secs = 0\ntimeout_ms = 1000");
    let r = s.call(
        "slow-1",
        "fax.send",
        json!({"to": "87057352", "documents": [{"data": "SUkqAA==", "filename": "p.tif"}]}),
    );
    assert_eq!((r["status"].as_str(), r["data"]["recovered"].as_bool()), (Some("ok"), Some(true)), "{r}");
    assert_eq!(sim.state()["calls"]["submitfax"], 1, "not submitted again");
    assert_eq!(final_status(&s, r["data"]["faxids"][0].as_str().expect("faxid"))["state"], "succeeded");
}
