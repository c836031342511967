//! Fault-injection tests (issue 5, "Reliability"): broker crashes and restarts, connections cut,
//! stalled or black-holed by a proxy, a fake broker that sends malformed packets, and signals
//! while acknowledgements are pending. Every scenario counts messages exactly: sent, received,
//! lost, duplicated, and checks the exact exit status and stderr.
//!
//! Tools: `tests/common/mod.rs` (mosquitto per test, observer, processes) and
//! `tests/support/fault.rs` (the proxy in a thread of this process, the fake broker).
//!
//! Accounting rules, used by every streaming test:
//! - the lines are numbered (`rel-00001`…), so a duplicate is a payload seen twice and a loss a
//!   payload never seen; a payload that was never sent fails the test;
//! - an observer's stream is closed by a sentinel: after mqttc has exited, `mosquitto_pub`
//!   publishes `END` to the same topic; the broker queues deliveries to one subscriber in
//!   order, so everything delivered before it has arrived when `END` arrives;
//! - synchronisation is by events (broker log lines, packets seen by the tapping proxy,
//!   mqttc's stderr lines), never by sleeping; sleeps only pace the input so that the stream
//!   spans the faults;
//! - each test prints one `REPORT |` line per scenario (`--nocapture` to see them).
//!
//! The tests live in `tests/reliability/*.rs`, one module per area; this file holds the helpers.

mod common;
#[path = "support/fault.rs"]
mod fault;

#[path = "reliability/cut.rs"]
mod cut;
#[path = "reliability/hostile.rs"]
mod hostile;
#[path = "reliability/restart.rs"]
mod restart;
#[path = "reliability/signals.rs"]
mod signals;
#[path = "reliability/timeouts.rs"]
mod timeouts;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use fault::*;

/// Bound for one awaited event (a message, a log line, a process exit).
pub const T: Duration = Duration::from_secs(30);
/// Slack added to a timing bound, for a loaded machine running tests in parallel.
pub const SLACK: Duration = Duration::from_millis(1500);

/// mosquitto's default `max_queued_messages 1000` drops QoS 1/2 messages for a subscriber
/// (online or offline) once 1000 wait behind its 20 in flight: a burst of 3000 lines, or an
/// observer away during a restart, would lose messages in the broker. 0 means no limit.
pub const NO_QUEUE_LIMIT: &str = "max_queued_messages 0";

/// `mqttc ARGS` with the harness's clean environment.
pub fn mqttc(args: &[&str]) -> Command {
    let mut cmd = mqttc_cmd();
    cmd.args(args);
    cmd
}

/// Spawns `mqttc ARGS` (stdin, stdout and stderr piped).
pub fn spawn_mqttc(args: &[&str]) -> Proc {
    spawn(&mut mqttc(args))
}

/// The numbered payloads `rel-00001` … `rel-NNNNN`.
pub fn numbered(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| format!("rel-{i:05}").into_bytes())
        .collect()
}

/// `lines` joined, each followed by `\n`.
pub fn as_input(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

/// Waits (bounded by [`T`]) until `needle` occurs `n` times in the stderr of `p`.
#[track_caller]
pub fn wait_stderr(p: &Proc, needle: &str, n: usize) {
    let deadline = Instant::now() + T;
    while p.stderr_string().matches(needle).count() < n {
        if Instant::now() >= deadline {
            panic!(
                "stderr did not contain {needle:?} {n} time(s) within {T:?}\n--- stderr ---\n{}",
                p.stderr_string()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `needle` is in the stderr of `p`, at most `bound`; returns how long it took.
#[track_caller]
pub fn stderr_within(p: &Proc, needle: &str, bound: Duration) -> Duration {
    let t0 = Instant::now();
    while !p.stderr_string().contains(needle) {
        if t0.elapsed() > bound {
            panic!(
                "stderr did not contain {needle:?} within {bound:?}\n--- stderr ---\n{}",
                p.stderr_string()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    t0.elapsed()
}

/// Waits (bounded) until the process has exited (it is a zombie until `Proc::wait` reaps it),
/// without closing its stdin as `Proc::wait` does first. Returns how long it took.
#[track_caller]
pub fn wait_exited(p: &Proc, timeout: Duration) -> Duration {
    let t0 = Instant::now();
    let stat = format!("/proc/{}/stat", p.pid());
    loop {
        let s = std::fs::read_to_string(&stat).unwrap_or_default();
        // "PID (comm) STATE ...": comm may contain spaces, the state follows the last ')'.
        let state = s
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().chars().next());
        if s.is_empty() || state == Some(Some('Z')) {
            return t0.elapsed();
        }
        if t0.elapsed() > timeout {
            panic!(
                "process {} still running after {timeout:?}\n--- stderr ---\n{}",
                p.pid(),
                p.stderr_string()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Exact counts of one delivery: what was sent, what arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Distinct messages given to mqttc.
    pub sent: usize,
    /// Deliveries seen, duplicates included.
    pub received: usize,
    /// Distinct messages seen.
    pub distinct: usize,
    /// Sent, never seen.
    pub lost: usize,
    /// Deliveries beyond the first of a message.
    pub duplicated: usize,
    /// Messages seen more than once.
    pub duplicated_messages: usize,
}

/// Counts `received` against `sent`. Panics on a payload that was never sent.
#[track_caller]
pub fn tally(sent: &[Vec<u8>], received: &[Vec<u8>]) -> Tally {
    let mut seen: HashMap<&[u8], usize> = sent.iter().map(|s| (&s[..], 0)).collect();
    for r in received {
        match seen.get_mut(&r[..]) {
            Some(n) => *n += 1,
            None => panic!(
                "received a message that was never sent: {:?}",
                String::from_utf8_lossy(r)
            ),
        }
    }
    let distinct = seen.values().filter(|&&n| n > 0).count();
    Tally {
        sent: sent.len(),
        received: received.len(),
        distinct,
        lost: sent.len() - distinct,
        duplicated: received.len() - distinct,
        duplicated_messages: seen.values().filter(|&&n| n > 1).count(),
    }
}

/// Prints the scenario's line of the closing table.
pub fn report(scenario: &str, t: &Tally, exit: &str, note: &str) {
    eprintln!(
        "REPORT | {scenario} | sent {} | received {} | distinct {} | lost {} | duplicated {} ({} messages) | exit {exit} | {note}",
        t.sent, t.received, t.distinct, t.lost, t.duplicated, t.duplicated_messages
    );
}

/// Publishes the sentinel `END` to `topic` (QoS 1) and returns every payload the observer got
/// on `topic` before it, in order. Call it once mqttc has exited.
#[track_caller]
pub fn drain_to_sentinel(obs: &mut Observer, b: &Broker, topic: &str) -> Vec<Vec<u8>> {
    mosquitto_pub(b, topic, b"END", 1, false, &[]);
    let mut got = Vec::new();
    loop {
        let m = obs.wait_for(1, T).remove(0);
        assert_eq!(m.topic, topic, "observer got a message on another topic");
        if m.payload == b"END" {
            return got;
        }
        got.push(m.payload);
    }
}

/// Waits until the tapping proxy has forwarded `n` CONNACKs to the client: once it has, the
/// client gets it even if the proxy stalls right after.
#[track_caller]
pub fn wait_connack(p: &Proxy, n: usize) {
    p.wait_tap(n, T, "CONNACK to the client", |e| {
        e.dir == Dir::Down && e.kind == kind::CONNACK
    });
}

/// Tap events of one type and direction that were forwarded (not dropped).
pub fn count_tap(events: &[TapEvent], dir: Dir, k: u8) -> usize {
    events
        .iter()
        .filter(|e| e.dir == dir && e.kind == k && !e.dropped)
        .count()
}

/// Lines of `s` that contain `needle`.
pub fn count_lines(s: &str, needle: &str) -> usize {
    s.lines().filter(|l| l.contains(needle)).count()
}

/// Asserts exit `code`, and that stderr is exactly `lines` (each `mqttc: LINE\n`).
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, lines: &[&str]) {
    let want: String = lines.iter().map(|l| format!("mqttc: {l}\n")).collect();
    assert!(
        out.code == Some(code) && out.stderr_str() == want,
        "expected exit {code} and stderr {want:?}\ngot {out:?}"
    );
}

/// Asserts that the elapsed time `took` lies in `[min, max]`.
#[track_caller]
pub fn assert_within(took: Duration, min: Duration, max: Duration, what: &str) {
    assert!(
        took >= min && took <= max,
        "{what}: took {took:?}, expected between {min:?} and {max:?}"
    );
}

/// Checks that mqttc exited 0 and that its stderr is `k` pairs of a loss line and a recovery
/// line. A cut at an arbitrary moment shows as any of three reasons, depending on whether
/// mqttc was reading or writing: returns which ones were seen, for the report.
#[track_caller]
pub fn assert_loss_lines(out: &Output, addr: &str, k: usize, session_present: bool) -> String {
    let stderr = out.stderr_str();
    let lines: Vec<&str> = stderr.lines().collect();
    let ok_shape = out.code == Some(0) && lines.len() == 2 * k;
    let mut reasons: Vec<String> = Vec::new();
    let lost = format!("mqttc: connection to {addr} lost: ");
    let back = format!("mqttc: reconnected to {addr} (session present: {session_present})");
    for pair in lines.chunks(2) {
        let reason = pair[0]
            .strip_prefix(&lost)
            .and_then(|r| r.strip_suffix("; reconnecting"))
            .filter(|r| ["closed by the broker", "broken pipe", "reset by the broker"].contains(r));
        assert!(
            ok_shape && reason.is_some() && pair.get(1) == Some(&back.as_str()),
            "expected exit 0 and {k} pairs of loss/recovery lines\ngot {out:?}"
        );
        reasons.push(reason.unwrap().to_string());
    }
    reasons.sort();
    let mut summary: Vec<String> = Vec::new();
    for r in &reasons {
        let n = reasons.iter().filter(|x| *x == r).count();
        let s = format!("{n}x {r}");
        if !summary.contains(&s) {
            summary.push(s);
        }
    }
    summary.join(", ")
}

/// What the tapping proxy saw of each payload: PUBLISH packets carrying it (client → broker),
/// and final acknowledgements of those packets (PUBACK/PUBCOMP, broker → client, matched by
/// connection and packet id). Acknowledged means the broker took the message over.
pub struct Wire {
    pub on_wire: HashMap<Vec<u8>, usize>,
    pub acked: HashMap<Vec<u8>, usize>,
    pub publishes: usize,
    pub with_dup_flag: usize,
}

pub fn wire(tap: &[TapEvent]) -> Wire {
    let mut open: HashMap<(usize, u16), Vec<u8>> = HashMap::new();
    let mut w = Wire {
        on_wire: HashMap::new(),
        acked: HashMap::new(),
        publishes: 0,
        with_dup_flag: 0,
    };
    for e in tap {
        match (e.dir, e.kind) {
            (Dir::Up, kind::PUBLISH) if !e.dropped => {
                let p = e.payload.clone().unwrap_or_default();
                *w.on_wire.entry(p.clone()).or_default() += 1;
                w.publishes += 1;
                w.with_dup_flag += e.dup() as usize;
                if let Some(id) = e.pkid {
                    open.insert((e.conn, id), p);
                }
            }
            (Dir::Down, kind::PUBACK | kind::PUBCOMP) => {
                if let Some(p) = e.pkid.and_then(|id| open.remove(&(e.conn, id))) {
                    *w.acked.entry(p).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    w
}

/// For the messages the observer never got: were they on the wire, acknowledged by the broker?
pub fn explain_losses(lines: &[Vec<u8>], got: &[Vec<u8>], tap: &[TapEvent]) -> String {
    let got: std::collections::HashSet<&[u8]> = got.iter().map(|g| &g[..]).collect();
    let lost: Vec<&Vec<u8>> = lines.iter().filter(|l| !got.contains(&l[..])).collect();
    let w = wire(tap);
    let mut out = format!("{} lost:\n", lost.len());
    for l in lost.iter().take(40) {
        out.push_str(&format!(
            "  {}: PUBLISH on the wire {} time(s), acknowledged {} time(s)\n",
            String::from_utf8_lossy(l),
            w.on_wire.get(*l).copied().unwrap_or(0),
            w.acked.get(*l).copied().unwrap_or(0)
        ));
    }
    let never = lost.iter().filter(|l| !w.on_wire.contains_key(**l)).count();
    let unacked = lost.iter().filter(|l| !w.acked.contains_key(**l)).count();
    out.push_str(&format!(
        "  … never on the wire: {never}; never acknowledged by the broker: {unacked}\n"
    ));
    out
}

/// With REL_DEBUG set: every packet the proxy saw and the broker's log, for diagnosis.
pub fn debug_dump(p: &Proxy, b: &Broker) {
    if std::env::var_os("REL_DEBUG").is_none() {
        return;
    }
    for e in &p.tap() {
        eprintln!(
            "TAP {} {:?} {} id {:?} dup {} {:?}{}",
            e.conn,
            e.dir,
            kind::name(e.kind),
            e.pkid,
            e.dup(),
            e.payload
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            if e.dropped { " DROPPED" } else { "" }
        );
    }
    eprintln!("BROKERLOG\n{}\nENDBROKERLOG", b.log());
}
