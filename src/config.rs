//! `Cli` → checked `Config`: conflicts, defaults, environment variables, files, client id.
//!
//! Everything that can make an invocation illegal is settled here, before any packet goes
//! out, so a usage error (exit 2) never leaves half an operation on the broker.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;

use crate::address::{self, Endpoint};
use crate::cli::{Cli, InputFormat, MqttVersion, Net, OutputFormat, Qos};
use crate::exit::Failure;
use crate::output::TextFormat;
use crate::tls::{self, io_problem};
use crate::topic::{check_filter, check_topic};
use rumqttc::v5::mqttbytes::v5::PublishProperties;

/// MQTT's largest "remaining length": no packet can be bigger than this plus its fixed header.
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The environment variable with the default broker address.
pub const ENV_ADDRESS: &str = "MQTTC_ADDRESS";
/// The environment variable with the password, when --pass is not given.
pub const ENV_PASSWORD: &str = "MQTTC_PASSWORD";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

/// Where the connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp {
        host: String,
        port: u16,
        family: Family,
    },
    WebSocket {
        url: String,
    },
    Unix {
        path: PathBuf,
    },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp { host, port, .. } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Tcp { host, port, .. } => write!(f, "{host}:{port}"),
            Target::WebSocket { url } => f.write_str(url),
            Target::Unix { path } => write!(f, "{}", path.display()),
        }
    }
}

/// Where the payload of --publish comes from.
#[derive(Debug, Clone)]
pub enum Payload {
    /// All of standard input, as one message.
    Stdin,
    /// Known before connecting (--message, --file).
    Fixed(Bytes),
    /// Every line of standard input is a message.
    Lines { skip_empty: bool },
    /// Every line of standard input is a JSON record of a message (--input json).
    Json,
}

#[derive(Debug, Clone)]
pub struct Publish {
    /// None only with --input json, where each record may name its topic.
    pub topic: Option<String>,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub struct Will {
    pub topic: String,
    pub message: Bytes,
    pub qos: Qos,
    pub retain: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

/// What only MQTT 5 can carry.
#[derive(Debug, Clone, Default)]
pub struct V5 {
    /// Properties of every published message; None when there are none.
    pub publish_properties: Option<PublishProperties>,
    pub session_expiry: Option<u32>,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
}

/// --probe: publish to a topic of its own and wait for the message to come back.
#[derive(Debug, Clone)]
pub struct Probe {
    pub topic: String,
    pub count: u32,
}

/// Which retained messages a subscriber prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retained {
    All,
    Only,
    Skip,
}

/// A checked invocation.
#[derive(Debug, Clone)]
pub struct Config {
    pub version: Version,
    pub v5: Option<V5>,
    pub target: Target,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub client_id: String,
    pub credentials: Option<(String, String)>,
    pub keepalive: u16,
    pub timeout: Duration,
    pub will: Option<Will>,
    pub qos: Qos,
    pub retain: bool,
    pub publish: Option<Publish>,
    pub subscribe: Vec<String>,
    pub count: Option<u64>,
    /// Exit 1 when no message arrives for this long.
    pub wait: Option<Duration>,
    pub retained: Retained,
    pub remove_retained: bool,
    pub probe: Option<Probe>,
    /// --reconnect: the longest pause between attempts.
    pub reconnect: Option<Duration>,
    /// --session: keep the broker-side session (clean session off).
    pub session: bool,
    /// None: JSON lines.
    pub format: Option<TextFormat>,
    pub quiet: bool,
    pub verbose: bool,
    pub insecure: bool,
}

/// Reads the environment through a function, so tests need not touch the process's.
pub fn from_cli(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
    let address = cli
        .address
        .clone()
        .unwrap_or_else(|| "localhost".to_owned());
    let (target, url_tls) = target(&address, cli.net, cli.tls)?;
    let tls_wanted = cli.tls || url_tls;

    let tls_flag = [
        ("--ca", cli.ca.is_some()),
        ("--cert", cli.cert.is_some()),
        ("--key", cli.key.is_some()),
        ("--server", cli.server.is_some()),
        ("--insecure", cli.insecure),
    ]
    .into_iter()
    .find(|(_, set)| *set);
    if let (Some((flag, _)), false) = (tls_flag, tls_wanted) {
        return Err(Failure::usage(format!(
            "{flag} needs --tls or an mqtts:// or wss:// address"
        )));
    }
    if tls_wanted && matches!(target, Target::Unix { .. }) {
        return Err(Failure::usage("TLS over a unix socket is not supported"));
    }
    let tls = if tls_wanted {
        // Connecting to an address resolved by mqttc (tcp4/tcp6) must still verify the name.
        let resolved_name = match (&target, cli.net) {
            (Target::Tcp { host, .. }, Net::Tcp4 | Net::Tcp6) => Some(host.as_str()),
            _ => None,
        };
        let opts = tls::TlsOptions {
            ca: cli.ca.as_deref(),
            cert: cli.cert.as_deref(),
            key: cli.key.as_deref(),
            server_name: cli.server.as_deref().or(resolved_name),
            insecure: cli.insecure,
        };
        Some(Arc::new(tls::client_config(&opts)?))
    } else {
        None
    };

    if cli.session && cli.client.is_none() {
        return Err(Failure::usage(
            "--session needs --client: a session is found again by its client identifier",
        ));
    }
    let client_id = match cli.client {
        Some(id) => {
            if id.len() > 65_535 {
                return Err(Failure::usage("--client: identifier over 65,535 bytes"));
            }
            id
        }
        None => generated_client_id(),
    };

    let password = match &cli.pass {
        Some(path) => Some(read_password(path)?),
        None => env(ENV_PASSWORD),
    };
    let credentials = match (cli.user, password) {
        (Some(user), password) => Some((user, password.unwrap_or_default())),
        (None, Some(_)) if cli.pass.is_some() => {
            return Err(Failure::usage("--pass needs --user"));
        }
        (None, _) => None,
    };

    let will = match cli.will_topic {
        Some(topic) => {
            check_topic(&topic).map_err(|e| Failure::usage(format!("--will-topic: {e}")))?;
            Some(Will {
                topic,
                message: Bytes::from(cli.will_message.unwrap_or_default()),
                qos: cli.will_qos.unwrap_or(Qos::AtMostOnce),
                retain: cli.will_retain,
            })
        }
        None => None,
    };

    for filter in &cli.subscribe {
        check_filter(filter).map_err(Failure::usage)?;
    }

    if cli.input == InputFormat::Json {
        let source = [
            ("--message", cli.message.is_some()),
            ("--file", cli.file.is_some()),
            ("--lines", cli.lines),
        ];
        if let Some((flag, _)) = source.into_iter().find(|(_, set)| *set) {
            return Err(Failure::usage(format!(
                "{flag} cannot be used with --input json: each line of standard input is a record"
            )));
        }
    }
    if cli.retain && cli.publish.is_none() && cli.input != InputFormat::Json {
        return Err(Failure::usage("--retain needs --publish or --input json"));
    }
    let publish = match (cli.publish, cli.input) {
        (topic, InputFormat::Json) => {
            if let Some(topic) = &topic {
                check_topic(topic).map_err(Failure::usage)?;
            }
            Some(Publish {
                topic,
                payload: Payload::Json,
            })
        }
        (Some(topic), InputFormat::Raw) => {
            check_topic(&topic).map_err(Failure::usage)?;
            let payload = if let Some(text) = cli.message {
                Payload::Fixed(Bytes::from(text))
            } else if let Some(path) = &cli.file {
                let data = std::fs::read(path).map_err(|e| {
                    Failure::usage(format!("--file {}: {}", path.display(), io_problem(&e)))
                })?;
                Payload::Fixed(Bytes::from(data))
            } else if cli.lines {
                Payload::Lines {
                    skip_empty: cli.skip_empty,
                }
            } else {
                Payload::Stdin
            };
            if let Payload::Fixed(data) = &payload {
                check_payload_size(&topic, cli.qos, data.len())?;
            }
            Some(Publish {
                topic: Some(topic),
                payload,
            })
        }
        (None, InputFormat::Raw) => None,
    };

    let probe = if cli.probe || cli.probe_count.is_some() || cli.probe_topic.is_some() {
        let topic = cli
            .probe_topic
            .clone()
            .unwrap_or_else(|| format!("mqttc/probe/{client_id}"));
        check_topic(&topic).map_err(|e| Failure::usage(format!("--probe-topic: {e}")))?;
        Some(Probe {
            topic,
            count: cli.probe_count.unwrap_or(1),
        })
    } else {
        None
    };

    let version = match cli.mqtt_version {
        MqttVersion::V311 => Version::V311,
        MqttVersion::V5 => Version::V5,
    };
    // rumqttc's MQTT 5 client cannot keep a connection alive with a shorter interval (nor
    // without one).
    if version == Version::V5 && cli.keepalive < 5 {
        return Err(Failure::usage(format!(
            "--keepalive {}: MQTT 5 needs at least 5 seconds",
            cli.keepalive
        )));
    }
    let v5_flag = [
        ("--property", !cli.property.is_empty()),
        ("--content-type", cli.content_type.is_some()),
        ("--response-topic", cli.response_topic.is_some()),
        ("--correlation-data", cli.correlation_data.is_some()),
        ("--message-expiry", cli.message_expiry.is_some()),
        ("--session-expiry", cli.session_expiry.is_some()),
        ("--no-local", cli.no_local),
        ("--retain-as-published", cli.retain_as_published),
        ("--retain-handling", cli.retain_handling.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set);
    let v5 = match (version, v5_flag) {
        (Version::V311, Some((flag, _))) => {
            return Err(Failure::usage(format!("{flag} needs --mqtt-version 5")));
        }
        (Version::V311, None) => None,
        (Version::V5, _) => {
            let mut user_properties = Vec::new();
            for p in &cli.property {
                match p.split_once('=') {
                    Some((k, v)) if !k.is_empty() => {
                        user_properties.push((k.to_owned(), v.to_owned()))
                    }
                    _ => {
                        return Err(Failure::usage(format!(
                            "--property {p:?}: expected KEY=VALUE"
                        )))
                    }
                }
            }
            if let Some(topic) = &cli.response_topic {
                check_topic(topic).map_err(|e| Failure::usage(format!("--response-topic: {e}")))?;
            }
            let props = PublishProperties {
                payload_format_indicator: None,
                message_expiry_interval: cli.message_expiry,
                topic_alias: None,
                response_topic: cli.response_topic.clone(),
                correlation_data: cli.correlation_data.clone().map(Bytes::from),
                user_properties,
                subscription_identifiers: Vec::new(),
                content_type: cli.content_type.clone(),
            };
            Some(V5 {
                publish_properties: (props != PublishProperties::default()).then_some(props),
                session_expiry: cli.session_expiry,
                no_local: cli.no_local,
                retain_as_published: cli.retain_as_published,
                retain_handling: cli.retain_handling.unwrap_or(0),
            })
        }
    };

    Ok(Config {
        version,
        v5,
        target,
        tls,
        client_id,
        credentials,
        keepalive: cli.keepalive,
        timeout: cli.timeout,
        will,
        qos: cli.qos,
        retain: cli.retain,
        publish,
        subscribe: cli.subscribe,
        count: cli.count,
        wait: cli.wait,
        retained: if cli.retained_only {
            Retained::Only
        } else if cli.no_retained {
            Retained::Skip
        } else {
            Retained::All
        },
        remove_retained: cli.remove_retained,
        probe,
        reconnect: cli.reconnect.then_some(cli.reconnect_max),
        session: cli.session,
        format: match cli.output {
            OutputFormat::Json => None,
            OutputFormat::Text => Some(TextFormat {
                prefix: cli.prefix.into_bytes(),
                suffix: cli.suffix.into_bytes(),
                topic: cli.topic,
                quote: cli.quote,
            }),
        },
        quiet: cli.quiet,
        verbose: cli.verbose,
        insecure: cli.insecure,
    })
}

/// The target and whether its URL asked for TLS.
fn target(address: &str, net: Net, tls: bool) -> Result<(Target, bool)> {
    if net == Net::Unix {
        let path = address.strip_prefix("unix://").unwrap_or(address);
        if path.is_empty() {
            return Err(Failure::usage(
                "--net unix needs a socket path as the address",
            ));
        }
        return Ok((Target::Unix { path: path.into() }, false));
    }
    let endpoint = address::parse_address(address).map_err(Failure::usage)?;
    let family = match net {
        Net::Tcp4 => Family::V4,
        Net::Tcp6 => Family::V6,
        _ => Family::Any,
    };
    let url_tls = endpoint.is_tls();
    let secure = tls || url_tls;
    let target = match endpoint {
        Endpoint::Tcp { host, port, .. } => {
            let port = port.unwrap_or_else(|| address::default_port(secure, false));
            Target::Tcp { host, port, family }
        }
        Endpoint::WebSocket {
            host, port, path, ..
        } => {
            let port = port.unwrap_or_else(|| address::default_port(secure, true));
            let scheme = if secure { "wss" } else { "ws" };
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            Target::WebSocket {
                url: format!("{scheme}://{host}:{port}{path}"),
            }
        }
        Endpoint::Unix { path } => Target::Unix { path },
    };
    Ok((target, url_tls))
}

/// Unique per run and within MQTT 3.1.1's 23 characters that every broker must accept.
fn generated_client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "mqttc{:08x}{:010x}",
        std::process::id(),
        (nanos as u64) & 0xff_ffff_ffff
    )
}

fn read_password(path: &std::path::Path) -> Result<String> {
    let data = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("--pass {}: {}", path.display(), io_problem(&e))))?;
    let data = data
        .strip_suffix(b"\r\n")
        .or_else(|| data.strip_suffix(b"\n"))
        .unwrap_or(&data);
    String::from_utf8(data.to_vec())
        .map_err(|_| Failure::usage(format!("--pass {}: password is not UTF-8", path.display())))
}

/// A publish packet that MQTT cannot carry is refused before connecting.
pub fn check_payload_size(topic: &str, qos: Qos, len: usize) -> Result<()> {
    let overhead = 2 + topic.len() + if qos == Qos::AtMostOnce { 0 } else { 2 };
    if len + overhead > MAX_REMAINING_LENGTH {
        return Err(Failure::usage(format!(
            "payload of {len} bytes is over MQTT's limit of {} bytes for topic {topic:?}",
            MAX_REMAINING_LENGTH - overhead
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config> {
        config_env(args, &[])
    }

    fn config_env(args: &[&str], vars: &[(&str, &str)]) -> Result<Config> {
        let cli = Cli::try_parse_from(std::iter::once("mqttc").chain(args.iter().copied()))?;
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_cli(cli, |k| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        })
    }

    fn usage_message(args: &[&str]) -> String {
        let err = config(args).unwrap_err();
        assert_eq!(
            crate::exit::status_of(&err),
            crate::exit::Status::Usage,
            "{args:?}"
        );
        err.to_string()
    }

    #[test]
    fn default_target_and_ports() {
        let tcp = |host: &str, port| Target::Tcp {
            host: host.into(),
            port,
            family: Family::Any,
        };
        assert_eq!(config(&[]).unwrap().target, tcp("localhost", 1883));
        assert_eq!(config(&["--tls"]).unwrap().target, tcp("localhost", 8883));
        assert_eq!(config(&["mqtts://b"]).unwrap().target, tcp("b", 8883));
        assert!(config(&["mqtts://b"]).unwrap().tls.is_some());
        assert_eq!(config(&[":1884"]).unwrap().target, tcp("localhost", 1884));
        assert_eq!(config(&["[::1]:7"]).unwrap().target, tcp("::1", 7));
        assert_eq!(
            config(&["--net", "unix", "/run/m.sock"]).unwrap().target,
            Target::Unix {
                path: "/run/m.sock".into()
            }
        );
        assert_eq!(
            config(&["ws://h"]).unwrap().target,
            Target::WebSocket {
                url: "ws://h:80/mqtt".into()
            }
        );
    }

    #[test]
    fn tls_options_need_tls() {
        assert_eq!(
            usage_message(&["--ca", "x.pem"]),
            "--ca needs --tls or an mqtts:// or wss:// address"
        );
        assert_eq!(
            usage_message(&["--insecure"]),
            "--insecure needs --tls or an mqtts:// or wss:// address"
        );
    }

    #[test]
    fn topics_are_checked_before_connecting() {
        assert!(usage_message(&["-p", "a/+"]).contains("a/+"));
        assert!(usage_message(&["-s", "a/#/b"]).contains("a/#/b"));
        assert!(usage_message(&["-s", "ok", "-s", ""]).contains("empty"));
        assert!(usage_message(&["--will-topic", "w/#"]).starts_with("--will-topic"));
    }

    #[test]
    fn password_from_file_or_environment() {
        let dir = std::env::temp_dir().join(format!("mqttc-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\r\n").unwrap();
        let f = file.to_str().unwrap();
        let cfg = config(&["-u", "alice", "--pass", f]).unwrap();
        assert_eq!(cfg.credentials, Some(("alice".into(), "s3cret".into())));
        std::fs::write(&file, "two\n\n").unwrap();
        let cfg = config(&["-u", "alice", "--pass", f]).unwrap();
        assert_eq!(cfg.credentials, Some(("alice".into(), "two\n".into())));
        let cfg = config_env(&["-u", "bob"], &[(ENV_PASSWORD, "env")]).unwrap();
        assert_eq!(cfg.credentials, Some(("bob".into(), "env".into())));
        assert_eq!(
            config_env(&[], &[(ENV_PASSWORD, "env")])
                .unwrap()
                .credentials,
            None
        );
        assert_eq!(usage_message(&["--pass", f]), "--pass needs --user");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            usage_message(&["-u", "a", "--pass", f]),
            format!("--pass {f}: no such file")
        );
    }

    #[test]
    fn generated_client_ids_fit_mqtt_3_1_1() {
        let id = generated_client_id();
        assert_eq!(id.len(), 23);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn payload_limit() {
        assert!(check_payload_size("t", Qos::AtMostOnce, MAX_REMAINING_LENGTH - 3).is_ok());
        assert!(check_payload_size("t", Qos::AtMostOnce, MAX_REMAINING_LENGTH - 2).is_err());
        assert!(check_payload_size("t", Qos::AtLeastOnce, MAX_REMAINING_LENGTH - 3).is_err());
    }
}
