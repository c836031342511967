//! (f) A misbehaving broker: the fake broker of `tests/support/fault.rs` answers mqttc's CONNECT
//! with raw bytes. Every case must end with exit 1, exactly one stderr line `mqttc: …`, no
//! panic, within a bounded time.

use super::*;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::thread;

/// What the fake broker does after reading the CONNECT.
#[derive(Clone)]
enum Script {
    /// Writes the bytes, then keeps the connection open until the client closes it.
    Send(Vec<u8>),
    /// Writes the bytes, then closes its side.
    SendClose(Vec<u8>),
    /// Writes the bytes one per second.
    Drip(Vec<u8>),
    /// CONNACK, answers the SUBSCRIBE with a SUBACK granting QoS 0, then the bytes one per
    /// second.
    SubackThenDrip(Vec<u8>),
}

fn play(script: Script, mut s: TcpStream) {
    if read_packet(&mut s, Duration::from_secs(10)).is_err() {
        return;
    }
    let drip = |s: &mut TcpStream, bytes: &[u8]| {
        for b in bytes {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_secs(1));
        }
    };
    match script {
        Script::Send(bytes) => {
            let _ = s.write_all(&bytes);
            drain(&mut s, T);
        }
        Script::SendClose(bytes) => {
            let _ = s.write_all(&bytes);
            let _ = s.shutdown(Shutdown::Write);
            drain(&mut s, T);
        }
        Script::Drip(bytes) => drip(&mut s, &bytes),
        Script::SubackThenDrip(bytes) => {
            let _ = s.write_all(&CONNACK_OK);
            let Ok((_, body)) = read_packet(&mut s, Duration::from_secs(10)) else {
                return;
            };
            let _ = s.write_all(&[0x90, 3, body[0], body[1], 0]);
            drip(&mut s, &bytes);
        }
    }
}

fn after_connack(bytes: &[u8]) -> Vec<u8> {
    [&CONNACK_OK[..], bytes].concat()
}

/// A PUBLISH (QoS 0) whose remaining length claims `n` bytes, followed by the first bytes of a
/// topic only.
fn huge_publish(n: usize) -> Vec<u8> {
    let mut v = vec![0x30];
    v.extend(remaining_length(n));
    v.extend([0, 1, b't']);
    v
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    script: Script,
    /// The one stderr line, `{addr}` for the broker's address.
    expected: &'static str,
    /// Upper bound of the run (SLACK is added).
    within: Duration,
}

const FAST: Duration = Duration::from_millis(0);
const TIMEOUT_1S: Duration = Duration::from_secs(1);
/// `--keepalive 1 --timeout 1s`: keep-alive × 1.5 + timeout.
const KEEPALIVE_1S: Duration = Duration::from_millis(2500);

const HEALTH: &[&str] = &["--timeout", "1s"];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "CONNACK, then a remaining length of 5 bytes (FF FF FF FF FF)",
            args: HEALTH,
            script: Script::Send(after_connack(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])),
            expected: "connection to {addr}: malformed packet from the broker: malformed remaining length",
            within: FAST,
        },
        Case {
            name: "CONNACK, then packet type 0 (reserved)",
            args: HEALTH,
            script: Script::Send(after_connack(&[0x00, 0x00])),
            expected: "connection to {addr}: malformed packet from the broker: invalid packet type 0",
            within: FAST,
        },
        Case {
            name: "CONNACK, then packet type 15 (reserved in 3.1.1)",
            args: HEALTH,
            script: Script::Send(after_connack(&[0xF0, 0x00])),
            expected: "connection to {addr}: malformed packet from the broker: invalid packet type 15",
            within: FAST,
        },
        Case {
            name: "CONNACK, then a PUBLISH claiming 200 MB, then close",
            args: HEALTH,
            script: Script::SendClose(after_connack(&huge_publish(200_000_000))),
            expected: "connection to {addr} lost: closed by the broker in the middle of a packet",
            within: FAST,
        },
        Case {
            name: "CONNACK, then a PUBLISH claiming 200 MB, connection kept open",
            args: HEALTH,
            script: Script::Send(after_connack(&huge_publish(200_000_000))),
            expected: "no PINGRESP from {addr} within 1s",
            within: TIMEOUT_1S,
        },
        Case {
            name: "CONNACK with return code 6 (undefined)",
            args: HEALTH,
            script: Script::Send(vec![0x20, 0x02, 0x00, 0x06]),
            expected: "connection to {addr}: malformed packet from the broker: invalid CONNACK return code 6",
            within: FAST,
        },
        Case {
            name: "CONNACK with return code 255",
            args: HEALTH,
            script: Script::Send(vec![0x20, 0x02, 0x00, 0xFF]),
            expected: "connection to {addr}: malformed packet from the broker: invalid CONNACK return code 255",
            within: FAST,
        },
        Case {
            name: "garbage (an HTTP response) instead of CONNACK, kept open",
            args: HEALTH,
            script: Script::Send(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            expected: "connect to {addr}: no CONNACK within 1s",
            within: TIMEOUT_1S,
        },
        Case {
            name: "garbage (an HTTP response) instead of CONNACK, then close",
            args: HEALTH,
            script: Script::SendClose(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            expected: "connection to {addr} lost: closed by the broker in the middle of a packet",
            within: FAST,
        },
        Case {
            name: "a PUBLISH instead of CONNACK",
            args: HEALTH,
            script: Script::Send(vec![0x30, 0x03, 0x00, 0x01, b't']),
            expected: "connect to {addr}: expected CONNACK, got PUBLISH",
            within: FAST,
        },
        Case {
            name: "slow-loris CONNACK, one byte per second",
            args: HEALTH,
            script: Script::Drip(CONNACK_OK.to_vec()),
            expected: "connect to {addr}: no CONNACK within 1s",
            within: TIMEOUT_1S,
        },
        Case {
            name: "slow-loris PUBLISH to an idle subscriber, one byte per second (--keepalive 1)",
            args: &["-s", "t", "--keepalive", "1", "--timeout", "1s"],
            script: Script::SubackThenDrip(
                [&[0x30u8, 0xFF, 0xFF, 0xFF, 0x7F][..], &[b'x'; 30]].concat(),
            ),
            expected: "connection to {addr} lost: no PINGRESP within the keep-alive interval",
            within: KEEPALIVE_1S,
        },
        Case {
            name: "CONNACK, then a PUBLISH with QoS 3",
            args: HEALTH,
            script: Script::Send(after_connack(&[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01])),
            expected: "connection to {addr}: malformed packet from the broker: invalid QoS level 3",
            within: FAST,
        },
        Case {
            name: "CONNACK, then a PUBLISH whose topic is not UTF-8",
            args: HEALTH,
            script: Script::Send(after_connack(&[0x30, 0x04, 0x00, 0x02, 0xC3, 0x28])),
            expected: "connection to {addr}: malformed packet from the broker: topic is not UTF-8",
            within: FAST,
        },
        Case {
            name: "CONNACK, then a PUBACK for a packet never sent",
            args: HEALTH,
            script: Script::Send(after_connack(&[0x40, 0x02, 0x00, 0x07])),
            expected: "connection to {addr}: the broker acknowledged packet id 7, which is not in flight",
            within: FAST,
        },
        Case {
            name: "CONNACK, then DISCONNECT (a broker may not send it in 3.1.1)",
            args: HEALTH,
            script: Script::Send(after_connack(&[0xE0, 0x00])),
            expected: "connection to {addr}: the broker sent a packet a client may not receive",
            within: FAST,
        },
        Case {
            name: "MQTT 5: a 3.1.1 CONNACK (no properties length)",
            args: &["--timeout", "1s", "--mqtt-version", "5"],
            script: Script::Send(CONNACK_OK.to_vec()),
            // rumqttc waits for the properties the remaining length does not cover.
            expected: "connect to {addr}: no CONNACK within 1s",
            within: TIMEOUT_1S,
        },
        Case {
            name: "MQTT 5: CONNACK, then a remaining length of 5 bytes",
            args: &["--timeout", "1s", "--mqtt-version", "5"],
            script: Script::Send([&[0x20u8, 0x03, 0x00, 0x00, 0x00][..], &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]].concat()),
            expected: "connection to {addr}: malformed packet from the broker: malformed remaining length",
            within: FAST,
        },
    ]
}

#[test]
fn misbehaving_broker_exit_1_one_line_no_panic_bounded() {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    // In parallel: the slow cases take up to 2.5 s each.
    let handles: Vec<_> = cases()
        .into_iter()
        .map(|case| {
            thread::spawn(move || {
                let script = case.script.clone();
                let fake = FakeBroker::start(move |s| play(script.clone(), s));
                let t0 = Instant::now();
                let out = run(mqttc(&[&fake.addr()]).args(case.args), b"", T);
                let took = t0.elapsed();
                (case, fake.addr(), out, took)
            })
        })
        .collect();
    for h in handles {
        let (case, addr, out, took) = h.join().expect("case thread");
        let stderr = out.stderr_str();
        let want = format!("mqttc: {}\n", case.expected.replace("{addr}", &addr));
        rows.push(format!(
            "{} | exit {:?} | {took:.2?} | {}",
            case.name,
            out.code,
            stderr.trim_end().replace(&addr, "ADDR"),
        ));
        let mut problems = Vec::new();
        if out.code != Some(1) {
            problems.push(format!("exit {:?}, expected 1", out.code));
        }
        if stderr.contains("panicked") {
            problems.push("panicked".to_string());
        }
        if !(stderr.starts_with("mqttc: ") && stderr.ends_with('\n') && stderr.lines().count() == 1)
        {
            problems.push("stderr is not exactly one `mqttc: ` line".to_string());
        }
        if stderr != want {
            problems.push(format!("stderr {stderr:?}, expected {want:?}"));
        }
        if took > case.within + SLACK {
            problems.push(format!("took {took:?}, bound {:?}", case.within + SLACK));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("stdout {:?}", out.stdout_str()));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    for r in &rows {
        eprintln!("HOSTILE | {r}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A PUBLISH header that claims 200 MB makes rumqttc reserve room for it: memory is claimed
/// before a byte of the packet arrived. Measured, and bounded: the resident size must stay
/// well under the claim.
#[test]
fn claimed_200_mb_publish_does_not_make_mqttc_resident_200_mb() {
    let fake =
        FakeBroker::start(|s| play(Script::Send(after_connack(&huge_publish(200_000_000))), s));
    let p = spawn_mqttc(&[&fake.addr(), "--timeout", "3s"]);
    wait_until(T, "fake broker accepted", || fake.accepted() >= 1);
    std::thread::sleep(Duration::from_millis(800));
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap_or_default();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (rss, size) = (kb("VmRSS:"), kb("VmSize:"));
    eprintln!("HOSTILE | 200 MB claim kept open: VmRSS {rss} kB, VmSize {size} kB");
    let out = p.wait(T);
    assert_exit(
        &out,
        1,
        &[&format!("no PINGRESP from {} within 3s", fake.addr())],
    );
    assert!(rss > 0 && rss < 100_000, "VmRSS {rss} kB");
}

/// Regression (third review): a marker PINGREQ (the end of --retained-only) written shortly
/// before the keep-alive tick made the tick's own PINGREQ fail as "no PINGRESP", although the
/// broker answered every ping within 0.3 s of a 1 s keep-alive.
#[test]
fn marker_ping_just_before_the_keep_alive_tick_is_no_lost_connection() {
    let fake = FakeBroker::start(|mut s: TcpStream| {
        if read_packet(&mut s, T).is_err() {
            return;
        }
        let _ = s.write_all(&CONNACK_OK);
        let Ok((_, body)) = read_packet(&mut s, T) else {
            return;
        };
        // The SUBACK (and so the marker) comes 0.9 s after CONNACK, just before the tick.
        thread::sleep(Duration::from_millis(900));
        let _ = s.write_all(&[0x90, 3, body[0], body[1], 0]);
        while let Ok((first, _)) = read_packet(&mut s, T) {
            match first >> 4 {
                kind::PINGREQ => {
                    thread::sleep(Duration::from_millis(300));
                    let _ = s.write_all(&[0xD0, 0]);
                }
                kind::DISCONNECT => return,
                _ => {}
            }
        }
    });
    let out = run(
        &mut mqttc(&[
            &fake.addr(),
            "-s",
            "t/#",
            "--retained-only",
            "--keepalive",
            "1",
            "--timeout",
            "2s",
        ]),
        b"",
        T,
    );
    assert_exit(&out, 0, &[]);
    assert_eq!(out.stdout, b"");
}
