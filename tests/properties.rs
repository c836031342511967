//! Property tests (proptest) for the pure modules that take hostile input: the address
//! parser, topic and filter validation, durations, the `--input json` reader, the output
//! formatters and the line framing of standard input.
//!
//! Each property runs a bounded number of cases so the whole file stays well under 20 s on
//! two busy cores. The `fuzz/` crate runs the same code under libFuzzer for longer.

#[path = "support/lines_model.rs"]
mod lines_model;
use lines_model::reference_lines;
use std::io::{self, Read};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mqttc::address::{parse_address, Endpoint};
use mqttc::cli::Qos;
use mqttc::duration::{format_duration, parse_duration};
use mqttc::output::{go_quote, write_json, JsonMessage, TextFormat};
use mqttc::publish::LineSplitter;
use mqttc::record::parse_record;
use mqttc::topic::{check_filter, check_topic};
use proptest::prelude::*;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use serde_json::Value;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported in the test output; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings made mostly of the characters a parser under test gives meaning to, so that
/// random inputs reach the interesting branches instead of failing on the first check.
fn syntax_string(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(chars),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// address

/// A DNS-like host name: labels of letters, digits and dashes.
fn host_name() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,15}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}"
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn address_never_panics(s in any::<String>()) {
        let _ = parse_address(&s);
    }

    #[test]
    fn address_never_panics_on_url_like_input(
        scheme in prop::sample::select(vec!["", "mqtt://", "mqtts://", "ws://", "wss://", "unix://", "MQTT://", "x://", "://"]),
        rest in syntax_string("ab1:/[]@?#.%-0", 40),
    ) {
        let _ = parse_address(&format!("{scheme}{rest}"));
    }

    #[test]
    fn host_and_port_round_trip(host in host_name(), port in 1u16..) {
        prop_assert_eq!(
            parse_address(&format!("{host}:{port}")),
            Ok(Endpoint::Tcp { host: host.clone(), port: Some(port), tls: false })
        );
        prop_assert_eq!(
            parse_address(&host),
            Ok(Endpoint::Tcp { host: host.clone(), port: None, tls: false })
        );
        prop_assert_eq!(
            parse_address(&format!("mqtts://{host}:{port}")),
            Ok(Endpoint::Tcp { host: host.clone(), port: Some(port), tls: true })
        );
        prop_assert_eq!(
            parse_address(&format!("wss://{host}:{port}/p")),
            Ok(Endpoint::WebSocket { host, port: Some(port), path: "/p".into(), tls: true })
        );
    }

    #[test]
    fn ip_literals_round_trip(v4 in any::<[u8; 4]>(), v6 in any::<[u16; 8]>(), port in 1u16..) {
        let v4 = Ipv4Addr::from(v4).to_string();
        let v6 = Ipv6Addr::from(v6).to_string();
        prop_assert_eq!(
            parse_address(&format!("{v4}:{port}")),
            Ok(Endpoint::Tcp { host: v4, port: Some(port), tls: false })
        );
        prop_assert_eq!(
            parse_address(&format!("[{v6}]:{port}")),
            Ok(Endpoint::Tcp { host: v6.clone(), port: Some(port), tls: false })
        );
        prop_assert_eq!(
            parse_address(&format!("mqtt://[{v6}]:{port}/")),
            Ok(Endpoint::Tcp { host: v6, port: Some(port), tls: false })
        );
    }

    /// RFC 3986 userinfo: anything but `/`, `?` and `#` (which end the authority). The
    /// password carries a marker that nothing else in the message can contain.
    #[test]
    fn userinfo_password_never_echoed(
        scheme in prop::sample::select(vec!["", "mqtt://", "mqtts://", "ws://", "wss://"]),
        user in "[a-z0-9._-]{0,8}",
        pass in syntax_string("aZ:@ %\t", 12).prop_filter("no authority end", |p| !p.contains(['/', '?', '#'])),
        host in syntax_string("ab.:[]1 ", 12),
        tail in prop::sample::select(vec!["", ":1883", "/mqtt", "/x?y#z", ":99999"]),
    ) {
        let pass = format!("Zq9{pass}");
        let input = format!("{scheme}{user}:{pass}@{host}{tail}");
        let err = parse_address(&input).expect_err("userinfo is refused");
        prop_assert!(!err.contains(&pass), "{:?} leaked the password: {}", input, err);
        prop_assert!(!err.contains("Zq9"), "{:?} leaked the password: {}", input, err);
    }

    /// The same with a password holding a raw `/`, `?` or `#`. Strictly that is not URL
    /// userinfo, but it is what a user with such a password types.
    #[test]
    fn password_with_authority_delimiters_never_echoed(
        scheme in prop::sample::select(vec!["", "mqtt://", "wss://"]),
        pass in syntax_string("a/?#", 8),
    ) {
        let pass = format!("Zq9{pass}/");
        let input = format!("{scheme}bob:{pass}@host:1883");
        let err = parse_address(&input).expect_err("userinfo is refused");
        prop_assert!(!err.contains("Zq9"), "{:?} leaked the password: {}", input, err);
    }
}

// ---------------------------------------------------------------------------------------
// topic

/// One level of a topic name: no `/`, no wildcards, no control characters (which
/// check_topic refuses), possibly empty.
fn plain_level() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("plain", |c| !c.is_control() && !"/+#".contains(*c)),
        0..6,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn topic_checks_never_panic(s in any::<String>()) {
        let _ = check_topic(&s);
        let _ = check_filter(&s);
    }

    #[test]
    fn topic_checks_never_panic_on_wildcard_soup(s in syntax_string("a/+#\0\t$ é", 30)) {
        let _ = check_topic(&s);
        let _ = check_filter(&s);
    }

    #[test]
    fn a_valid_topic_is_a_valid_filter(s in syntax_string("a/+#\0\t$ é", 30)) {
        if check_topic(&s).is_ok() {
            prop_assert_eq!(check_filter(&s), Ok(()));
        }
    }

    #[test]
    fn a_valid_topic_is_a_valid_filter_any(s in any::<String>()) {
        if check_topic(&s).is_ok() {
            prop_assert_eq!(check_filter(&s), Ok(()));
        }
    }

    #[test]
    fn well_formed_filters_are_accepted(
        levels in prop::collection::vec(prop_oneof![3 => plain_level(), 1 => Just("+".to_string())], 1..8),
        hash in any::<bool>(),
    ) {
        let mut filter = levels.join("/");
        if hash {
            filter.push_str("/#");
        }
        prop_assume!(!filter.is_empty());
        prop_assert_eq!(check_filter(&filter), Ok(()), "{:?}", filter);
        // Joined plain levels are a topic name too; with a wildcard they are not.
        let wild = filter.contains(['+', '#']);
        prop_assert_eq!(check_topic(&filter).is_ok(), !wild && !filter.is_empty(), "{:?}", filter);
    }

    #[test]
    fn misplaced_wildcards_are_refused(
        before in prop::collection::vec(plain_level(), 0..4),
        level in plain_level(),
        wildcard in prop::sample::select(vec!['+', '#']),
        at in any::<prop::sample::Index>(),
        after in prop::collection::vec(plain_level(), 0..4),
    ) {
        // A wildcard sharing its level with other characters.
        let mut chars: Vec<char> = level.chars().collect();
        prop_assume!(!chars.is_empty());
        chars.insert(at.index(chars.len() + 1), wildcard);
        let level: String = chars.into_iter().collect();
        let mut levels = before.clone();
        levels.push(level);
        levels.extend(after.iter().cloned());
        let filter = levels.join("/");
        prop_assert!(check_filter(&filter).is_err(), "{:?}", filter);

        // `#` anywhere but last.
        let mut levels = before;
        levels.push("#".into());
        levels.push(String::new());
        levels.extend(after);
        let filter = levels.join("/");
        prop_assert!(check_filter(&filter).is_err(), "{:?}", filter);
    }
}

// ---------------------------------------------------------------------------------------
// duration

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn duration_never_panics(s in any::<String>()) {
        let _ = parse_duration(&s);
    }

    #[test]
    fn duration_never_panics_on_unit_soup(s in syntax_string("0123456789.nsuµμmh+-", 40)) {
        let _ = parse_duration(&s);
    }

    #[test]
    fn format_then_parse_is_identity(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let d = Duration::new(secs, nanos);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text), Ok(d), "{:?} formatted as {:?}", d, text);
    }

    #[test]
    fn format_then_parse_is_identity_small(nanos in 0u64..200_000_000_000) {
        let d = Duration::from_nanos(nanos);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text), Ok(d), "{:?} formatted as {:?}", d, text);
    }
}

// ---------------------------------------------------------------------------------------
// record (--input json)

/// JSON values of the kinds a record's fields may be given, right or wrong.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..4).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9+/=!]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "topic", "payload", "payload_base64", "qos", "retain", "received", "properties",
            "payload_format_indicator", "message_expiry_interval", "content_type",
            "response_topic", "correlation_data", "user_properties", "subscription_identifiers",
        ]).prop_map(String::from),
        1 => any::<String>(),
    ]
}

fn publish_properties() -> impl Strategy<Value = PublishProperties> {
    (
        prop::option::of(0u8..=1),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<String>()),
        prop::option::of(any::<String>()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        prop::collection::vec((any::<String>(), any::<String>()), 0..3),
    )
        .prop_map(
            |(pfi, expiry, content_type, response_topic, correlation, user)| PublishProperties {
                payload_format_indicator: pfi,
                message_expiry_interval: expiry,
                content_type,
                response_topic,
                correlation_data: correlation.map(Bytes::from),
                user_properties: user,
                ..PublishProperties::default()
            },
        )
}

/// Payloads that are sometimes text (printed as `payload`) and sometimes binary
/// (`payload_base64`).
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn system_time() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        (0u64..4_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, n)| UNIX_EPOCH + Duration::new(s, n)),
        (0u64..100_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, n)| UNIX_EPOCH + Duration::new(s, n)),
        (0u64..100_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, n)| UNIX_EPOCH - Duration::new(s, n)),
    ]
}

fn qos_level(q: Qos) -> u8 {
    match q {
        Qos::AtMostOnce => 0,
        Qos::AtLeastOnce => 1,
        Qos::ExactlyOnce => 2,
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn record_never_panics_on_bytes(line in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_record(&line);
    }

    #[test]
    fn record_never_panics_on_json(
        fields in prop::collection::vec((field_name(), json_value()), 0..6),
    ) {
        let object = Value::Object(fields.into_iter().collect());
        let _ = parse_record(object.to_string().as_bytes());
    }

    #[test]
    fn json_output_reads_back_as_the_same_record(
        topic in any::<String>(),
        payload in payload(),
        qos in 0u8..=2,
        retain in any::<bool>(),
        received in system_time(),
        properties in prop::option::of(publish_properties()),
    ) {
        let mut line = Vec::new();
        write_json(&mut line, &JsonMessage {
            topic: &topic,
            payload: &payload,
            qos,
            retain,
            received,
            properties: properties.as_ref(),
        }).unwrap();
        let record = parse_record(line.strip_suffix(b"\n").unwrap());
        let record = record.map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&line))))?;
        prop_assert_eq!(record.topic.as_deref(), Some(topic.as_str()));
        prop_assert_eq!(&record.payload[..], &payload[..]);
        prop_assert_eq!(record.qos.map(qos_level), Some(qos));
        prop_assert_eq!(record.retain, Some(retain));
        prop_assert_eq!(record.properties, properties);
    }
}

// ---------------------------------------------------------------------------------------
// output

/// A reference for Go's `strconv.Unquote` on what `strconv.Quote` produces: escapes give
/// bytes (`\xNN`) or characters (`\uXXXX`, `\UXXXXXXXX`, the one-letter ones); anything
/// else stands for itself.
fn go_unquote(s: &str) -> Result<Vec<u8>, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or("not in double quotes")?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars, n: usize| -> Result<u32, String> {
        let digits: String = chars.by_ref().take(n).collect();
        if digits.len() != n || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad hex escape {digits:?}"));
        }
        if digits.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("Go writes lower-case hex, not {digits:?}"));
        }
        Ok(u32::from_str_radix(&digits, 16).unwrap())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next().ok_or("trailing backslash")?;
                let simple = match e {
                    'a' => Some(0x07),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(0x0b),
                    '\\' => Some(b'\\'),
                    '"' => Some(b'"'),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                let c = match e {
                    'x' => {
                        out.push(hex(&mut chars, 2)? as u8);
                        continue;
                    }
                    'u' => hex(&mut chars, 4)?,
                    'U' => hex(&mut chars, 8)?,
                    other => return Err(format!("unknown escape \\{other}")),
                };
                let c = char::from_u32(c).ok_or(format!("{c:#x} is not a character"))?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '"' => return Err("unescaped quote inside".into()),
            c if c.is_control() => return Err(format!("raw control character {c:?}")),
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

/// Standard padded base64, decoded independently of mqttc's own decoder.
fn reference_base64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if s.len() % 4 != 0 {
        return None;
    }
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    for c in body.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = bits << 6 | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

fn quoted(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    go_quote(&mut out, bytes).unwrap();
    out
}

/// Bytes that are often valid UTF-8 with unusual characters, sometimes not.
fn text_or_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
        // Valid text with a few stray bytes spliced in.
        (
            any::<String>(),
            prop::collection::vec((any::<prop::sample::Index>(), 0x80u8..), 0..3)
        )
            .prop_map(|(s, strays)| {
                let mut v = s.into_bytes();
                for (at, b) in strays {
                    let i = at.index(v.len() + 1);
                    v.insert(i, b);
                }
                v
            }),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn go_quote_is_utf8_and_unquotes_to_the_input(input in text_or_bytes()) {
        let out = quoted(&input);
        let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(format!("not UTF-8: {e}")))?;
        prop_assert!(text.len() >= 2 && text.starts_with('"') && text.ends_with('"'), "{:?}", text);
        let back = go_unquote(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
        prop_assert_eq!(back, input, "{:?}", text);
    }

    #[test]
    fn quoted_text_format_is_the_parts_in_order(
        topic in text_or_bytes(),
        payload in text_or_bytes(),
        prefix in prop::collection::vec(any::<u8>(), 0..4),
        suffix in prop::collection::vec(any::<u8>(), 0..4),
        show_topic in any::<bool>(),
        quote in any::<bool>(),
    ) {
        let format = TextFormat { prefix: prefix.clone(), suffix: suffix.clone(), topic: show_topic, quote };
        let mut out = Vec::new();
        format.write(&mut out, &topic, &payload).unwrap();
        let part = |b: &[u8]| if quote { quoted(b) } else { b.to_vec() };
        let mut want = Vec::new();
        if show_topic {
            want.extend(part(&topic));
        }
        want.extend(&prefix);
        want.extend(part(&payload));
        want.extend(&suffix);
        prop_assert_eq!(out, want);
    }

    #[test]
    fn json_output_is_one_line_of_valid_json(
        topic in any::<String>(),
        payload in text_or_bytes(),
        qos in 0u8..=2,
        retain in any::<bool>(),
        received in system_time(),
        properties in prop::option::of(publish_properties()),
    ) {
        let mut out = Vec::new();
        write_json(&mut out, &JsonMessage {
            topic: &topic,
            payload: &payload,
            qos,
            retain,
            received,
            properties: properties.as_ref(),
        }).unwrap();
        prop_assert_eq!(out.last(), Some(&b'\n'));
        prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = std::str::from_utf8(&out).map_err(|e| TestCaseError::fail(format!("not UTF-8: {e}")))?;
        let v: Value = serde_json::from_str(text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        let o = v.as_object().ok_or_else(|| TestCaseError::fail("not an object"))?;
        prop_assert_eq!(o.get("topic").and_then(Value::as_str), Some(topic.as_str()));
        let decoded = match (o.get("payload"), o.get("payload_base64")) {
            (Some(Value::String(p)), None) => p.clone().into_bytes(),
            (None, Some(Value::String(b))) => {
                prop_assert!(std::str::from_utf8(&payload).is_err(), "text payload in base64");
                reference_base64(b).ok_or_else(|| TestCaseError::fail(format!("bad base64 {b:?}")))?
            }
            other => return Err(TestCaseError::fail(format!("payload fields {other:?}"))),
        };
        prop_assert_eq!(decoded, payload);
        prop_assert_eq!(o.get("qos").and_then(Value::as_u64), Some(u64::from(qos)));
        prop_assert_eq!(o.get("retain").and_then(Value::as_bool), Some(retain));
        let stamp = o.get("received").and_then(Value::as_str).unwrap_or_default();
        prop_assert_eq!(stamp.len(), 27, "{:?}", stamp);
        prop_assert!(stamp.ends_with('Z'), "{:?}", stamp);
        prop_assert_eq!(o.contains_key("properties"), properties.is_some());
    }
}

// ---------------------------------------------------------------------------------------
// publish::LineSplitter

/// Hands out the input in the given chunk sizes, one read each, like a pipe; optionally
/// interrupts before each read (EINTR), which the splitter must retry.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: std::vec::IntoIter<usize>,
    interrupt: bool,
    interrupted: bool,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.interrupt && !self.interrupted {
            self.interrupted = true;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.interrupted = false;
        if self.data.is_empty() {
            return Ok(0);
        }
        let n = self
            .sizes
            .next()
            .unwrap_or(usize::MAX)
            .clamp(1, buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn line_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(
            prop::sample::select(vec![b'a', b'b', b'\n', b'\r', 0, 0xff]),
            0..200
        ),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn lines_do_not_depend_on_chunking(
        input in line_input(),
        sizes in prop::collection::vec(1usize..40, 0..40),
        skip_empty in any::<bool>(),
        interrupt in any::<bool>(),
    ) {
        let mut reader = Chunked { data: &input, sizes: sizes.into_iter(), interrupt, interrupted: false };
        let mut splitter = LineSplitter::new(skip_empty);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut fed = 0;
        loop {
            let before = reader.data.len();
            let more = splitter.fill(&mut reader).unwrap();
            fed += before - reader.data.len();
            got.extend(splitter.take().iter().map(|b| b.to_vec()));
            if !more {
                break;
            }
            // Every complete line read so far has been handed over, and nothing more.
            let complete = &input[..input[..fed].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
            prop_assert_eq!(&got, &reference_lines(complete, skip_empty));
        }
        prop_assert_eq!(fed, input.len());
        prop_assert_eq!(got, reference_lines(&input, skip_empty));
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// Inputs larger than the splitter's 64 KiB read block, in large reads.
    #[test]
    fn long_lines_across_read_blocks(
        line_lengths in prop::collection::vec(0usize..150_000, 1..4),
        sizes in prop::collection::vec(1usize..100_000, 0..10),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let mut input = Vec::new();
        for (i, len) in line_lengths.iter().enumerate() {
            input.extend(std::iter::repeat_n(b'a' + i as u8, *len));
            if crlf {
                input.push(b'\r');
            }
            input.push(b'\n');
        }
        if !final_newline {
            input.pop();
        }
        let mut reader = Chunked { data: &input, sizes: sizes.into_iter(), interrupt: false, interrupted: false };
        let mut splitter = LineSplitter::new(false);
        let mut got = Vec::new();
        while splitter.fill(&mut reader).unwrap() {
            got.extend(splitter.take().iter().map(|b| b.to_vec()));
        }
        got.extend(splitter.take().iter().map(|b| b.to_vec()));
        prop_assert_eq!(got, reference_lines(&input, false));
    }
}
