//! Self-test of tests/common/mod.rs: every listener, the observer, the program runners.
//! Uses only mosquitto, mosquitto_pub/mosquitto_sub and std: it does not need the mqttc binary.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

fn user(u: &str, p: &str, port: u16) -> Vec<String> {
    vec![
        "-p".into(),
        port.to_string(),
        "-u".into(),
        u.into(),
        "-P".into(),
        p.into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn plain_round_trip_binary_payload_qos_retain() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["t/#", "with space/+"], 2, &[]);
    assert_eq!(obs.granted(), &[2, 2]);
    let binary: Vec<u8> = (0..=255u8)
        .chain(b"\n\r\n last line".iter().copied())
        .collect();
    // One at a time: libmosquitto hands an incoming QoS 2 message to mosquitto_sub only on
    // PUBREL, so it can be printed after a QoS 0/1 message published later.
    mosquitto_pub(&b, "t/bin", &binary, 1, false, &[]);
    let got = obs.wait_for(1, T);
    assert_eq!(
        got[0],
        Message {
            topic: "t/bin".into(),
            payload: binary,
            qos: 1,
            retain: false
        }
    );
    mosquitto_pub(&b, "t/empty", b"", 2, false, &[]);
    let got = obs.wait_for(1, T);
    assert_eq!(
        got[0],
        Message {
            topic: "t/empty".into(),
            payload: vec![],
            qos: 2,
            retain: false
        }
    );
    mosquitto_pub(&b, "with space/x y", b"hello", 0, false, &[]);
    let got = obs.wait_for(1, T);
    assert_eq!(
        got[0],
        Message {
            topic: "with space/x y".into(),
            payload: b"hello".to_vec(),
            qos: 0,
            retain: false
        }
    );
    obs.assert_no_more(Duration::from_millis(100));

    // Retained: a new subscriber gets it with the retain flag; a live one without.
    mosquitto_pub(&b, "t/kept", b"state", 1, true, &[]);
    let live = obs.wait_for(1, T);
    assert!(!live[0].retain);
    let mut late = Observer::start(&b, &["t/kept"], 1, &[]);
    let got = late.wait_for(1, T);
    assert_eq!(
        got[0],
        Message {
            topic: "t/kept".into(),
            payload: b"state".to_vec(),
            qos: 1,
            retain: true
        }
    );
    assert!(
        b.log().contains("mosquitto version"),
        "log() returns the broker log"
    );

    // MQTT 5 observer, with a client id: SUBACK detection is the same.
    let mut v5 = Observer::start(&b, &["v5/#"], 1, &["-V", "mqttv5", "-i", "observer-v5"]);
    assert!(b.log().contains("Sending SUBACK to observer-v5"));
    mosquitto_pub(&b, "v5/a", b"five", 1, false, &["-V", "mqttv5"]);
    assert_eq!(v5.wait_for(1, T)[0].payload, b"five");
}

#[test]
fn password_listener() {
    let b = Broker::start(BrokerOptions::new().password());
    let pp = b.password_port();
    let mut obs = Observer::start(&b, &["#"], 1, &[]);
    let ok = try_mosquitto_pub(
        &b,
        "pw/a",
        b"1",
        1,
        false,
        &strs(&user(ALICE, ALICE_PASSWORD, pp)),
    );
    assert!(ok.success(), "alice/secret accepted: {ok:?}");
    let ok = try_mosquitto_pub(
        &b,
        "pw/b",
        b"2",
        1,
        false,
        &strs(&user(BOB, BOB_PASSWORD, pp)),
    );
    assert!(ok.success(), "bob/hunter2 accepted: {ok:?}");
    let bad = try_mosquitto_pub(&b, "pw/c", b"3", 1, false, &strs(&user(ALICE, "wrong", pp)));
    assert!(!bad.success(), "wrong password refused: {bad:?}");
    assert!(bad.stderr_str().contains("not authorised"), "{bad:?}");
    let anon = try_mosquitto_pub(&b, "pw/d", b"4", 1, false, &["-p", &pp.to_string()]);
    assert!(
        !anon.success(),
        "anonymous refused on the password listener: {anon:?}"
    );
    let got = obs.wait_for(2, T);
    assert_eq!(
        (got[0].topic.as_str(), got[1].topic.as_str()),
        ("pw/a", "pw/b")
    );
    obs.assert_no_more(Duration::from_millis(100));
    // An observer on the password listener itself.
    let mut alice = Observer::start_on(&b, pp, &["pw/#"], 1, &["-u", ALICE, "-P", ALICE_PASSWORD]);
    mosquitto_pub(&b, "pw/e", b"5", 1, false, &[]);
    assert_eq!(alice.wait_for(1, T)[0].payload, b"5");
}

#[test]
fn acl_drops_bob_outside_public() {
    let b = Broker::start(BrokerOptions::new().acl());
    let pp = b.password_port();
    let alice = ["-u", ALICE, "-P", ALICE_PASSWORD];
    let mut obs = Observer::start_on(&b, pp, &["private/#", "public/#"], 1, &alice);
    let bob = user(BOB, BOB_PASSWORD, pp);
    // Accepted (PUBACK) but dropped.
    mosquitto_pub(&b, "private/x", b"secret stuff", 1, false, &strs(&bob));
    // Positive control, published after: it arrives first, so the private one was dropped.
    mosquitto_pub(&b, "public/x", b"hello", 1, false, &strs(&bob));
    let got = obs.wait_for(1, T);
    assert_eq!(got[0].topic, "public/x");
    obs.assert_no_more(Duration::from_millis(100));

    // bob subscribing to private/#: granted (acl_file never refuses) but receives nothing.
    let mut bob_obs = Observer::start_on(
        &b,
        pp,
        &["private/#", "public/#"],
        1,
        &["-u", BOB, "-P", BOB_PASSWORD],
    );
    assert_eq!(bob_obs.granted(), &[1, 1]);
    mosquitto_pub(
        &b,
        "private/y",
        b"no",
        1,
        false,
        &strs(&user(ALICE, ALICE_PASSWORD, pp)),
    );
    mosquitto_pub(
        &b,
        "public/y",
        b"yes",
        1,
        false,
        &strs(&user(ALICE, ALICE_PASSWORD, pp)),
    );
    let got = bob_obs.wait_for(1, T);
    assert_eq!(got[0].topic, "public/y");
    bob_obs.assert_no_more(Duration::from_millis(100));
}

#[test]
fn tls_listener() {
    let b = Broker::start(BrokerOptions::new().tls());
    let tp = b.tls_port().to_string();
    let ca = b.ca_pem().display().to_string();
    let other = b.other_ca_pem().display().to_string();
    let mut obs = Observer::start(&b, &["tls/#"], 1, &[]);
    mosquitto_pub(
        &b,
        "tls/a",
        b"over tls",
        1,
        false,
        &["-h", "localhost", "-p", &tp, "--cafile", &ca],
    );
    assert_eq!(obs.wait_for(1, T)[0].payload, b"over tls");
    let wrong = try_mosquitto_pub(
        &b,
        "tls/b",
        b"x",
        1,
        false,
        &["-h", "localhost", "-p", &tp, "--cafile", &other],
    );
    assert!(!wrong.success(), "unrelated CA refused: {wrong:?}");
    let plain = try_mosquitto_pub(&b, "tls/c", b"x", 1, false, &["-p", &tp]);
    assert!(
        !plain.success(),
        "plain MQTT to the TLS port fails: {plain:?}"
    );
    // The server certificate has an IP SAN: 127.0.0.1 verifies too.
    let ip = try_mosquitto_pub(
        &b,
        "tls/d",
        b"by ip",
        1,
        false,
        &["-h", "127.0.0.1", "-p", &tp, "--cafile", &ca],
    );
    assert!(ip.success(), "IP SAN: {ip:?}");
    assert_eq!(obs.wait_for(1, T)[0].payload, b"by ip");
    // Observer over TLS.
    let mut tobs = Observer::start_on(
        &b,
        b.tls_port(),
        &["tls/#"],
        1,
        &["-h", "localhost", "--cafile", &ca],
    );
    mosquitto_pub(&b, "tls/e", b"e", 1, false, &[]);
    assert_eq!(tobs.wait_for(1, T)[0].topic, "tls/e");
    obs.wait_for(1, T);
    obs.assert_no_more(Duration::from_millis(100));
}

#[test]
fn tls_client_cert_listener() {
    let b = Broker::start(BrokerOptions::new().tls_client_cert());
    let cp = b.tls_client_cert_port().to_string();
    let ca = b.ca_pem().display().to_string();
    let (cert, key) = (
        b.client_cert_pem().display().to_string(),
        b.client_key_pem().display().to_string(),
    );
    let (ocert, okey) = (
        b.other_client_cert_pem().display().to_string(),
        b.other_client_key_pem().display().to_string(),
    );
    let mut obs = Observer::start(&b, &["cc/#"], 1, &[]);
    let base = ["-h", "localhost", "-p", &cp, "--cafile", &ca];
    let none = try_mosquitto_pub(&b, "cc/a", b"x", 1, false, &base);
    assert!(!none.success(), "no client certificate refused: {none:?}");
    let wrong = try_mosquitto_pub(
        &b,
        "cc/b",
        b"x",
        1,
        false,
        &[&base[..], &["--cert", &ocert, "--key", &okey]].concat(),
    );
    assert!(
        !wrong.success(),
        "client certificate from another CA refused: {wrong:?}"
    );
    mosquitto_pub(
        &b,
        "cc/c",
        b"with cert",
        1,
        false,
        &[&base[..], &["--cert", &cert, "--key", &key]].concat(),
    );
    let got = obs.wait_for(1, T);
    assert_eq!(got[0].payload, b"with cert");
    obs.assert_no_more(Duration::from_millis(100));
}

#[test]
fn unix_socket_listener() {
    let b = Broker::start(BrokerOptions::new().unix_socket());
    let path = b.unix_path().to_path_buf();
    assert!(path.exists());
    UnixStream::connect(&path).expect("unix socket connects");
    // mosquitto_pub 2.0.11 has --unix.
    let mut obs = Observer::start(&b, &["u/#"], 1, &[]);
    mosquitto_pub(
        &b,
        "u/a",
        b"via unix",
        1,
        false,
        &["--unix", path.to_str().unwrap()],
    );
    assert_eq!(obs.wait_for(1, T)[0].payload, b"via unix");
}

#[test]
fn websockets_listener() {
    let b = Broker::start(BrokerOptions::new().websockets());
    let port = b.ws_port();
    let addrs = listening_addrs(port);
    assert!(
        !addrs.is_empty() && addrs.iter().all(|a| a.is_loopback()),
        "ws only on loopback: {addrs:?}"
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("ws port accepts TCP");
    s.set_read_timeout(Some(T)).unwrap();
    write!(
        s,
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("HTTP response");
        head.push(byte[0]);
        assert!(head.len() < 4096);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "upgrade: {head}");
    // MQTT 3.1.1 CONNECT (clean session, keep-alive 10, client id "ws") in a masked binary frame.
    let connect = [
        0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 10, 0, 2, b'w', b's',
    ];
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x82, 0x80 | connect.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(connect.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).unwrap();
    let mut connack = [0u8; 6];
    s.read_exact(&mut connack).expect("CONNACK frame");
    assert_eq!(
        connack,
        [0x82, 4, 0x20, 2, 0, 0],
        "binary frame with CONNACK, accepted"
    );
}

#[test]
fn all_listeners_together_and_extra() {
    let b = Broker::start(
        BrokerOptions::new()
            .password()
            .acl()
            .tls()
            .tls_client_cert()
            .unix_socket()
            .websockets()
            .persistence()
            .extra("max_packet_size 1000")
            .extra("# a comment line"),
    );
    let conf = std::fs::read_to_string(b.config_path()).unwrap();
    assert!(conf.contains("max_packet_size 1000"), "{conf}");
    let ports = [
        b.port(),
        b.password_port(),
        b.tls_port(),
        b.tls_client_cert_port(),
        b.ws_port(),
    ];
    for port in ports {
        let addrs = listening_addrs(port);
        assert!(!addrs.is_empty(), "something listens on {port}");
        assert!(
            addrs.iter().all(|a| a.is_loopback()),
            "port {port} only on loopback: {addrs:?}"
        );
    }
    let mut sorted = ports.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "distinct ports {ports:?}");
    assert_eq!(b.addr(), format!("127.0.0.1:{}", b.port()));
    assert!(b.dir().join("mosquitto.conf").exists());
    let mut obs = Observer::start(&b, &["x/#"], 1, &[]);
    // max_packet_size from extra: a 2000-byte publish is refused, a small one passes.
    let big = try_mosquitto_pub(&b, "x/big", &[b'a'; 2000], 1, false, &[]);
    assert!(!big.success(), "oversized publish refused: {big:?}");
    mosquitto_pub(&b, "x/small", b"ok", 1, false, &[]);
    assert_eq!(obs.wait_for(1, T)[0].topic, "x/small");
}

#[test]
fn kill_and_restart_on_same_port() {
    let t0 = Instant::now();
    let mut b = Broker::start(BrokerOptions::new().unix_socket().websockets().tls());
    eprintln!("start took {:?}", t0.elapsed());
    let (port, ws, tls, pid) = (b.port(), b.ws_port(), b.tls_port(), b.pid());
    {
        let mut obs = Observer::start(&b, &["r/#"], 1, &[]);
        mosquitto_pub(&b, "r/1", b"before", 1, false, &[]);
        obs.wait_for(1, T);
    }
    b.kill();
    assert!(!b.is_running());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after kill"
    );
    let down = try_mosquitto_pub(&b, "r/2", b"x", 1, false, &[]);
    assert!(!down.success());
    let t0 = Instant::now();
    b.restart();
    eprintln!("restart took {:?}", t0.elapsed());
    assert_ne!(b.pid(), pid);
    assert_eq!((b.port(), b.ws_port(), b.tls_port()), (port, ws, tls));
    let mut obs = Observer::start(&b, &["r/#"], 1, &[]);
    mosquitto_pub(&b, "r/3", b"after", 1, false, &[]);
    assert_eq!(obs.wait_for(1, T)[0].payload, b"after");
    assert_eq!(
        b.log_count("mosquitto version 2.0.11 running"),
        2,
        "log spans both runs"
    );
    // Restart while running kills first.
    b.restart();
    mosquitto_pub(&b, "r/4", b"again", 1, false, &[]);
}

#[test]
fn restart_waits_for_a_port_still_taken() {
    let mut b = Broker::start(BrokerOptions::new().websockets());
    let port = b.port();
    b.kill();
    // Someone holds the plain port for a while: restart retries the bind until it is free.
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).expect("port free after kill");
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(holder);
    });
    let t0 = Instant::now();
    b.restart();
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "restart waited for the port"
    );
    releaser.join().unwrap();
    assert_eq!(b.port(), port);
    assert!(
        b.log().contains("Address already in use"),
        "the failed attempts are in the log"
    );
    mosquitto_pub(&b, "x", b"y", 1, false, &[]);
}

#[test]
fn persistence_survives_stop_not_kill() {
    let mut b = Broker::start(BrokerOptions::new().persistence());
    mosquitto_pub(&b, "p/kept", b"kept", 1, true, &[]);
    b.stop();
    assert!(!b.is_running());
    b.restart();
    let mut obs = Observer::start(&b, &["p/#"], 1, &[]);
    let got = obs.wait_for(1, T);
    assert_eq!(
        got[0],
        Message {
            topic: "p/kept".into(),
            payload: b"kept".to_vec(),
            qos: 1,
            retain: true
        }
    );

    // A kill is a crash: with the default autosave (30 min) nothing new was saved.
    mosquitto_pub(&b, "p/lost", b"lost", 1, true, &[]);
    b.kill();
    b.restart();
    let mut obs = Observer::start(&b, &["p/#"], 1, &[]);
    assert_eq!(obs.wait_for(1, T)[0].topic, "p/kept");
    obs.assert_no_more(Duration::from_millis(200));

    // Without persistence nothing survives a restart.
    let mut b = Broker::plain();
    mosquitto_pub(&b, "p/kept", b"kept", 1, true, &[]);
    b.stop();
    b.restart();
    let mut obs = Observer::start(&b, &["p/#"], 1, &[]);
    obs.assert_no_more(Duration::from_millis(200));
}

#[test]
fn observer_survives_nothing_and_reports_exit() {
    // The observer's failure path: broker killed, mosquitto_sub keeps retrying (it does not
    // exit), so wait_for times out with a clear panic.
    let mut b = Broker::plain();
    let mut obs = Observer::start(&b, &["a"], 0, &[]);
    b.kill();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        obs.wait_for(1, Duration::from_millis(300))
    }));
    let msg = panic_text(r.unwrap_err());
    assert!(msg.contains("only 0 of 1 messages"), "{msg}");
}

#[test]
fn broker_start_failure_reports_log() {
    let err = Broker::try_start(BrokerOptions::new().extra("this_is_not_an_option 1")).unwrap_err();
    assert!(
        err.contains("this_is_not_an_option") || err.contains("Unknown configuration variable"),
        "{err}"
    );
    assert!(err.contains("exited"), "{err}");
}

#[test]
fn run_reports_code_signal_output_and_timeout() {
    let out = run(
        Command::new("sh").args(["-c", "cat; echo err >&2; exit 3"]),
        b"in\x00put",
        T,
    );
    assert_eq!((out.code, out.signal), (Some(3), None));
    assert_eq!(out.stdout, b"in\x00put");
    assert_eq!(out.stderr, b"err\n");
    let out = run(Command::new("sh").args(["-c", "kill -TERM $$"]), b"", T);
    assert_eq!((out.code, out.signal), (None, Some(15)));
    // A program that ignores a large stdin does not deadlock run().
    let out = run(Command::new("true").arg("x"), &vec![0u8; 1 << 20], T);
    assert!(out.success());
    let t0 = Instant::now();
    let r = std::panic::catch_unwind(|| {
        run(
            Command::new("sleep").arg("30"),
            b"",
            Duration::from_millis(200),
        )
    });
    let msg = panic_text(r.unwrap_err());
    assert!(msg.contains("timed out"), "{msg}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn spawned_process_lines_and_signals() {
    let mut p = spawn(Command::new("sh").args([
        "-c",
        "echo ready; trap 'echo got INT; exit 7' INT; while read l; do echo \"line $l\"; done",
    ]));
    assert_eq!(p.read_line(T).unwrap(), b"ready\n");
    p.write_stdin(b"one\n");
    assert_eq!(p.wait_for_line("line", T), "line one\n");
    p.signal("INT");
    // The shell runs the trap once `read` returns: closing stdin ends the loop.
    let out = p.wait(T);
    assert!(out.code == Some(7) || out.code == Some(0), "{out:?}");
}

#[test]
fn clean_env_keeps_only_path_home_lang() {
    let mut cmd = Command::new("env");
    cmd.env("MQTTC_PASSWORD", "leak")
        .env("MQTTC_ADDRESS", "leak");
    clean_env(&mut cmd);
    let out = run(&mut cmd, b"", T);
    let mut keys: Vec<String> = out
        .stdout_str()
        .lines()
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    keys.sort();
    let mut expected = vec!["LANG".to_string(), "PATH".to_string()];
    if std::env::var_os("HOME").is_some() {
        expected.insert(0, "HOME".into());
    }
    assert_eq!(keys, expected);
    assert!(out.stdout_str().contains("LANG=C\n"));
}

#[test]
fn many_brokers_in_parallel_threads() {
    // Provoke port races: 8 threads x 3 brokers with every TCP listener, started at once.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                for j in 0..3 {
                    let b = Broker::start(
                        BrokerOptions::new()
                            .password()
                            .tls()
                            .tls_client_cert()
                            .websockets(),
                    );
                    let mut obs = Observer::start(&b, &["p/#"], 1, &[]);
                    let payload = format!("{i}-{j}");
                    mosquitto_pub(&b, "p/x", payload.as_bytes(), 1, false, &[]);
                    assert_eq!(obs.wait_for(1, T)[0].payload, payload.as_bytes());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// A measurement, not a check: `cargo test --test harness -- --ignored --nocapture startup_time`.
#[test]
#[ignore]
fn startup_time() {
    let n = 10;
    for (name, opts) in [
        ("plain", BrokerOptions::new()),
        ("password", BrokerOptions::new().password()),
        ("tls", BrokerOptions::new().tls()),
        ("websockets", BrokerOptions::new().websockets()),
        ("unix", BrokerOptions::new().unix_socket()),
        (
            "all listeners",
            BrokerOptions::new()
                .acl()
                .tls()
                .tls_client_cert()
                .unix_socket()
                .websockets(),
        ),
    ] {
        let t0 = Instant::now();
        for _ in 0..n {
            let b = Broker::start(opts.clone());
            drop(b);
        }
        eprintln!(
            "broker start+stop ({name}): {:?} average over {n}",
            t0.elapsed() / n
        );
    }
}

/// Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6), with
/// IPv4-mapped IPv6 addresses turned into IPv4.
fn listening_addrs(port: u16) -> Vec<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 || f[3] != "0A" {
                continue; // not LISTEN
            }
            let (addr, p) = f[1].split_once(':').unwrap();
            if u16::from_str_radix(p, 16).unwrap() != port {
                continue;
            }
            // Each 32-bit word is in host (little-endian) byte order.
            let words: Vec<[u8; 4]> = (0..addr.len() / 8)
                .map(|i| {
                    u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16)
                        .unwrap()
                        .to_le_bytes()
                })
                .collect();
            let bytes: Vec<u8> = words.concat();
            let ip = if bytes.len() == 4 {
                IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
            } else {
                let b: [u8; 16] = bytes.try_into().unwrap();
                let v6 = Ipv6Addr::from(b);
                v6.to_ipv4_mapped()
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V6(v6))
            };
            out.push(ip);
        }
    }
    out
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
