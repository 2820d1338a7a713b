//! The `telbridge-sim` binary: parses the command line, binds the address, prints
//! `listening on ADDR` (the first stdout line, which tests read), and serves until
//! Ctrl-C. See `telbridge_sim::cli::USAGE`.

use std::process::ExitCode;
use telbridge_sim::cli::{self, Command, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (listen, choice) = match cli::parse(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run { listen, choice }) => (listen, choice),
        Err(e) => {
            eprintln!("telbridge-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _ = simple_logger::SimpleLogger::new().with_level(log::LevelFilter::Info).init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telbridge-sim: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("telbridge-sim: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        match listener.local_addr() {
            Ok(addr) => println!("listening on {addr}"),
            Err(e) => eprintln!("telbridge-sim: {e}"),
        }
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        telbridge_sim::run(listener, choice, stop).await;
        ExitCode::SUCCESS
    })
}
