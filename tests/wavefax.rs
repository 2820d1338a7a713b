//! The WaveFax server client (`telbridge::wavefax::server`) against the real
//! `telbridge-sim fax` process over loopback: session, uploads, merge submit, state
//! polling to success and to busy, token expiry mid-flow, a wrong password that is not
//! retried in a loop, and an inbound fax downloaded byte for byte.

mod common;

use common::sim::Sim;
use serde_json::json;
use std::time::Duration;
use telbridge::wavefax::codes::OutState;
use telbridge::wavefax::reply::{self, ReplyError};
use telbridge::wavefax::request::{Call, SubmitOptions, format_time};
use telbridge::wavefax::server::{Credentials, Server, ServerError};

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
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    let window = Call::GetInFaxIds { start: format_time(now - 60, 0), end: format_time(now + 60, 0), folder: None };
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
