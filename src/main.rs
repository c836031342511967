//! `main` only dispatches: parse, check, run on a single-threaded runtime, report once, exit.

use std::process::ExitCode;

use clap::Parser;
use mqttc::cli::Cli;
use mqttc::exit::{status_of, Status};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints --help and --version itself; every real usage error exits 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                Status::Usage.code()
            } else {
                0
            });
        }
    };
    let quiet = cli.quiet;
    let report = |err: anyhow::Error| {
        if !quiet {
            eprintln!("mqttc: {err:#}");
        }
        status_of(&err)
    };

    let status = match mqttc::config::from_cli(cli, |k| std::env::var(k).ok()) {
        Err(err) => report(err),
        Ok(cfg) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("building the tokio runtime");
            let local = tokio::task::LocalSet::new();
            match runtime.block_on(local.run_until(mqttc::session::run(&cfg))) {
                Ok(status) => status,
                Err(err) => report(err),
            }
        }
    };
    // Exit without dropping the runtime: a blocking read of standard input may still be
    // pending, and the runtime would wait for it.
    std::process::exit(status.code().into())
}
