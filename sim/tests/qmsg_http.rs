//! The simulated QMsg platform over real loopback HTTP, checked against the digest
//! (`qmsg-sms.md`) and the seed: GBK GET and UTF-8 POST sends, the text and GBK XML replies,
//! no de-duplication on `sendid`, MOs returned by `getSms` once, pushes retried until the
//! receiver answers `0`, in UTF-8 or GBK.

mod common;

use common::{get, post, start};
use hyper::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telbridge_sim::qmsg::{Options, Sim};
use telbridge_sim::server::{Router, text_response};

const LOGIN: &str = "entid=1234567&uid=u1&pwd=p1";
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

async fn sim(opts: Options) -> (String, Sim) {
    let sim = Sim::new(opts);
    sim.spawn();
    (start(sim.router()).await, sim)
}

fn gbk(bytes: &[u8]) -> String {
    encoding_rs::GBK.decode_without_bom_handling(bytes).0.into_owned()
}

async fn control(base: &str, path: &str, body: Value) -> Value {
    post(&format!("{base}{path}"), &[("content-type", "application/json")], body.to_string().into_bytes()).await.json()
}

/// What a push receiver got (path and query), answering `busy` to the first `refuse`
/// requests and `0` after.
type Got = Arc<Mutex<Vec<String>>>;

async fn receiver(refuse: usize) -> (String, Got) {
    let got: Got = Arc::default();
    let mut router = Router::default();
    let g = got.clone();
    router.prefix(Method::GET, "/", move |req| {
        let g = g.clone();
        async move {
            let mut list = g.lock().expect("lock");
            list.push(req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default());
            let body = if list.len() > refuse { "0\r\n" } else { "busy" };
            text_response(hyper::StatusCode::OK, "text/plain", body.to_string())
        }
    });
    (start(router).await, got)
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_gbk_get_and_a_utf8_post_send_the_same_chinese_text() {
    let (base, sim) = sim(Options::default()).await;
    // "你好,世界" in GBK: C4E3 BAC3 2C CAC0 BDE7.
    let r = get(&format!("{base}/sendSms.do?{LOGIN}&mobs=13800210021&msg=%C4%E3%BA%C3%2C%CA%C0%BD%E7&sendid=9")).await;
    assert_eq!(r.body, b"0\n9\n999\n");
    let body = format!("{LOGIN}&mobs=13800210021%2C13800210022&msg=%E4%BD%A0%E5%A5%BD%2C%E4%B8%96%E7%95%8C&extno=12");
    let r = post(&format!("{base}/sendSms.do"), &[FORM], body.clone().into_bytes()).await;
    let text = String::from_utf8(r.body).expect("ascii");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!((lines[0], lines[2]), ("0", "997"));
    let state = sim.state();
    assert_eq!(
        state["sent"][0],
        json!({"method": "GET", "sendid": "9", "mobs": ["13800210021"], "msg": "你好,世界",
        "extno": null, "decode_errors": false})
    );
    assert_eq!(state["sent"][1]["msg"], "你好,世界");
    assert_eq!((state["sent"][1]["sendid"].as_str(), state["sent"][1]["extno"].as_str()), (Some(lines[1]), Some("12")));

    // The UTF-8 bytes in a GET are read as GBK: mojibake, as the real platform would show.
    get(&format!("{base}/sendSms.do?{LOGIN}&mobs=13800210021&msg=%E4%BD%A0%E5%A5%BD")).await;
    assert_ne!(sim.state()["sent"][2]["msg"], "你好");
    // A POST body that is not a form is not read: parameters missing.
    let r = post(&format!("{base}/sendSms.do"), &[("content-type", "text/plain")], body.into_bytes()).await;
    assert!(r.body.starts_with(b"1\n"));
    // A POST's URL query is UTF-8 too (seed: "post 方式提交编码指定为 UTF-8").
    let url = format!("{base}/sendSms.do?{LOGIN}&mobs=13800210021&msg=%E4%BD%A0");
    assert!(post(&url, &[FORM], Vec::new()).await.body.starts_with(b"0\n"));
    assert_eq!(sim.state()["sent"][3]["msg"], "你");
    assert_eq!(sim.state()["requests"], json!({"sendSms_get": 2, "sendSms_post": 3, "getSms": 0}));
}

#[tokio::test]
async fn xml_replies_are_gbk_and_refusals_carry_their_codes() {
    let (base, sim) = sim(Options { balance: 2, ..Options::default() }).await;
    let send = |extra: &str| {
        format!("{base}/sendSms.do?entid=1234567&uid=u1&mobs=13800210021&msg=Hello&returnflag=xml{extra}")
    };
    let r = get(&send("&pwd=p1&sendid=123456")).await;
    let xml = gbk(&r.body);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"GBK\" ?>"), "{xml}");
    assert!(xml.contains("<statCode>0</statCode>") && xml.contains("<statMsg>成功</statMsg>"));
    assert!(
        xml.contains("<sendId>123456</sendId>")
            && xml.contains("<payType>1</payType>")
            && xml.contains("<balance>1</balance>")
    );
    assert!(gbk(&get(&send("&pwd=nope")).await.body).contains("<statCode>5</statCode>"));
    // 51 numbers in a GET: over its limit of 50.
    let url = format!("{base}/sendSms.do?{LOGIN}&msg=x&mobs={}", vec!["13800210021"; 51].join(","));
    assert_eq!(get(&url).await.body, b"1\n\n1\n");
    get(&send("&pwd=p1")).await;
    let poor = gbk(&get(&send("&pwd=p1")).await.body);
    assert!(poor.contains("<statCode>9</statCode>") && !poor.contains("sendId"), "{poor}");
    control(&base, "/sim/config", json!({"balance": 10, "status_code": 11})).await;
    assert_eq!(get(&format!("{base}/sendSms.do?{LOGIN}&mobs=13800210021&msg=x")).await.body, b"11\n\n10\n");
    let state = control(&base, "/sim/config", json!({"status_code": null})).await;
    assert_eq!((state["balance"].as_u64(), state["sent"].as_array().map(Vec::len)), (Some(10), Some(2)));
    assert_eq!(state["refused"].as_array().map(Vec::len), Some(4));
    assert_eq!(sim.state()["status_code"], Value::Null);
}

#[tokio::test]
async fn a_repeated_sendid_sends_again() {
    let (base, sim) = sim(Options::default()).await;
    for balance in [999, 998] {
        let body = format!("{LOGIN}&mobs=13800210021&msg=hi&sendid=42").into_bytes();
        let r = post(&format!("{base}/sendSms.do"), &[FORM], body).await;
        assert_eq!(String::from_utf8_lossy(&r.body), format!("0\n42\n{balance}\n"));
    }
    let state = sim.state();
    assert_eq!((state["sent"].as_array().map(Vec::len), state["balance"].as_u64()), (Some(2), Some(998)));
}

#[tokio::test]
async fn get_sms_returns_each_mo_once_in_text_or_xml() {
    let (base, _sim) = sim(Options::default()).await;
    let mo = json!({"mob": "13916610888", "msg": "你好,世界,ok", "ext": "00016", "replytime": "2007-12-07 18:23:08"});
    assert_eq!(control(&base, "/sim/mo", mo).await["mo_queued"], 1);
    control(&base, "/sim/mo", json!({"mob": "13916610889", "msg": "d44444444444", "ext": "78988"})).await;
    let text = gbk(&get(&format!("{base}/getSms.do?{LOGIN}")).await.body);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..3],
        ["0", "# 机构账户余额是(The organization's balance is):1000", "# extno,mobile,replytime,msg"]
    );
    assert_eq!(
        lines[3].splitn(4, ',').collect::<Vec<_>>(),
        ["00016", "13916610888", "2007-12-07 18:23:08", "你好,世界,ok"]
    );
    assert!(lines[4].starts_with("78988,13916610889,20"));
    assert_eq!(lines.len(), 5);
    let again = gbk(&get(&format!("{base}/getSms.do?{LOGIN}&returnflag=xml&getall=yes")).await.body);
    assert!(!again.contains("<MO>") && again.contains("<statMsg />"), "{again}");

    control(&base, "/sim/mo", json!({"msg": "a"})).await;
    control(&base, "/sim/mo", json!({"msg": "b<c"})).await;
    assert_eq!(gbk(&get(&format!("{base}/getSms.do?entid=1234567&uid=u1&pwd=x")).await.body), "5\n");
    let xml = gbk(&get(&format!("{base}/getSms.do?{LOGIN}&returnflag=xml")).await.body);
    assert_eq!(xml.matches("<MO>").count(), 2);
    assert!(xml.contains("<entId>1234567</entId>") && xml.contains("<msgContent>b&lt;c</msgContent>"));
}

#[tokio::test]
async fn pushes_are_retried_until_the_receiver_answers_zero() {
    let (mo_url, mos) = receiver(2).await;
    let (rep_url, reports) = receiver(0).await;
    let opts = Options {
        push_mo: Some(format!("{mo_url}/recvmsg")),
        push_report: Some(format!("{rep_url}/recvreport?token=s")),
        auto_report: Some("0".into()),
        push_retry: std::time::Duration::from_millis(20),
        ..Options::default()
    };
    let (base, sim) = sim(opts).await;
    let mo = json!({"mob": "13916610888", "msg": "你好 a,b", "ext": "100123", "replytime": "2007-12-07 18:23:08", "push": true});
    assert_eq!(control(&base, "/sim/mo", mo).await["pushed"], true);
    get(&format!("{base}/sendSms.do?{LOGIN}&mobs=13800210021,13800210022&msg=x&sendid=7")).await;
    wait_until("the pushes", || {
        sim.state()["pushes"]["mo_answered"] == 1 && sim.state()["pushes"]["report_answered"] == 2
    })
    .await;
    let mos = mos.lock().expect("lock").clone();
    assert_eq!(mos.len(), 3, "two refusals, then taken");
    assert_eq!(
        mos[2],
        "/recvmsg?mob=13916610888&msg=%E4%BD%A0%E5%A5%BD+a%2Cb&entid=1234567&replytime=2007-12-07+18%3A23%3A08&ext=100123&appid=123"
    );
    let seen = reports.lock().expect("lock").clone();
    assert_eq!(seen[0], "/recvreport?token=s&mob=13800210021&sendid=7&status=0&appid=123&entid=1234567");
    assert_eq!(seen[1], "/recvreport?token=s&mob=13800210022&sendid=7&status=0&appid=123&entid=1234567");
    assert_eq!(sim.state()["pushes"]["attempts"], 5);
    assert_eq!(sim.state()["mo_queued"], 1, "a pushed MO is also there for getSms");
    let r = post(
        &format!("{base}/sim/report"),
        &[],
        json!({"sendid": 7, "mob": "13800210021", "status": 2}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(r.status, 200);
    wait_until("the manual report", || sim.state()["pushes"]["report_answered"] == 3).await;
    let last = reports.lock().expect("lock")[2].clone();
    assert_eq!(last, "/recvreport?token=s&mob=13800210021&sendid=7&status=2&appid=123&entid=1234567");
}

#[tokio::test]
async fn gbk_pushes_percent_encode_gbk_bytes() {
    let (mo_url, mos) = receiver(0).await;
    let opts = Options { push_mo: Some(format!("{mo_url}/recvmsg")), push_gbk: true, ..Options::default() };
    let (base, sim) = sim(opts).await;
    control(
        &base,
        "/sim/mo",
        json!({"mob": "13916610888", "msg": "你好", "ext": "", "replytime": "2007-12-07 18:23:08", "push": true}),
    )
    .await;
    wait_until("the push", || sim.state()["pushes"]["mo_answered"] == 1).await;
    let got = mos.lock().expect("lock")[0].clone();
    assert!(got.starts_with("/recvmsg?mob=13916610888&msg=%C4%E3%BA%C3&entid=1234567&"), "{got}");
    let r = post(&format!("{base}/sim/report"), &[], json!({"sendid": "1", "mob": "1"}).to_string().into_bytes()).await;
    assert_eq!(r.status, 409, "no --push-report");
}
