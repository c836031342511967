//! End-to-end tests for the issue "Beyond mqttc": line streaming, payload sources, JSON input
//! and output (record and replay), --count/--wait/--retained-only/--no-retained/
//! --remove-retained, --probe, MQTT 5 (properties, subscription options, reason codes), and the
//! WebSocket and unix-socket transports.
//!
//! Every test starts its own mosquitto (tests/common/mod.rs) and talks only to it, on loopback.
//! Subscribers under test are started with a fixed client id, and the test waits for the
//! broker's "Sending SUBACK to ID" log line before publishing anything to them: no sleeps as
//! synchronisation. The few fixed waits left are assertions that something does *not* happen
//! (`Observer::assert_no_more`) or timing semantics under test (`--wait`).
//!
//! The tests live in `tests/beyond/*.rs`, one module per area; this file holds the helpers.

mod common;

#[path = "beyond/json_input.rs"]
mod json_input;
#[path = "beyond/json_output.rs"]
mod json_output;
#[path = "beyond/lines.rs"]
mod lines;
#[path = "beyond/mqtt5.rs"]
mod mqtt5;
#[path = "beyond/probe.rs"]
mod probe;
#[path = "beyond/subscribe.rs"]
mod subscribe;
#[path = "beyond/transports.rs"]
mod transports;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Bound for one mqttc run, one awaited message or one awaited log line.
pub const T: Duration = Duration::from_secs(15);

/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(500);

/// Command-line arguments: the words of `line` (split at whitespace), then `more` (for
/// arguments with spaces of their own, or built at run time such as the broker's address).
pub fn argv<'a>(line: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    line.split_whitespace()
        .chain(more.iter().copied())
        .collect()
}

/// `mosquitto_pub` arguments for an MQTT 5 publish with these properties, each a `-D publish`
/// argument list such as `&["content-type", "text/plain"]` or `&["user-property", "k", "v"]`.
pub fn v5_props<'a>(props: &[&[&'a str]]) -> Vec<&'a str> {
    let mut v = vec!["-V", "mqttv5"];
    for p in props {
        v.extend(["-D", "publish"]);
        v.extend(p.iter().copied());
    }
    v
}

/// `mqttc ARGS...` with the harness's clean environment.
pub fn mqttc(args: &[&str]) -> Command {
    let mut cmd = mqttc_cmd();
    cmd.args(args);
    cmd
}

/// Runs `mqttc ARGS...` with `stdin` as its whole input, bounded by [`T`].
pub fn run_mqttc(args: &[&str], stdin: &[u8]) -> Output {
    run(&mut mqttc(args), stdin, T)
}

/// Asserts the exit code and the exact stdout and stderr of a finished run.
#[track_caller]
pub fn assert_output(out: &Output, code: i32, stdout: &str, stderr: &str) {
    assert!(
        out.code == Some(code) && out.stdout_str() == stdout && out.stderr_str() == stderr,
        "expected exit {code}, stdout {stdout:?}, stderr {stderr:?}; got {out:?}"
    );
}

/// Asserts exit status 2 (illegal invocation) with something on stderr and nothing on stdout.
#[track_caller]
pub fn assert_usage_error(out: &Output) {
    assert!(
        out.code == Some(2) && out.stdout.is_empty() && !out.stderr.is_empty(),
        "expected exit 2 with a message on stderr; got {out:?}"
    );
}

/// Waits until the broker has sent its SUBACK to the client `id` (the log line ends with the id,
/// so an id that is a prefix of another does not match it).
#[track_caller]
pub fn await_suback(b: &Broker, id: &str) {
    b.wait_for_log(&format!("Sending SUBACK to {id}\n"), 1, T);
}

/// Spawns a long-running `mqttc -i ID ARGS...` (a subscriber) and returns once the broker has
/// acknowledged its subscription.
pub fn start_sub(b: &Broker, id: &str, args: &[&str]) -> Proc {
    let mut cmd = mqttc(args);
    cmd.args(["-i", id]);
    let p = spawn(&mut cmd);
    await_suback(b, id);
    p
}

/// Writes `content` to `name` in the broker's directory and returns the path as a string.
pub fn file_in(b: &Broker, name: &str, content: &[u8]) -> String {
    let path: PathBuf = b.dir().join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.display().to_string()
}

/// Whether `s` is an RFC 3339 UTC time with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as
/// `--output json` writes `received`.
pub fn is_rfc3339_micros_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            26 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds truncated), to compare with `received`.
pub fn rfc3339_micros(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The `received` values of `--output json` stdout, in order.
pub fn received_stamps(stdout: &[u8]) -> Vec<String> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["received"].as_str().expect("received").to_string()
        })
        .collect()
}

/// Replaces the value of the first `"key":` in `line` with `#` and returns the masked line and
/// the raw value (a JSON number or string literal, as written). Panics if `key` is absent.
#[track_caller]
pub fn mask_field(line: &str, key: &str) -> (String, String) {
    let needle = format!("\"{key}\":");
    let start = line
        .find(&needle)
        .unwrap_or_else(|| panic!("no {needle} in {line:?}"))
        + needle.len();
    let rest = &line[start..];
    let len = if let Some(s) = rest.strip_prefix('"') {
        // A string that contains no escaped quote (timestamps, numbers-as-text).
        s.find('"').expect("unterminated string") + 2
    } else {
        rest.find([',', '}']).expect("unterminated value")
    };
    let value = rest[..len].to_string();
    (format!("{}#{}", &line[..start], &rest[len..]), value)
}

/// Splits `--output json` stdout into lines (each must end with `\n` and parse as a JSON
/// object), checks every `received` stamp (format, and non-decreasing), and returns the lines
/// without their line break and with the stamp masked as `"received":#`.
#[track_caller]
pub fn json_lines(stdout: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(stdout).expect("--output json is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "output does not end with a line break: {text:?}"
    );
    let mut last = String::new();
    text.lines()
        .map(|line| {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
            assert!(v.is_object(), "not a JSON object: {line:?}");
            let (masked, stamp) = mask_field(line, "received");
            let stamp = stamp.trim_matches('"').to_string();
            assert!(
                is_rfc3339_micros_utc(&stamp),
                "received {stamp:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ in {line:?}"
            );
            assert!(
                stamp >= last,
                "received went backwards: {last} then {stamp}"
            );
            last = stamp;
            masked
        })
        .collect()
}

/// Parses `--output json` stdout into values without `received` (checked by [`json_lines`]).
#[track_caller]
pub fn json_values(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout);
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("received");
            v
        })
        .collect()
}

/// Asserts that a message expiry interval read back from the broker is `sent`, or at most two
/// seconds less: mosquitto sends the time left, counted in whole seconds of its clock.
#[track_caller]
pub fn assert_expiry(got: u64, sent: u64) {
    assert!(
        got <= sent && got + 2 >= sent,
        "message expiry interval {got}, expected {sent} (or up to 2 s less)"
    );
}

/// A message as the [`Observer`] reports it.
pub fn msg(topic: &str, payload: &[u8], qos: u8, retain: bool) -> Message {
    Message {
        topic: topic.into(),
        payload: payload.to_vec(),
        qos,
        retain,
    }
}
