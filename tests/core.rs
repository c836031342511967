//! End-to-end tests of the mqttc core (issue 2): the real binary against a private mosquitto
//! per test, driven the way a script drives it (argv, stdin, stdout, stderr, exit status).
//!
//! Conventions:
//! - stdout is compared byte for byte and the exit status exactly; stderr exactly where it is
//!   deterministic (`mqttc: MESSAGE\n`), otherwise a precise substring;
//! - a subscriber is known to be subscribed when the broker has logged its SUBACK
//!   ([`sub_ready`]) or when its own `-v` output says so ([`sub_ready_v`]); nothing sleeps to
//!   synchronise, and every wait is bounded;
//! - "nothing was sent" is checked on the broker log: a barrier run whose connection is logged
//!   last, and no other connection before it.
//!
//! Not covered here: a NUL character in a topic (it cannot be passed in argv, and topics come
//! only from argv), CONNACK codes 5/7/8 (mosquitto 2.0.11 cannot be made to send them over
//! MQTT 3.1.1: a bad password gets code 5 "not authorized" → exit 9), and the default ports
//! 1883/8883 (a test may not touch a port it did not open).

mod common;

use common::*;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// Bound for one short run or one awaited event.
const T: Duration = Duration::from_secs(10);
/// Bound for the bulk tests (5 MB, 10,000 lines).
const LONG: Duration = Duration::from_secs(20);
/// How long "nothing more arrives" is watched, after an event that orders it.
const QUIET: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `mqttc ARGS` with the harness's clean environment.
fn mqttc(args: &[&str]) -> Command {
    let mut cmd = mqttc_cmd();
    cmd.args(args);
    cmd
}

/// Runs `mqttc ARGS` with `stdin`, bounded by [`T`].
fn mqttc_run(args: &[&str], stdin: &[u8]) -> Output {
    run(&mut mqttc(args), stdin, T)
}

/// The error line mqttc prints: `mqttc: MSG\n`.
fn err(msg: &str) -> String {
    format!("mqttc: {msg}\n")
}

/// Asserts the exact exit code, stdout and stderr.
#[track_caller]
fn assert_out(out: &Output, code: i32, stdout: &[u8], stderr: &str) {
    assert!(
        out.code == Some(code) && out.stdout == stdout && out.stderr == stderr.as_bytes(),
        "expected exit {code}, stdout {:?}, stderr {stderr:?}\ngot {out:?}",
        String::from_utf8_lossy(stdout)
    );
}

/// Exit 0, nothing on stdout or stderr.
#[track_caller]
fn assert_ok(out: &Output) {
    assert_out(out, 0, b"", "");
}

/// A usage error found by clap, as mqttc prints it.
fn clap_line(what: &str) -> String {
    format!("{what} (see mqttc --help)")
}

/// Asserts exit 2, empty stdout and exactly `mqttc: EXPECTED` as the one line on stderr.
#[track_caller]
fn assert_usage(out: &Output, expected: &str, what: &str) {
    let ok = out.code == Some(2) && out.stdout.is_empty() && out.stderr_str() == err(expected);
    assert!(ok, "{what}: expected exit 2 and {expected:?}\ngot {out:?}");
}

/// Asserts `code`, empty stdout, and one `mqttc: ` line on stderr that names `addr` and, once
/// lower-cased with spaces and underscores removed, contains `key` (for messages whose wording
/// comes from a library, e.g. a TLS alert).
#[track_caller]
fn assert_one_error_line(out: &Output, code: i32, addr: &str, key: &str) {
    let e = out.stderr_str();
    let squashed: String = e
        .to_lowercase()
        .chars()
        .filter(|c| *c != ' ' && *c != '_')
        .collect();
    assert!(
        out.code == Some(code)
            && out.stdout.is_empty()
            && e.starts_with("mqttc: ")
            && e.ends_with('\n')
            && e.lines().count() == 1
            && e.contains(addr)
            && squashed.contains(key),
        "expected exit {code} and one line naming {addr} and {key:?}\ngot {out:?}"
    );
}

/// Polls (bounded) until the broker log holds `needle` `n` times; on timeout panics with the
/// program's stderr as well as the log.
#[track_caller]
fn await_log(b: &Broker, p: &Proc, needle: &str, n: usize) {
    let deadline = Instant::now() + T;
    while b.log_count(needle) < n {
        if Instant::now() >= deadline {
            panic!(
                "broker log did not contain {needle:?} {n} time(s) within {T:?}\n--- mqttc stderr ---\n{}\n--- broker log ---\n{}",
                p.stderr_string(),
                b.log()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Polls (bounded) until the program's stderr contains `needle` `n` times.
#[track_caller]
fn await_stderr(p: &Proc, needle: &str, n: usize) {
    let deadline = Instant::now() + T;
    while p.stderr_string().matches(needle).count() < n {
        if Instant::now() >= deadline {
            panic!(
                "stderr did not contain {needle:?} {n} time(s) within {T:?}\n--- stderr ---\n{}",
                p.stderr_string()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Spawns `mqttc -i ID ARGS` (ARGS hold the `-s` filters and the address) and returns once the
/// broker has sent it the SUBACK: from then on every publish reaches it.
fn sub_ready(b: &Broker, id: &str, args: &[&str]) -> Proc {
    let mut cmd = mqttc(&["-i", id]);
    cmd.args(args);
    let p = spawn(&mut cmd);
    await_log(b, &p, &format!("Sending SUBACK to {id}"), 1);
    p
}

/// Spawns `mqttc -v ARGS` and returns once it has printed that it received its SUBACK.
fn sub_ready_v(args: &[&str]) -> Proc {
    let mut cmd = mqttc(&["-v"]);
    cmd.args(args);
    let p = spawn(&mut cmd);
    await_stderr(&p, "mqttc: received SUBACK packet id 60001\n", 1);
    p
}

/// Waits for the exit of a subscriber that ends by itself (`-C`).
fn finish(p: Proc) -> Output {
    p.wait(T)
}

/// Asserts that nothing reached a broker with only the plain listener: runs a barrier health
/// check with the client id `barrier` and checks that the log holds no other connection than
/// the harness's readiness probe and the barrier (mosquitto accepts connections in order, so an
/// earlier one would be logged before the barrier's).
#[track_caller]
fn assert_nothing_sent(b: &Broker) {
    assert_ok(&mqttc_run(&["-i", "barrier", &b.addr()], b""));
    b.wait_for_log("Client barrier disconnected.", 1, T);
    let log = b.log();
    let counts = (
        log.matches("New connection from").count(),
        log.matches("New client connected from").count(),
    );
    assert_eq!(counts, (2, 1), "some run connected to the broker:\n{log}");
}

/// A temporary directory for files a test writes.
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("mqttc-core-")
        .tempdir()
        .expect("temp dir")
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, content).expect("write test file");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// FNV-1a, to compare large payloads without printing them.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn msg(topic: &str, payload: &[u8], qos: u8, retain: bool) -> Message {
    Message {
        topic: topic.into(),
        payload: payload.to_vec(),
        qos,
        retain,
    }
}

/// A TCP port with nothing listening on it (bound once, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Health check, addresses, identity
// ---------------------------------------------------------------------------------------------

#[test]
fn health_check_exits_0_and_verbose_shows_the_ping_round_trip() {
    let b = Broker::plain();
    assert_ok(&mqttc_run(&[&b.addr()], b""));

    let out = mqttc_run(&["--verbose", "-i", "health", &b.addr()], b"");
    let expected = format!(
        "mqttc: connecting to {}: CONNECT MQTT 3.1.1, client id \"health\", keep alive 60 s, clean session\n\
         mqttc: received CONNACK (session present: false)\n\
         mqttc: sent PINGREQ\n\
         mqttc: received PINGRESP\n\
         mqttc: sent DISCONNECT\n",
        b.addr()
    );
    assert_out(&out, 0, b"", &expected);
    b.wait_for_log("Received PINGREQ from health", 1, T);
    b.wait_for_log("Received DISCONNECT from health", 1, T);
}

#[test]
fn help_and_version() {
    let out = mqttc_run(&["--version"], b"");
    let version = format!("mqttc {}\n", env!("CARGO_PKG_VERSION"));
    assert_out(&out, 0, version.as_bytes(), "");
    assert_out(&mqttc_run(&["-V"], b""), 0, version.as_bytes(), "");
    // --help documents the exit statuses, the contract for scripts.
    for flag in ["--help", "-h"] {
        let out = mqttc_run(&[flag], b"");
        assert_eq!(
            (out.code, out.stderr.as_slice()),
            (Some(0), b"".as_slice()),
            "{out:?}"
        );
        let help = out.stdout_str();
        for line in [
            "Usage: mqttc [OPTIONS] [ADDRESS]",
            "    0  no error",
            "    2  illegal invocation",
            "    9  connection refused: not authorized",
            "  130  closed on SIGINT",
            "  143  disconnected on SIGTERM",
        ] {
            assert!(help.contains(line), "{flag}: no {line:?} in\n{help}");
        }
    }
}

#[test]
fn address_forms_and_mqttc_address_env() {
    let b = Broker::plain();
    let port = b.port().to_string();
    for addr in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!(":{port}"),
        format!("mqtt://127.0.0.1:{port}"),
        format!("mqtt://localhost:{port}"),
    ] {
        assert_ok(&mqttc_run(&[&addr], b""));
    }
    // --net tcp4 picks the IPv4 address of a name; tcp6 refuses an IPv4 literal.
    assert_ok(&mqttc_run(
        &["--net", "tcp4", &format!("localhost:{port}")],
        b"",
    ));
    assert_ok(&mqttc_run(&["--net", "tcp", &b.addr()], b""));
    assert_out(
        &mqttc_run(&["--net", "tcp6", &b.addr()], b""),
        1,
        b"",
        &err("127.0.0.1 has no IPv6 address"),
    );

    // No address argument: $MQTTC_ADDRESS.
    let out = run(
        mqttc(&["-i", "from-env"]).env("MQTTC_ADDRESS", b.addr()),
        b"",
        T,
    );
    assert_ok(&out);
    b.wait_for_log("as from-env (p2, c1, k60)", 1, T);
    // An address argument wins over $MQTTC_ADDRESS.
    let out = run(
        mqttc(&["-i", "arg-wins", &b.addr()])
            .env("MQTTC_ADDRESS", format!("127.0.0.1:{}", closed_port())),
        b"",
        T,
    );
    assert_ok(&out);
    b.wait_for_log("as arg-wins (p2, c1, k60)", 1, T);
}

#[test]
fn client_id_and_keepalive_reach_the_broker() {
    let b = Broker::plain();
    let mut p = sub_ready(
        &b,
        "my-client",
        &["-v", "--keepalive", "1", "-s", "ka/t", &b.addr()],
    );
    b.wait_for_log("as my-client (p2, c1, k1)", 1, T);
    // Idle for a keep-alive interval: mqttc pings and the broker answers.
    await_stderr(&p, "mqttc: sent PINGREQ\n", 1);
    await_stderr(&p, "mqttc: received PINGRESP\n", 1);
    b.wait_for_log("Received PINGREQ from my-client", 1, T);
    p.signal("TERM");
    assert_eq!(p.read_line(T), None, "nothing printed");
    let out = finish(p);
    assert_eq!(out.code, Some(143), "{out:?}");
}

#[test]
fn generated_client_ids_are_unique_per_run() {
    let b = Broker::plain();
    // Two subscribers at once without -i: if they shared an identifier the broker would
    // disconnect the first when the second connects.
    let a = sub_ready_v(&["-s", "uniq", "-C", "1", &b.addr()]);
    let c = sub_ready_v(&["-s", "uniq", "-C", "1", &b.addr()]);
    mosquitto_pub(&b, "uniq", b"both", 1, false, &[]);
    let (oa, oc) = (finish(a), finish(c));
    for o in [&oa, &oc] {
        assert_eq!(o.code, Some(0), "{o:?}");
        assert_eq!(o.stdout, b"both\n", "{o:?}");
    }
    let id = |o: &Output| {
        let e = o.stderr_str();
        let start = e.find("client id \"").expect("connect line") + 11;
        e[start..start + e[start..].find('"').unwrap()].to_string()
    };
    let (ia, ic) = (id(&oa), id(&oc));
    assert!(!ia.is_empty() && ia != ic, "ids {ia:?} and {ic:?}");
}

#[test]
fn nothing_listening_exits_1_and_quiet_silences_it() {
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    let line = err(&format!(
        "connect to {addr}: connection refused (nothing listening?)"
    ));
    assert_out(&mqttc_run(&[&addr], b""), 1, b"", &line);
    assert_out(
        &mqttc_run(&["-p", "t", "-m", "x", &addr], b""),
        1,
        b"",
        &line,
    );
    assert_out(&mqttc_run(&["-s", "t", &addr], b""), 1, b"", &line);
    assert_out(&mqttc_run(&["--quiet", &addr], b""), 1, b"", "");
    assert_out(
        &mqttc_run(&["--quiet", "-q", "1", "-p", "t", &addr], b"x"),
        1,
        b"",
        "",
    );
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

/// The three messages of [`print_modes_are_byte_exact`], published in this order.
const BIN: &[u8] = b"\x00\x01\x1b\n\t\"\\A\x7f\x80\xfe\xff";
const LATIN1: &[u8] = b"caf\xe9 na\xefve \xc3\xa9t\xc3\xa9";
/// Printable, but escaped by --quote: `"` and `\`. (mosquitto refuses control characters in
/// topics, so they cannot be tested there.)
const ODD_TOPIC: &str = "out/\u{fc} \"q\" \\ b";

#[test]
fn print_modes_are_byte_exact() {
    let b = Broker::plain();
    let addr = b.addr();
    let modes: Vec<(&str, Vec<&str>, Vec<u8>)> = vec![
        (
            "default",
            vec![],
            [BIN, b"\n", LATIN1, b"\n", b"\n"].concat(),
        ),
        (
            "topic",
            vec!["--topic"],
            [
                b"out/bin".as_slice(),
                BIN,
                b"\n",
                ODD_TOPIC.as_bytes(),
                LATIN1,
                b"\n",
                b"out/empty\n",
            ]
            .concat(),
        ),
        (
            "quote",
            vec!["--quote"],
            [
                r#""\x00\x01\x1b\n\t\"\\A\x7f\x80\xfe\xff""#,
                "\n",
                r#""caf\xe9 na\xefve été""#,
                "\n",
                "\"\"\n",
            ]
            .concat()
            .into_bytes(),
        ),
        (
            "topic-quote",
            vec!["--topic", "--quote"],
            [
                r#""out/bin""\x00\x01\x1b\n\t\"\\A\x7f\x80\xfe\xff""#,
                "\n",
                r#""out/ü \"q\" \\ b""caf\xe9 na\xefve été""#,
                "\n",
                "\"out/empty\"\"\"\n",
            ]
            .concat()
            .into_bytes(),
        ),
        (
            "prefix-suffix",
            vec!["--prefix", "<", "--suffix", ">\r\n"],
            [b"<", BIN, b">\r\n<", LATIN1, b">\r\n<>\r\n"].concat(),
        ),
        (
            "topic-prefix-empty-suffix",
            vec!["--topic", "--prefix", " = ", "--suffix", ""],
            [
                b"out/bin = ".as_slice(),
                BIN,
                ODD_TOPIC.as_bytes(),
                b" = ",
                LATIN1,
                b"out/empty = ",
            ]
            .concat(),
        ),
        (
            "topic-quote-prefix-suffix",
            vec!["--topic", "--quote", "--prefix", ": ", "--suffix", ";\n"],
            [
                r#""out/bin": "\x00\x01\x1b\n\t\"\\A\x7f\x80\xfe\xff";"#,
                "\n",
                r#""out/ü \"q\" \\ b": "caf\xe9 na\xefve été";"#,
                "\n",
                "\"out/empty\": \"\";\n",
            ]
            .concat()
            .into_bytes(),
        ),
    ];
    let subs: Vec<(&str, Proc, Vec<u8>)> = modes
        .into_iter()
        .map(|(name, flags, expected)| {
            let mut args = vec!["-s", "out/#", "-C", "3"];
            args.extend(flags);
            args.push(&addr);
            (name, sub_ready(&b, name, &args), expected)
        })
        .collect();
    // QoS 1: each publish is routed before mosquitto_pub exits, so the order is fixed.
    mosquitto_pub(&b, "out/bin", BIN, 1, false, &[]);
    mosquitto_pub(&b, ODD_TOPIC, LATIN1, 1, false, &[]);
    mosquitto_pub(&b, "out/empty", b"", 1, false, &[]);
    for (name, p, expected) in subs {
        let out = finish(p);
        assert!(
            out.code == Some(0) && out.stdout == expected && out.stderr.is_empty(),
            "mode {name}: expected stdout {:?}\ngot {out:?}\nraw stdout {:?}",
            String::from_utf8_lossy(&expected),
            out.stdout
        );
    }
}

#[test]
fn quote_escapes_like_go_strconv_quote() {
    let b = Broker::plain();
    let p = sub_ready(
        &b,
        "q",
        &["-s", "q/#", "--quote", "--topic", "-C", "2", &b.addr()],
    );
    // Control characters, DEL, C1 control, no-break space, BOM, emoji, private use, the last
    // code point, an encoded surrogate (invalid UTF-8), line separator, a truncated sequence.
    let tricky = b"\x07\x08\x0c\x0d\x0b\x7f'\xc2\x85\xc2\xa0\xef\xbb\xbf\xf0\x9f\x98\x80\xee\x80\x80\xf4\x8f\xbf\xbf\xed\xa0\x80\xe2\x80\xa8\xc3";
    mosquitto_pub(&b, "q/\u{a0}\u{2028}x", tricky, 1, false, &[]);
    mosquitto_pub(&b, "q/plain", "héllo wörld 日本".as_bytes(), 1, false, &[]);
    let expected = concat!(
        r#""q/\u00a0\u2028x""\a\b\f\r\v\x7f'\u0085\u00a0\ufeff😀\ue000\U0010ffff\xed\xa0\x80\u2028\xc3""#,
        "\n",
        r#""q/plain""héllo wörld 日本""#,
        "\n"
    );
    assert_out(&finish(p), 0, expected.as_bytes(), "");
}

#[test]
fn all_256_byte_values_round_trip() {
    let b = Broker::plain();
    let all: Vec<u8> = (0..=255u8).collect();
    let mut obs = Observer::start(&b, &["bytes"], 1, &[]);
    let p = sub_ready(
        &b,
        "bytes-sub",
        &["-s", "bytes", "-C", "1", "--suffix", "", &b.addr()],
    );
    assert_ok(&mqttc_run(&["-q", "1", "-p", "bytes", &b.addr()], &all));
    assert_eq!(obs.wait_for(1, T), vec![msg("bytes", &all, 1, false)]);
    assert_out(&finish(p), 0, &all, "");
}

#[test]
fn subscriber_prints_each_message_as_it_arrives() {
    let b = Broker::plain();
    // No --count: the run lasts until a signal; each message must be on stdout at once, not
    // held in a buffer.
    let mut p = sub_ready(
        &b,
        "live-sub",
        &[
            "--subscribe",
            "news/#",
            "--topic",
            "--prefix",
            " ",
            &b.addr(),
        ],
    );
    for (topic, text) in [
        ("news/a", "first"),
        ("news/b/c", "second"),
        ("news/a", "third"),
    ] {
        mosquitto_pub(&b, topic, text.as_bytes(), 0, false, &[]);
        let line = format!("{topic} {text}\n");
        assert_eq!(p.read_line(T), Some(line.into_bytes()));
    }
    p.signal("TERM");
    assert_out(
        &p.wait(T),
        143,
        b"",
        &err("SIGTERM received; sending DISCONNECT"),
    );
}

#[test]
fn count_exits_0_after_n_messages() {
    let b = Broker::plain();
    let p = sub_ready(
        &b,
        "counter",
        &[
            "-s",
            "c/#",
            "-C",
            "2",
            "--topic",
            "--prefix",
            " ",
            &b.addr(),
        ],
    );
    for (i, word) in ["one", "two", "three"].iter().enumerate() {
        mosquitto_pub(&b, &format!("c/{i}"), word.as_bytes(), 1, false, &[]);
    }
    assert_out(&finish(p), 0, b"c/0 one\nc/1 two\n", "");
    // It ended the session with a DISCONNECT.
    b.wait_for_log("Received DISCONNECT from counter", 1, T);
    // The long form.
    let p = sub_ready(
        &b,
        "counter1",
        &["--subscribe", "c/#", "--count", "1", &b.addr()],
    );
    mosquitto_pub(&b, "c/x", b"only", 1, false, &[]);
    assert_out(&finish(p), 0, b"only\n", "");
}

// ---------------------------------------------------------------------------------------------
// QoS and retain
// ---------------------------------------------------------------------------------------------

#[test]
fn publish_at_each_qos_is_delivered_at_that_qos() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["pq/#"], 2, &[]);
    for q in 0..=2u8 {
        let topic = format!("pq/{q}");
        let payload = format!("at qos {q}");
        let out = mqttc_run(
            &[
                "-q",
                &q.to_string(),
                "-p",
                &topic,
                "-m",
                &payload,
                &b.addr(),
            ],
            b"",
        );
        assert_ok(&out);
        assert_eq!(
            obs.wait_for(1, T),
            vec![msg(&topic, payload.as_bytes(), q, false)]
        );
    }
    // The long option, and the acknowledgement packets in -v.
    let out = mqttc_run(
        &[
            "-v",
            "-i",
            "pq2",
            "--qos",
            "2",
            "--publish",
            "pq/v",
            &b.addr(),
        ],
        b"v",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let e = out.stderr_str();
    for line in [
        "mqttc: sent PUBLISH packet id 1\n",
        "mqttc: received PUBREC packet id 1\n",
        "mqttc: sent PUBREL packet id 1\n",
        "mqttc: received PUBCOMP packet id 1\n",
        "mqttc: sent DISCONNECT\n",
    ] {
        assert!(e.contains(line), "missing {line:?} in {e}");
    }
    let out = mqttc_run(&["-v", "-q", "1", "-p", "pq/v", &b.addr()], b"v");
    assert!(
        out.stderr_str()
            .contains("mqttc: received PUBACK packet id 1\n"),
        "{out:?}"
    );
    assert_eq!(
        obs.wait_for(2, T),
        vec![msg("pq/v", b"v", 2, false), msg("pq/v", b"v", 1, false)]
    );
}

#[test]
fn subscribe_at_each_qos() {
    let b = Broker::plain();
    let subs: Vec<(u8, Proc)> = (0..=2u8)
        .map(|q| {
            let id = format!("sq{q}");
            let p = sub_ready(
                &b,
                &id,
                &[
                    "-v",
                    "-q",
                    &q.to_string(),
                    "-s",
                    "sq/t",
                    "-C",
                    "1",
                    &b.addr(),
                ],
            );
            (q, p)
        })
        .collect();
    // Granted as asked (mosquitto logs "ID QOS FILTER" per subscription).
    for q in 0..=2u8 {
        b.wait_for_log(&format!("sq{q} {q} sq/t"), 1, T);
    }
    mosquitto_pub(&b, "sq/t", b"hi", 2, false, &[]);
    for (q, p) in subs {
        let out = finish(p);
        assert_eq!(
            (out.code, out.stdout.as_slice()),
            (Some(0), b"hi\n".as_slice()),
            "qos {q}: {out:?}"
        );
        let line = format!("mqttc: received PUBLISH topic \"sq/t\" QoS {q} retain false packet id");
        assert!(out.stderr_str().contains(&line), "qos {q}: {out:?}");
    }
}

#[test]
fn retained_message_reaches_later_subscribers_with_the_retain_flag() {
    let b = Broker::plain();
    let mut live = Observer::start(&b, &["r/#"], 1, &[]);
    assert_ok(&mqttc_run(
        &["-r", "-q", "1", "-p", "r/kept", "-m", "state", &b.addr()],
        b"",
    ));
    assert_ok(&mqttc_run(
        &["-q", "1", "-p", "r/gone", "-m", "not kept", &b.addr()],
        b"",
    ));
    // A live subscriber sees both, without the retain flag.
    assert_eq!(
        live.wait_for(2, T),
        vec![
            msg("r/kept", b"state", 1, false),
            msg("r/gone", b"not kept", 1, false)
        ]
    );
    // A later one gets only the retained message, flagged.
    let mut late = Observer::start(&b, &["r/#"], 1, &[]);
    assert_eq!(late.wait_for(1, T), vec![msg("r/kept", b"state", 1, true)]);
    late.assert_no_more(QUIET);
    // mqttc as the later subscriber prints it, and -v shows the flag.
    let out = mqttc_run(&["-v", "-s", "r/#", "-C", "1", &b.addr()], b"");
    assert_eq!(
        (out.code, out.stdout.as_slice()),
        (Some(0), b"state\n".as_slice()),
        "{out:?}"
    );
    assert!(
        out.stderr_str()
            .contains("mqttc: received PUBLISH topic \"r/kept\" QoS 0 retain true"),
        "{out:?}"
    );
    // --retain (long form) with an empty payload clears it.
    assert_ok(&mqttc_run(
        &["--retain", "-q", "1", "-p", "r/kept", &b.addr()],
        b"",
    ));
    assert_eq!(live.wait_for(1, T), vec![msg("r/kept", b"", 1, false)]);
    let mut last = Observer::start(&b, &["r/#"], 1, &[]);
    last.assert_no_more(QUIET);
}

// ---------------------------------------------------------------------------------------------
// Payload sources
// ---------------------------------------------------------------------------------------------

#[test]
fn payload_from_stdin_message_and_file() {
    let b = Broker::plain();
    let dir = tempdir();
    let mut obs = Observer::start(&b, &["pl/#"], 1, &[]);
    let binary = noise(3000, 7);
    let file = write(dir.path(), "payload.bin", &binary);
    let empty = write(dir.path(), "empty", b"");
    let cases: Vec<(Vec<&str>, &[u8], &[u8])> = vec![
        (vec!["-p", "pl/stdin"], b"from\nstdin\n", b"from\nstdin\n"),
        (vec!["-p", "pl/stdin-empty"], b"", b""),
        (
            vec!["-p", "pl/m", "-m", "héllo\tthere"],
            b"ignored",
            "héllo\tthere".as_bytes(),
        ),
        (vec!["-p", "pl/m-long", "--message", ""], b"", b""),
        (vec!["-p", "pl/f", "-f", s(&file)], b"ignored", &binary),
        (vec!["-p", "pl/f-long", "--file", s(&empty)], b"", b""),
    ];
    let addr = b.addr();
    for (args, stdin, expected) in cases {
        let topic = args[1];
        let mut a = vec!["-q", "1"];
        a.extend(&args);
        a.push(&addr);
        assert_ok(&mqttc_run(&a, stdin));
        assert_eq!(
            obs.wait_for(1, T),
            vec![msg(topic, expected, 1, false)],
            "{args:?}"
        );
    }
}

#[test]
fn lines_mode_sends_each_line() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["ln"], 1, &[]);
    let out = mqttc_run(
        &["-l", "-q", "1", "-p", "ln", &b.addr()],
        b"one\n\nthree\r\n\xff\x00x\nlast without newline",
    );
    assert_ok(&out);
    let got: Vec<Vec<u8>> = obs.wait_for(5, T).into_iter().map(|m| m.payload).collect();
    let expected: Vec<&[u8]> = vec![b"one", b"", b"three", b"\xff\x00x", b"last without newline"];
    assert_eq!(got, expected);
    obs.assert_no_more(QUIET);
    // --lines, QoS 0, nothing in: nothing sent, exit 0.
    assert_ok(&mqttc_run(&["--lines", "-p", "ln", &b.addr()], b""));
    obs.assert_no_more(QUIET);
}

#[test]
fn lines_mode_10000_lines_at_qos_1_complete_and_in_order() {
    // mosquitto's default max_queued_messages (1000) drops QoS 1 messages for a subscriber that
    // falls behind, and mqttc -l outpaces the observer (mosquitto_sub -d): no limit here.
    let b = Broker::start(BrokerOptions::new().extra("max_queued_messages 1000000"));
    let mut obs = Observer::start(&b, &["many"], 1, &[]);
    let n = 10_000;
    let input: String = (0..n).map(|i| format!("line {i:05}\n")).collect();
    let out = run(
        &mut mqttc(&["-l", "-q", "1", "-p", "many", &b.addr()]),
        input.as_bytes(),
        LONG,
    );
    assert_ok(&out);
    let got = obs.wait_for(n, LONG);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(
            (m.topic.as_str(), m.payload.as_slice(), m.qos),
            ("many", format!("line {i:05}").as_bytes(), 1),
            "message {i}"
        );
    }
    obs.assert_no_more(QUIET);
}

#[test]
fn lines_mode_streams_each_line_as_it_arrives() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["live"], 1, &[]);
    let mut p = spawn(&mut mqttc(&["-l", "-q", "1", "-p", "live", &b.addr()]));
    for line in ["first", "second", "third"] {
        p.write_stdin(format!("{line}\n").as_bytes());
        // Delivered while stdin is still open: not buffered until the end.
        assert_eq!(
            obs.wait_for(1, T),
            vec![msg("live", line.as_bytes(), 1, false)]
        );
    }
    p.close_stdin();
    assert_ok(&p.wait(T));
    obs.assert_no_more(QUIET);
}

// ---------------------------------------------------------------------------------------------
// Publish and subscribe together, several filters
// ---------------------------------------------------------------------------------------------

#[test]
fn publish_and_subscribe_in_one_run_prints_its_own_message() {
    let b = Broker::plain();
    let out = mqttc_run(
        &[
            "-v",
            "-i",
            "echo",
            "-s",
            "echo/#",
            "-p",
            "echo/x",
            "-m",
            "hello me",
            "-C",
            "1",
            "--topic",
            "--prefix",
            " ",
            &b.addr(),
        ],
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, b"echo/x hello me\n", "{out:?}");
    // The SUBACK came before the PUBLISH went out.
    let e = out.stderr_str();
    let suback = e.find("mqttc: received SUBACK packet id 60001\n");
    let publish = e.find("mqttc: sent PUBLISH packet id 0\n");
    assert!(
        matches!((suback, publish), (Some(s), Some(p)) if s < p),
        "SUBACK must precede the PUBLISH:\n{e}"
    );
    // Same at QoS 2, with stdin as the payload.
    let out = mqttc_run(
        &[
            "-q",
            "2",
            "-s",
            "echo/y",
            "-p",
            "echo/y",
            "-C",
            "1",
            &b.addr(),
        ],
        b"\x00bin\xff",
    );
    assert_out(&out, 0, b"\x00bin\xff\n", "");
}

#[test]
fn several_filters_in_one_subscribe() {
    let b = Broker::plain();
    let p = sub_ready(
        &b,
        "multi",
        &[
            "-v",
            "-s",
            "a/+",
            "-s",
            "b/#",
            "--subscribe",
            "c",
            "-C",
            "3",
            "--topic",
            "--prefix",
            " ",
            &b.addr(),
        ],
    );
    mosquitto_pub(&b, "a/1", b"one", 1, false, &[]);
    mosquitto_pub(&b, "x/a/1", b"not matched", 1, false, &[]);
    mosquitto_pub(&b, "a/1/2", b"not matched either", 1, false, &[]);
    mosquitto_pub(&b, "b/x/y", b"two", 1, false, &[]);
    mosquitto_pub(&b, "c", b"three", 1, false, &[]);
    let out = finish(p);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, b"a/1 one\nb/x/y two\nc three\n", "{out:?}");
    assert_eq!(
        out.stderr_str().matches("mqttc: sent SUBSCRIBE").count(),
        1,
        "{out:?}"
    );
    assert_eq!(b.log_count("Received SUBSCRIBE from multi"), 1);
    for f in ["multi 0 a/+", "multi 0 b/#", "multi 0 c"] {
        assert_eq!(b.log_count(f), 1, "{f}");
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials, ACL, CONNACK refusals, refused subscriptions
// ---------------------------------------------------------------------------------------------

#[test]
fn password_listener() {
    let b = Broker::start(BrokerOptions::new().password());
    let addr = format!("127.0.0.1:{}", b.password_port());
    let dir = tempdir();
    let good = write(dir.path(), "good", b"secret\n");
    let bare = write(dir.path(), "bare", b"secret");
    let wrong = write(dir.path(), "wrong", b"Secret\n");
    let two_breaks = write(dir.path(), "two", b"secret\n\n");
    let refused = err(&format!("connection refused by {addr}: not authorized"));

    // Right password from a file (one trailing line break dropped, or none).
    assert_ok(&mqttc_run(
        &["-u", "alice", "--pass", s(&good), "-i", "alice-file", &addr],
        b"",
    ));
    b.wait_for_log("as alice-file (p2, c1, k60, u'alice')", 1, T);
    assert_ok(&mqttc_run(
        &["--user", "alice", "--pass", s(&bare), &addr],
        b"",
    ));
    // Right password from $MQTTC_PASSWORD.
    let out = run(
        mqttc(&["-u", "bob", "-i", "bob-env", &addr]).env("MQTTC_PASSWORD", "hunter2"),
        b"",
        T,
    );
    assert_ok(&out);
    b.wait_for_log("as bob-env (p2, c1, k60, u'bob')", 1, T);
    // --pass wins over $MQTTC_PASSWORD.
    let out = run(
        mqttc(&["-u", "alice", "--pass", s(&good), &addr]).env("MQTTC_PASSWORD", "wrong"),
        b"",
        T,
    );
    assert_ok(&out);

    // mosquitto 2.0.11 answers a wrong password with CONNACK code 5 (not authorized): exit 9.
    assert_out(
        &mqttc_run(&["-u", "alice", "--pass", s(&wrong), &addr], b""),
        9,
        b"",
        &refused,
    );
    assert_out(
        &mqttc_run(&["-u", "alice", "--pass", s(&two_breaks), &addr], b""),
        9,
        b"",
        &refused,
    );
    let out = run(
        mqttc(&["-u", "alice", &addr]).env("MQTTC_PASSWORD", "nope"),
        b"",
        T,
    );
    assert_out(&out, 9, b"", &refused);
    // No password at all, and no user either: also code 5 from mosquitto → exit 9.
    assert_out(&mqttc_run(&["-u", "alice", &addr], b""), 9, b"", &refused);
    assert_out(&mqttc_run(&[&addr], b""), 9, b"", &refused);
    // A publish or subscribe is refused the same way, and --quiet leaves only the status.
    assert_out(
        &mqttc_run(
            &["-u", "alice", "--pass", s(&wrong), "-p", "t", &addr],
            b"x",
        ),
        9,
        b"",
        &refused,
    );
    assert_out(
        &mqttc_run(&["-u", "alice", "--pass", s(&wrong), "-s", "t", &addr], b""),
        9,
        b"",
        &refused,
    );
    assert_out(
        &mqttc_run(&["--quiet", "-u", "alice", "--pass", s(&wrong), &addr], b""),
        9,
        b"",
        "",
    );
}

#[test]
fn verbose_never_prints_the_password() {
    let b = Broker::start(BrokerOptions::new().password());
    let addr = format!("127.0.0.1:{}", b.password_port());
    let dir = tempdir();
    let pass = write(dir.path(), "pw", b"secret\n");
    let mut obs = Observer::start(&b, &["vp/#"], 1, &[]);
    let out = mqttc_run(
        &[
            "-v",
            "-u",
            "alice",
            "--pass",
            s(&pass),
            "-q",
            "2",
            "-s",
            "vp/#",
            "-p",
            "vp/x",
            "-m",
            "m",
            "-C",
            "1",
            &addr,
        ],
        b"",
    );
    assert_eq!(
        (out.code, out.stdout.as_slice()),
        (Some(0), b"m\n".as_slice()),
        "{out:?}"
    );
    assert!(
        out.stderr_str().contains("with user name and password"),
        "{out:?}"
    );
    assert!(
        !out.stderr_str().contains("secret"),
        "password printed: {out:?}"
    );
    let out = run(
        mqttc(&["-v", "-u", "bob", &addr]).env("MQTTC_PASSWORD", "hunter2"),
        b"",
        T,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        !out.stderr_str().contains("hunter2"),
        "password printed: {out:?}"
    );
    // A failed login prints no password either.
    let out = run(
        mqttc(&["-v", "-u", "bob", &addr]).env("MQTTC_PASSWORD", "hunter3"),
        b"",
        T,
    );
    assert_eq!(out.code, Some(9), "{out:?}");
    assert!(
        !out.stderr_str().contains("hunter3"),
        "password printed: {out:?}"
    );
    // (The observer is on the anonymous listener: the message crossed listeners.)
    assert_eq!(obs.wait_for(1, T), vec![msg("vp/x", b"m", 1, false)]);
}

#[test]
fn acl_keeps_bob_out_of_private_topics() {
    let b = Broker::start(BrokerOptions::new().acl());
    let addr = format!("127.0.0.1:{}", b.password_port());
    let mut obs = Observer::start_on(
        &b,
        b.password_port(),
        &["#"],
        1,
        &["-u", ALICE, "-P", ALICE_PASSWORD],
    );
    let bob = |topic: &str, text: &str| {
        run(
            mqttc(&["-u", BOB, "-q", "1", "-p", topic, "-m", text, &addr])
                .env("MQTTC_PASSWORD", BOB_PASSWORD),
            b"",
            T,
        )
    };
    // mosquitto acknowledges the denied publish and drops it: mqttc cannot tell, exit 0.
    assert_ok(&bob("private/x", "leak"));
    assert_ok(&bob("public/x", "fine"));
    // In order: had the private message been delivered it would have come first.
    assert_eq!(obs.wait_for(1, T), vec![msg("public/x", b"fine", 1, false)]);
    obs.assert_no_more(QUIET);
}

#[test]
fn identifier_rejected_exits_6() {
    let b = Broker::start(BrokerOptions::new().extra("allow_zero_length_clientid false"));
    assert_out(
        &mqttc_run(&["-i", "", &b.addr()], b""),
        6,
        b"",
        &err(&format!(
            "connection refused by {}: identifier rejected",
            b.addr()
        )),
    );
    assert_out(
        &mqttc_run(&["--quiet", "--client", "", &b.addr()], b""),
        6,
        b"",
        "",
    );
}

#[test]
fn refused_subscription_exits_1_naming_the_filter() {
    // mosquitto's acl_file never refuses a SUBSCRIBE; the dynamic-security plugin does (SUBACK
    // 0x80). Its config comes from `mosquitto_ctrl dynsec init`, whose client may subscribe to
    // `#` only: narrowed here to `allowed/#`, every other filter is refused. Publishing, which
    // it may not by default, is allowed.
    let plugin = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("mosquitto_dynamic_security.so"))
    .find(|p| p.exists())
    .expect("mosquitto_dynamic_security.so (Debian package mosquitto)");
    let dir = tempdir();
    let json = dir.path().join("dynsec.json");
    let init = run(
        Command::new("mosquitto_ctrl").args(["dynsec", "init", s(&json), "carol", "carolpw"]),
        b"",
        T,
    );
    assert!(init.success(), "mosquitto_ctrl dynsec init: {init:?}");
    let text = fs::read_to_string(&json).unwrap();
    let no_publish = "\"publishClientSend\":\tfalse";
    assert!(
        text.contains("\"#\"") && text.contains(no_publish),
        "{text}"
    );
    let text = text
        .replace("\"#\"", "\"allowed/#\"")
        .replace(no_publish, "\"publishClientSend\":\ttrue");
    fs::write(&json, text).unwrap();
    let b = Broker::start(BrokerOptions::new().extra(&format!(
        "plugin {}\nplugin_opt_config_file {}",
        plugin.display(),
        json.display()
    )));
    let pass = write(dir.path(), "pw", b"carolpw\n");
    let addr = b.addr();
    let with = |more: &[&str]| {
        let mut a = vec!["-u", "carol", "--pass", s(&pass)];
        a.extend(more);
        a.push(&addr);
        mqttc_run(&a, b"")
    };
    assert_out(
        &with(&["-s", "allowed/x", "-s", "denied/x"]),
        1,
        b"",
        &err(&format!(
            "subscription to \"denied/x\" (failure) refused by {addr}"
        )),
    );
    // With a publish: nothing is published after the refusal.
    let mut obs = Observer::start(&b, &["allowed/#"], 1, &["-u", "carol", "-P", "carolpw"]);
    assert_out(
        &with(&["-s", "denied/#", "-p", "allowed/y", "-m", "must not go"]),
        1,
        b"",
        &err(&format!(
            "subscription to \"denied/#\" (failure) refused by {addr}"
        )),
    );
    // An accepted subscription works (and proves the observer would have seen the publish).
    let out = with(&["-s", "allowed/z", "-p", "allowed/z", "-m", "ok", "-C", "1"]);
    assert_out(&out, 0, b"ok\n", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("allowed/z", b"ok", 0, false)]);
    obs.assert_no_more(QUIET);
}

// ---------------------------------------------------------------------------------------------
// Will and signals
// ---------------------------------------------------------------------------------------------

/// A subscriber with a will on `will/ID`, ready.
fn sub_with_will(b: &Broker, id: &str) -> Proc {
    let topic = format!("will/{id}");
    sub_ready(
        b,
        id,
        &[
            "-s",
            "idle",
            "--will-topic",
            &topic,
            "--will-message",
            "gone",
            "--will-qos",
            "1",
            "--will-retain",
            &b.addr(),
        ],
    )
}

#[test]
fn will_is_published_after_sigint_exit_130() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["will/#"], 2, &[]);
    let p = sub_with_will(&b, "int");
    b.wait_for_log("Will message specified (4 bytes) (r1, q1).", 1, T);
    p.signal("INT");
    let out = p.wait(T);
    assert_out(
        &out,
        130,
        b"",
        &err("SIGINT received; closing the connection"),
    );
    assert_eq!(obs.wait_for(1, T), vec![msg("will/int", b"gone", 1, false)]);
    assert_eq!(
        b.log_count("Received DISCONNECT from int"),
        0,
        "no DISCONNECT on SIGINT"
    );
    // --will-retain: a later subscriber gets it retained.
    let mut late = Observer::start(&b, &["will/#"], 2, &[]);
    assert_eq!(late.wait_for(1, T), vec![msg("will/int", b"gone", 1, true)]);
}

#[test]
fn will_is_published_after_kill_9() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["will/#"], 2, &[]);
    let p = sub_with_will(&b, "killed");
    p.signal("KILL");
    let out = p.wait(T);
    assert_eq!((out.code, out.signal), (None, Some(9)), "{out:?}");
    assert_eq!(
        obs.wait_for(1, T),
        vec![msg("will/killed", b"gone", 1, false)]
    );
}

#[test]
fn no_will_after_sigterm_exit_143_or_a_normal_end() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["will/#"], 2, &[]);
    let p = sub_with_will(&b, "term");
    p.signal("TERM");
    let out = p.wait(T);
    assert_out(&out, 143, b"", &err("SIGTERM received; sending DISCONNECT"));
    b.wait_for_log("Received DISCONNECT from term", 1, T);
    b.wait_for_log("Client term disconnected.", 1, T);
    // A health check and a publish with a will end with DISCONNECT too.
    assert_ok(&mqttc_run(
        &["-i", "hc", "--will-topic", "will/hc", &b.addr()],
        b"",
    ));
    assert_ok(&mqttc_run(
        &[
            "-i",
            "pub",
            "--will-topic",
            "will/pub",
            "-p",
            "x",
            &b.addr(),
        ],
        b"x",
    ));
    b.wait_for_log("Client hc disconnected.", 1, T);
    b.wait_for_log("Client pub disconnected.", 1, T);
    obs.assert_no_more(QUIET);
    // Default will: empty message, QoS 0, not retained — seen on SIGINT.
    let p = sub_ready(
        &b,
        "defaults",
        &["-s", "idle", "--will-topic", "will/defaults", &b.addr()],
    );
    p.signal("INT");
    assert_eq!(p.wait(T).code, Some(130));
    assert_eq!(
        obs.wait_for(1, T),
        vec![msg("will/defaults", b"", 0, false)]
    );
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

#[test]
fn tls_with_ca_by_name_and_by_ip() {
    let b = Broker::start(BrokerOptions::new().tls());
    let ca = b.ca_pem();
    let ca = s(&ca);
    let port = b.tls_port();
    let mut obs = Observer::start(&b, &["tls/#"], 1, &[]);
    for addr in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_ok(&mqttc_run(&["--tls", "--ca", ca, &addr], b""));
    }
    // mqtts:// implies --tls.
    assert_ok(&mqttc_run(
        &["--ca", ca, &format!("mqtts://localhost:{port}")],
        b"",
    ));
    assert_ok(&mqttc_run(
        &[
            "--ca",
            ca,
            "-q",
            "1",
            "-p",
            "tls/x",
            &format!("mqtts://127.0.0.1:{port}"),
        ],
        b"secured",
    ));
    assert_eq!(obs.wait_for(1, T), vec![msg("tls/x", b"secured", 1, false)]);
    // --server names the certificate to expect when the address is an IP.
    assert_ok(&mqttc_run(
        &[
            "--tls",
            "--ca",
            ca,
            "--server",
            "localhost",
            &format!("127.0.0.1:{port}"),
        ],
        b"",
    ));
    // Subscribe over TLS.
    let p = sub_ready(
        &b,
        "tls-sub",
        &[
            "--tls",
            "--ca",
            ca,
            "-s",
            "tls/#",
            "-C",
            "1",
            &format!("localhost:{port}"),
        ],
    );
    mosquitto_pub(&b, "tls/y", b"to a TLS subscriber", 1, false, &[]);
    assert_out(&finish(p), 0, b"to a TLS subscriber\n", "");
}

#[test]
fn tls_wrong_ca_and_wrong_name_exit_1() {
    let b = Broker::start(BrokerOptions::new().tls());
    let port = b.tls_port();
    let addr = format!("localhost:{port}");
    let other = b.other_ca_pem();
    let unknown = err(&format!(
        "TLS with {addr}: the broker's certificate is not signed by a trusted CA (unknown issuer; see --ca)"
    ));
    assert_out(
        &mqttc_run(&["--tls", "--ca", s(&other), &addr], b""),
        1,
        b"",
        &unknown,
    );
    // Without --ca the test CA is not trusted either.
    assert_out(&mqttc_run(&["--tls", &addr], b""), 1, b"", &unknown);
    let ca = b.ca_pem();
    let out = mqttc_run(
        &["--tls", "--ca", s(&ca), "--server", "wrong.example", &addr],
        b"",
    );
    assert_out(
        &out,
        1,
        b"",
        &err(&format!(
            "TLS with {addr}: the broker's certificate does not match the host name (see --server)"
        )),
    );
    // Plain MQTT to the TLS port, TLS to the plain port: exit 1 as well.
    let out = mqttc_run(&["--timeout", "2s", &addr], b"");
    assert_one_error_line(&out, 1, &addr, "");
    let out = mqttc_run(
        &["--tls", "--ca", s(&ca), "--timeout", "2s", &b.addr()],
        b"",
    );
    assert_one_error_line(&out, 1, &format!("mqttc: TLS with {}: ", b.addr()), "");
}

/// A TLS server on 127.0.0.1 presenting a certificate for localhost that expired in 2021
/// (signed by a CA of its own, written to `dir/expired-ca.pem`): it accepts one connection and
/// runs the handshake, which the client aborts.
fn expired_tls_server(dir: &Path) -> u16 {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    fs::write(dir.join("expired-ca.pem"), ca_pem).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = leaf.signed_by(&key, &issuer).unwrap().pem();
    let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let mut conn = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut sock).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn tls_expired_certificate_and_refused_handshake_exit_1_naming_them() {
    let dir = tempdir();
    let port = expired_tls_server(dir.path());
    let addr = format!("localhost:{port}");
    let ca = dir.path().join("expired-ca.pem");
    let out = mqttc_run(&["--tls", "--ca", s(&ca), "--timeout", "5s", &addr], b"");
    assert_out(
        &out,
        1,
        b"",
        &err(&format!(
            "TLS with {addr}: the broker's certificate has expired"
        )),
    );

    // A server that answers the ClientHello with a fatal handshake_failure alert.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let mut hello = [0u8; 5];
            let _ = sock.read_exact(&mut hello);
            let _ = sock.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
            let _ = sock.flush();
            thread::sleep(Duration::from_millis(500));
        }
    });
    let addr = format!("127.0.0.1:{port}");
    let out = mqttc_run(&["--tls", "--timeout", "5s", &addr], b"");
    assert_out(
        &out,
        1,
        b"",
        &err(&format!(
            "TLS with {addr}: the broker refused the TLS handshake (a client certificate may be required)"
        )),
    );
}

#[test]
fn tls_insecure_warns_and_quiet_silences_the_warning() {
    let b = Broker::start(BrokerOptions::new().tls());
    let addr = format!("127.0.0.1:{}", b.tls_port());
    let warning = err("warning: --insecure: the broker's certificate is not verified");
    assert_out(
        &mqttc_run(&["--tls", "--insecure", &addr], b""),
        0,
        b"",
        &warning,
    );
    assert_out(
        &mqttc_run(
            &["--tls", "--insecure", "--server", "wrong.example", &addr],
            b"",
        ),
        0,
        b"",
        &warning,
    );
    assert_ok(&mqttc_run(&["--tls", "--insecure", "--quiet", &addr], b""));
}

#[test]
fn tls_client_certificate() {
    let b = Broker::start(BrokerOptions::new().tls_client_cert());
    let addr = format!("localhost:{}", b.tls_client_cert_port());
    let (ca, cert, key) = (b.ca_pem(), b.client_cert_pem(), b.client_key_pem());
    assert_ok(&mqttc_run(
        &[
            "--tls",
            "--ca",
            s(&ca),
            "--cert",
            s(&cert),
            "--key",
            s(&key),
            &addr,
        ],
        b"",
    ));
    // Without a certificate, or with one from another CA: the broker ends the handshake with
    // an alert. (TLS 1.3: the client sees it after its side of the handshake is done.)
    let out = mqttc_run(&["--tls", "--ca", s(&ca), &addr], b"");
    assert_out(
        &out,
        1,
        b"",
        &format!(
            "mqttc: TLS with {addr}: the broker requires a client certificate (see --cert and --key)\n"
        ),
    );
    let (ocert, okey) = (b.other_client_cert_pem(), b.other_client_key_pem());
    let out = mqttc_run(
        &[
            "--tls",
            "--ca",
            s(&ca),
            "--cert",
            s(&ocert),
            "--key",
            s(&okey),
            &addr,
        ],
        b"",
    );
    assert_out(
        &out,
        1,
        b"",
        &format!("mqttc: TLS with {addr}: the broker refused the client certificate\n"),
    );
}

// ---------------------------------------------------------------------------------------------
// Unix socket
// ---------------------------------------------------------------------------------------------

#[test]
fn unix_socket_listener() {
    let b = Broker::start(BrokerOptions::new().unix_socket());
    let path = b.unix_path().to_str().unwrap().to_string();
    let mut obs = Observer::start(&b, &["ux/#"], 1, &[]);
    assert_ok(&mqttc_run(&["--net", "unix", &path], b""));
    assert_ok(&mqttc_run(&[&format!("unix://{path}")], b""));
    assert_ok(&mqttc_run(
        &["--net", "unix", "-q", "1", "-p", "ux/a", &path],
        b"over unix",
    ));
    assert_eq!(
        obs.wait_for(1, T),
        vec![msg("ux/a", b"over unix", 1, false)]
    );
    let p = sub_ready(
        &b,
        "ux-sub",
        &["--net", "unix", "-s", "ux/b", "-C", "1", &path],
    );
    mosquitto_pub(&b, "ux/b", b"to unix", 1, false, &[]);
    assert_out(&finish(p), 0, b"to unix\n", "");
    let missing = format!("{path}.missing");
    assert_out(
        &mqttc_run(&["--net", "unix", &missing], b""),
        1,
        b"",
        &err(&format!("connect to {missing}: no such socket")),
    );
}

// ---------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------

const FIVE_MB: usize = 5 * 1024 * 1024;

#[test]
fn five_megabytes_published_from_stdin_arrive_intact() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["big"], 1, &[]);
    let payload = noise(FIVE_MB, 42);
    let out = run(
        &mut mqttc(&["-q", "1", "-p", "big", &b.addr()]),
        &payload,
        LONG,
    );
    assert_ok(&out);
    let got = obs.wait_for(1, LONG).pop().unwrap();
    assert_eq!((got.topic.as_str(), got.qos, got.retain), ("big", 1, false));
    assert_eq!(
        (got.payload.len(), fnv(&got.payload)),
        (payload.len(), fnv(&payload)),
        "payload differs"
    );
}

#[test]
fn five_megabytes_received_print_whole() {
    let b = Broker::plain();
    let dir = tempdir();
    let payload = noise(FIVE_MB, 43);
    let file = write(dir.path(), "big.bin", &payload);
    let p = sub_ready(&b, "big-sub", &["-s", "big", "-C", "1", &b.addr()]);
    let out = run(
        Command::new("mosquitto_pub").args([
            "-h",
            "127.0.0.1",
            "-p",
            &b.port().to_string(),
            "-q",
            "1",
            "-t",
            "big",
            "-f",
            s(&file),
        ]),
        b"",
        LONG,
    );
    assert!(out.success(), "mosquitto_pub: {out:?}");
    let out = p.wait(LONG);
    let mut expected = payload;
    expected.push(b'\n');
    assert!(
        out.code == Some(0) && out.stderr.is_empty(),
        "exit {:?}, stderr {}",
        out.code,
        out.stderr_str()
    );
    assert_eq!(
        (out.stdout.len(), fnv(&out.stdout)),
        (expected.len(), fnv(&expected)),
        "stdout differs"
    );
}

// ---------------------------------------------------------------------------------------------
// Closed pipe
// ---------------------------------------------------------------------------------------------

#[test]
fn closed_stdout_pipe_ends_the_subscriber_with_exit_0() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["pipe/will"], 1, &[]);
    // bash reports mqttc's own status after `head` has taken the first line.
    let script = r#""$0" -i piper -s pipe/t --will-topic pipe/will "$1" | head -n 1; echo "mqttc exit ${PIPESTATUS[0]}""#;
    let mut cmd = Command::new("bash");
    clean_env(&mut cmd);
    cmd.arg("-c").arg(script).arg(mqttc_bin()).arg(b.addr());
    let mut p = spawn(&mut cmd);
    await_log(&b, &p, "Sending SUBACK to piper", 1);
    mosquitto_pub(&b, "pipe/t", b"first", 1, false, &[]);
    assert_eq!(p.read_line(T), Some(b"first\n".to_vec()));
    // mqttc notices the closed pipe on its next write: publish until it has disconnected.
    let deadline = Instant::now() + T;
    let mut n = 0;
    while b.log_count("Client piper disconnected") == 0 {
        assert!(
            Instant::now() < deadline,
            "mqttc did not end on the closed pipe\n{}",
            p.stderr_string()
        );
        n += 1;
        mosquitto_pub(&b, "pipe/t", format!("more {n}").as_bytes(), 1, false, &[]);
    }
    let out = p.wait(T);
    assert_out(&out, 0, b"mqttc exit 0\n", "");
    assert!(!out.stderr_str().contains("panicked"));
    // A clean end: DISCONNECT sent, no will.
    b.wait_for_log("Received DISCONNECT from piper", 1, T);
    obs.assert_no_more(QUIET);
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2, one line, nothing sent
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_input_exits_2_with_one_line_and_sends_nothing() {
    let b = Broker::plain();
    let addr = b.addr();
    let dir = tempdir();
    let d = dir.path();
    let nocert = write(d, "nocert.pem", b"hello, no PEM here\n");
    let missing = d.join("missing.pem");
    let ca = b.ca_pem();
    let (cert, key) = (b.client_cert_pem(), b.client_key_pem());
    let long_topic = "a".repeat(65_536);
    let long_shown = format!(
        "\"{}\"... (65536 bytes): longer than 65535 bytes",
        "a".repeat(40)
    );
    let (nc, ms, cas, ce, ke) = (s(&nocert), s(&missing), s(&ca), s(&cert), s(&key));
    let dirpath = s(d);

    let cases: Vec<(Vec<&str>, String)> = vec![
        // Topics and filters.
        (vec!["-p", "a/+", "-m", "x"], "invalid topic \"a/+\": wildcards + and # are not allowed in a topic name".into()),
        (vec!["-p", "a/#", "-m", "x"], "invalid topic \"a/#\": wildcards + and # are not allowed in a topic name".into()),
        (vec!["-p", "+", "-m", "x"], "invalid topic \"+\": wildcards + and # are not allowed in a topic name".into()),
        (vec!["-p", "", "-m", "x"], "invalid topic \"\": empty".into()),
        (vec!["-s", ""], "invalid topic filter \"\": empty".into()),
        (vec!["-s", "ok", "-s", ""], "invalid topic filter \"\": empty".into()),
        (vec!["-s", "a/#/b"], "invalid topic filter \"a/#/b\": # must be the last level".into()),
        (vec!["-s", "a/b#"], "invalid topic filter \"a/b#\": # must be a whole level, like a/#".into()),
        (vec!["-s", "+x"], "invalid topic filter \"+x\": + must be a whole level, like a/+/b".into()),
        (vec!["-p", &long_topic, "-m", "x"], format!("invalid topic {long_shown}")),
        (vec!["-s", &long_topic], format!("invalid topic filter {long_shown}")),
        (vec!["--will-topic", "a/#"], "--will-topic: invalid topic \"a/#\": wildcards + and # are not allowed in a topic name".into()),
        (vec!["--will-topic", ""], "--will-topic: invalid topic \"\": empty".into()),
        // Files.
        (vec!["-u", "u", "--pass", ms], format!("--pass {ms}: no such file")),
        (vec!["-p", "t", "-f", ms], format!("--file {ms}: no such file")),
        (vec!["-p", "t", "-f", dirpath], format!("--file {dirpath}: is a directory")),
        (vec!["--tls", "--ca", ms], format!("--ca {ms}: no such file")),
        (vec!["--tls", "--ca", nc], format!("--ca {nc}: no PEM certificate in the file")),
        (vec!["--tls", "--ca", ke], format!("--ca {ke}: no PEM certificate in the file")),
        (vec!["--tls", "--ca", cas, "--cert", nc, "--key", ke], format!("--cert {nc}: no PEM certificate in the file")),
        (vec!["--tls", "--ca", cas, "--cert", ce, "--key", nc], format!("--key {nc}: no PEM private key in the file")),
        (vec!["--tls", "--ca", cas, "--cert", ce, "--key", ce], format!("--key {ce}: no PEM private key in the file")),
        (vec!["--tls", "--ca", cas, "--cert", ms, "--key", ke], format!("--cert {ms}: no such file")),
        (vec!["--tls", "--ca", cas, "--cert", ce, "--key", ms], format!("--key {ms}: no such file")),
        // TLS options without TLS.
        (vec!["--ca", cas], "--ca needs --tls or an mqtts:// or wss:// address".into()),
        (vec!["--insecure"], "--insecure needs --tls or an mqtts:// or wss:// address".into()),
        (vec!["--server", "localhost"], "--server needs --tls or an mqtts:// or wss:// address".into()),
        (vec!["--cert", ce, "--key", ke], "--cert needs --tls or an mqtts:// or wss:// address".into()),
        // clap's own usage errors, as one line too.
        (vec!["--tls", "--cert", ce], clap_line("the following required arguments were not provided: --key <FILE>")),
        (vec!["--tls", "--key", ke], clap_line("the following required arguments were not provided: --cert <FILE>")),
        (vec!["--bogus"], clap_line("unexpected argument '--bogus' found")),
        (vec!["-Z"], clap_line("unexpected argument '-Z' found")),
        (vec!["--timeout", "4x"], clap_line("invalid value '4x' for '--timeout <DURATION>': invalid duration \"4x\": unknown unit \"x\" (use ns, us, ms, s, m or h)")),
        (vec!["-q", "3"], clap_line("invalid value '3' for '--qos <QOS>' [possible values: 0, 1, 2]")),
        (vec!["--will-topic", "w", "--will-qos", "3"], clap_line("invalid value '3' for '--will-qos <QOS>' [possible values: 0, 1, 2]")),
        (vec!["--keepalive", "65536"], clap_line("invalid value '65536' for '--keepalive <SECONDS>': 65536 is not in 0..=65535")),
        (vec!["--mqtt-version", "5", "--keepalive", "0"], "--keepalive 0: MQTT 5 needs at least 5 seconds".into()),
        (vec!["--mqtt-version", "5", "--keepalive", "4"], "--keepalive 4: MQTT 5 needs at least 5 seconds".into()),
        (vec!["--net", "udp"], clap_line("invalid value 'udp' for '--net <NAME>' [possible values: tcp, tcp4, tcp6, unix]")),
        (vec!["-s", "t", "-C", "0"], clap_line("invalid value '0' for '--count <N>': 0 is not in 1..18446744073709551615")),
        (vec!["-m", "x"], clap_line("the following required arguments were not provided: --publish <TOPIC>")),
        (vec!["-p", "t", "-m", "x", "-f", ce], clap_line("the argument '--message <TEXT>' cannot be used with '--file <FILE>'")),
        (vec!["-p", "t", "-m", "x", "-l"], clap_line("the argument '--message <TEXT>' cannot be used with '--lines'")),
        (vec!["--will-message", "x"], clap_line("the following required arguments were not provided: --will-topic <TOPIC>")),
        (vec!["first-address"], clap_line(&format!("unexpected argument '{addr}' found"))),
    ];
    for (args, expected) in &cases {
        let mut a = args.clone();
        a.push(&addr);
        let out = mqttc_run(&a, b"payload");
        let shown: Vec<&str> = args
            .iter()
            .map(|x| if x.len() > 50 { "<long>" } else { x })
            .collect();
        assert_usage(&out, expected, &format!("{shown:?}"));
    }
    // Malformed addresses (no address argument appended).
    for (a, why) in [
        ("host:99999", "port 99999 is out of range (1-65535)"),
        ("mqtt://", "empty host"),
        ("mqtts://", "empty host"),
        ("host:", "empty port after ':'"),
        ("[::1", "unbalanced brackets: missing ']'"),
        (
            "ftp://x",
            "unsupported scheme \"ftp\" (use mqtt, mqtts, ws, wss or unix)",
        ),
        ("mqtt://h:0", "port 0 is not allowed"),
        (
            "h:1:2",
            "too many colons (write an IPv6 address with a port as [addr]:port)",
        ),
    ] {
        let out = mqttc_run(&[a], b"");
        assert_usage(&out, &format!("invalid address \"{a}\": {why}"), a);
    }
    let out = run(mqttc(&[]).env("MQTTC_ADDRESS", "host:99999"), b"", T);
    assert_usage(
        &out,
        "invalid address \"host:99999\": port 99999 is out of range (1-65535)",
        "$MQTTC_ADDRESS",
    );
    // --quiet: only the status.
    assert_out(
        &mqttc_run(&["--quiet", "-p", "a/+", &addr], b"x"),
        2,
        b"",
        "",
    );
    assert_out(
        &mqttc_run(&["--quiet", "--tls", "--ca", ms, &addr], b""),
        2,
        b"",
        "",
    );
    // Even for the errors clap finds before --quiet is parsed.
    assert_out(&mqttc_run(&["--quiet", "--bogus", &addr], b""), 2, b"", "");
    assert_nothing_sent(&b);
}

#[test]
fn topic_of_65535_bytes_is_accepted() {
    let b = Broker::plain();
    let topic = format!("max/{}", "x".repeat(65_535 - 4));
    let mut obs = Observer::start(&b, &["max/#"], 1, &[]);
    assert_ok(&mqttc_run(
        &["-q", "1", "-p", &topic, &b.addr()],
        b"at the limit",
    ));
    let got = obs.wait_for(1, T).pop().unwrap();
    assert_eq!(
        (got.topic.len(), got.payload.as_slice()),
        (65_535, b"at the limit".as_slice())
    );
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

/// Starts `mqttc ARGS` and returns it with the start time.
fn timed(args: &[&str]) -> (Proc, Instant) {
    (spawn(&mut mqttc(args)), Instant::now())
}

/// Waits for a run started by [`timed`] and asserts exit 1 with exactly `stderr` within `bound`
/// of its start.
#[track_caller]
fn assert_timed_out(p: Proc, start: Instant, bound: Duration, stderr: &str) {
    let out = p.wait(T);
    let took = start.elapsed();
    assert_out(&out, 1, b"", stderr);
    assert!(took < bound, "took {took:?}, more than {bound:?}");
}

#[test]
fn timeout_when_the_broker_never_answers_connect() {
    // Accepts TCP (the kernel completes the handshake) but never reads or answers.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hole.local_addr().unwrap().to_string();
    let no_connack = |d: &str| err(&format!("connect to {addr}: no CONNACK within {d}"));
    // All at once, so the test takes one timeout, not four.
    let runs = [
        (timed(&["--timeout", "1s", &addr]), no_connack("1s")),
        (
            timed(&["--timeout", "1s", "-q", "1", "-p", "t", "-m", "x", &addr]),
            no_connack("1s"),
        ),
        (
            timed(&["--timeout", "500ms", "-s", "t", &addr]),
            no_connack("500ms"),
        ),
        (
            timed(&["--timeout", "1s", "--tls", "--insecure", "--quiet", &addr]),
            String::new(),
        ),
    ];
    for ((p, start), stderr) in runs {
        assert_timed_out(p, start, Duration::from_secs(3), &stderr);
    }
    drop(hole);
}

/// A fake broker that answers every CONNECT with CONNACK (accepted) and then stays silent:
/// no PUBACK, PUBREC, SUBACK or PINGRESP ever.
fn silent_broker() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { return };
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // The CONNECT arrives in one read (it is small).
                if matches!(c.read(&mut buf), Ok(n) if n > 0) {
                    let _ = c.write_all(&[0x20, 0x02, 0x00, 0x00]);
                    while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
                }
            });
        }
    });
    addr
}

#[test]
fn timeout_on_each_missing_acknowledgement() {
    let addr = silent_broker();
    let runs = [
        (
            timed(&["--timeout", "1s", "-q", "1", "-p", "t", "-m", "x", &addr]),
            "PUBACK",
        ),
        (
            timed(&["--timeout", "1s", "-q", "2", "-p", "t", "-m", "x", &addr]),
            "PUBCOMP",
        ),
        (timed(&["--timeout", "1s", "-s", "t", &addr]), "SUBACK"),
        (timed(&["--timeout", "1s", &addr]), "PINGRESP"),
    ];
    for ((p, start), what) in runs {
        let line = err(&format!("no {what} from {addr} within 1s"));
        assert_timed_out(p, start, Duration::from_secs(3), &line);
    }
    // QoS 0 needs no acknowledgement: exit 0.
    assert_ok(&mqttc_run(
        &["--timeout", "1s", "-p", "t", "-m", "x", &addr],
        b"",
    ));
}
