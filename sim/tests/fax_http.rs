//! The simulated WaveFax server over real loopback HTTP, checked against the digest: the
//! non-strict login reply, `putfile` needing `Content-Disposition`, the number rule, job
//! states, `getoutfaxids` listing sent faxes only, time windows, tokens, the inbox.

mod common;

use common::{get, post, start};
use serde_json::{Value, json};
use std::time::Duration;
use telbridge_sim::fax::codes::{self, format_time};
use telbridge_sim::fax::{Options, Sim, sha256_hex};

async fn sim(step_ms: u64) -> (String, Sim) {
    let sim = Sim::new(Options { step: Duration::from_millis(step_ms), ..Options::default() });
    sim.spawn();
    (start(sim.router()).await, sim)
}

/// `{ code:0, key:"v" }` read leniently: bare keys quoted, then JSON.
fn lenient(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if c == ':' && !word.is_empty() && !word.chars().all(|d| d.is_ascii_digit()) && !out.ends_with('"') {
            out.push_str(&format!("\"{word}\""));
        } else {
            out.push_str(&word);
        }
        word.clear();
        out.push(c);
    }
    out.push_str(&word);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"))
}

async fn call(base: &str, query: &str) -> Value {
    let r = get(&format!("{base}/wspubcore?call={query}")).await;
    serde_json::from_slice(&r.body).unwrap_or_else(|_| lenient(&r.body))
}

async fn login(base: &str) -> String {
    let r = post(&format!("{base}/wspubcore?call=login&user=ops&passwd=ops"), &[], vec![]).await;
    assert!(serde_json::from_slice::<Value>(&r.body).is_err(), "the seed's reply is not strict JSON");
    let v = lenient(&r.body);
    assert_eq!(v["code"], 0);
    v["sessionToken"].as_str().expect("token").to_string()
}

async fn put(base: &str, t: &str, cd: Option<&str>, data: &[u8]) -> Value {
    let headers: Vec<(&str, &str)> = cd.map(|c| ("content-disposition", c)).into_iter().collect();
    let r = post(&format!("{base}/wspubcore?call=putfile&sessiontoken={t}"), &headers, data.to_vec()).await;
    serde_json::from_slice(&r.body).unwrap_or_else(|_| lenient(&r.body))
}

#[tokio::test]
async fn login_upload_submit_and_the_job_reaches_a_final_state() {
    let (base, sim) = sim(20).await;
    let bad = call(&base, "login&userdomain=ops&passwd=nope").await;
    assert_eq!((bad["code"].as_i64(), bad.as_object().map(|o| o.len())), (Some(codes::WRONG_PASSWORD), Some(2)));
    assert_eq!(call(&base, "login&user=ghost&passwd=ops").await["code"], codes::NO_USER);
    let t = login(&base).await;
    assert_eq!(put(&base, &t, None, b"x").await["code"], codes::BAD_FILE_ID, "no Content-Disposition");
    let doc = b"%PDF-1.4 quote";
    let f = put(&base, &t, Some("attachment; filename=\"quote.pdf\""), doc).await;
    let fileid = f["fileid"].as_str().expect("fileid").to_string();
    let state = sim.state();
    assert_eq!(
        (state["files"][0]["name"].as_str(), state["files"][0]["sha256"].as_str()),
        (Some("quote.pdf"), Some(sha256_hex(doc).as_str()))
    );

    let bad_num = call(&base, &format!("submitfax&sessiontoken={t}&faxnum=%2B86%2020&fileid={fileid}")).await;
    assert_eq!(bad_num["code"], codes::BAD_NUMBER);
    let start = format_time(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("t").as_secs() as i64 - 60,
    );
    let end = format_time(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("t").as_secs() as i64 + 60,
    );
    let q = format!("submitfax&sessiontoken={t}&faxnum=%2B86%2820%2987057352&recipient=Li&fileid={fileid}&subject=s");
    let faxid = call(&base, &q).await["faxid"].as_str().expect("faxid").to_string();
    let listed = call(&base, &format!("getoutfaxids&sessiontoken={t}&timestart={start}&timeend={end}")).await;
    assert_eq!(listed["faxids"], json!([]), "a queued job is not a sent fax");
    let mut last = Value::Null;
    for _ in 0..100 {
        last = call(&base, &format!("getoutfax&sessiontoken={t}&faxid={faxid}")).await;
        if last["status"] == 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (last["status"].as_u64(), last["errcode"].as_u64(), last["fileid"].as_str()),
        (Some(9), Some(0), Some(fileid.as_str()))
    );
    let listed = call(&base, &format!("getoutfaxids&sessiontoken={t}&timestart={start}&timeend={end}")).await;
    assert_eq!(listed["faxids"], json!([faxid]));
    let reversed = call(&base, &format!("getoutfaxids&sessiontoken={t}&timestart={end}&timeend={start}")).await;
    assert_eq!(reversed.as_object().map(|o| o.len()), Some(2), "timeend must be greater than timestart: {reversed}");
    assert_eq!(call(&base, &format!("cancelfax&sessiontoken={t}&faxid={faxid}")).await["code"], codes::BAD_FAX_ID);
    let again = call(&base, &format!("resendfax&sessiontoken={t}&faxid={faxid}&faxnum=%2B852%2022222444")).await;
    assert!(again["faxid"].as_str().is_some_and(|n| n != faxid), "{again}");
    let mail = format!(
        "submitfaxmerge&sessiontoken={t}&faxnum=%2B852%2022222222&fileid1={fileid}&fileid2={fileid}&pattern=fax-mail&mailaddress=a%40x%3B%20b%40y"
    );
    let ids = call(&base, &mail).await;
    assert_eq!(ids["faxids"].as_array().map(Vec::len), Some(3), "{ids}");
    let mail_job =
        call(&base, &format!("getoutfax&sessiontoken={t}&faxid={}", ids["faxids"][2].as_str().expect("id"))).await;
    assert_eq!((mail_job["faxnum"].as_str(), mail_job["recipient"].as_str()), (Some("+86(10)99999999"), Some("b@y")));
    assert_eq!(sim.state()["calls"]["submitfaxmerge"], 1);
}

#[tokio::test]
async fn tokens_expire_and_logoff_ends_them() {
    let (base, _sim) = sim(200).await;
    let t = login(&base).await;
    assert_eq!(call(&base, &format!("getinfaxids&sessiontoken={t}")).await["code"], 0);
    assert_eq!(call(&base, "getinfaxids&sessiontoken=WSSESSnope").await["code"], codes::INVALID_TOKEN);
    post(&format!("{base}/sim/expire"), &[], vec![]).await;
    assert_eq!(call(&base, &format!("getinfaxids&sessiontoken={t}")).await["code"], codes::EXPIRED_TOKEN);
    let t = login(&base).await;
    assert_eq!(call(&base, &format!("logoff&sessiontoken={t}")).await["code"], 0);
    assert_eq!(call(&base, &format!("getinfaxids&sessiontoken={t}")).await["code"], codes::INVALID_TOKEN);
}

#[tokio::test]
async fn the_inbox_lists_by_window_or_the_last_two_and_serves_files() {
    let (base, sim) = sim(200).await;
    let t = login(&base).await;
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = json!({"from": "+85222222222", "pages": 2, "data": base64_encode(&data), "broken": i == 2});
        let r = post(&format!("{base}/sim/infax"), &[], body.to_string().into_bytes()).await.json();
        ids.push(r["faxid"].as_str().expect("faxid").to_string());
    }
    assert_eq!(
        call(&base, &format!("getinfaxids&sessiontoken={t}&timeend=20000101T000000")).await["faxids"],
        json!(ids[1..])
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("t").as_secs() as i64;
    let window = format!("timestart={}&timeend={}", format_time(now - 60), format_time(now + 60));
    assert_eq!(call(&base, &format!("getinfaxids&sessiontoken={t}&{window}")).await["faxids"], json!(ids));
    assert_eq!(call(&base, &format!("getinfaxcount&sessiontoken={t}&{window}")).await["count"], 3);
    let info = call(&base, &format!("getinfax&sessiontoken={t}&faxid={}", ids[0])).await;
    assert_eq!((info["callerid"].as_str(), info["pages"].as_u64()), (Some("+85222222222"), Some(2)));
    let file =
        call(&base, &format!("getfaxfile&sessiontoken={t}&fileid={}&pdf=1", info["fileid"].as_str().expect("f"))).await;
    let url = file["fileurl"].as_str().expect("url");
    assert!(url.ends_with(".pdf"));
    assert_eq!(get(&format!("{base}{url}")).await.body, data);
    let broken = call(&base, &format!("getinfax&sessiontoken={t}&faxid={}", ids[2])).await;
    let f = call(&base, &format!("getfaxfile&sessiontoken={t}&fileid={}", broken["fileid"].as_str().expect("f"))).await;
    assert_eq!(f["code"], codes::DATABASE_ERROR);
    assert_eq!(call(&base, &format!("deleteinfax&sessiontoken={t}&faxid={}&recycle=false", ids[0])).await["code"], 0);
    assert_eq!(sim.state()["inbox"], json!(ids[1..]));
    // The document host.
    post(&format!("{base}/sim/docs/a.pdf"), &[], b"doc".to_vec()).await;
    assert_eq!(get(&format!("{base}/docs/a.pdf")).await.body, b"doc");
    assert_eq!(get(&format!("{base}/docs/none.pdf")).await.status, 404);
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}
