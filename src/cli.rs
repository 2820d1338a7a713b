//! The command line: `telbridge run -c FILE`, `telbridge check-config -c FILE`,
//! `telbridge --version`. Parsing is pure; `main` acts on the result.

use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Run { config: PathBuf },
    CheckConfig { config: PathBuf },
    Version,
    Help,
}

pub const USAGE: &str = "usage:
  telbridge run -c FILE            run the agent
  telbridge check-config -c FILE   validate a config file and exit
  telbridge --version              print the version
";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Cli, String> {
    // `--help` anywhere (`telbridge run --help`) asks for the usage.
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Cli::Help);
    }
    let mut it = args.iter().map(String::as_str);
    let command = it.next().unwrap_or("help");
    let mut config = None;
    while let Some(arg) = it.next() {
        match arg {
            "-c" | "--config" => config = Some(PathBuf::from(it.next().ok_or("-c needs a file")?)),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let config = || config.clone().ok_or_else(|| "-c FILE is required".to_string());
    match command {
        "run" => Ok(Cli::Run { config: config()? }),
        "check-config" => Ok(Cli::CheckConfig { config: config()? }),
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
    }
}
