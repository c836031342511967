//! (e) A broker that never answers: black-holed connections, a listener that never accepts, a
//! connection that stalls mid-stream; and the bounded memory of a line publisher whose broker
//! stopped reading.

use super::*;
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

const ONE_S: Duration = Duration::from_secs(1);

fn assert_no_connack(addr: &str, extra: &[&str]) -> Duration {
    let mut args = vec![addr, "--timeout", "1s"];
    args.extend(extra);
    let t0 = Instant::now();
    let out = run(&mut mqttc(&args), b"", T);
    let took = t0.elapsed();
    assert_exit(
        &out,
        1,
        &[&format!("connect to {addr}: no CONNACK within 1s")],
    );
    assert_within(took, ONE_S, ONE_S + SLACK, "no CONNACK");
    took
}

#[test]
fn black_holed_connect_exits_1_within_timeout() {
    let b = Broker::plain();
    let p = Proxy::start(b.port());
    p.black_hole();
    let addr = p.addr();
    let mut took = Vec::new();
    for extra in [
        &[][..],
        &["-p", "t", "-m", "x", "-q", "1"][..],
        &["-s", "t"][..],
        &["-p", "t", "-l", "-q", "1"][..],
    ] {
        took.push(format!(
            "{extra:?}: {:.2?}",
            assert_no_connack(&addr, extra)
        ));
    }
    assert_eq!(p.forwarded(), 0);
    report(
        "e: black hole (accepts, never answers CONNECT), --timeout 1s",
        &tally(&[], &[]),
        "1",
        &took.join(", "),
    );
}

#[test]
fn listener_that_never_accepts_exits_1_within_timeout() {
    let (_listener, port) = silent_listener();
    let took = assert_no_connack(&format!("127.0.0.1:{port}"), &[]);
    report(
        "e: listener that never accepts, --timeout 1s",
        &tally(&[], &[]),
        "1",
        &format!("{took:.2?}"),
    );
}

/// A QoS 1 line publisher, 10 lines confirmed, then the connection stalls (both ways) and 5
/// more lines go out. Returns the publisher, the proxy (keep it alive) and the broker.
fn stalled_publisher(timeout: &str) -> (Proc, Proxy, Broker, Vec<Vec<u8>>) {
    let b = Broker::plain();
    let p = Proxy::start_tapped(b.port());
    let lines = numbered(15);
    let mut pb = spawn_mqttc(&[&p.addr(), "-p", "t", "-l", "-q", "1", "--timeout", timeout]);
    wait_connack(&p, 1);
    pb.write_stdin(&as_input(&lines[..10]));
    p.wait_tap(10, T, "10 PUBACKs", |e| {
        e.dir == Dir::Down && e.kind == kind::PUBACK
    });
    p.stall();
    pb.write_stdin(&as_input(&lines[10..]));
    (pb, p, b, lines)
}

#[test]
fn stall_after_input_ended_exits_1_naming_puback() {
    let (mut pb, p, _b, _) = stalled_publisher("1s");
    thread::sleep(Duration::from_millis(100));
    pb.close_stdin();
    let t0 = Instant::now();
    let took = wait_exited(&pb, T);
    let out = pb.wait(T);
    assert_within(took, ONE_S, ONE_S + SLACK, "exit after the end of input");
    let _ = t0;
    assert_exit(
        &out,
        1,
        &[&format!(
            "5 of 15 messages not confirmed: no PUBACK from {} within 1s",
            p.addr()
        )],
    );
    report(
        "e: -l -q 1 stalled mid-stream, input then ended, --timeout 1s",
        &Tally {
            sent: 15,
            received: 10,
            distinct: 10,
            lost: 5,
            duplicated: 0,
            duplicated_messages: 0,
        },
        "1",
        &format!("exit {took:.2?} after the end of input; 'received' = confirmed"),
    );
}

#[test]
fn stall_while_input_stays_open_exits_1_within_timeout() {
    // `tail -F app.log | mqttc -l -q 1 -p logs`: the input never ends.
    let (pb, p, _b, _) = stalled_publisher("1s");
    let t0 = Instant::now();
    let deadline = ONE_S + SLACK;
    let took = wait_exited(&pb, deadline + Duration::from_secs(3));
    assert_within(
        took,
        Duration::ZERO,
        deadline,
        "exit while input stays open",
    );
    let out = pb.wait(T);
    let _ = t0;
    let stderr = out.stderr_str();
    assert!(
        out.code == Some(1)
            && stderr.lines().count() == 1
            && stderr.contains(&format!("no PUBACK from {} within 1s", p.addr())),
        "{out:?}"
    );
}

#[test]
fn idle_subscriber_whose_connection_stalls_exits_1_on_missing_pingresp() {
    let b = Broker::plain();
    let p = Proxy::start(b.port());
    let sub = spawn_mqttc(&[
        &p.addr(),
        "-s",
        "t",
        "-i",
        "rel-e-idle",
        "--keepalive",
        "1",
        "--timeout",
        "1s",
    ]);
    b.wait_for_log("Sending SUBACK to rel-e-idle", 1, T);
    thread::sleep(Duration::from_millis(50));
    p.stall();
    let t0 = Instant::now();
    let out = sub.wait(T);
    let took = t0.elapsed();
    // keep-alive × 1.5 + --timeout
    let bound = Duration::from_millis(1500) + ONE_S;
    assert_within(
        took,
        Duration::from_millis(900),
        bound + SLACK,
        "missing PINGRESP",
    );
    assert_exit(
        &out,
        1,
        &[&format!(
            "connection to {} lost: no PINGRESP within the keep-alive interval",
            p.addr()
        )],
    );
    report(
        "e: idle subscriber, connection stalls, --keepalive 1 --timeout 1s",
        &tally(&[], &[]),
        "1",
        &format!("exit {took:.2?} after the stall (bound {bound:?})"),
    );
}

/// The broker stops reading (stall): mqttc reads standard input no faster than the in-flight
/// window and its queues allow, so memory stays flat however much input waits. Then the stall
/// ends and everything arrives.
#[test]
fn stalled_broker_bounds_what_is_read_from_stdin() {
    let b = Broker::start(BrokerOptions::new().extra(NO_QUEUE_LIMIT));
    let p = Proxy::start(b.port());
    let mut obs = Observer::start(&b, &["rel/bp"], 1, &[]);
    const LINES: usize = 200_000; // 2.2 MB
    let lines = numbered(LINES);
    let input = Arc::new(as_input(&lines));
    let mut child = mqttc(&[
        &p.addr(),
        "-p",
        "rel/bp",
        "-l",
        "-q",
        "1",
        "-i",
        "rel-bp",
        "--timeout",
        "20s",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn mqttc");
    b.wait_for_log("Sending CONNACK to rel-bp", 1, T);
    thread::sleep(Duration::from_millis(50));
    p.stall();
    let written = Arc::new(AtomicUsize::new(0));
    let mut stdin = child.stdin.take().unwrap();
    let (w, data) = (written.clone(), input.clone());
    let writer = thread::spawn(move || {
        for block in data.chunks(4096) {
            if stdin.write_all(block).is_err() {
                return;
            }
            w.fetch_add(block.len(), Ordering::SeqCst);
        }
    });
    // Let it take what it will.
    let mut last = 0;
    let t0 = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(300));
        let now = written.load(Ordering::SeqCst);
        if now == last || t0.elapsed() > Duration::from_secs(10) {
            break;
        }
        last = now;
    }
    let accepted = written.load(Ordering::SeqCst);
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    p.resume();
    writer.join().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < T,
            "mqttc did not finish after the stall"
        );
        thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
    let got: Vec<Vec<u8>> = obs
        .wait_for(LINES, T)
        .into_iter()
        .map(|m| m.payload)
        .collect();
    let t = tally(&lines, &got);
    report(
        "e: -l -q 1, broker stalled under 2.2 MB of input, then resumed",
        &t,
        "0",
        &format!(
            "while stalled mqttc took {accepted} of {} bytes of input, VmRSS {rss_kb} kB",
            input.len()
        ),
    );
    assert_eq!((t.distinct, t.lost, t.duplicated), (LINES, 0, 0));
    assert!(accepted < 1_000_000, "read {accepted} bytes while stalled");
    assert!(rss_kb > 0 && rss_kb < 64_000, "VmRSS {rss_kb} kB");
}
