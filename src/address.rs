//! The broker address argument: turns `host:port`, `[v6]:port`, `mqtt://`,
//! `mqtts://`, `ws://`, `wss://` and `unix://` forms into an [`Endpoint`].
//!
//! Syntax only: no DNS lookups and no connecting. A missing port stays `None`
//! so the caller can pick it with [`default_port`] after TLS flags are known.

use std::net::Ipv6Addr;
use std::path::PathBuf;

/// Where and how to reach the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Plain TCP or TLS over TCP. `host` is a DNS name or IP literal, IPv6
    /// without brackets. `port` None means "the default" (see [`default_port`]).
    /// `tls` is true for `mqtts://`.
    Tcp {
        host: String,
        port: Option<u16>,
        tls: bool,
    },
    /// `ws://` or `wss://`; `path` is `/mqtt` when the URL has none.
    WebSocket {
        host: String,
        port: Option<u16>,
        path: String,
        tls: bool,
    },
    /// `unix:///path/to.sock` (absolute path).
    Unix { path: PathBuf },
}

impl Endpoint {
    /// True when the address itself asks for TLS (`mqtts://` or `wss://`).
    pub fn is_tls(&self) -> bool {
        match self {
            Endpoint::Tcp { tls, .. } | Endpoint::WebSocket { tls, .. } => *tls,
            Endpoint::Unix { .. } => false,
        }
    }
}

/// Default port for the given transport when the address has none.
pub fn default_port(tls: bool, websocket: bool) -> u16 {
    match (websocket, tls) {
        (false, false) => 1883,
        (false, true) => 8883,
        (true, false) => 80,
        (true, true) => 443,
    }
}

/// Parses the broker address argument.
pub fn parse_address(s: &str) -> Result<Endpoint, String> {
    // Every message quotes the redacted form so a password typed into the
    // address never reaches the terminal, logs or CI output.
    let shown = redact(s);
    let fail = |why: String| format!("invalid address {shown:?}: {why}");

    if s.is_empty() {
        return Err(fail("empty".into()));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail("contains whitespace or control characters".into()));
    }
    if shown != s {
        return Err(fail(
            "credentials are not allowed in the address; use --user and --pass".into(),
        ));
    }

    let Some(sep) = s.find("://") else {
        let (host, port) = split_host_port(s, false).map_err(fail)?;
        return Ok(Endpoint::Tcp {
            host,
            port,
            tls: false,
        });
    };
    let scheme = &s[..sep];
    let rest = &s[sep + 3..];

    match scheme.to_ascii_lowercase().as_str() {
        "unix" => parse_unix(rest).map_err(fail),
        lower @ ("mqtt" | "mqtts" | "ws" | "wss") => {
            if rest.contains(['?', '#']) {
                return Err(fail("query strings and fragments are not supported".into()));
            }
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let (host, port) = split_host_port(authority, true).map_err(fail)?;
            match lower {
                "mqtt" | "mqtts" => {
                    if !path.is_empty() && path != "/" {
                        return Err(fail(format!(
                            "unexpected path {path:?} (only ws:// and wss:// addresses take a path)"
                        )));
                    }
                    Ok(Endpoint::Tcp {
                        host,
                        port,
                        tls: lower == "mqtts",
                    })
                }
                _ => Ok(Endpoint::WebSocket {
                    host,
                    port,
                    path: if path.is_empty() { "/mqtt" } else { path }.to_string(),
                    tls: lower == "wss",
                }),
            }
        }
        _ => Err(fail(format!(
            "unsupported scheme {scheme:?} (use mqtt, mqtts, ws, wss or unix)"
        ))),
    }
}

/// Replaces any `userinfo@` in the authority with `***@`; returns the input
/// unchanged when there is none.
fn redact(s: &str) -> String {
    // A scheme is letters, digits, '+', '-', '.': in "bob:pa:///@host" the "://" belongs to the
    // password, and everything up to the '@' is hidden.
    let is_scheme = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphabetic())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    let (prefix, rest) = match s.find("://") {
        Some(i) if is_scheme(&s[..i]) => s.split_at(i + 3),
        _ => ("", s),
    };
    // Up to the last '@' anywhere: a password may itself hold '/', '?' or '#', and an
    // address with credentials is refused anyway, so hiding too much costs nothing.
    match rest.rfind('@') {
        Some(at) => format!("{prefix}***{}", &rest[at..]),
        None => s.to_string(),
    }
}

fn parse_unix(rest: &str) -> Result<Endpoint, String> {
    // No query/fragment rejection here: `?` and `#` are ordinary file name
    // characters and a socket path is not really a URL.
    if rest.is_empty() {
        return Err("missing socket path, like unix:///run/mosquitto.sock".into());
    }
    if !rest.starts_with('/') {
        return Err(format!(
            "socket path {rest:?} must be absolute, like unix:///run/mosquitto.sock"
        ));
    }
    Ok(Endpoint::Unix {
        path: PathBuf::from(rest),
    })
}

/// Splits `host[:port]`, `[v6][:port]` or (outside URLs) a bare IPv6 literal.
fn split_host_port(hp: &str, in_url: bool) -> Result<(String, Option<u16>), String> {
    if let Some(after_open) = hp.strip_prefix('[') {
        let Some(close) = after_open.find(']') else {
            return Err("unbalanced brackets: missing ']'".into());
        };
        let inner = &after_open[..close];
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "{inner:?} is not an IPv6 address (brackets are only for IPv6)"
            ));
        }
        let after = &after_open[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after ']'")),
        };
        return Ok((inner.to_string(), port));
    }
    if hp.contains(['[', ']']) {
        return Err("unbalanced brackets".into());
    }

    if hp.matches(':').count() >= 2 {
        // Go's JoinHostPort convention: an unbracketed literal is all host.
        // URLs follow RFC 3986 instead, which requires the brackets.
        if in_url {
            return Err("IPv6 addresses in URLs need brackets, like mqtt://[::1]:1883".into());
        }
        if hp.parse::<Ipv6Addr>().is_ok() {
            return Ok((hp.to_string(), None));
        }
        return Err("too many colons (write an IPv6 address with a port as [addr]:port)".into());
    }

    let (host, port) = match hp.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hp, None),
    };
    let host = if host.is_empty() {
        if in_url {
            return Err("empty host".into());
        }
        // `:1883` is the usual shorthand for a local broker.
        "localhost"
    } else {
        check_host(host)?;
        host
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host.to_string(), port))
}

fn check_host(host: &str) -> Result<(), String> {
    // Deliberately lenient: the resolver is the real judge of host names,
    // this only catches characters that mean the input was mis-typed.
    match host.chars().find(|c| "/@?#[]".contains(*c)) {
        Some(c) => Err(format!("host {host:?} contains {c:?}")),
        None => Ok(()),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Err("empty port after ':'".into());
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {p:?} is not a decimal number"));
    }
    match p.parse::<u16>() {
        Ok(0) => Err("port 0 is not allowed".into()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("port {p} is out of range (1-65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: Option<u16>, tls: bool) -> Endpoint {
        Endpoint::Tcp {
            host: host.into(),
            port,
            tls,
        }
    }

    fn ws(host: &str, port: Option<u16>, path: &str, tls: bool) -> Endpoint {
        Endpoint::WebSocket {
            host: host.into(),
            port,
            path: path.into(),
            tls,
        }
    }

    fn unix(path: &str) -> Endpoint {
        Endpoint::Unix { path: path.into() }
    }

    #[test]
    fn valid_addresses() {
        let cases = [
            ("localhost", tcp("localhost", None, false)),
            ("broker.example.com", tcp("broker.example.com", None, false)),
            ("my_host-1.lan", tcp("my_host-1.lan", None, false)),
            ("localhost:1883", tcp("localhost", Some(1883), false)),
            ("10.0.0.1:8883", tcp("10.0.0.1", Some(8883), false)),
            ("10.0.0.1", tcp("10.0.0.1", None, false)),
            ("host:1", tcp("host", Some(1), false)),
            ("host:65535", tcp("host", Some(65535), false)),
            ("host:01883", tcp("host", Some(1883), false)),
            (":1883", tcp("localhost", Some(1883), false)),
            ("[::1]:1883", tcp("::1", Some(1883), false)),
            ("[::1]", tcp("::1", None, false)),
            ("[fe80::1]:8883", tcp("fe80::1", Some(8883), false)),
            ("::1", tcp("::1", None, false)),
            ("fe80::1", tcp("fe80::1", None, false)),
            ("2001:db8::42", tcp("2001:db8::42", None, false)),
            ("::ffff:10.0.0.1", tcp("::ffff:10.0.0.1", None, false)),
            ("mqtt://host", tcp("host", None, false)),
            ("mqtt://host:1884", tcp("host", Some(1884), false)),
            ("mqtt://host/", tcp("host", None, false)),
            ("mqtt://host:1884/", tcp("host", Some(1884), false)),
            ("MQTT://Host", tcp("Host", None, false)),
            ("mqtts://host", tcp("host", None, true)),
            ("mqtts://host:8884/", tcp("host", Some(8884), true)),
            ("MqttS://host", tcp("host", None, true)),
            ("mqtt://[::1]:1883", tcp("::1", Some(1883), false)),
            ("mqtts://[::1]", tcp("::1", None, true)),
            ("mqtt://[2001:db8::1]/", tcp("2001:db8::1", None, false)),
            ("ws://host", ws("host", None, "/mqtt", false)),
            ("ws://host/", ws("host", None, "/", false)),
            ("ws://host:8080", ws("host", Some(8080), "/mqtt", false)),
            ("ws://host:8080/ws", ws("host", Some(8080), "/ws", false)),
            ("wss://host/a/b/", ws("host", None, "/a/b/", true)),
            ("WSS://host:443/mqtt", ws("host", Some(443), "/mqtt", true)),
            (
                "ws://[::1]:9001/mqtt",
                ws("::1", Some(9001), "/mqtt", false),
            ),
            ("unix:///run/mosquitto.sock", unix("/run/mosquitto.sock")),
            ("UNIX:///tmp/x.sock", unix("/tmp/x.sock")),
            ("unix:///tmp/odd#name?.sock", unix("/tmp/odd#name?.sock")),
        ];
        for (input, want) in cases {
            assert_eq!(parse_address(input), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn invalid_addresses() {
        let cases = [
            ("", r#"invalid address "": empty"#),
            (
                " host",
                r#"invalid address " host": contains whitespace or control characters"#,
            ),
            (
                "host:18 83",
                r#"invalid address "host:18 83": contains whitespace or control characters"#,
            ),
            (
                "host\n",
                r#"invalid address "host\n": contains whitespace or control characters"#,
            ),
            (
                "ho\u{1}st",
                r#"invalid address "ho\u{1}st": contains whitespace or control characters"#,
            ),
            ("mqtt://", r#"invalid address "mqtt://": empty host"#),
            (
                "mqtt://:1883",
                r#"invalid address "mqtt://:1883": empty host"#,
            ),
            ("ws:///mqtt", r#"invalid address "ws:///mqtt": empty host"#),
            (
                "host:abc",
                r#"invalid address "host:abc": port "abc" is not a decimal number"#,
            ),
            (
                "host:+1883",
                r#"invalid address "host:+1883": port "+1883" is not a decimal number"#,
            ),
            (
                "host:-1",
                r#"invalid address "host:-1": port "-1" is not a decimal number"#,
            ),
            (
                "host:0x10",
                r#"invalid address "host:0x10": port "0x10" is not a decimal number"#,
            ),
            (
                "host:0",
                r#"invalid address "host:0": port 0 is not allowed"#,
            ),
            (
                "mqtt://host:00",
                r#"invalid address "mqtt://host:00": port 0 is not allowed"#,
            ),
            (
                "host:65536",
                r#"invalid address "host:65536": port 65536 is out of range (1-65535)"#,
            ),
            (
                "host:99999999999999999999",
                r#"invalid address "host:99999999999999999999": port 99999999999999999999 is out of range (1-65535)"#,
            ),
            ("host:", r#"invalid address "host:": empty port after ':'"#),
            (":", r#"invalid address ":": empty port after ':'"#),
            (
                "[::1]:",
                r#"invalid address "[::1]:": empty port after ':'"#,
            ),
            (
                "http://host",
                r#"invalid address "http://host": unsupported scheme "http" (use mqtt, mqtts, ws, wss or unix)"#,
            ),
            (
                "tcp://host:1883",
                r#"invalid address "tcp://host:1883": unsupported scheme "tcp" (use mqtt, mqtts, ws, wss or unix)"#,
            ),
            (
                "ssl://host",
                r#"invalid address "ssl://host": unsupported scheme "ssl" (use mqtt, mqtts, ws, wss or unix)"#,
            ),
            (
                "://host",
                r#"invalid address "://host": unsupported scheme "" (use mqtt, mqtts, ws, wss or unix)"#,
            ),
            (
                "mqtt://host/topic",
                r#"invalid address "mqtt://host/topic": unexpected path "/topic" (only ws:// and wss:// addresses take a path)"#,
            ),
            (
                "mqtts://host:8883//",
                r#"invalid address "mqtts://host:8883//": unexpected path "//" (only ws:// and wss:// addresses take a path)"#,
            ),
            (
                "mqtt://user:secret@host",
                r#"invalid address "mqtt://***@host": credentials are not allowed in the address; use --user and --pass"#,
            ),
            (
                "wss://user:secret@host:443/mqtt",
                r#"invalid address "wss://***@host:443/mqtt": credentials are not allowed in the address; use --user and --pass"#,
            ),
            (
                "mqtt://u:p@ss@host",
                r#"invalid address "mqtt://***@host": credentials are not allowed in the address; use --user and --pass"#,
            ),
            (
                "user:secret@host:1883",
                r#"invalid address "***@host:1883": credentials are not allowed in the address; use --user and --pass"#,
            ),
            (
                // Found by tests/properties.rs: a "://" inside the password is no scheme.
                "bob:Zq9:///@host:1883",
                r#"invalid address "***@host:1883": credentials are not allowed in the address; use --user and --pass"#,
            ),
            (
                "mqtt://host?x=1",
                r#"invalid address "mqtt://host?x=1": query strings and fragments are not supported"#,
            ),
            (
                "ws://host/mqtt?token=1",
                r#"invalid address "ws://host/mqtt?token=1": query strings and fragments are not supported"#,
            ),
            (
                "wss://host/mqtt#frag",
                r#"invalid address "wss://host/mqtt#frag": query strings and fragments are not supported"#,
            ),
            (
                "[::1",
                r#"invalid address "[::1": unbalanced brackets: missing ']'"#,
            ),
            (
                "::1]:1883",
                r#"invalid address "::1]:1883": unbalanced brackets"#,
            ),
            (
                "mqtt://[::1:1883",
                r#"invalid address "mqtt://[::1:1883": unbalanced brackets: missing ']'"#,
            ),
            (
                "[localhost]:1883",
                r#"invalid address "[localhost]:1883": "localhost" is not an IPv6 address (brackets are only for IPv6)"#,
            ),
            (
                "[10.0.0.1]",
                r#"invalid address "[10.0.0.1]": "10.0.0.1" is not an IPv6 address (brackets are only for IPv6)"#,
            ),
            (
                "[]:1883",
                r#"invalid address "[]:1883": "" is not an IPv6 address (brackets are only for IPv6)"#,
            ),
            (
                "[::1]x",
                r#"invalid address "[::1]x": unexpected "x" after ']'"#,
            ),
            (
                "[::1]]",
                r#"invalid address "[::1]]": unexpected "]" after ']'"#,
            ),
            (
                "host:1883:1",
                r#"invalid address "host:1883:1": too many colons (write an IPv6 address with a port as [addr]:port)"#,
            ),
            (
                "::1:1883:x",
                r#"invalid address "::1:1883:x": too many colons (write an IPv6 address with a port as [addr]:port)"#,
            ),
            (
                "mqtt://::1",
                r#"invalid address "mqtt://::1": IPv6 addresses in URLs need brackets, like mqtt://[::1]:1883"#,
            ),
            (
                "host/path",
                r#"invalid address "host/path": host "host/path" contains '/'"#,
            ),
            (
                "host#1",
                r#"invalid address "host#1": host "host#1" contains '#'"#,
            ),
            (
                "unix://relative.sock",
                r#"invalid address "unix://relative.sock": socket path "relative.sock" must be absolute, like unix:///run/mosquitto.sock"#,
            ),
            (
                "unix://",
                r#"invalid address "unix://": missing socket path, like unix:///run/mosquitto.sock"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_address(input),
                Err(want.to_string()),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn password_never_echoed() {
        for input in [
            "mqtt://bob:hunter2@host",
            "mqtts://bob:hunter2@host:8883/",
            "bob:hunter2@host",
            "ws://bob:hunter2@host/mqtt?x",
            "mqtt://bob:hunter2@ho st",
        ] {
            let err = parse_address(input).unwrap_err();
            assert!(!err.contains("hunter2"), "{input:?} leaked: {err}");
            assert!(err.contains("***@"), "{input:?}: {err}");
        }
    }

    #[test]
    fn tls_and_default_ports() {
        let cases = [
            ("host", false),
            ("mqtt://host", false),
            ("mqtts://host", true),
            ("ws://host", false),
            ("wss://host", true),
            ("unix:///s", false),
        ];
        for (input, want) in cases {
            assert_eq!(parse_address(input).unwrap().is_tls(), want, "{input:?}");
        }
        let ports = [
            (false, false, 1883),
            (true, false, 8883),
            (false, true, 80),
            (true, true, 443),
        ];
        for (tls, websocket, want) in ports {
            assert_eq!(
                default_port(tls, websocket),
                want,
                "tls={tls} ws={websocket}"
            );
        }
    }
}
