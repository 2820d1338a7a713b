//! Unit tests of the pure platform: the seed's parameter checks and codes, `reqid`
//! de-duplication, TTLs on the sim's clock, releases and call routing.

use super::*;
use crate::privacy::codes::URL_MISMATCH;

const NOW: i64 = 1_700_000_000_000;

fn platform() -> Platform {
    Platform::new(Account {
        devid: "10000000".into(),
        authkey: "key1".into(),
        appid: "app1".into(),
        balance: 100.0,
        overdraft: 0.0,
        state: 1,
        create_ms: NOW - 86_400_000,
        update_ms: NOW - 86_400_000,
    })
}

fn params(s: &str) -> Params {
    crate::server::parse_query(s).into_iter().collect()
}

const AXB: &str = "appid=app1&anum=13800000001&bnum=13900000002&reqid=r1&ttl=100&userData=5L2g5aW9";

#[test]
fn an_axb_bind_answers_a_subid_and_keeps_user_data_exactly() {
    let mut p = platform();
    let out = p.bind_axb("17000000001", &params(AXB), NOW, "s1".into());
    assert_eq!(out.to_json(), json!({"error": 0, "reason": "成功", "subid": "s1"}));
    let b = &p.bindings[0];
    assert_eq!((b.user_data.as_deref(), b.display.as_str(), b.record), (Some("5L2g5aW9"), "0,0", false));
    assert_eq!(b.expires_ms, Some(NOW + 100_000));
    assert_eq!(p.account.update_ms, NOW);
}

#[test]
fn a_duplicate_reqid_is_answered_1004_without_a_subid_unless_asked() {
    let mut p = platform();
    p.bind_axb("17000000001", &params(AXB), NOW, "s1".into());
    let again = p.bind_axb("17000000001", &params(AXB), NOW + 1, "s2".into());
    assert_eq!((again.code, again.subid), (DUPLICATE, None));
    assert_eq!(p.bindings.len(), 1, "the retry binds nothing");
    p.subid_on_duplicate = true;
    let again = p.bind_axb("17000000009", &params(AXB), NOW + 2, "s3".into());
    assert_eq!((again.code, again.subid.as_deref()), (DUPLICATE, Some("s1")));
    // The reqid is global: an XA with it is a duplicate too, released or not.
    p.release_axb(&params("appid=app1&subid=s1"), NOW);
    let xa = p.bind_xa("17000000005", &params("appid=app1&anum=13800000001&reqid=r1"), NOW, "x".into());
    assert_eq!(xa.code, DUPLICATE);
    // A refused bind does not take its reqid.
    let refused = p.bind_axb("17000000002", &params("appid=app1&anum=1&bnum=2&reqid=r2"), NOW, "s4".into());
    assert_eq!(refused.code, BAD_PARAMS);
    let ok = p.bind_axb("17000000002", &params("appid=app1&anum=1&bnum=2&reqid=r2&ttl=5"), NOW, "s4".into());
    assert_eq!(ok.code, OK);
}

#[test]
fn every_parameter_check_of_the_seed_answers_1002() {
    let mut p = platform();
    let long = "1".repeat(25);
    for (q, why) in [
        ("anum=1&bnum=2&reqid=r&ttl=5", "appid is required"),
        ("appid=app2&anum=1&bnum=2&reqid=r&ttl=5", "appid does not match"),
        ("appid=app1&bnum=2&reqid=r&ttl=5", "anum is required"),
        ("appid=app1&anum=&bnum=2&reqid=r&ttl=5", "anum is required"),
        ("appid=app1&anum=1&reqid=r&ttl=5", "bnum is required"),
        (&format!("appid=app1&anum={long}&bnum=2&reqid=r&ttl=5"), "anum is longer than 24"),
        (&format!("appid=app1&anum=1&bnum={long}&reqid=r&ttl=5"), "bnum is longer than 24"),
        ("appid=app1&anum=1&bnum=2&ttl=5", "reqid is required"),
        ("appid=app1&anum=1&bnum=2&reqid=r", "ttl is required"),
        ("appid=app1&anum=1&bnum=2&reqid=r&ttl=x", "ttl is not"),
        ("appid=app1&anum=1&bnum=2&reqid=r&ttl=-5", "ttl is not"),
        ("appid=app1&anum=1&bnum=2&reqid=r&ttl=0", "at least 1 second"),
        ("appid=app1&anum=1&bnum=2&reqid=r&ttl=5&record=2", "record is 0 or 1"),
        ("appid=app1&anum=1&bnum=2&reqid=r&ttl=5&display=2,0", "display is one of"),
    ] {
        let out = p.bind_axb("17000000001", &params(q), NOW, "s".into());
        assert_eq!(out.code, BAD_PARAMS, "{q}");
        assert!(out.reason.starts_with("访问参数错误: ") && out.reason.contains(why), "{q}: {}", out.reason);
    }
    let at_24 = "1".repeat(24);
    let ok =
        p.bind_axb("17000000001", &params(&format!("appid=app1&anum={at_24}&bnum=2&reqid=r&ttl=5")), NOW, "s".into());
    assert_eq!(ok.code, OK, "24 bytes is the limit");
    for q in ["appid=app1&reqid=q", "appid=app1&anum=1&reqid=q&ttl=-1", "appid=app1&anum=1&reqid=q&display=0,0"] {
        assert_eq!(p.bind_xa("17000000009", &params(q), NOW, "s".into()).code, BAD_PARAMS, "{q}");
    }
    assert_eq!(p.release_axb(&params("appid=app1"), NOW).code, BAD_PARAMS);
    assert_eq!(p.release_xa("17000000001", &params("appid=nope"), NOW).code, BAD_PARAMS);
    assert_ne!(URL_MISMATCH, BAD_PARAMS);
}

#[test]
fn an_axb_binding_expires_after_its_ttl_on_the_sims_clock() {
    let mut p = platform();
    p.bind_axb("17000000001", &params(AXB), NOW, "s1".into());
    assert_eq!(p.route("17000000001", "13800000001", NOW + 99_999).map(|r| r.1), Some("13900000002".into()));
    assert_eq!(p.route("17000000001", "13900000002", NOW).map(|r| r.1), Some("13800000001".into()));
    assert_eq!(p.route("17000000001", "13700000000", NOW), None, "a stranger is not connected");
    assert_eq!(p.route("17000000001", "13800000001", NOW + 100_000), None);
    assert_eq!(p.bindings[0].to_json(NOW + 100_000)["expired"], true);
    assert_eq!(p.release_axb(&params("appid=app1&subid=s1"), NOW + 100_000).code, NO_RESOURCE);
    // Expired, the numbers are free again.
    let again = AXB.replace("reqid=r1", "reqid=r2");
    assert_eq!(p.bind_axb("17000000001", &params(&again), NOW + 100_000, "s2".into()).code, OK);
}

#[test]
fn an_xa_transfer_with_ttl_0_lasts_forever_and_is_released_by_x() {
    let mut p = platform();
    let out =
        p.bind_xa("17000000005", &params("appid=app1&anum=13800000001&reqid=x1&ttl=0&userData=raw"), NOW, "sx".into());
    assert_eq!(out.to_json(), json!({"error": 0, "reason": "成功"}));
    assert_eq!(p.bindings[0].expires_ms, None);
    assert_eq!(p.route("17000000005", "anyone", NOW + 10 * 365 * 86_400_000).map(|r| r.1), Some("13800000001".into()));
    assert_eq!(p.bind_xa("17000000006", &params("appid=app1&anum=1&reqid=x2&ttl=60"), NOW, "s".into()).code, OK);
    assert_eq!(p.bindings[1].expires_ms, Some(NOW + 60_000));
    assert_eq!(p.release_xa("17000000005", &params("appid=app1"), NOW).code, OK);
    assert_eq!(p.release_xa("17000000005", &params("appid=app1"), NOW).code, NO_RESOURCE, "released already");
    assert_eq!(p.route("17000000005", "anyone", NOW), None);
}

#[test]
fn releasing_twice_answers_1300_and_conflicts_answer_1302() {
    let mut p = platform();
    p.bind_axb("17000000001", &params(AXB), NOW, "s1".into());
    assert_eq!(p.release_axb(&params("appid=app1&subid=s1"), NOW).code, OK);
    assert_eq!(p.release_axb(&params("appid=app1&subid=s1"), NOW).code, NO_RESOURCE);
    p.bind_axb("17000000001", &params(&AXB.replace("r1", "r2")), NOW, "s2".into());
    let same_a = "appid=app1&anum=13800000001&bnum=13700000003&reqid=r3&ttl=100";
    assert_eq!(p.bind_axb("17000000001", &params(same_a), NOW, "s3".into()).code, RESOURCE_CONFLICT);
    assert_eq!(p.bind_axb("17000000002", &params(same_a), NOW, "s3".into()).code, OK, "another X is free");
    assert_eq!(
        p.bind_xa("17000000001", &params("appid=app1&anum=1&reqid=r4"), NOW, "s".into()).code,
        RESOURCE_CONFLICT
    );
}

#[test]
fn a_suspended_or_empty_account_binds_nothing() {
    let mut p = platform();
    p.account.state = 2;
    assert_eq!(p.bind_axb("17000000001", &params(AXB), NOW, "s".into()).code, ACCOUNT_DISABLED);
    p.account.state = 0;
    p.account.balance = 0.0;
    assert_eq!(p.bind_axb("17000000001", &params(AXB), NOW, "s".into()).code, NO_BALANCE);
    p.account.overdraft = 50.0;
    assert_eq!(p.bind_axb("17000000001", &params(AXB), NOW, "s".into()).code, OK);
    let status = p.account_status();
    assert_eq!((status["state"].as_u64(), status["balance"].as_f64()), (Some(0), Some(0.0)));
    assert_eq!(status["updateTime"], NOW);
}
