//! The pure device states without HTTP: the GoIP gateway's report batching, commands,
//! reboot and statistics; the WaveFax server's tokens, number rule and job states.

use serde_json::json;
use std::collections::BTreeMap;
use telbridge_sim::fax::codes;
use telbridge_sim::fax::state::{FaxServer, valid_number};
use telbridge_sim::goip::state::{Gateway, Rules, task_code_name};

fn gateway() -> Gateway {
    let mut g = Gateway::new(Rules { max_ports: 4, max_slots: 2, fail_suffix: "666".into() }, "s1".into());
    g.status_url = "http://a/status".into();
    g
}

#[test]
fn status_reports_are_batched_by_count_and_carry_only_new_records() {
    let mut g = gateway();
    let task = json!({"tid": 7, "to": "1,2,3666", "sms": "x"});
    assert_eq!(g.add_task(&task, &json!({"sr_url": "http://a/sr", "sr_cnt": 2, "sr_prd": 60}), 0), (7, 0));
    assert_eq!(g.add_task(&task, &json!({}), 0), (7, 13), "a tid is unique on the device");
    assert!(g.tick(1_000).is_empty(), "one record < sr_cnt");
    let first = g.tick(2_000);
    assert_eq!(first[0].url, "http://a/sr?version=1.1");
    assert_eq!(first[0].body["rpts"][0]["sdr"].as_array().map(Vec::len), Some(2));
    let last = g.tick(3_000);
    let rpt = &last[0].body["rpts"][0];
    assert_eq!((rpt["sdr"].as_array().map(Vec::len), rpt["fdr"][0][4].as_str()), (Some(0), Some("6 Timeout")));
    assert_eq!((rpt["sent"].as_u64(), rpt["failed"].as_u64(), rpt["unsent"].as_u64()), (Some(2), Some(1), Some(0)));
}

#[test]
fn task_codes_follow_the_digest() {
    let mut g = gateway();
    assert_eq!(g.add_task(&json!({"to": "1", "sms": "x"}), &json!({}), 0), (0, 11));
    assert_eq!(g.add_task(&json!({"tid": 1, "sms": "x"}), &json!({}), 0), (1, 9));
    assert_eq!(g.add_task(&json!({"tid": 2, "to": "1"}), &json!({}), 0), (2, 8));
    assert_eq!(g.add_task(&json!({"tid": 3, "to": "1", "sms": "x", "from": "9"}), &json!({}), 0), (3, 2));
    assert_eq!(
        g.add_task(&json!({"tid": 4, "to": "1", "smstype": 1, "attachments": "txt|eA=="}), &json!({}), 0),
        (4, 17)
    );
    assert_eq!(g.add_task(&json!({"tid": 5, "to": "1", "smstype": 1, "smstitle": "t"}), &json!({}), 0), (5, 19));
    assert_eq!(g.add_task(&json!({"tid": 6, "to": "1", "sms": "aMOp", "chs": "base64"}), &json!({}), 0), (6, 0));
    assert_eq!(g.tasks[&6].sms, "hé");
    assert_eq!(
        (task_code_name(13), task_code_name(20), task_code_name(99)),
        ("Duplicated TaskId", "MMS attachments cache over limit", "Unknown")
    );
}

#[test]
fn a_switch_pushes_the_new_slot_and_a_reboot_changes_the_ssrc() {
    let mut g = gateway();
    let out = g.command("switch", Some("3B")).expect("switch");
    assert_eq!((out[0].body["port"].as_str(), out[0].body["seq"].as_u64()), (Some("3B"), Some(1)));
    assert_eq!(g.command("switch", Some("3")), Err((2, "Invalid Port")), "switch names a slot");
    assert_eq!(g.command("lock", None), Err((2, "Invalid Port")));
    assert_eq!(g.command("fly", None), Err((15, "Invalid CMD")));
    let locked = g.command("lock", Some("3")).expect("lock");
    assert_eq!((locked[0].body["st"].as_str(), locked[0].body["seq"].as_u64()), (Some("12 User Locked"), Some(2)));
    g.receive("1A", "10010", "hi", 5_000);
    assert_eq!(g.sms_page(1, 0)["next_sms"], 2);
    g.reboot("s2".into());
    assert_eq!((g.sms_page(1, 0)["ssrc"].as_str(), g.sms_page(2, 0)["sms_num"].as_u64()), (Some("s2"), Some(0)));
    let dev = g.status_due(10_000, true).expect("dev-status");
    assert_eq!((dev.body["seq"].as_u64(), dev.body["max-slot"].as_u64()), (Some(1), Some(2)));
    assert_eq!(g.status_due(10_000, true).map(|d| d.body["seq"].clone()), Some(json!(2)), "the seq counts up");
}

#[test]
fn statistics_select_ports_and_slots() {
    let g = gateway();
    let rows = |p: Option<&str>, s: Option<&str>| g.sms_stats(p, s).map(|v| v["count"].as_u64());
    assert_eq!(rows(None, None), Some(Some(4)), "every port, its current SIM");
    assert_eq!(rows(Some("2-3"), Some("all")), Some(Some(4)));
    assert_eq!(rows(Some("1,4"), Some("2")), Some(Some(2)));
    assert_eq!(rows(Some("x"), None), None);
    assert!(g.sms_stats(None, None).is_some_and(|v| v["stats"][0].get("Sent_ok").is_some()));
}

#[test]
fn fax_tokens_expire_and_jobs_advance_to_success_or_busy() {
    let mut s = FaxServer::new("ops", "pw", 1000);
    assert_eq!(s.login("ops", "bad", 0), Err(codes::WRONG_PASSWORD));
    let t = s.login("ops", "pw", 0).expect("login");
    assert_eq!(s.check(&t, 500), Ok(()));
    assert_eq!(s.check(&t, 2000), Err(codes::EXPIRED_TOKEN));
    assert_eq!(s.check("nope", 0), Err(codes::INVALID_TOKEN));
    let f = s.put_file("a.pdf", vec![1]);
    let now = "20261124T100000";
    let ok = s.submit("+86(20)87057352", vec![f.clone()], &BTreeMap::new(), now).expect("ok")[0];
    let busy = s.submit("+852 22222444", vec![f.clone()], &BTreeMap::new(), now).expect("busy")[0];
    let late = s.submit("+852 22222555", vec![f.clone()], &BTreeMap::new(), now).expect("late")[0];
    assert_eq!(s.submit("+86 20", vec![f.clone()], &BTreeMap::new(), now), Err(codes::BAD_NUMBER));
    assert_eq!(s.submit("1234", vec!["F0".into()], &BTreeMap::new(), now), Err(codes::BAD_FILE_ID));
    assert_eq!(s.out_ids("20261124T095959", Some("20261124T100001")), Ok(vec![]), "nothing sent yet");
    let params = BTreeMap::from([("scheduletime".to_string(), "20261124T120000".to_string())]);
    let scheduled = s.submit("+852 22222333", vec![f.clone()], &params, now).expect("scheduled")[0];
    for _ in 0..8 {
        s.tick(now);
    }
    assert_eq!(s.out[&scheduled].status, 5, "scheduled: it waits for its time");
    s.tick("20261124T120000");
    assert_eq!(s.out[&scheduled].status, 6, "its time came: dialling");
    assert_eq!(s.out_ids("20261124T095959", Some("20261124T100001")), Ok(vec![ok, busy, late]));
    assert_eq!(s.out_ids("20261124T100001", Some("20261124T110000")), Ok(vec![]));
    assert_eq!(s.out_ids("20261124T100000", Some("20261124T100000")), Err(codes::INTERNAL_ERROR));
    assert_eq!(s.out_fax(ok).expect("ok")["status"], 9);
    assert_eq!((s.out[&busy].status, s.out[&busy].errcode), (8, 4));
    assert_eq!((s.out[&late].status, s.out[&late].errcode), (8, 6));
}

#[test]
fn fax_numbers_follow_the_server_rule() {
    for good in ["+86(20)87057352", "+852 22222222", "23456789", "+86(20)87057352E123", "+86 13800138000"] {
        assert!(valid_number(good), "{good}");
    }
    for bad in ["", "+86 20", "+86(20)", "+8620 87057352E", "(20)87057352", "+852", "abc", "+86 2087057352"] {
        assert!(!valid_number(bad), "{bad}");
    }
}

#[test]
fn without_a_start_time_only_the_last_two_inbox_ids_are_listed() {
    let mut s = FaxServer::new("ops", "pw", 1000);
    let ids: Vec<u64> = (0..3).map(|i| s.receive("1", "2", vec![i], format!("20261122T10000{i}"), 1)).collect();
    assert_eq!(s.in_ids(None, Some("x")), Ok(ids[1..].to_vec()));
    assert_eq!(s.in_ids(Some("20261122T100000"), Some("20261122T100001")), Ok(ids[..2].to_vec()));
}
