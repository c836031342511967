//! mqttc: MQTT broker access from the command line.
//!
//! Data flow: argv → [`cli::Cli`] → [`config::Config`] → [`session::run`] → exit status
//! ([`exit::Status`]). The library target exists so that the man page and completion
//! generators, and the tests, reach the same clap definition the binary uses.

pub mod address;
pub mod cli;
pub mod config;
pub mod driver;
pub mod duration;
pub mod exit;
pub mod outbox;
pub mod output;
pub mod publish;
pub mod record;
pub mod session;
pub mod tls;
pub mod topic;
