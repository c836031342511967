//! The command line: clap definitions and value enums only, no I/O.
//!
//! Conventions: every short flag is spelled out (`short = 'p'`), value names are upper case,
//! the doc comment is the `-h` text and `long_help` the detail. The man page and the shell
//! completions are generated from [`command`], so what is written here is what users read.

use clap::{ArgAction, CommandFactory, Parser, ValueEnum};
use std::path::PathBuf;

use crate::exit::Status;

/// How an invocation asks for its network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Net {
    /// TCP over IPv4 or IPv6
    Tcp,
    /// TCP over IPv4 only
    Tcp4,
    /// TCP over IPv6 only
    Tcp6,
    /// a unix domain socket; the address is its path
    Unix,
}

/// How inbound messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// PREFIX MESSAGE SUFFIX, as the Go mqttc prints (see --topic, --quote)
    Text,
    /// one JSON object per line: topic, payload or payload_base64, qos, retain, received
    Json,
}

/// How standard input is read for publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// the payload itself: all of it, or a line per message with --lines
    Raw,
    /// one JSON record per line: topic, payload or payload_base64, qos, retain, properties
    Json,
}

/// MQTT protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MqttVersion {
    /// MQTT 3.1.1
    #[value(name = "3.1.1", alias = "3")]
    V311,
    /// MQTT 5
    #[value(name = "5")]
    V5,
}

/// Quality of service levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Qos {
    /// at most once
    #[value(name = "0")]
    AtMostOnce,
    /// at least once
    #[value(name = "1")]
    AtLeastOnce,
    /// exactly once
    #[value(name = "2")]
    ExactlyOnce,
}

impl Qos {
    pub fn level(self) -> u8 {
        self as u8
    }
}

pub const ABOUT: &str =
    "MQTT broker access from the command line: publish, subscribe and health checks";

const LONG_ABOUT: &str = "\
MQTT broker access from the command line: publish, subscribe and health checks.

mqttc connects to the broker at ADDRESS, then publishes a message (-p), prints every message \
that matches its topic filters (-s), or both. With neither it is a health check: connect, \
PINGREQ/PINGRESP round trip, disconnect, exit 0. The exit status tells scripts what happened.

ADDRESS is host, host:port, :port (localhost), [ipv6]:port, mqtt://host[:port], \
mqtts://host[:port] (implies --tls), ws://host[:port][/path] or wss://host[:port][/path] \
(MQTT over WebSocket, path /mqtt unless given; wss implies --tls), or unix:///path/to/socket. \
Omitted: $MQTTC_ADDRESS, else localhost. The port defaults to 1883, or 8883 with TLS; 80 or \
443 for WebSocket. With --net unix the address is a socket path.";

/// The short EXAMPLES for `--help`; the man page has the long list.
pub const EXAMPLES: &str = "  Send a message:            echo hello | mqttc -p chat/misc localhost
  Print messages:            mqttc -s 'news/#' --topic --prefix ' ' :1883
  Stream lines, QoS 1:       tail -F app.log | mqttc -l -q 1 -p logs broker.example.com
  Health check:              mqttc --tls broker.example.com || echo \"exit $?\"";

fn after_help() -> String {
    format!(
        "Exit status:\n{}\nExamples:\n{EXAMPLES}\n",
        exit_status_table()
    )
}

/// [`Status::table`] wrapped at 80 columns with a hanging indent: clap would wrap a long
/// meaning flush with the status numbers.
fn exit_status_table() -> String {
    const WIDTH: usize = 80;
    let mut table = String::new();
    for status in Status::ALL {
        let mut line = format!("  {:>3} ", status.code());
        for word in status.meaning().split_whitespace() {
            if line.len() + 1 + word.len() > WIDTH && !line.trim().is_empty() {
                table.push_str(&line);
                table.push('\n');
                line = " ".repeat(6);
            }
            line.push(' ');
            line.push_str(word);
        }
        table.push_str(&line);
        table.push('\n');
    }
    table
}

/// mqttc — MQTT broker access
#[derive(Debug, Parser)]
#[command(
    name = "mqttc",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = after_help(),
    max_term_width = 100
)]
pub struct Cli {
    /// Broker address [default: $MQTTC_ADDRESS, else localhost]
    #[arg(value_name = "ADDRESS", env = "MQTTC_ADDRESS", hide_env = true)]
    pub address: Option<String>,

    // ── Operations ─────────────────────────────────────────────────────────
    /// Send a message to TOPIC; the payload is all of standard input
    #[arg(
        short = 'p',
        long,
        value_name = "TOPIC",
        value_hint = clap::ValueHint::Other,
        help_heading = "Operations"
    )]
    pub publish: Option<String>,

    /// Print the messages of FILTER (repeatable) until a signal or --count ends the run
    #[arg(
        short = 's',
        long,
        value_name = "FILTER",
        value_hint = clap::ValueHint::Other,
        action = ArgAction::Append,
        help_heading = "Operations",
        long_help = "Subscribe with the topic FILTER and print every inbound message to standard \
output until a signal or --count ends the run. Repeat the option for more filters: all are \
subscribed in one request, and a filter the broker refuses is an error (exit 1). With --publish \
the subscription is confirmed before the message goes out, so a reply cannot be missed."
    )]
    pub subscribe: Vec<String>,

    /// Payload of the message to publish, instead of standard input
    #[arg(
        short = 'm',
        long,
        value_name = "TEXT",
        value_hint = clap::ValueHint::Other,
        allow_hyphen_values = true,
        requires = "publish",
        conflicts_with_all = ["file", "lines"],
        help_heading = "Operations"
    )]
    pub message: Option<String>,

    /// Publish the content of FILE, instead of standard input
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath,
        requires = "publish",
        conflicts_with = "lines",
        help_heading = "Operations"
    )]
    pub file: Option<PathBuf>,

    /// Publish every line of standard input as a message, as soon as it arrives
    #[arg(
        short = 'l',
        long,
        requires = "publish",
        help_heading = "Operations",
        long_help = "Publish every line of standard input as one message (the line break is not \
included), sent as soon as the line arrives, so `tail -F app.log | mqttc -l -p logs` streams \
live. Empty lines are sent as empty messages unless --skip-empty. The run ends at the end of \
input once every QoS 1/2 message is acknowledged; exit 1 if any was not."
    )]
    pub lines: bool,

    /// Standard input format: raw, or json (one message record per line)
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        default_value = "raw",
        hide_possible_values = true,
        help_heading = "Operations",
        long_help = "How standard input is read for publishing: raw (the payload itself: all of \
it, or one message per line with --lines) or json: one JSON object per line, \
{\"topic\": ..., \"payload\": ... or \"payload_base64\": ..., \"qos\": 1, \"retain\": false, \
\"properties\": {...}}, as --output json prints them, so a capture replays unchanged. The topic \
falls back to --publish, qos and retain to -q and -r. A malformed line ends the run with exit 2 \
before anything after it is sent; the messages before it stay sent."
    )]
    pub input: InputFormat,

    /// With --lines, do not send empty lines
    #[arg(long, requires = "lines", help_heading = "Operations")]
    pub skip_empty: bool,

    /// Quality of service for the publish and the subscriptions
    #[arg(
        short = 'q',
        long,
        value_name = "QOS",
        value_enum,
        default_value = "0",
        hide_possible_values = true,
        help_heading = "Operations",
        long_help = "Quality of service for the publish and the subscriptions: 0 (at most once), \
1 (at least once) or 2 (exactly once). At 1 and 2 the run succeeds only after the broker's \
PUBACK or PUBCOMP; without it within --timeout the run exits 1."
    )]
    pub qos: Qos,

    /// Ask the broker to retain the published message
    #[arg(short = 'r', long, help_heading = "Operations")]
    pub retain: bool,

    /// Exit 0 after N messages have been printed
    #[arg(
        short = 'C',
        long,
        value_name = "N",
        value_hint = clap::ValueHint::Other,
        requires = "subscribe",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Operations"
    )]
    pub count: Option<u64>,

    /// Exit 1 when no message arrives for DURATION
    #[arg(
        short = 'W',
        long,
        value_name = "DURATION",
        value_hint = clap::ValueHint::Other,
        value_parser = parse_duration_arg,
        requires = "subscribe",
        help_heading = "Operations"
    )]
    pub wait: Option<std::time::Duration>,

    /// Print the retained messages present at subscribe time, then exit 0
    #[arg(
        long,
        requires = "subscribe",
        conflicts_with = "no_retained",
        help_heading = "Operations",
        long_help = "Print the retained messages present at subscribe time, then exit 0. The end \
of the retained messages is found with a PINGREQ sent after the SUBACK: the broker answers it \
after it has queued the retained messages. The subscription is made at QoS 0 whatever --qos \
says, so that no retained message is held back behind the broker's in-flight window. Messages \
that are not retained are not printed."
    )]
    pub retained_only: bool,

    /// Do not print retained messages (those stored before the subscription)
    #[arg(long, requires = "subscribe", help_heading = "Operations")]
    pub no_retained: bool,

    /// Clear every retained message received, by publishing an empty retained message
    #[arg(
        long,
        requires = "subscribe",
        help_heading = "Operations",
        long_help = "For every retained message received, publish an empty retained message to \
its topic, which makes the broker forget it. With --retained-only the run ends once they are \
cleared; `mqttc -s '#' --retained-only --remove-retained` empties a broker of retained messages."
    )]
    pub remove_retained: bool,

    /// Health check with a round trip: publish to a topic of its own and wait for it
    #[arg(
        long,
        conflicts_with_all = ["publish", "subscribe", "input"],
        help_heading = "Operations",
        long_help = "A health check that proves messages flow: subscribe to a topic of the \
probe's own (--probe-topic), publish a message to it at the chosen QoS, wait for it to come \
back, and print the connect, subscribe and round-trip times (one JSON object with --output \
json). Exit 1 when the message does not return within --timeout."
    )]
    pub probe: bool,

    /// Repeat the probe N times and report min/median/max round trips (implies --probe)
    #[arg(
        long,
        value_name = "N",
        value_hint = clap::ValueHint::Other,
        value_parser = clap::value_parser!(u32).range(1..),
        conflicts_with_all = ["publish", "subscribe", "input"],
        help_heading = "Operations"
    )]
    pub probe_count: Option<u32>,

    /// Topic of the probe [default: mqttc/probe/CLIENT-ID]
    #[arg(
        long,
        value_name = "TOPIC",
        value_hint = clap::ValueHint::Other,
        conflicts_with_all = ["publish", "subscribe", "input"],
        help_heading = "Operations"
    )]
    pub probe_topic: Option<String>,

    // ── Output ─────────────────────────────────────────────────────────────
    /// Output format: text or json (one JSON object per line)
    #[arg(
        short = 'o',
        long,
        value_name = "FORMAT",
        value_enum,
        default_value = "text",
        hide_possible_values = true,
        help_heading = "Output",
        long_help = "How inbound messages are printed: text (PREFIX MESSAGE SUFFIX, as the Go \
mqttc does; see --topic and --quote) or json: one object per line with the fields topic, \
payload (when the payload is UTF-8) or payload_base64, qos, retain and received (RFC 3339)."
    )]
    pub output: OutputFormat,

    /// Print STR before each inbound message
    #[arg(
        long,
        value_name = "STR",
        value_hint = clap::ValueHint::Other,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true,
        help_heading = "Output"
    )]
    pub prefix: String,

    /// Print STR after each inbound message [default: a line break]
    #[arg(
        long,
        value_name = "STR",
        value_hint = clap::ValueHint::Other,
        default_value = "\n",
        hide_default_value = true,
        allow_hyphen_values = true,
        help_heading = "Output"
    )]
    pub suffix: String,

    /// Print the topic of each inbound message, before the prefix
    #[arg(long, help_heading = "Output")]
    pub topic: bool,

    /// Print topics and messages as quoted strings (Go's %q)
    #[arg(
        long,
        help_heading = "Output",
        long_help = "Print topics and messages as double-quoted strings, as Go's %q does: \
\\a \\b \\f \\n \\r \\t \\v \\\\ and \\\" escapes, \\xHH for bytes that are not UTF-8 and for \
control characters, \\uHHHH or \\UHHHHHHHH for other unprintable characters."
    )]
    pub quote: bool,

    // ── Connection ─────────────────────────────────────────────────────────
    /// Client identifier [default: generated, unique per run]
    #[arg(
        short = 'i',
        long,
        value_name = "ID",
        value_hint = clap::ValueHint::Other,
        help_heading = "Connection"
    )]
    pub client: Option<String>,

    /// User name for authentication
    #[arg(
        short = 'u',
        long,
        value_name = "NAME",
        value_hint = clap::ValueHint::Other,
        help_heading = "Connection"
    )]
    pub user: Option<String>,

    /// Read the password from FILE (less one trailing line break)
    #[arg(
        long,
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath,
        help_heading = "Connection",
        long_help = "Use the content of FILE as the password, less one trailing line break. \
Without it the password comes from $MQTTC_PASSWORD, if set. The password is never taken from \
the command line, where other users could read it."
    )]
    pub pass: Option<PathBuf>,

    /// Network: tcp, tcp4, tcp6 or unix (the address is then a socket path)
    #[arg(
        long,
        value_name = "NAME",
        value_hint = clap::ValueHint::Other,
        value_enum,
        default_value = "tcp",
        hide_possible_values = true,
        help_heading = "Connection"
    )]
    pub net: Net,

    /// Bound on connect, TLS and each awaited acknowledgement (e.g. 500ms, 4s, 2m)
    #[arg(
        long,
        value_name = "DURATION",
        value_hint = clap::ValueHint::Other,
        default_value = "4s",
        value_parser = parse_duration_arg,
        help_heading = "Connection"
    )]
    pub timeout: std::time::Duration,

    /// Keep-alive interval in seconds (0 disables; at least 5 with MQTT 5)
    #[arg(
        long,
        value_name = "SECONDS",
        value_hint = clap::ValueHint::Other,
        default_value_t = 60,
        help_heading = "Connection"
    )]
    pub keepalive: u16,

    /// On connection loss, reconnect with backoff and send what was not confirmed again
    #[arg(
        long,
        help_heading = "Connection",
        long_help = "On connection loss, reconnect with exponential backoff and jitter (from 100 \
ms up to --reconnect-max), one line on standard error per loss and per recovery. Every QoS 1/2 \
message not yet confirmed goes again, marked DUP: under its packet id (or as PUBREL once \
the broker had answered PUBREC) when the broker kept the session, otherwise as a new \
publish ahead of the rest, after the subscriptions are made again. Without it a lost \
connection ends the run with exit 1. The first connection is not retried: a broker that \
cannot be reached at all is an error."
    )]
    pub reconnect: bool,

    /// Longest pause between reconnect attempts
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_duration_arg,
        requires = "reconnect",
        help_heading = "Connection"
    )]
    pub reconnect_max: std::time::Duration,

    /// Keep the session on the broker (clean session off); needs --client
    #[arg(
        long,
        help_heading = "Connection",
        long_help = "Keep the broker-side session: clean session off under MQTT 3.1.1, and under \
MQTT 5 clean start off with a session expiry of --session-expiry (default: never). The session \
is found again by its client identifier, so --client is required. A subscriber that was away \
then gets the QoS 1/2 messages the broker queued for it meanwhile."
    )]
    pub session: bool,

    // ── TLS ────────────────────────────────────────────────────────────────
    /// Secure the connection with TLS (implied by mqtts://)
    #[arg(long, help_heading = "TLS")]
    pub tls: bool,

    /// Also trust the CA certificates in FILE (PEM)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath, help_heading = "TLS")]
    pub ca: Option<PathBuf>,

    /// Client certificate chain, PEM (needs --key)
    #[arg(
        long,
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath,
        requires = "key",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// Private key of the client certificate, PEM (needs --cert)
    #[arg(
        long,
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath,
        requires = "cert",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// Verify the broker's certificate against NAME instead of the address host
    #[arg(
        long,
        value_name = "NAME",
        value_hint = clap::ValueHint::Other,
        help_heading = "TLS"
    )]
    pub server: Option<String>,

    /// Do not verify the broker's certificate (warns on every run)
    #[arg(long, help_heading = "TLS")]
    pub insecure: bool,

    // ── Will ───────────────────────────────────────────────────────────────
    /// Have the broker publish a will to TOPIC when the connection ends without DISCONNECT
    #[arg(
        long,
        value_name = "TOPIC",
        value_hint = clap::ValueHint::Other,
        help_heading = "Will"
    )]
    pub will_topic: Option<String>,

    /// Payload of the will [default: empty]
    #[arg(
        long,
        value_name = "TEXT",
        value_hint = clap::ValueHint::Other,
        allow_hyphen_values = true,
        requires = "will_topic",
        help_heading = "Will"
    )]
    pub will_message: Option<String>,

    /// Quality of service of the will: 0, 1 or 2 [default: 0]
    #[arg(
        long,
        value_name = "QOS",
        value_enum,
        hide_possible_values = true,
        requires = "will_topic",
        help_heading = "Will"
    )]
    pub will_qos: Option<Qos>,

    /// Have the broker retain the will
    #[arg(long, requires = "will_topic", help_heading = "Will")]
    pub will_retain: bool,

    // ── MQTT 5 ─────────────────────────────────────────────────────────────
    /// Protocol version: 3.1.1 or 5
    #[arg(
        long,
        value_name = "VERSION",
        value_enum,
        default_value = "3.1.1",
        hide_possible_values = true,
        help_heading = "MQTT 5"
    )]
    pub mqtt_version: MqttVersion,

    /// User property KEY=VALUE on the published message (repeatable)
    #[arg(
        long,
        value_name = "KEY=VALUE",
        value_hint = clap::ValueHint::Other,
        action = ArgAction::Append,
        help_heading = "MQTT 5"
    )]
    pub property: Vec<String>,

    /// Content type of the published message
    #[arg(
        long,
        value_name = "TYPE",
        value_hint = clap::ValueHint::Other,
        help_heading = "MQTT 5"
    )]
    pub content_type: Option<String>,

    /// Response topic of the published message
    #[arg(
        long,
        value_name = "TOPIC",
        value_hint = clap::ValueHint::Other,
        help_heading = "MQTT 5"
    )]
    pub response_topic: Option<String>,

    /// Correlation data of the published message
    #[arg(
        long,
        value_name = "TEXT",
        value_hint = clap::ValueHint::Other,
        help_heading = "MQTT 5"
    )]
    pub correlation_data: Option<String>,

    /// Expiry interval of the published message, in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        value_hint = clap::ValueHint::Other,
        help_heading = "MQTT 5"
    )]
    pub message_expiry: Option<u32>,

    /// Session expiry interval, in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        value_hint = clap::ValueHint::Other,
        help_heading = "MQTT 5"
    )]
    pub session_expiry: Option<u32>,

    /// Subscription option: do not receive own publishes
    #[arg(long, requires = "subscribe", help_heading = "MQTT 5")]
    pub no_local: bool,

    /// Subscription option: keep the retain flag as published
    #[arg(long, requires = "subscribe", help_heading = "MQTT 5")]
    pub retain_as_published: bool,

    /// Subscription option: 0 send retained messages, 1 only for new subscriptions, 2 never
    #[arg(
        long,
        value_name = "N",
        value_hint = clap::ValueHint::Other,
        value_parser = clap::value_parser!(u8).range(0..=2),
        requires = "subscribe",
        help_heading = "MQTT 5"
    )]
    pub retain_handling: Option<u8>,

    // ── Diagnostics ────────────────────────────────────────────────────────
    /// Print nothing on standard error; the exit status alone reports
    #[arg(long, conflicts_with = "verbose", help_heading = "Diagnostics")]
    pub quiet: bool,

    /// Print each packet sent and received on standard error (never credentials)
    #[arg(short = 'v', long, help_heading = "Diagnostics")]
    pub verbose: bool,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse_duration(s)
}

/// The clap command, for the man page and completion generators.
pub fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("mqttc").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.qos, Qos::AtMostOnce);
        assert_eq!(cli.suffix, "\n");
        assert_eq!(cli.prefix, "");
        assert_eq!(cli.timeout, std::time::Duration::from_secs(4));
        assert_eq!(cli.keepalive, 60);
        assert_eq!(cli.net, Net::Tcp);
    }

    #[test]
    fn subscribe_repeats() {
        let cli = parse(&["-s", "a", "--subscribe", "b/#", "-q", "2"]).unwrap();
        assert_eq!(cli.subscribe, ["a", "b/#"]);
        assert_eq!(cli.qos, Qos::ExactlyOnce);
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["--cert", "c.pem"][..],
            &["--key", "k.pem"],
            &["-q", "3"],
            &["--timeout", "4x"],
            &["--bogus"],
            &["-m", "x"],
            &["-p", "t", "-m", "x", "-f", "y"],
            &["a", "b"],
            &["--will-qos", "1"],
            &["--quiet", "--verbose"],
            &["-C", "0", "-s", "t"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn hyphen_values_for_text_options() {
        let cli = parse(&["--prefix", "-> ", "-p", "t", "-m", "-1"]).unwrap();
        assert_eq!(cli.prefix, "-> ");
        assert_eq!(cli.message.as_deref(), Some("-1"));
    }
}
