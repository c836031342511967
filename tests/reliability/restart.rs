//! (a) A `--reconnect -l -q 1` publisher of 3000 numbered lines while the broker is crashed
//! (SIGKILL) or stopped (SIGTERM) and restarted three times mid-stream; (c) a `--session
//! --reconnect` subscriber through broker restarts and while it is cut off.
//!
//! Why two publisher tests. A broker killed with SIGKILL loses what it had not delivered yet,
//! and every subscriber's connection and session with it (persistence is written on a graceful
//! stop only): what an observer receives then depends on the broker's timing, not on mqttc.
//! So:
//! - after SIGKILL, the accounting is done on the wire: the publisher goes through the tapping
//!   proxy (which, while the broker is down, accepts and at once closes, as a dead broker
//!   behind a load balancer does), and a line counts as delivered when the broker answered one
//!   of its PUBLISH packets with a PUBACK: the broker took it over (no observer: it would count
//!   the broker's crash losses);
//! - after a graceful stop, with persistence on, an observer with a session of its own
//!   (`mosquitto_sub -c -i … -q 1`, clean session off) gets every message the broker accepted:
//!   its queue is saved at the stop and restored at the restart. Exact accounting at the
//!   observer; the publisher goes through the tapping proxy as well, so that a loss can be
//!   told apart: never acknowledged on the wire (mqttc's) or acknowledged and not delivered
//!   (the broker's).
//!
//! Duplicates at QoS 1 come from mqttc publishing again what was not confirmed and, in the
//! second test, from the broker delivering again to the observer what it had not confirmed:
//! counted, not asserted.

use super::*;
use std::thread;

const N: usize = 3000;
const CHUNK: usize = 100;
/// Chunks after which the broker goes down.
const FAULTS: [usize; 3] = [7, 15, 23];

/// How the broker goes down.
#[derive(Clone, Copy, PartialEq)]
enum Down {
    Kill,
    Stop,
}

/// Feeds the lines chunk by chunk; at each fault: down, one more chunk while it is down (mqttc
/// must hold it), a pause so that reconnect attempts fail, restart. A fault waits until mqttc
/// is back from the previous one.
fn stream_through_restarts(pb: &mut Proc, b: &mut Broker, lines: &[Vec<u8>], down: Down) {
    let mut faults = 0;
    let mut chunks = lines.chunks(CHUNK).enumerate();
    while let Some((i, chunk)) = chunks.next() {
        pb.write_stdin(&as_input(chunk));
        thread::sleep(Duration::from_millis(10));
        if FAULTS.contains(&i) {
            wait_stderr(pb, "reconnected to", faults);
            match down {
                Down::Kill => b.kill(),
                Down::Stop => b.stop(),
            }
            if let Some((_, chunk)) = chunks.next() {
                pb.write_stdin(&as_input(chunk));
            }
            thread::sleep(Duration::from_millis(300));
            b.restart();
            faults += 1;
        }
    }
    assert_eq!(faults, FAULTS.len());
}

#[test]
fn qos1_lines_through_three_broker_kills_every_line_acknowledged() {
    let mut b = Broker::start(BrokerOptions::new().extra(NO_QUEUE_LIMIT));
    let p = Proxy::start_tapped(b.port());
    let topic = "rel/kill";
    let lines = numbered(N);
    let mut pb = spawn_mqttc(&[
        &p.addr(),
        "-p",
        topic,
        "-l",
        "-q",
        "1",
        "-i",
        "rel-kill",
        "--reconnect",
        "--reconnect-max",
        "500ms",
        "--timeout",
        "2s",
    ]);
    wait_connack(&p, 1);
    stream_through_restarts(&mut pb, &mut b, &lines, Down::Kill);
    let out = pb.wait(T);
    let reasons = assert_loss_lines(&out, &p.addr(), FAULTS.len(), false);
    let tap = p.tap();
    let w = wire(&tap);
    let acked: Vec<Vec<u8>> = w
        .acked
        .iter()
        .flat_map(|(k, &n)| std::iter::repeat_n(k.clone(), n))
        .collect();
    let t = tally(&lines, &acked);
    report(
        "a: -l -q 1 --reconnect, broker SIGKILLed x3 (wire: PUBACKed by the broker)",
        &t,
        "0",
        &format!(
            "losses seen as: {reasons}; {} PUBLISH packets on the wire, {} with DUP",
            w.publishes, w.with_dup_flag
        ),
    );
    if t.lost > 0 {
        eprintln!("{}", explain_losses(&lines, &acked, &tap));
        debug_dump(&p, &b);
    }
    assert_eq!((t.distinct, t.lost), (N, 0), "{t:?}");
}

#[test]
fn qos1_lines_through_three_graceful_restarts_persistent_observer_gets_all() {
    let mut b = Broker::start(BrokerOptions::new().persistence().extra(NO_QUEUE_LIMIT));
    // Through the tapping proxy too, to tell a loss by mqttc (never acknowledged) from a loss
    // by the broker (acknowledged, then not delivered).
    let p = Proxy::start_tapped(b.port());
    let topic = "rel/restart";
    let mut obs = Observer::start(&b, &[topic], 1, &["-c", "-i", "rel-obs"]);
    let lines = numbered(N);
    let addr = p.addr();
    let mut pb = spawn_mqttc(&[
        &addr,
        "-p",
        topic,
        "-l",
        "-q",
        "1",
        "-i",
        "rel-restart",
        "--reconnect",
        "--reconnect-max",
        "500ms",
        "--timeout",
        "2s",
    ]);
    wait_connack(&p, 1);
    stream_through_restarts(&mut pb, &mut b, &lines, Down::Stop);
    let out = pb.wait(T);
    let reasons = assert_loss_lines(&out, &addr, FAULTS.len(), false);
    // The observer is back (its own reconnect, every second) and the broker has queued the rest
    // for it: the sentinel comes after all of it.
    let got = drain_to_sentinel(&mut obs, &b, topic);
    let t = tally(&lines, &got);
    let tap = p.tap();
    let w = wire(&tap);
    let acked: Vec<Vec<u8>> = w
        .acked
        .iter()
        .flat_map(|(k, &n)| std::iter::repeat_n(k.clone(), n))
        .collect();
    let tw = tally(&lines, &acked);
    report(
        "a: -l -q 1 --reconnect, broker stopped (SIGTERM) x3, persistent observer",
        &t,
        "0",
        &format!(
            "losses seen as: {reasons}; on the wire: {} PUBLISH, {} lines PUBACKed ({} lost, {} PUBACKed twice or more)",
            w.publishes, tw.distinct, tw.lost, tw.duplicated_messages
        ),
    );
    if t.lost > 0 {
        eprintln!("{}", explain_losses(&lines, &got, &tap));
    }
    assert_eq!((tw.distinct, tw.lost), (N, 0), "wire: {tw:?}");
    assert_eq!((t.distinct, t.lost), (N, 0), "observer: {t:?}");
}

// ---------------------------------------------------------------------------------------------
// (c) A subscriber with a session
// ---------------------------------------------------------------------------------------------

/// Publishes `lines` to `topic` at `qos` with one `mosquitto_pub -l` (fewer than 20 in flight:
/// mosquitto_pub is fine below 65,535 lines).
fn publish_lines(b: &Broker, topic: &str, qos: u8, lines: &[Vec<u8>]) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p"])
        .arg(b.port().to_string())
        .args(["-t", topic, "-q"])
        .arg(qos.to_string())
        .arg("-l");
    let out = run(&mut cmd, &as_input(lines), T);
    assert!(out.success(), "mosquitto_pub -l: {out:?}");
}

/// Reads `n` lines of the subscriber's stdout.
fn read_lines(sub: &mut Proc, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let mut l = sub.read_line(T).expect("subscriber's stdout ended");
            assert_eq!(l.pop(), Some(b'\n'));
            l
        })
        .collect()
}

/// (c): `mqttc -s rel/c -q Q --session --reconnect -i ID` through the proxy. Batches of 100:
/// A while connected; B while it is cut off (the proxy refuses it, the broker up); C after a
/// graceful broker restart, still cut off; then the proxy lets it back in: B and C arrive.
/// Then twice: broker stopped and restarted while it is connected, D1/D2 published right after
/// the restart (it may or may not be back yet). Before every fault, the broker has all the
/// subscriber's acknowledgements, so nothing is in flight: no duplicate is expected.
fn session_subscriber(version: &str, qos: u8) {
    let mut b = Broker::start(BrokerOptions::new().persistence().extra(NO_QUEUE_LIMIT));
    let p = Proxy::start(b.port());
    let id = format!("rel-c-sub-{}-q{qos}", version.replace('.', ""));
    let topic = "rel/c";
    let q = qos.to_string();
    let mut sub = spawn_mqttc(&[
        &p.addr(),
        "-s",
        topic,
        "-q",
        &q,
        "--session",
        "--reconnect",
        "--reconnect-max",
        "500ms",
        "--timeout",
        "2s",
        "-i",
        &id,
        "--mqtt-version",
        version,
    ]);
    b.wait_for_log(&format!("Sending SUBACK to {id}"), 1, T);
    let all = numbered(500);
    let batch = |k: usize| &all[k * 100..(k + 1) * 100];
    // The subscriber's final acknowledgements, as the broker logs them.
    let ack_line = if qos == 1 {
        format!("Received PUBACK from {id}")
    } else {
        format!("Received PUBCOMP from {id}")
    };
    let acked = |b: &Broker, n: usize| b.wait_for_log(&ack_line, n, T);
    let mut got = Vec::new();

    // A: connected.
    publish_lines(&b, topic, qos, batch(0));
    got.extend(read_lines(&mut sub, 100));
    acked(&b, 100);

    // B: cut off, the broker queues for the session.
    p.refuse();
    assert_eq!(p.cut(), 1);
    b.wait_for_log(&format!("Client {id} closed its connection"), 1, T);
    publish_lines(&b, topic, qos, batch(1));

    // C: graceful restart (the session and its queue are saved), still cut off.
    b.stop();
    b.restart();
    publish_lines(&b, topic, qos, batch(2));

    // Back in: B and C arrive.
    p.forward();
    got.extend(read_lines(&mut sub, 200));
    acked(&b, 300);

    // D1, D2: restart while connected.
    for k in 3..5 {
        wait_stderr(&sub, "reconnected to", k - 2);
        b.stop();
        b.restart();
        publish_lines(&b, topic, qos, batch(k));
        got.extend(read_lines(&mut sub, 100));
        acked(&b, (k + 1) * 100);
    }
    wait_stderr(&sub, "reconnected to", 3);

    sub.signal("INT");
    let out = sub.wait(T);
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing more printed: {out:?}");
    let reasons = assert_loss_lines(
        &Output {
            code: Some(0),
            stderr: out
                .stderr_str()
                .replace("mqttc: SIGINT received; closing the connection\n", "")
                .into_bytes(),
            ..out.clone()
        },
        &p.addr(),
        3,
        true,
    );
    assert!(
        out.stderr_str()
            .ends_with("mqttc: SIGINT received; closing the connection\n"),
        "{out:?}"
    );
    let t = tally(&all, &got);
    report(
        &format!(
            "c: -s -q {qos} --session --reconnect (MQTT {version}), cut off + 3 graceful restarts"
        ),
        &t,
        "130 (SIGINT at the end)",
        &format!("losses seen as: {reasons}; session present on all 3 recoveries"),
    );
    assert_eq!(
        t,
        Tally {
            sent: 500,
            received: 500,
            distinct: 500,
            lost: 0,
            duplicated: 0,
            duplicated_messages: 0
        }
    );
    assert_eq!(got, all, "in order");
}

#[test]
fn session_subscriber_qos1_gets_what_was_published_while_away() {
    session_subscriber("3.1.1", 1);
}

#[test]
fn session_subscriber_qos2_gets_what_was_published_while_away() {
    session_subscriber("3.1.1", 2);
}

#[test]
fn session_subscriber_qos1_mqtt5_gets_what_was_published_while_away() {
    session_subscriber("5", 1);
}
