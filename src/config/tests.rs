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
    let err = Config::parse("[agent]\nid = \"a\"\n[http]\nmax_buffered_bytes = 1024\n").expect_err("budget");
    assert!(err.to_string().starts_with("http.max_buffered_bytes:"), "{err}");
    let err = Config::parse("[agent]\nid = \"a\"\n[http]\nmax_connections = 0\n").expect_err("connections");
    assert!(err.to_string().starts_with("http.max_connections:"), "{err}");
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

/// The example's commented `[[table]]` block (up to the next blank line), uncommented.
fn example_block(table: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/telbridge.example.toml");
    let text = std::fs::read_to_string(path).expect("example");
    let block = &text[text.find(&format!("# [[{table}]]")).expect("block")..];
    block
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("# #"))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("env:GOIP_GW1_PASSWORD", "pw")
        .replace("env:WAVEFAX_FAX1_PASSWORD", "pw")
}

#[test]
#[cfg(feature = "goip")]
fn the_example_goip_block_parses_when_uncommented() {
    let c = Config::parse(&format!("{MINIMAL}{}", example_block("goip"))).expect("goip example");
    let d = &c.goip[0];
    assert_eq!((d.name.as_str(), d.auth, d.poll_sms_secs, d.status_period_secs), ("gw1", GoipAuth::Plain, 30, 60));
    assert_eq!(d.push_base("127.0.0.1:8080"), "http://192.168.1.2:8080");
}

#[test]
#[cfg(feature = "goip")]
fn goip_devices_are_validated_with_their_name_and_their_secrets_redacted() {
    let device = |extra: &str| {
        format!("[[goip]]\nname = \"gw1\"\nurl = \"http://10.0.0.9\"\nusername = \"admin\"\npassword = \"pw\"\n{extra}")
    };
    for (extra, key) in [
        ("cipher = \"aes-ecb\"", "goip.cipher"),
        ("auth = \"session\"\ncipher = \"des\"", "goip.cipher"),
        ("status_period_secs = 10", "goip.status_period_secs"),
        ("push_base_url = \"ftp://x\"", "goip.push_base_url"),
    ] {
        let err = Config::parse(&format!("{MINIMAL}{}", device(extra))).expect_err(extra);
        assert!(err.to_string().starts_with(key), "{err}");
    }
    let twice = format!("{MINIMAL}{}\n{}", device(""), device(""));
    assert!(Config::parse(&twice).expect_err("twice").to_string().contains("used twice"));
    let unspecified = format!("{MINIMAL}[http]\nlisten = \"0.0.0.0:8080\"\n{}", device(""));
    assert!(Config::parse(&unspecified).expect_err("no base").to_string().starts_with("goip.push_base_url"));
    for bad in ["a/b/c/d", "with space", "50%", "caf\u{e9}"] {
        let err = Config::parse(&format!("{MINIMAL}{}", device(&format!("push_secret = \"{bad}\"")))).expect_err(bad);
        assert!(err.to_string().starts_with("goip.push_secret"), "{bad}: {err}");
    }
    let c = Config::parse(&format!("{MINIMAL}{}", device("push_secret = \"ps\""))).expect("valid");
    let shown = c.redacted_json().to_string();
    assert!(!shown.contains("\"pw\"") && !shown.contains("\"ps\""), "{shown}");
    let mut edited = c.clone();
    edited.goip[0].password = Secret::new(REDACTED);
    edited.inherit_redacted_secrets(&c);
    assert_eq!(edited.goip[0].password.expose(), "pw");
}

#[test]
#[cfg(feature = "wavefax")]
fn the_example_wavefax_block_parses_when_uncommented() {
    let c = Config::parse(&format!("{MINIMAL}{}", example_block("wavefax"))).expect("wavefax example");
    let f = &c.wavefax[0];
    assert_eq!((f.name.as_str(), f.utc_offset_minutes, f.poll_in_secs, f.chunk_bytes), ("fax1", 480, 30, 98_304));
    assert_eq!(f, &Config::parse(&format!("{MINIMAL}[[wavefax]]\nname = \"fax1\"\nurl = \"http://192.168.1.20:8080\"\nuser = \"ops\"\npassword = \"pw\"\narea_code = \"20\"\n")).expect("defaults").wavefax[0], "the example shows the defaults");
}

#[test]
#[cfg(feature = "wavefax")]
fn fax_servers_are_validated_with_their_name_and_their_secrets_redacted() {
    let server = |extra: &str| {
        format!("[[wavefax]]\nname = \"fax1\"\nurl = \"http://10.0.0.8\"\nuser = \"ops\"\npassword = \"pw\"\n{extra}")
    };
    for (extra, key) in [
        ("country_code = \"+86\"", "wavefax.country_code"),
        ("area_code = \"020\"", "wavefax.area_code"),
        ("utc_offset_minutes = 900", "wavefax.utc_offset_minutes"),
        ("chunk_bytes = 200000", "wavefax.chunk_bytes"),
        ("spool_max_bytes = 2000\nmax_file_bytes = 4000", "wavefax.spool_max_bytes"),
        ("upload_url = \"mailto:x\"", "wavefax.upload_url"),
        ("tls_ca_file = \"/nonexistent/ca.pem\"", "wavefax.tls_ca_file"),
        ("max_file_bytes = 30000000\nspool_max_bytes = 40000000", "wavefax.max_file_bytes"),
    ] {
        let text = format!("{MINIMAL}{}", server(extra));
        let err = Config::parse(&text).expect_err(extra);
        assert!(err.to_string().starts_with(key), "{extra}: {err}");
    }
    let twice = format!("{MINIMAL}{}\n{}", server(""), server(""));
    assert!(Config::parse(&twice).expect_err("twice").to_string().contains("used twice"));
    let c = Config::parse(&format!("{MINIMAL}{}", server("upload_token = \"tok\""))).expect("valid");
    let shown = c.redacted_json().to_string();
    assert!(!shown.contains("\"pw\"") && !shown.contains("\"tok\""), "{shown}");
    let mut edited = c.clone();
    edited.wavefax[0].password = Secret::new(REDACTED);
    edited.wavefax[0].upload_token = Secret::new(REDACTED);
    edited.inherit_redacted_secrets(&c);
    assert_eq!((edited.wavefax[0].password.expose(), edited.wavefax[0].upload_token.expose()), ("pw", "tok"));
}

#[test]
#[cfg(not(all(feature = "goip", feature = "wavefax", feature = "qmsg", feature = "privacy", feature = "callcenter")))]
fn a_build_without_a_driver_refuses_its_table_by_name() {
    let tables = [
        ("goip", cfg!(feature = "goip"), example_block("goip")),
        ("wavefax", cfg!(feature = "wavefax"), example_block("wavefax")),
        ("qmsg", cfg!(feature = "qmsg"), example_block("qmsg")),
        ("privacy", cfg!(feature = "privacy"), example_block("privacy").replace("env:PRIVACY_AUTHKEY", "k")),
        ("callcenter", cfg!(feature = "callcenter"), example_block("callcenter").replace("env:CALLCENTER_APIKEY", "k")),
    ];
    for (table, _, block) in tables.iter().filter(|(_, built, _)| !built) {
        let err = Config::parse(&format!("{MINIMAL}{block}")).expect_err("not built");
        assert!(err.to_string().starts_with(&format!("{table}: this telbridge was built without")), "{err}");
    }
}

#[test]
#[cfg(feature = "goip")]
fn a_placeholder_secret_with_nothing_to_inherit_is_named() {
    let current = Config::parse(MINIMAL).expect("current");
    let device = "[[goip]]\nname = \"gw2\"\nurl = \"http://10.0.0.9\"\nusername = \"admin\"\npassword = \"***\"\n";
    let mut edited = Config::parse(&format!("{MINIMAL}{device}")).expect("edited");
    edited.inherit_redacted_secrets(&current);
    assert_eq!(edited.placeholder_secrets(), ["goip.gw2.password"], "a new device has no password to keep");
}

#[test]
fn every_secret_is_redacted_wherever_it_sits_in_the_config() {
    let c = Config::parse(
        "[agent]\nid = \"a\"\n[mqtt]\nusername = \"u\"\npassword = \"m-secret\"\n\
         [http]\ningest_token = \"i-secret\"\n",
    )
    .expect("config");
    let shown = c.redacted_json().to_string();
    assert!(!shown.contains("m-secret") && !shown.contains("i-secret"), "{shown}");
    assert!(c.to_toml().expect("file form").contains("m-secret"), "the file form keeps the value");
}

#[test]
#[cfg(feature = "qmsg")]
fn the_examples_qmsg_block_uncommented_is_a_valid_account() {
    let table = example_block("qmsg");
    let c = Config::parse(&format!("{MINIMAL}{table}")).expect("qmsg account");
    assert_eq!(c.qmsg[0].name, "acct1");
    assert_eq!(c.qmsg[0].returnflag, "text");
    assert_eq!(c.callbacks.listen, "127.0.0.1:8090");
    let short = format!("{MINIMAL}{}", table.replace("change-me-0123456789", "short"));
    assert!(Config::parse(&short).expect_err("short secret").to_string().contains("qmsg.callback_secret"));
    let cidr = format!("{MINIMAL}{}", table.replace("allow_from = []", "allow_from = [\"10.0.0.0/33\"]"));
    assert!(Config::parse(&cidr).expect_err("bad cidr").to_string().contains("qmsg.allow_from"));
}

#[test]
#[cfg(feature = "privacy")]
fn the_examples_privacy_block_uncommented_is_a_valid_account() {
    let table = example_block("privacy").replace("env:PRIVACY_AUTHKEY", "k");
    let c = Config::parse(&format!("{MINIMAL}{table}")).expect("privacy account");
    assert!(c.privacy[0].fetch_recordings);
    assert_eq!(c.privacy[0].authkey.expose(), "k");
}

#[test]
#[cfg(feature = "callcenter")]
fn the_examples_callcenter_block_uncommented_is_a_valid_account_and_bad_values_are_named() {
    let table = example_block("callcenter").replace("env:CALLCENTER_APIKEY", "k");
    let c = Config::parse(&format!("{MINIMAL}{table}")).expect("callcenter account");
    assert_eq!((c.callcenter[0].version.as_str(), c.callcenter[0].utc_offset_minutes), ("V2.0.6", 480));
    assert!(!c.redacted_json().to_string().contains("\"k\""), "the apikey is redacted");
    for (from, to, key) in [
        ("version = \"V2.0.6\"", "version = \"2.0.6\"", "callcenter.version"),
        ("customer = \"C2\"", "customer = \"C 2\"", "callcenter.customer"),
        ("agent = \"1000\"", "agent = \"123456789\"", "callcenter.agent"),
        ("cdr_poll_secs = 300", "cdr_poll_secs = 2", "callcenter.cdr_poll_secs"),
        ("max_age_secs = 86400", "max_age_secs = 864000", "callcenter.max_age_secs"),
    ] {
        let bad = format!("{MINIMAL}{}", table.replace(from, to));
        let err = Config::parse(&bad).expect_err(key).to_string();
        assert!(err.starts_with(key), "{err}");
    }
}

#[test]
#[cfg(feature = "callcenter")]
fn a_notifications_age_left_unset_fits_the_dedup_window_and_one_set_must() {
    let table = example_block("callcenter").replace("env:CALLCENTER_APIKEY", "k");
    let unset = table.replace("max_age_secs = 86400\n", "");
    let c = Config::parse(&format!("{MINIMAL}{unset}")).expect("unset");
    assert_eq!(c.callcenter[0].max_age_secs(c.store.dedup_ttl_secs), 86400);
    assert_eq!(c.callcenter[0].max_age_secs(3600), 3300, "the window less max_skew_secs (300)");
    let edge = table.replace("max_age_secs = 86400", "max_age_secs = 604500");
    assert!(Config::parse(&format!("{MINIMAL}{edge}")).is_ok(), "with the skew, the 7-day window exactly");
    let over = table.replace("max_age_secs = 86400", "max_age_secs = 604501");
    assert!(Config::parse(&format!("{MINIMAL}{over}")).is_err());
}

#[test]
#[cfg(all(feature = "goip", feature = "qmsg", feature = "privacy", feature = "callcenter"))]
fn a_config_as_shown_with_its_secrets_masked_parses_again_and_keeps_them() {
    // What `agent.config.get` returns, edited and sent back with `agent.config.set`: every
    // secret is `***`, which the checks of a secret's form must let through.
    let blocks = ["goip", "qmsg", "privacy", "callcenter"].map(example_block).join("\n");
    let text = format!("{MINIMAL}{blocks}\n")
        .replace("env:PRIVACY_AUTHKEY", "k")
        .replace("env:CALLCENTER_APIKEY", "k")
        .replace("push_secret = \"\"", "push_secret = \"push-0123\"");
    let c = Config::parse(&text).expect("all blocks");
    assert_eq!(c.goip[0].push_secret.expose(), "push-0123");
    let shown = toml::to_string(&c.redacted_json()).expect("toml");
    assert!(!shown.contains("push-0123") && !shown.contains("change-me-0123456789"), "{shown}");
    // From a file, `***` is refused: it would be a secret everyone knows.
    let file = std::env::temp_dir().join(format!("telbridge-masked-{}.toml", std::process::id()));
    std::fs::write(&file, &shown).expect("write");
    let refused = Config::load(&file).expect_err("a masked secret in a file");
    let _ = std::fs::remove_file(&file);
    assert!(refused.to_string().contains("`***` stands for a secret"), "{refused}");
    let mut back = Config::parse(&shown).expect("the masked config parses");
    back.inherit_redacted_secrets(&c);
    assert!(back.placeholder_secrets().is_empty(), "{:?}", back.placeholder_secrets());
    assert!(back == c, "every secret inherited");
}
