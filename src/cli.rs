//! The command line: `telbridge run -c FILE`, `telbridge check-config -c FILE`,
//! `telbridge --version`, the release tools (`keygen`, `sign`, `restamp`) and the update
//! watcher (`watch-update`). Parsing is pure; `main` acts on the result.

use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run {
        config: PathBuf,
    },
    CheckConfig {
        config: PathBuf,
    },
    Version,
    Help,
    /// Writes a new ed25519 signing key (PKCS#8) and prints its public key.
    Keygen {
        key: PathBuf,
    },
    /// Prints the signed manifest of a release file and its signature (JSON).
    Sign {
        key: PathBuf,
        file: PathBuf,
        version: String,
        target: String,
    },
    /// Writes a copy of this binary reporting another version.
    Restamp {
        out: PathBuf,
        version: String,
        fail_start: bool,
    },
    /// The previous version watching an update's probation (started by the agent).
    WatchUpdate {
        dir: PathBuf,
    },
}

pub const USAGE: &str = "usage:
  telbridge run -c FILE            run the agent
  telbridge check-config -c FILE   validate a config file and exit
  telbridge --version              print the version
  telbridge keygen --key FILE      make an update signing key (prints the public key for [update] public_keys)
  telbridge sign --key FILE --file BINARY --version V [--target T]
                                   print the signed manifest of a release binary (JSON: manifest, signature)
  telbridge restamp --out FILE --version V [--fail-start]
                                   copy this binary reporting version V (rehearse an update or a rollback)
";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Cli, String> {
    // `--help` anywhere (`telbridge run --help`) asks for the usage.
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Cli::Help);
    }
    let mut it = args.iter().map(String::as_str);
    let command = it.next().unwrap_or("help");
    let mut opts = std::collections::HashMap::new();
    let mut fail_start = false;
    let mut positional = Vec::new();
    while let Some(arg) = it.next() {
        match arg {
            "-c" | "--config" => drop(opts.insert("config", it.next().ok_or("-c needs a file")?.to_string())),
            "--key" | "--file" | "--version" | "--target" | "--out" => {
                let v = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                opts.insert(arg.trim_start_matches('-'), v.to_string());
            }
            "--fail-start" => fail_start = true,
            other if command == "watch-update" && !other.starts_with('-') => positional.push(other.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let need = |k: &str| opts.get(k).cloned().ok_or_else(|| format!("--{k} is required"));
    let config = || opts.get("config").map(PathBuf::from).ok_or_else(|| "-c FILE is required".to_string());
    match command {
        "run" => Ok(Cli::Run { config: config()? }),
        "check-config" => Ok(Cli::CheckConfig { config: config()? }),
        "keygen" => Ok(Cli::Keygen { key: need("key")?.into() }),
        "sign" => Ok(Cli::Sign {
            key: need("key")?.into(),
            file: need("file")?.into(),
            version: need("version")?,
            target: opts.get("target").cloned().unwrap_or_else(crate::update::manifest::target),
        }),
        "restamp" => Ok(Cli::Restamp { out: need("out")?.into(), version: need("version")?, fail_start }),
        "watch-update" => match positional.as_slice() {
            [dir] => Ok(Cli::WatchUpdate { dir: dir.into() }),
            _ => Err("watch-update DIR".into()),
        },
        "--version" | "-V" | "version" => Ok(Cli::Version),
        "help" | "--help" | "-h" => Ok(Cli::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn commands_parse_with_their_config_file() {
        assert_eq!(parse(&args("run -c a.toml")), Ok(Cli::Run { config: "a.toml".into() }));
        assert_eq!(parse(&args("check-config --config b.toml")), Ok(Cli::CheckConfig { config: "b.toml".into() }));
        assert_eq!(parse(&args("--version")), Ok(Cli::Version));
        for help in ["--help", "-h", "run --help", "check-config -c x.toml --help", "help"] {
            assert_eq!(parse(&args(help)), Ok(Cli::Help), "{help}");
        }
    }

    #[test]
    fn missing_or_unknown_arguments_are_errors() {
        assert!(parse(&args("run")).is_err());
        assert!(parse(&args("run -c")).is_err());
        assert!(parse(&args("fly")).is_err());
        assert!(parse(&args("run -c a -x")).is_err());
        assert!(parse(&args("sign --key k --file f")).is_err(), "no version");
    }

    #[test]
    fn the_release_tools_parse() {
        assert_eq!(parse(&args("keygen --key k.pk8")), Ok(Cli::Keygen { key: "k.pk8".into() }));
        let sign = parse(&args("sign --key k --file f --version 1.2.3 --target mipsel-linux-musl"));
        assert_eq!(
            sign,
            Ok(Cli::Sign {
                key: "k".into(),
                file: "f".into(),
                version: "1.2.3".into(),
                target: "mipsel-linux-musl".into()
            })
        );
        assert_eq!(
            parse(&args("restamp --out x --version 2.0.0 --fail-start")),
            Ok(Cli::Restamp { out: "x".into(), version: "2.0.0".into(), fail_start: true })
        );
        assert_eq!(parse(&args("watch-update /var/lib/u")), Ok(Cli::WatchUpdate { dir: "/var/lib/u".into() }));
    }
}
