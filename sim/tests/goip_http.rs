//! The simulated GoIP gateway over real loopback HTTP, checked against what the digest
//! says a device does: a strict secure session (bodies keyed with the session-opening
//! auth only), pushes with `version=1.1`, port selection, commands and statistics.

mod common;

use common::{get, post, receiver, start, wait_for};
use serde_json::{Value, json};
use std::time::Duration;
use telbridge_sim::goip::crypto::{self, AuthOrder, Cipher, md5hex};
use telbridge_sim::goip::{Options, Sim};

const U: &str = "admin";
const P: &str = "pw";

async fn sim(f: impl FnOnce(&mut Options)) -> (String, Sim) {
    let mut o = Options { password: P.into(), send_interval: Duration::from_millis(20), ..Options::default() };
    f(&mut o);
    let sim = Sim::new(o);
    sim.spawn();
    (start(sim.router()).await, sim)
}

/// The client side of a secure session, computed as the digest says.
struct Session {
    base: String,
    id: String,
    open_auth: String,
    seq: u64,
    order: AuthOrder,
    cipher: Cipher,
}

impl Session {
    async fn open(base: &str, cipher: Cipher, order: AuthOrder) -> Session {
        let cnonce = "c0ffee42";
        let open_auth = md5hex(&format!("{U}{P}{cnonce}/crypt_sess.json"));
        let url = format!(
            "{base}/crypt_sess.json?username={U}&cnonce={cnonce}&auth={open_auth}&expires=180&crypt={}",
            cipher.as_str()
        );
        let r = get(&url).await.json();
        assert_eq!(r["code"], 0, "{r}");
        let id = r["session"].as_str().expect("session").to_string();
        Session { base: base.to_string(), id, open_auth, seq: 0, order, cipher }
    }

    /// The next request's URL (next seq, per-request auth).
    fn url(&mut self, path: &str, extra: &str) -> String {
        self.seq += 1;
        let auth = crypto::request_auth(U, P, &self.id, path, self.seq, self.order);
        format!("{}{path}?seq={}&session={}&auth={auth}{extra}", self.base, self.seq, self.id)
    }

    /// POSTs `body` encrypted with `key_auth` standing for `A` in the key.
    async fn post(&mut self, path: &str, body: &Value, key_auth: Option<&str>) -> Value {
        let url = self.url(path, "");
        let a = key_auth.map_or(self.open_auth.clone(), str::to_string);
        let key = crypto::body_key(U, P, &a, &self.id, self.seq);
        let enc = crypto::encrypt(self.cipher, &key, body.to_string().as_bytes()).expect("encrypt");
        post(&url, &[], enc).await.json()
    }
}

fn send_body(tid: u64) -> Value {
    json!({"type": "send-sms", "task_num": 1, "tasks": [{"tid": tid, "to": "13800000001", "sms": "héllo 你好"}]})
}

#[tokio::test]
async fn a_post_encrypted_with_the_session_opening_auth_is_decrypted_in_every_cipher() {
    for (i, (cipher, order)) in
        [(Cipher::Xor, AuthOrder::PathSeq), (Cipher::Rc4, AuthOrder::SeqPath), (Cipher::AesEcb, AuthOrder::SeqPath)]
            .into_iter()
            .enumerate()
    {
        let (base, sim) = sim(|o| (o.session_only, o.order) = (true, order)).await;
        let mut s = Session::open(&base, cipher, order).await;
        let tid = 100 + i as u64;
        let r = s.post("/goip_post_sms.html", &send_body(tid), None).await;
        assert_eq!((r["code"].as_u64(), r["status"][0]["status"].as_str()), (Some(200), Some("0 OK")), "{r}");
        let state = sim.state();
        let logged = state["requests"].as_array().and_then(|l| l.last()).cloned().expect("logged");
        assert_eq!((logged["session"].as_bool(), logged["cipher"].as_str()), (Some(true), Some(cipher.as_str())));
        assert_eq!(logged["body"]["tasks"][0]["sms"], "héllo 你好");
        assert_eq!(state["tasks"][0]["tid"].as_u64(), Some(tid));
        // A GET in the same session needs no body.
        let url = s.url("/goip_get_sms_stat.html", "&ports=all");
        assert_eq!(get(&url).await.json()["code"], 200);
    }
}

#[tokio::test]
async fn a_body_keyed_with_the_per_request_auth_is_refused() {
    for cipher in [Cipher::Xor, Cipher::Rc4, Cipher::AesEcb] {
        let (base, sim) = sim(|o| o.session_only = true).await;
        let mut s = Session::open(&base, cipher, AuthOrder::PathSeq).await;
        // The misreading: `A` taken as this request's auth instead of the opening one.
        let next = s.seq + 1;
        let per_request = crypto::request_auth(U, P, &s.id, "/goip_post_sms.html", next, AuthOrder::PathSeq);
        let r = s.post("/goip_post_sms.html", &send_body(1), Some(&per_request)).await;
        assert_eq!(r["code"], 7, "{cipher:?}: {r}");
        assert_eq!(sim.state()["tasks"], json!([]), "{cipher:?}: nothing accepted");
        // The right key still works in the same session (next seq).
        let r = s.post("/goip_post_sms.html", &send_body(2), None).await;
        assert_eq!(r["status"][0]["status"], "0 OK", "{cipher:?}");
    }
}

#[tokio::test]
async fn session_rules_auth_seq_order_plain_and_expiry() {
    let (base, sim) = sim(|o| (o.session_only, o.order) = (true, AuthOrder::SeqPath)).await;
    let bad = get(&format!("{base}/crypt_sess.json?username={U}&cnonce=x&auth=00&crypt=rc4")).await.json();
    assert_eq!(bad["code"], 1);
    let bad = get(&format!(
        "{base}/crypt_sess.json?username={U}&cnonce=x&auth={}&crypt=des",
        md5hex(&format!("{U}{P}x/crypt_sess.json"))
    ))
    .await
    .json();
    assert_eq!(bad["code"], 15, "unknown cipher");
    let plain = get(&format!("{base}/goip_get_sms.html?username={U}&password={P}")).await.json();
    assert_eq!(plain["code"], 14, "session-only device");

    let mut s = Session::open(&base, Cipher::None, AuthOrder::SeqPath).await;
    let url = s.url("/goip_get_sms.html", "");
    assert_eq!(get(&url).await.json()["code"], 0);
    assert_eq!(get(&url).await.json()["code"], 14, "a seq is never accepted twice");
    s.seq += 5; // a gap is fine: only "greater than the last" is required
    let url = s.url("/goip_get_sms.html", "");
    assert_eq!(get(&url).await.json()["code"], 0);
    s.order = AuthOrder::PathSeq;
    let url = s.url("/goip_get_sms.html", "");
    assert_eq!(get(&url).await.json()["code"], 14, "this firmware hashes seq before path");
    assert_eq!(sim.state()["sessions"], 1);

    let mut short = Session::open(&base, Cipher::None, AuthOrder::SeqPath).await;
    short.order = AuthOrder::SeqPath;
    let url = short.url("/goip_get_sms.html", "&expires=1");
    assert_eq!(get(&url).await.json()["code"], 0, "expires renews the lifetime, here to 1 s");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let url = short.url("/goip_get_sms.html", "");
    assert_eq!(get(&url).await.json()["code"], 14, "expired");
    post(&format!("{base}/sim/reboot"), &[], b"{}".to_vec()).await;
    assert_eq!(sim.state()["sessions"], 0, "a reboot closes every session");
}

fn plain(base: &str, path: &str, extra: &str) -> String {
    format!("{base}{path}?version=1.1&username={U}&password={P}{extra}")
}

#[tokio::test]
async fn reports_and_received_sms_are_pushed_with_version_1_1_and_reports_are_plain_text() {
    let (base, sim) = sim(|_| {}).await;
    let (recv, got) = receiver().await;
    let status = get(&plain(&base, "/goip_get_status.html", &format!("&url={recv}/status&period=5"))).await.json();
    assert_eq!(status["code"], 0);
    assert_eq!(sim.state()["status_period"], 60, "the period's minimum is 60 s");
    let dev = wait_for(&got, "dev-status", |g| g.iter().find(|(_, b)| b["type"] == "dev-status").cloned()).await;
    assert_eq!((dev.0.as_str(), dev.1["seq"].as_u64(), dev.1["max-slot"].as_u64()), ("/status", Some(1), Some(4)));
    assert_eq!(dev.1["status"].as_array().map(Vec::len), Some(8));

    let body = json!({"type": "send-sms", "task_num": 1, "sr_url": format!("{recv}/sr"), "sr_cnt": 1, "sr_prd": 60,
        "sms_url": format!("{recv}/sms"),
        "tasks": [{"tid": 9, "to": "13800000001,13800000666", "sms": "x", "dr": 1}]});
    let r = post(&plain(&base, "/goip_post_sms.html", ""), &[], body.to_string().into_bytes()).await.json();
    assert_eq!(r["status"][0]["status"], "0 OK");
    let reports = wait_for(&got, "the last report", |g| {
        let r: Vec<Value> = g.iter().filter(|(t, _)| t == "/sr?version=1.1").map(|(_, b)| b.clone()).collect();
        (r.len() == 2).then_some(r)
    })
    .await;
    assert_eq!(reports[1]["rpts"][0]["fdr"][0][4], "6 Timeout");
    assert_eq!((reports[1]["rpts"][0]["sent"].as_u64(), reports[1]["rpts"][0]["failed"].as_u64()), (Some(1), Some(1)));
    let dr = wait_for(&got, "the delivery report", |g| {
        g.iter().find(|(t, b)| t == "/sms?version=1.1" && b["sms"][0][0] == 1).map(|(_, b)| b.clone())
    })
    .await;
    let text = dr["sms"][0][5].as_str().expect("text");
    assert!(text.starts_with("0 ") && text[2..].parse::<u64>().is_ok(), "\"code scts\" in plain UTF-8: {text}");
    assert_eq!(dr["sms"][0][4], "13800000001", "the original recipient");

    post(&format!("{base}/sim/sms"), &[], br#"{"port":"2B","from":"10086","text":"hi"}"#.to_vec()).await;
    let sms =
        wait_for(&got, "the received SMS", |g| g.iter().find(|(_, b)| b["sms"][0][0] == 0).map(|(_, b)| b.clone()))
            .await;
    assert_eq!((sms["sms"][0][1].as_str(), sms["sms"][0][5].as_str()), (Some("2B"), Some("aGk=")));
    let page = get(&plain(&base, "/goip_get_sms.html", "&sms_id=1")).await.json();
    assert_eq!((page["sms_num"].as_u64(), page["next_sms"].as_u64()), (Some(2), Some(3)), "{page}");
}

#[tokio::test]
async fn one_recipient_with_ports_goes_out_from_every_listed_port() {
    let (base, sim) = sim(|_| {}).await;
    let body = json!({"type": "send-sms", "task_num": 2, "tasks": [
        {"tid": 1, "from": "1-3", "to": "13900000001", "sms": "each port"},
        {"tid": 2, "from": "1-2", "to": "13900000002,13900000003,13900000004", "sms": "spread"}]});
    let r = post(&plain(&base, "/goip_post_sms.html", ""), &[], body.to_string().into_bytes()).await.json();
    assert_eq!(r["status"], json!([{"tid": 1, "status": "0 OK"}, {"tid": 2, "status": "0 OK"}]));
    for _ in 0..200 {
        let s = sim.state();
        if s["tasks"].as_array().is_some_and(|t| t.iter().all(|t| t["done"] == true)) {
            assert_eq!(s["tasks"][0]["sent"], 3, "one recipient, three ports");
            assert_eq!(s["tasks"][1]["sent"], 3, "three recipients, once each");
            let stats = get(&plain(&base, "/goip_get_sms_stat.html", "&ports=3")).await.json();
            assert_eq!((stats["count"].as_u64(), stats["stats"][0]["Sent_ok"].as_u64()), (Some(1), Some(1)), "{stats}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("tasks never finished: {}", sim.state());
}

#[tokio::test]
async fn commands_push_port_status_and_reset_takes_port_numbers_only() {
    let (base, _sim) = sim(|_| {}).await;
    let (recv, got) = receiver().await;
    get(&plain(&base, "/goip_get_status.html", &format!("&url={recv}/st&period=60"))).await;
    let cmd_url = plain(&base, "/goip_send_cmd.html", "");
    let cmd = |b: Value| post(&cmd_url, &[], b.to_string().into_bytes());
    assert_eq!(cmd(json!({"type": "command", "op": "switch", "ports": "2.02"})).await.json()["code"], 0);
    let ps = wait_for(&got, "port-status", |g| g.iter().find(|(_, b)| b["type"] == "port-status").cloned()).await;
    assert_eq!((ps.1["port"].as_str(), ps.1["st"].as_str(), ps.1["seq"].as_u64()), (Some("2B"), Some("3 OK"), Some(1)));
    assert_eq!(cmd(json!({"type": "command", "op": "reset", "ports": "1A"})).await.json()["code"], 2);
    assert_eq!(cmd(json!({"type": "command", "op": "reset", "ports": "1,3-4"})).await.json()["code"], 0);
    let multi = json!({"type": "command", "op": "multiple", "ops": [{"op": "lock", "ports": "1"}, {"op": "fly"}]});
    assert_eq!(cmd(multi).await.json()["code"], 15);
    let set_url = plain(&base, "/goip_send_cmd.html", "&op=set&sms_url=http%3A%2F%2F127.0.0.1%3A9%2Fx");
    assert_eq!(post(&set_url, &[], vec![]).await.json()["sms_url"], "http://127.0.0.1:9/x");
    let calls = get(&plain(&base, "/goip_get_call_stat.html", "&ports=1-2&slots=all")).await.json();
    assert_eq!(calls["count"], 8, "2 ports x 4 slots");
    assert_eq!(calls["stats"][0]["nc"], "0/0");
    let wrong = get(&format!("{base}/goip_get_sms.html?username={U}&password=nope")).await.json();
    assert_eq!(wrong["code"], 1);
}
