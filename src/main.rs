//! `main` only dispatches: parse, check, run on a single-threaded runtime, report once, exit.

use std::process::ExitCode;

use clap::Parser;
use mqttc::cli::Cli;
use mqttc::exit::{status_of, Status};

/// clap's first paragraph as one line, less its "error: " prefix.
fn usage_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = paragraph.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_owned()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // Like every other error: one line, and none with --quiet (clap has not parsed it,
            // so look for it in the raw arguments).
            if !std::env::args_os().any(|a| a == "--quiet") {
                eprintln!("mqttc: {} (see mqttc --help)", usage_line(&err));
            }
            return ExitCode::from(Status::Usage.code());
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
            let status = match runtime.block_on(local.run_until(mqttc::session::run(&cfg))) {
                Ok(status) => status,
                Err(err) => report(err),
            };
            // Never drop the runtime: a blocking read of standard input may still be pending,
            // and dropping would wait for it (the run is over; the process exits next).
            std::mem::forget(local);
            std::mem::forget(runtime);
            status
        }
    };
    std::process::exit(status.code().into())
}
