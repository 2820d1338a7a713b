//! Config parsing and validation: the example file, defaults, and rejected inputs.

use super::*;

const MINIMAL: &str = "[agent]\nid = \"site-01\"\n";

#[test]
fn the_shipped_example_config_parses_and_validates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/telbridge.example.toml");
    let config = Config::load(Path::new(path)).expect("example config is valid");
    assert_eq!(config.mqtt.protocol, MqttProtocol::V4);
}

#[test]
fn a_minimal_config_gets_the_documented_defaults() {
    let c = Config::parse(MINIMAL).expect("minimal config");
    assert_eq!(c.mqtt.port, 1883);
    assert_eq!(c.store.synchronous, Synchronous::Full);
    assert_eq!(c.client_id(), "telbridge-site-01");
}

#[test]
fn an_unknown_key_is_rejected_with_its_name() {
    let err = Config::parse("[agent]\nid = \"a\"\n[mqtt]\nhots = \"x\"\n").expect_err("typo");
    assert!(err.to_string().contains("hots"), "{err}");
}

#[test]
fn a_bad_value_is_rejected_with_its_key() {
    let err = Config::parse("[agent]\nid = \"a/b\"\n").expect_err("slash in id");
    assert!(err.to_string().starts_with("agent.id:"), "{err}");
    let err = Config::parse("[agent]\nid = \"a\"\n[http]\nlisten = \"nowhere\"\n").expect_err("listen");
    assert!(err.to_string().starts_with("http.listen:"), "{err}");
    let err = Config::parse("[agent]\nid = \"a\"\n[store]\nsynchronous = \"off\"\n").expect_err("sync");
    assert!(err.to_string().contains("synchronous") || err.to_string().contains("off"), "{err}");
}

#[test]
fn secrets_are_redacted_in_debug_and_json_views() {
    let text =
        format!("{MINIMAL}[mqtt]\nusername = \"u\"\npassword = \"s3cret-pw\"\n[http]\ningest_token = \"tok-123\"\n");
    let c = Config::parse(&text).expect("config");
    let debug = format!("{c:?}");
    let json = c.redacted_json().to_string();
    for shown in [debug, json] {
        assert!(!shown.contains("s3cret-pw") && !shown.contains("tok-123"), "{shown}");
    }
    assert_eq!(c.redacted_json()["mqtt"]["password"], "***");
}

#[test]
fn redacted_secrets_sent_back_keep_the_current_values() {
    let text = format!("{MINIMAL}[mqtt]\nusername = \"u\"\npassword = \"pw\"\n");
    let current = Config::parse(&text).expect("config");
    let mut edited = Config::parse(&format!("{MINIMAL}[mqtt]\nusername = \"u\"\npassword = \"***\"\nport = 1884\n"))
        .expect("edited");
    edited.inherit_redacted_secrets(&current);
    assert_eq!(edited.mqtt.password.expose(), "pw");
    let again = Config::parse(&edited.to_toml().expect("toml")).expect("round trip");
    assert_eq!(again, edited);
}
