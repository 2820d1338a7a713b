//! The command line: `telbridge-sim goip [options]`, `telbridge-sim fax [options]`,
//! `telbridge-sim qmsg [options]`, `telbridge-sim privacy [options]`,
//! `telbridge-sim callcenter [options]`, and `--help` at any level (usage on stdout, exit 0).

use crate::goip::crypto::AuthOrder;
use std::time::Duration;

pub const USAGE: &str = "usage: telbridge-sim goip [--listen ADDR] [--user U] [--password P] [--ports N] [--slots N]
                          [--auth-order path-seq|seq-path] [--session-only] [--session-path PATH] [--form-pushes]
                          [--echo-requests]
                          [--fail-suffix DIGITS] [--send-interval-ms N] [--post-delay-ms N]
  Simulates an EJOIN/GoIP gateway (see docs/simulators.md). Defaults: 127.0.0.1:0, admin/admin,
  8 ports x 4 slots, path-seq, plain and session accepted, fail suffix 666, 100 ms per send.
       telbridge-sim fax [--listen ADDR] [--user U] [--password P] [--token-ttl-secs N] [--step-ms N]
                         [--submit-delay-ms N] [--resend-delay-ms N] [--rename-merged]
  Simulates a WaveFax server. Defaults: 127.0.0.1:0, ops/ops, tokens live 600 s, a job state step
  every 200 ms; numbers ending 444 are busy, 555 time out; submissions answered at once.
       telbridge-sim qmsg [--listen ADDR] [--entid N] [--uid U] [--pwd P] [--balance N] [--pay-type 0|1]
                          [--status-code N] [--push-mo URL] [--push-report URL] [--auto-report STATUS]
                          [--push-retry-ms N] [--push-gbk] [--appid ID] [--reply-delay-ms N] [--crlf]
  Simulates the QMsg cloud SMS platform (/sendSms.do: GET query in GBK, POST form in UTF-8;
  /getSms.do). Defaults: 127.0.0.1:0, 1234567/u1/p1, balance 1000 (1 per number), payType 1,
  no pushes (MO and report pushes are GETs retried every 500 ms until the body is `0`,
  UTF-8 unless --push-gbk), appid 123, replies at once with LF line ends.
       telbridge-sim privacy [--listen ADDR] [--devid ID] [--authkey KEY] [--appid ID] [--balance YUAN]
                             [--cdr-url URL] [--call-start-url URL] [--json-callbacks]
                             [--clock-skew-secs N] [--callback-retry-ms N] [--subid-on-duplicate]
  Simulates the cloud privacy-number platform (AXB/XA bindings of a virtual number X; Keytime
  auth, 401 when the signature is wrong or the time not within 3 minutes of the sim's clock).
  Defaults: 127.0.0.1:0, devid 10000000, key key1, appid app1, balance 100, no callbacks (call
  start and CDR are POSTed as forms, or JSON with --json-callbacks, retried every 500 ms until
  answered 200), clock not skewed, a repeated reqid answered 1004 without a subid.
       telbridge-sim callcenter [--listen ADDR] [--customer C] [--apikey KEY] [--agents LIST] [--notify-url URL]
                                [--max-skew-secs N] [--clock-skew-secs N] [--notify-retry-ms N] [--records-page N]
                                [--cdr-page N] [--call-ms N] [--recording-bytes N]
  Simulates a cloud call-center OpenAPI (POST /openapi/V2.0.x/<ApiName>, JSON envelope signed with
  md5(customer@timestamp@seq@apikey)). Defaults: 127.0.0.1:0, customer C2, the seed's apikey
  E416D0F85DC0CB67C85E070A32D9F0123AFF4762, agents 1000,1001,1002 (OFFLINE), no notify URL,
  timestamps within 300 s, clock not skewed, notifications retried every 500 ms (up to 100 tries)
  until answered 200 with result.error 0, getRecordsList pages of 500, getCdrList uncapped
  (--cdr-page 0), a call lasts 300 ms, recordings of 65536 bytes.
  Each prints `listening on ADDR` on stdout once it accepts connections.
";

/// Which simulator, configured.
#[derive(Debug, Clone)]
pub enum Choice {
    Goip(crate::goip::Options),
    Fax(crate::fax::Options),
    /// Boxed: its options are the largest.
    Qmsg(Box<crate::qmsg::Options>),
    /// Boxed like QMsg's.
    Privacy(Box<crate::privacy::Options>),
    /// Boxed like QMsg's.
    Callcenter(Box<crate::callcenter::Options>),
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Print the usage and exit 0.
    Help,
    /// Serve `Choice` on the address.
    Run { listen: String, choice: Choice },
}

fn is_help(a: &str) -> bool {
    matches!(a, "--help" | "-h" | "help")
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a number"))
}

/// Walks `--flag value` pairs (and the bare `switches`), calling `f` for each.
fn each_flag(
    args: &[String],
    switches: &[&str],
    mut f: impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if switches.contains(&flag.as_str()) {
            f(flag, "")?;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        f(flag, value)?;
    }
    Ok(())
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some(kind) = args.first() else {
        return Err("which simulator? (goip, fax, qmsg, privacy or callcenter)".into());
    };
    let rest = &args[1..];
    if is_help(kind) || rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let mut listen = "127.0.0.1:0".to_string();
    let choice = match kind.as_str() {
        "goip" => {
            let mut o = crate::goip::Options::default();
            each_flag(rest, &["--session-only", "--form-pushes", "--echo-requests"], |flag, value| {
                match flag {
                    "--session-only" => o.session_only = true,
                    "--form-pushes" => o.form_pushes = true,
                    "--echo-requests" => o.echo_requests = true,
                    "--listen" => listen = value.to_string(),
                    "--user" => o.user = value.to_string(),
                    "--password" => o.password = value.to_string(),
                    "--ports" => o.rules.max_ports = number(flag, value)?.clamp(1, 64) as u16,
                    "--slots" => o.rules.max_slots = number(flag, value)?.clamp(1, 8) as u8,
                    "--fail-suffix" => o.rules.fail_suffix = value.to_string(),
                    "--session-path" => o.session_path = value.to_string(),
                    "--post-delay-ms" => o.post_delay = Duration::from_millis(number(flag, value)?),
                    "--send-interval-ms" => o.send_interval = Duration::from_millis(number(flag, value)?.max(1)),
                    "--auth-order" => {
                        o.order = AuthOrder::parse(value).ok_or("--auth-order is path-seq or seq-path")?;
                    }
                    _ => return Err(format!("unknown option {flag}")),
                }
                Ok(())
            })?;
            Choice::Goip(o)
        }
        "fax" => {
            let mut o = crate::fax::Options::default();
            each_flag(rest, &["--rename-merged"], |flag, value| {
                match flag {
                    "--rename-merged" => o.rename_merged = true,
                    "--listen" => listen = value.to_string(),
                    "--user" => o.user = value.to_string(),
                    "--password" => o.password = value.to_string(),
                    "--token-ttl-secs" => o.token_ttl = Duration::from_secs(number(flag, value)?),
                    "--step-ms" => o.step = Duration::from_millis(number(flag, value)?.max(1)),
                    "--submit-delay-ms" => o.submit_delay = Duration::from_millis(number(flag, value)?),
                    "--resend-delay-ms" => o.resend_delay = Duration::from_millis(number(flag, value)?),
                    _ => return Err(format!("unknown option {flag}")),
                }
                Ok(())
            })?;
            Choice::Fax(o)
        }
        "qmsg" => Choice::Qmsg(Box::new(qmsg_options(rest, &mut listen)?)),
        "privacy" => Choice::Privacy(Box::new(privacy_options(rest, &mut listen)?)),
        "callcenter" => Choice::Callcenter(Box::new(callcenter_options(rest, &mut listen)?)),
        other => {
            return Err(format!("unknown simulator {other:?} (this build has: goip, fax, qmsg, privacy, callcenter)"));
        }
    };
    Ok(Command::Run { listen, choice })
}

fn qmsg_options(rest: &[String], listen: &mut String) -> Result<crate::qmsg::Options, String> {
    let mut o = crate::qmsg::Options::default();
    let code = |flag: &str, v: &str| u32::try_from(number(flag, v)?).map_err(|_| format!("{flag}: {v} is too large"));
    each_flag(rest, &["--push-gbk", "--crlf"], |flag, value| {
        match flag {
            "--push-gbk" => o.push_gbk = true,
            "--crlf" => o.crlf = true,
            "--listen" => *listen = value.to_string(),
            "--entid" => o.entid = value.to_string(),
            "--uid" => o.uid = value.to_string(),
            "--pwd" => o.pwd = value.to_string(),
            "--balance" => o.balance = number(flag, value)?,
            "--pay-type" => o.pay_type = code(flag, value)?.min(1),
            "--status-code" => o.status_code = Some(code(flag, value)?),
            "--push-mo" => o.push_mo = Some(value.to_string()),
            "--push-report" => o.push_report = Some(value.to_string()),
            "--auto-report" => o.auto_report = Some(value.to_string()),
            "--push-retry-ms" => o.push_retry = Duration::from_millis(number(flag, value)?.max(1)),
            "--appid" => o.appid = value.to_string(),
            "--reply-delay-ms" => o.reply_delay = Duration::from_millis(number(flag, value)?),
            _ => return Err(format!("unknown option {flag}")),
        }
        Ok(())
    })?;
    Ok(o)
}

fn privacy_options(rest: &[String], listen: &mut String) -> Result<crate::privacy::Options, String> {
    let mut o = crate::privacy::Options::default();
    each_flag(rest, &["--json-callbacks", "--subid-on-duplicate"], |flag, value| {
        match flag {
            "--json-callbacks" => o.json_callbacks = true,
            "--subid-on-duplicate" => o.subid_on_duplicate = true,
            "--listen" => *listen = value.to_string(),
            "--devid" => o.devid = value.to_string(),
            "--authkey" => o.authkey = value.to_string(),
            "--appid" => o.appid = value.to_string(),
            "--balance" => {
                o.balance = value
                    .parse::<f64>()
                    .ok()
                    .filter(|b| b.is_finite())
                    .ok_or(format!("{flag}: {value:?} is not a number"))?;
            }
            "--cdr-url" => o.cdr_url = Some(value.to_string()),
            "--call-start-url" => o.call_start_url = Some(value.to_string()),
            "--clock-skew-secs" => {
                o.clock_skew_secs =
                    value.parse::<i64>().map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
            }
            "--callback-retry-ms" => o.callback_retry = Duration::from_millis(number(flag, value)?.max(1)),
            _ => return Err(format!("unknown option {flag}")),
        }
        Ok(())
    })?;
    Ok(o)
}

fn callcenter_options(rest: &[String], listen: &mut String) -> Result<crate::callcenter::Options, String> {
    let mut o = crate::callcenter::Options::default();
    let size = |flag: &str, v: &str| usize::try_from(number(flag, v)?).map_err(|_| format!("{flag}: {v} is too large"));
    each_flag(rest, &[], |flag, value| {
        match flag {
            "--listen" => *listen = value.to_string(),
            "--customer" if crate::callcenter::auth::valid_customer(value) => o.customer = value.to_string(),
            "--customer" => return Err(format!("{flag}: {value:?} is not [A-Za-z0-9-_]+")),
            "--apikey" => o.apikey = value.to_string(),
            "--agents" => {
                let agents: Vec<String> =
                    value.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect();
                if agents.is_empty() || agents.iter().any(|a| a.len() > 8 || !a.bytes().all(|b| b.is_ascii_digit())) {
                    return Err(format!("{flag}: {value:?} is not a comma-separated list of 1-8 digit agent numbers"));
                }
                o.agents = agents;
            }
            "--notify-url" => o.notify_url = Some(value.to_string()),
            "--max-skew-secs" => o.max_skew_secs = number(flag, value)?,
            "--clock-skew-secs" => {
                o.clock_skew_secs =
                    value.parse::<i64>().map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
            }
            "--notify-retry-ms" => o.notify_retry = Duration::from_millis(number(flag, value)?.max(1)),
            "--records-page" => o.records_page = size(flag, value)?.max(1),
            "--cdr-page" => o.cdr_page = size(flag, value)?,
            "--call-ms" => o.call_ms = number(flag, value)?,
            "--recording-bytes" => o.recording_bytes = number(flag, value)?.min(64 << 20),
            _ => return Err(format!("unknown option {flag}")),
        }
        Ok(())
    })?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn help_at_every_level_and_flags() {
        for a in ["--help", "-h", "goip --help", "fax --help", "goip --ports 2 --help", "fax -h"] {
            assert!(matches!(parse(&args(a)), Ok(Command::Help)), "{a}");
        }
        let Ok(Command::Run { listen, choice: Choice::Goip(o) }) =
            parse(&args("goip --listen 127.0.0.1:9 --session-only --auth-order seq-path --slots 99"))
        else {
            panic!("goip")
        };
        assert_eq!(
            (listen.as_str(), o.session_only, o.order, o.rules.max_slots),
            ("127.0.0.1:9", true, AuthOrder::SeqPath, 8)
        );
        assert!(parse(&args("goip --ports")).is_err_and(|e| e.contains("needs a value")));
        assert!(parse(&args("goip --bogus 1")).is_err());
        assert!(parse(&args("fax --step-ms x")).is_err());
        assert!(parse(&args("modem")).is_err());
        assert!(matches!(parse(&args("qmsg --help")), Ok(Command::Help)));
        let Ok(Command::Run { choice: Choice::Qmsg(q), .. }) = parse(&args(
            "qmsg --entid 8000123 --balance 5 --status-code 11 --push-mo http://h/m --auto-report 0 --push-gbk",
        )) else {
            panic!("qmsg")
        };
        assert_eq!(
            (q.entid.as_str(), q.balance, q.status_code, q.push_mo.as_deref(), q.auto_report.as_deref(), q.push_gbk),
            ("8000123", 5, Some(11), Some("http://h/m"), Some("0"), true)
        );
        assert!(parse(&args("qmsg --balance -1")).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn privacy_options_are_parsed_with_their_defaults() {
        assert!(matches!(parse(&args("privacy --help")), Ok(Command::Help)));
        let Ok(Command::Run { listen, choice: Choice::Privacy(p) }) = parse(&args("privacy")) else {
            panic!("privacy")
        };
        assert_eq!(
            (listen.as_str(), p.devid.as_str(), p.authkey.as_str(), p.appid.as_str()),
            ("127.0.0.1:0", "10000000", "key1", "app1")
        );
        assert_eq!(
            (p.callback_retry, p.json_callbacks, p.subid_on_duplicate, p.cdr_url),
            (Duration::from_millis(500), false, false, None)
        );
        let Ok(Command::Run { choice: Choice::Privacy(p), .. }) = parse(&args(
            "privacy --devid 2 --authkey k --appid a --balance 0.5 --cdr-url http://h/cdr --call-start-url http://h/s \
             --json-callbacks --clock-skew-secs -240 --callback-retry-ms 20 --subid-on-duplicate",
        )) else {
            panic!("privacy flags")
        };
        assert_eq!((p.devid.as_str(), p.authkey.as_str(), p.appid.as_str(), p.balance), ("2", "k", "a", 0.5));
        assert_eq!((p.cdr_url.as_deref(), p.call_start_url.as_deref()), (Some("http://h/cdr"), Some("http://h/s")));
        assert_eq!(
            (p.json_callbacks, p.clock_skew_secs, p.callback_retry, p.subid_on_duplicate),
            (true, -240, Duration::from_millis(20), true)
        );
        assert!(parse(&args("privacy --clock-skew-secs 1.5")).is_err());
        assert!(parse(&args("privacy --balance x")).is_err());
    }

    #[test]
    fn callcenter_options_are_parsed_with_their_defaults() {
        assert!(matches!(parse(&args("callcenter --help")), Ok(Command::Help)));
        let Ok(Command::Run { listen, choice: Choice::Callcenter(c) }) = parse(&args("callcenter")) else {
            panic!("callcenter")
        };
        assert_eq!(
            (listen.as_str(), c.customer.as_str(), c.apikey.as_str(), c.agents.join(",")),
            ("127.0.0.1:0", "C2", "E416D0F85DC0CB67C85E070A32D9F0123AFF4762", "1000,1001,1002".to_string())
        );
        assert_eq!(
            (c.max_skew_secs, c.clock_skew_secs, c.notify_retry, c.records_page, c.cdr_page, c.call_ms),
            (300, 0, Duration::from_millis(500), 500, 0, 300)
        );
        assert_eq!((c.recording_bytes, c.notify_url), (65_536, None));
        let Ok(Command::Run { choice: Choice::Callcenter(c), .. }) = parse(&args(
            "callcenter --customer SCCC-test --apikey k --agents 8000,8001 --notify-url http://h/n \
             --max-skew-secs 60 --clock-skew-secs -400 --notify-retry-ms 20 --records-page 2 --cdr-page 3 \
             --call-ms 50 --recording-bytes 100",
        )) else {
            panic!("callcenter flags")
        };
        assert_eq!((c.customer.as_str(), c.apikey.as_str(), c.agents.len()), ("SCCC-test", "k", 2));
        assert_eq!((c.notify_url.as_deref(), c.max_skew_secs, c.clock_skew_secs), (Some("http://h/n"), 60, -400));
        assert_eq!(
            (c.notify_retry, c.records_page, c.cdr_page, c.call_ms, c.recording_bytes),
            (Duration::from_millis(20), 2, 3, 50, 100)
        );
        assert!(parse(&args("callcenter --agents 123456789")).is_err());
        assert!(parse(&args("callcenter --agents x")).is_err());
        assert!(parse(&args("callcenter --customer C2@x")).is_err());
        assert!(parse(&args("callcenter --call-ms -1")).is_err());
    }
}
