//! Every shell example of the documentation runs against a test broker: the lines of README.md's
//! ```` ```sh ```` blocks and the commands of the man page's EXAMPLES (`man/mqttc.1`). An example
//! that stops working, or a new example nobody wrote an expectation for, fails this test.
//!
//! How an example runs:
//! - one README ```` ```sh ```` line, or a whole block when its commands belong together (see
//!   [`Expect`]), or one man page command, is one EXAMPLE;
//! - `bash -o pipefail -c EXAMPLE`, in its own process group, in a temporary directory holding
//!   the files the examples name (`ca.pem`, `client.pem`, `client-key.pem` from the test PKI,
//!   `password.txt` with alice's password, `app.log` with two lines), with standard input
//!   `/dev/null` and an environment of `PATH` (a directory with `mqttc` → the binary under test
//!   first), `HOME` (the temporary directory) and `LANG=C` only;
//! - against a broker of its own (tests/common/mod.rs), whose address replaces the example's:
//!   `localhost`, `broker.example.com` (either with `:1883` or none) become `127.0.0.1:PORT` of
//!   the listener the example needs — TLS with a required client certificate when it gives
//!   `--cert`, else TLS when it says `--tls` or `mqtts://`, else the password listener when it
//!   says `-u`, else the plain one — and `/run/mosquitto/mqtt.sock` becomes the broker's unix
//!   socket. An example with an `mqttc` that names no such address is refused before it runs,
//!   so no example ever talks to a real `localhost:1883`;
//! - an example that does not end by itself is driven by [`Step`]s: wait for its SUBSCRIBE, feed
//!   it messages with `mosquitto_pub`, wait for its output, then Ctrl-C (SIGINT to every process
//!   of the example, not to the shell running it: an interactive shell ignores Ctrl-C).
//!   Events are awaited (broker log, output, messages, the exit), never slept for, and every
//!   wait is bounded by [`TIMEOUT`]; whatever of an example still runs at the end is killed.
//!
//! What is checked, per [`Expect`] in [`EXPECTATIONS`]: the exact exit status, standard output
//! and standard error (patterns, see [`matches`]), the messages the example published (seen by
//! a `mosquitto_sub` on `#`, the test's own feed left out), the retained messages the broker
//! holds afterwards, and lines of the broker log.
//!
//! README lines that are not mqttc examples (installing, the test suite itself) are skipped by
//! the short lists [`SKIPPED_LINES`] and [`SKIPPED_PROGRAMS`]; a line that runs `mqttc` is only
//! skipped when [`SKIPPED_LINES`] names it word for word.

mod common;
#[path = "support/examples.rs"]
mod examples_support;

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Broker, BrokerOptions, Message, Observer, ALICE_PASSWORD};
use examples_support::{man_examples, markdown_fences, runs_mqttc, strip_shell_comment, unescape};

// ── The table: example → expectation ────────────────────────────────────────

/// What running one example must give. `example` is the example exactly as extracted: a README
/// ```` ```sh ```` line without its trailing `# comment`, a whole README block (its commands
/// joined by `\n`) run as one script, or a man page command. A README block runs as one script
/// when it starts a background job (`… &`) or when this table has a row for the whole block;
/// otherwise each of its lines is an example of its own.
struct Expect {
    example: &'static str,
    /// Retained messages (topic, payload) put on the broker, at QoS 1, before the run.
    retained_before: &'static [(&'static str, &'static str)],
    /// What the test does while the example runs, in order. Empty: it ends by itself.
    steps: &'static [Step],
    /// Exit status of the script (pipefail: the last command that failed in a pipeline).
    status: i32,
    /// Standard output and standard error, as [`matches`] patterns.
    stdout: &'static str,
    stderr: &'static str,
    /// Messages the example published, in order: (topic, payload, QoS), topic and payload as
    /// [`matches`] patterns. Seen by a QoS 2 `mosquitto_sub -t '#'`; the test's own messages
    /// (`retained_before`, [`Step::Publish`]) are left out.
    published: &'static [(&'static str, &'static str, u8)],
    /// Retained messages on the broker after the run, in any order: (topic, payload).
    retained_after: &'static [(&'static str, &'static str)],
    /// Text the broker log must contain, written during the run.
    broker_log: &'static [&'static str],
}

/// What the test does while an example runs.
#[derive(Debug)]
enum Step {
    /// Wait until the broker has sent one more SUBACK (the n-th such step: n more) than before
    /// the run: the example's subscription is in place.
    AwaitSubscribed,
    /// Publish (topic, payload) with `mosquitto_pub -q 1` on the plain listener; returns once
    /// the broker has acknowledged it (and so has forwarded it to the example).
    Publish(&'static str, &'static str),
    /// Publish (topic, payload) again and again until the example exits (bounded): mqttc finds
    /// a closed pipe only when it writes to it.
    PublishUntilExit(&'static str, &'static str),
    /// Append text to a file of the example's directory.
    Append(&'static str, &'static str),
    /// Wait until the example has printed this many lines.
    AwaitStdout(usize),
    /// Wait until the example has published this many messages.
    AwaitPublished(usize),
    /// Wait until the broker log has one more line containing this than before the run.
    AwaitLog(&'static str),
    /// Send this signal ("INT": Ctrl-C, "TERM") to every process of the example but the shell.
    Signal(&'static str),
}

/// An example that ends by itself with status 0 and prints nothing; the base of the table rows.
const RUNS: Expect = Expect {
    example: "",
    retained_before: &[],
    steps: &[],
    status: 0,
    stdout: "",
    stderr: "",
    published: &[],
    retained_after: &[],
    broker_log: &[],
};

/// Standard error of an mqttc ended by Ctrl-C: one line saying what was done.
const INTERRUPTED: &str = "mqttc: {line}\n";
/// `--probe`: connect, subscribe and round-trip times.
const PROBE_OUTPUT: &str = "connect {num} ms\nsubscribe {num} ms\nround trip {num} ms\n";
/// The message `--probe` sends itself.
const PROBE_MESSAGE: (&str, &str, u8) = ("mqttc/probe/{id}", "mqttc probe 1 of {id}", 0);
/// Feed a subscriber one message, wait for the line it prints, then Ctrl-C.
const FEED_ONE_THEN_CTRL_C: &[Step] = &[
    Step::AwaitSubscribed,
    Step::Publish("sensors/t1", "21.5"),
    Step::AwaitStdout(1),
    Step::Signal("INT"),
];

/// Every example of README.md and man/mqttc.1, with what it must do. README first, then the man
/// page, each in document order. An example in both documents has one row and runs twice.
const EXPECTATIONS: &[Expect] = &[
    // ── README.md ──
    Expect {
        // Quick start, one script: the second command reads what the first retained. The
        // payload is echo's "hello\n", printed with the default suffix "\n".
        example: "mqttc -p demo/greeting -m hello -r localhost\n\
                  mqttc -s 'demo/#' --topic --prefix ' ' -C 1 localhost",
        stdout: "demo/greeting hello\n",
        published: &[("demo/greeting", "hello", 0)],
        retained_after: &[("demo/greeting", "hello")],
        ..RUNS
    },
    Expect {
        example: "mqttc localhost && echo \"broker is up\"",
        stdout: "broker is up\n",
        ..RUNS
    },
    Expect {
        example: "mqttc --probe localhost",
        stdout: PROBE_OUTPUT,
        published: &[PROBE_MESSAGE],
        ..RUNS
    },
    Expect {
        example: "mqttc -p sensors/t1 -m 21.5 -q 1 -r localhost",
        published: &[("sensors/t1", "21.5", 1)],
        retained_after: &[("sensors/t1", "21.5")],
        ..RUNS
    },
    Expect {
        example: "mqttc -s 'sensors/#' --retained-only -o json localhost",
        retained_before: &[("sensors/t1", "21.5")],
        // Delivered at the subscription's QoS 0.
        stdout: "{\"topic\":\"sensors/t1\",\"payload\":\"21.5\",\"qos\":0,\"retain\":true,\
                 \"received\":\"{time}\"}\n",
        retained_after: &[("sensors/t1", "21.5")],
        ..RUNS
    },
    Expect {
        example: "printf 'a\\nb\\nc\\n' | mqttc -l -q 1 -p demo/lines localhost",
        published: &[
            ("demo/lines", "a", 1),
            ("demo/lines", "b", 1),
            ("demo/lines", "c", 1),
        ],
        ..RUNS
    },
    Expect {
        // TLS listener requiring a client certificate. It does not check passwords (the test
        // broker has no listener doing both): the log shows the user name arrived.
        example: "mqttc --tls --ca ca.pem --cert client.pem --key client-key.pem -u alice \
                  --pass password.txt -s 'alerts/#' broker.example.com",
        steps: &[
            Step::AwaitSubscribed,
            Step::Publish("alerts/fire", "smoke"),
            Step::AwaitStdout(1),
            Step::Signal("INT"),
        ],
        status: 130,
        stdout: "smoke\n",
        stderr: INTERRUPTED,
        broker_log: &["u'alice'"],
        ..RUNS
    },
    // ── man/mqttc.1 EXAMPLES (mqttc --probe localhost: above) ──
    Expect {
        example: "echo hello | mqttc -p chat/misc localhost",
        published: &[("chat/misc", "hello\n", 0)],
        ..RUNS
    },
    Expect {
        example: "mqttc -p sensors/door -m open localhost",
        published: &[("sensors/door", "open", 0)],
        ..RUNS
    },
    Expect {
        example: "mqttc -q 1 -r -p config/interval -m 30s localhost",
        published: &[("config/interval", "30s", 1)],
        retained_after: &[("config/interval", "30s")],
        ..RUNS
    },
    Expect {
        example: "mqttc -p logs/archive -f app.log localhost",
        published: &[("logs/archive", "line 1\nline 2\n", 0)],
        ..RUNS
    },
    Expect {
        // tail prints the two lines app.log holds, then the one appended while it runs. Ctrl-C
        // ends tail and mqttc; when mqttc sees the end of its input first it ends quietly with
        // 0, so standard error is its SIGINT line or nothing; the status is 130 either way.
        example: "tail -F app.log | mqttc -l -q 1 -p logs localhost",
        steps: &[
            Step::AwaitPublished(2),
            Step::Append("app.log", "line 3\n"),
            Step::AwaitPublished(3),
            Step::Signal("INT"),
        ],
        status: 130,
        stderr: "{any}",
        published: &[
            ("logs", "line 1", 1),
            ("logs", "line 2", 1),
            ("logs", "line 3", 1),
        ],
        ..RUNS
    },
    Expect {
        example: "mqttc -s 'sensors/#' --topic --prefix ': ' localhost",
        steps: FEED_ONE_THEN_CTRL_C,
        status: 130,
        stdout: "sensors/t1: 21.5\n",
        stderr: INTERRUPTED,
        ..RUNS
    },
    Expect {
        // The humidity message matches neither filter; the newline is quoted.
        example: "mqttc -s 'sensors/+/temperature' -s 'alerts/#' --topic --quote --prefix ' ' \
                  localhost",
        steps: &[
            Step::AwaitSubscribed,
            Step::Publish("sensors/kitchen/humidity", "40"),
            Step::Publish("sensors/kitchen/temperature", "21.5"),
            Step::Publish("alerts/door", "open\n"),
            Step::AwaitStdout(2),
            Step::Signal("INT"),
        ],
        status: 130,
        stdout: "\"sensors/kitchen/temperature\" \"21.5\"\n\"alerts/door\" \"open\\n\"\n",
        stderr: INTERRUPTED,
        ..RUNS
    },
    Expect {
        example: "mqttc -s 'sensors/#' -o json localhost",
        steps: FEED_ONE_THEN_CTRL_C,
        status: 130,
        stdout: "{\"topic\":\"sensors/t1\",\"payload\":\"21.5\",\"qos\":0,\"retain\":false,\
                 \"received\":\"{time}\"}\n",
        stderr: INTERRUPTED,
        ..RUNS
    },
    Expect {
        example: "mqttc -s sensors/kitchen/temperature -C 3 localhost",
        steps: &[
            Step::AwaitSubscribed,
            Step::Publish("sensors/kitchen/temperature", "21.5"),
            Step::Publish("sensors/kitchen/temperature", "21.6"),
            Step::Publish("sensors/kitchen/temperature", "21.7"),
        ],
        stdout: "21.5\n21.6\n21.7\n",
        ..RUNS
    },
    Expect {
        // head exits after the first line; mqttc notices at its next write and exits 0.
        example: "mqttc -s 'sensors/#' localhost | head -n 1",
        steps: &[
            Step::AwaitSubscribed,
            Step::Publish("sensors/t1", "21.5"),
            Step::AwaitStdout(1),
            Step::PublishUntilExit("sensors/t1", "21.6"),
        ],
        stdout: "21.5\n",
        ..RUNS
    },
    Expect {
        example: "mqttc -s '#' --retained-only --topic --prefix ' ' localhost",
        retained_before: &[("sensors/t1", "21.5"), ("config/interval", "30s")],
        stdout: "sensors/t1 21.5\nconfig/interval 30s\n",
        retained_after: &[("sensors/t1", "21.5"), ("config/interval", "30s")],
        ..RUNS
    },
    Expect {
        example: "mqttc -s 'sensors/#' --retained-only --remove-retained --topic --prefix ' ' \
                  localhost",
        retained_before: &[("sensors/t1", "21.5"), ("sensors/t2", "19.0")],
        stdout: "sensors/t1 21.5\nsensors/t2 19.0\n",
        published: &[("sensors/t1", "", 0), ("sensors/t2", "", 0)],
        ..RUNS
    },
    Expect {
        example: "printf '%s\\n' '{\"topic\":\"lights/hall\",\"payload\":\"on\"}' \
                  '{\"topic\":\"lights/door\",\"payload\":\"off\",\"qos\":1,\"retain\":true}' \
                  | mqttc --input json localhost",
        published: &[("lights/hall", "on", 0), ("lights/door", "off", 1)],
        retained_after: &[("lights/door", "off")],
        ..RUNS
    },
    Expect {
        example: "mqttc -s greetings -C 1 -p greetings -m hello localhost",
        stdout: "hello\n",
        published: &[("greetings", "hello", 0)],
        ..RUNS
    },
    Expect {
        example: "mqttc --quiet localhost; case $? in 0) echo up ;; 8|9) echo refused ;; \
                  *) echo down ;; esac",
        stdout: "up\n",
        ..RUNS
    },
    Expect {
        example: "mqttc --mqtt-version 5 -p greetings -m hello --content-type text/plain \
                  --property origin=cli --message-expiry 60 localhost",
        published: &[("greetings", "hello", 0)],
        ..RUNS
    },
    Expect {
        // TLS listener that requires a client certificate signed by the test CA.
        example: "mqttc --tls --ca ca.pem --cert client.pem --key client-key.pem -p greetings \
                  -m hello localhost",
        published: &[("greetings", "hello", 0)],
        ..RUNS
    },
    Expect {
        example: "mqttc -u alice --pass password.txt -p private/notes -m hello localhost",
        published: &[("private/notes", "hello", 0)],
        broker_log: &["u'alice'"],
        ..RUNS
    },
    Expect {
        example: "MQTTC_PASSWORD=\"$(cat password.txt)\" mqttc -u alice -p private/notes -m hello \
                  localhost",
        published: &[("private/notes", "hello", 0)],
        broker_log: &["u'alice'"],
        ..RUNS
    },
    Expect {
        // Interrupted: the broker publishes the will, and retains it.
        example: "mqttc --will-topic status/worker --will-message offline --will-retain \
                  -s jobs/worker localhost",
        steps: &[
            Step::AwaitSubscribed,
            Step::Publish("jobs/worker", "job 1"),
            Step::AwaitStdout(1),
            Step::Signal("INT"),
            Step::AwaitLog("closed its connection."),
        ],
        status: 130,
        stdout: "job 1\n",
        stderr: INTERRUPTED,
        published: &[("status/worker", "offline", 0)],
        retained_after: &[("status/worker", "offline")],
        ..RUNS
    },
    Expect {
        example: "mqttc --net unix -p greetings -m hello /run/mosquitto/mqtt.sock",
        published: &[("greetings", "hello", 0)],
        ..RUNS
    },
];

/// README ```` ```sh ```` lines that are not run although they run mqttc, and why. Word for word.
const SKIPPED_LINES: &[(&str, &str)] = &[(
    "cargo install --locked --path . && mqttc --version",
    "builds a release and installs it into ~/.cargo/bin, outside the test's sandbox; \
     `mqttc --version` is checked by tests/docs.rs",
)];

/// Programs whose README ```` ```sh ```` lines are not run, and why — only for lines that do
/// not run mqttc (those need a row in [`EXPECTATIONS`], or [`SKIPPED_LINES`]).
const SKIPPED_PROGRAMS: &[(&str, &str)] = &[
    (
        "benches/run",
        "the benchmark: minutes long, and it starts brokers of its own",
    ),
    (
        "cargo",
        "builds or tests this crate: `cargo test` is the suite this test is part of",
    ),
    ("sudo", "installs a file system-wide, as root"),
    (
        "install",
        "copies the man page or a completion script into the home directory; tests/docs.rs \
         checks those files",
    ),
];

// ── The examples of the documentation ───────────────────────────────────────

/// One example as the documentation has it.
#[derive(Clone, Debug)]
struct DocExample {
    /// Where it is, for messages: `README.md:LINE` or `man/mqttc.1 EXAMPLES: "sentence"`.
    origin: String,
    /// The text to run, also the key into [`EXPECTATIONS`].
    text: String,
}

/// What README.md holds: the examples to run, the lines skipped (with the reason), and the
/// problems found (an mqttc command in a block that is not ```` ```sh ````).
struct Readme {
    examples: Vec<DocExample>,
    skipped: Vec<(String, &'static str)>,
    problems: Vec<String>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn readme() -> Readme {
    let mut out = Readme {
        examples: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
    };
    for fence in markdown_fences(&read("README.md")) {
        if fence.info != "sh" {
            for (i, line) in fence.lines.iter().enumerate() {
                if runs_mqttc(strip_shell_comment(line)) {
                    out.problems.push(format!(
                        "README.md:{}: mqttc in a ```{} block, which is not run: use ```sh",
                        fence.line + i,
                        fence.info
                    ));
                }
            }
            continue;
        }
        // (first line number, text) of each command, continuation lines joined.
        let mut commands: Vec<(usize, String)> = Vec::new();
        let mut continued = false;
        for (i, line) in fence.lines.iter().enumerate() {
            let line = strip_shell_comment(line);
            match commands.last_mut() {
                Some((_, text)) if continued => {
                    text.push('\n');
                    text.push_str(line);
                }
                _ if line.trim().is_empty() => {}
                _ => commands.push((fence.line + i, line.to_owned())),
            }
            continued = line.ends_with('\\');
        }
        // A block is one script when its commands belong together: when it starts a
        // background job (`… &`: the job, what talks to it, `wait`), or when EXPECTATIONS has
        // a row for the whole block (e.g. a publish, then what reads it back).
        let block: Vec<&str> = commands.iter().map(|(_, c)| c.as_str()).collect();
        let block = block.join("\n");
        if expectation(&block).is_some()
            || commands
                .iter()
                .any(|(_, c)| c.ends_with('&') && !c.ends_with("&&"))
        {
            out.examples.push(DocExample {
                origin: format!("README.md:{}", fence.line),
                text: block,
            });
            continue;
        }
        for (line, text) in commands {
            if let Some((_, why)) = SKIPPED_LINES.iter().find(|(l, _)| *l == text) {
                out.skipped.push((text, why));
            } else if let Some((_, why)) = SKIPPED_PROGRAMS
                .iter()
                .find(|(p, _)| !runs_mqttc(&text) && program(&text) == Some(*p))
            {
                out.skipped.push((text, why));
            } else {
                out.examples.push(DocExample {
                    origin: format!("README.md:{line}"),
                    text,
                });
            }
        }
    }
    out
}

/// The program a simple shell command line runs: its first word that is not an assignment.
fn program(line: &str) -> Option<&str> {
    line.split_whitespace().find(|w| {
        !w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

fn man_page_examples() -> Vec<DocExample> {
    man_examples(&read("man/mqttc.1"))
        .into_iter()
        .map(|(what, command)| DocExample {
            origin: format!("man/mqttc.1 EXAMPLES: {what:?}"),
            text: command,
        })
        .collect()
}

fn expectation(text: &str) -> Option<&'static Expect> {
    EXPECTATIONS.iter().find(|e| e.example == text)
}

// ── Substitution of the broker address ─────────────────────────────────────

/// The broker listener an example needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listener {
    Plain,
    Password,
    Tls,
    TlsClientCert,
    Unix,
}

/// The addresses the documentation uses, replaced by the test broker's (longest first).
const TCP_ADDRESSES: &[&str] = &[
    "broker.example.com:1883",
    "broker.example.com",
    "localhost:1883",
    "localhost",
];
/// The man page's unix socket, replaced by the test broker's.
const UNIX_SOCKET: &str = "/run/mosquitto/mqtt.sock";

fn listener_for(example: &str) -> Listener {
    let words: Vec<&str> = example.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    if has("--net") && example.contains("--net unix") {
        Listener::Unix
    } else if has("--tls") || example.contains("mqtts://") {
        if has("--cert") {
            Listener::TlsClientCert
        } else {
            Listener::Tls
        }
    } else if has("-u") || has("--user") {
        Listener::Password
    } else {
        Listener::Plain
    }
}

/// `example` with every documented broker address replaced: TCP ones by `tcp` (`HOST:PORT`),
/// the unix socket by `unix`. An address is replaced only as a whole word (after a blank, the
/// start, or `://`; before a blank, the end, or one of `;&|)`).
fn substitute(example: &str, tcp: &str, unix: &str) -> String {
    let mut text = example.to_owned();
    for (address, with) in TCP_ADDRESSES
        .iter()
        .map(|a| (*a, tcp))
        .chain([(UNIX_SOCKET, unix)])
    {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find(address) {
            let (before, after) = (&rest[..i], &rest[i + address.len()..]);
            let starts = before.is_empty()
                || before.ends_with(char::is_whitespace)
                || before.ends_with("://");
            let ends = after.is_empty()
                || after.starts_with(|c: char| c.is_whitespace() || ";&|)".contains(c));
            out.push_str(before);
            out.push_str(if starts && ends { with } else { address });
            rest = after;
        }
        out.push_str(rest);
        text = out;
    }
    text
}

/// The `mqttc` invocations of a script, each as its words up to the next shell operator.
fn invocations(script: &str) -> Vec<Vec<&str>> {
    let mut all = Vec::new();
    for line in script.lines() {
        let mut current: Option<Vec<&str>> = None;
        for word in line.split_whitespace() {
            let ends = word.contains(['|', ';', '&']);
            if let Some(words) = current.as_mut() {
                if ends {
                    words.push(word.trim_end_matches(['|', ';', '&']));
                    all.push(current.take().unwrap());
                } else {
                    words.push(word);
                }
            } else if word == "mqttc" {
                current = Some(vec![word]);
            }
        }
        all.extend(current);
    }
    all
}

/// Why `example` cannot safely run against a test broker, if it cannot: an `mqttc` in it names
/// no address the test replaces (it would talk to `$MQTTC_ADDRESS` or a real `localhost`).
fn unsubstitutable(example: &str) -> Option<String> {
    const TCP: &str = "127.0.0.1:9";
    const UNIX: &str = "/nonexistent/test.sock";
    let script = substitute(example, TCP, UNIX);
    let bad: Vec<String> = invocations(&script)
        .into_iter()
        .filter(|words| !words.iter().any(|w| w.contains(TCP) || w.contains(UNIX)))
        .map(|words| words.join(" "))
        .collect();
    if !runs_mqttc(example) {
        Some("it does not run mqttc".into())
    } else if !bad.is_empty() {
        Some(format!(
            "no broker address the test can replace ({} or {UNIX_SOCKET}) in: {}",
            TCP_ADDRESSES.join(", "),
            bad.join(" / ")
        ))
    } else {
        None
    }
}

// ── Output patterns ─────────────────────────────────────────────────────────

/// Whether `text` matches `pattern`: literal text, except these tokens —
/// `{time}` an RFC 3339 UTC time (`2026-11-25T04:05:06.123456Z`), `{num}` a decimal number
/// (`0.412`), `{id}` letters and digits, `{line}` one or more characters other than a line
/// break, `{any}` anything, even nothing.
fn matches(pattern: &str, text: &str) -> bool {
    const TOKENS: &[&str] = &["time", "num", "id", "line", "any"];
    if let Some((token, after)) = pattern
        .strip_prefix('{')
        .and_then(|p| p.split_once('}'))
        .filter(|(t, _)| TOKENS.contains(t))
    {
        let min = if token == "any" { 0 } else { 1 };
        return (min..=text.len())
            .filter(|&end| text.is_char_boundary(end))
            .any(|end| token_matches(token, &text[..end]) && matches(after, &text[end..]));
    }
    match (pattern.chars().next(), text.chars().next()) {
        (None, None) => true,
        (Some(p), Some(t)) if p == t => matches(&pattern[p.len_utf8()..], &text[t.len_utf8()..]),
        _ => false,
    }
}

fn token_matches(token: &str, s: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = |s: &str| match s.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(s),
    };
    match token {
        "time" => {
            let Some(s) = s.strip_suffix('Z') else {
                return false;
            };
            let Some((date, time)) = s.split_once('T') else {
                return false;
            };
            let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
            let parts = |s: &str, sep: char, lens: &[usize]| {
                let p: Vec<&str> = s.split(sep).collect();
                p.len() == lens.len() && p.iter().zip(lens).all(|(p, &n)| p.len() == n && digits(p))
            };
            parts(date, '-', &[4, 2, 2]) && parts(hms, ':', &[2, 2, 2]) && digits(frac)
        }
        "num" => number(s),
        "id" => s.bytes().all(|b| b.is_ascii_alphanumeric()),
        "line" => !s.contains('\n'),
        _ => true,
    }
}

// ── Running a script ────────────────────────────────────────────────────────

/// Bound on each awaited event of a run (a SUBACK, a line, a message, the exit).
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a script wrote on one of its pipes, shared with the thread reading it.
#[derive(Default)]
struct Capture {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Capture {
    fn read_from(self: Arc<Self>, mut r: impl Read + Send + 'static) {
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                let n = r.read(&mut buf).unwrap_or(0);
                let mut state = self.state.lock().unwrap();
                if n == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&buf[..n]);
                }
                self.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
    }

    /// Waits (bounded) until `done(bytes so far)` or the end of the pipe; whether `done`.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        loop {
            if done(&state.0) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 || left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits (bounded) until the pipe is closed.
    fn wait_closed(&self, timeout: Duration) {
        self.wait_until(timeout, |_| false);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }
}

/// `bash -o pipefail -c SCRIPT` in a process group of its own. On drop, whatever of it still
/// runs is killed (SIGKILL) and reaped.
struct Script {
    /// Process id of bash, which is also the process group id.
    pgid: u32,
    exit: mpsc::Receiver<ExitStatus>,
    status: Option<ExitStatus>,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
}

impl Script {
    fn spawn(script: &str, dir: &Path, bin: &Path) -> Script {
        let path = match std::env::var_os("PATH") {
            Some(p) => format!("{}:{}", bin.display(), p.to_string_lossy()),
            None => bin.display().to_string(),
        };
        let mut child = Command::new("bash")
            .args(["-o", "pipefail", "-c", script])
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", dir)
            .env("LANG", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
        let stdout = Arc::new(Capture::default());
        let stderr = Arc::new(Capture::default());
        stdout.clone().read_from(child.stdout.take().unwrap());
        stderr.clone().read_from(child.stderr.take().unwrap());
        let pgid = child.id();
        let (tx, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        Script {
            pgid,
            exit,
            status: None,
            stdout,
            stderr,
        }
    }

    /// The exit status, waiting for it at most `timeout`.
    fn exited(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.exit.recv_timeout(timeout).ok();
        }
        self.status
    }

    /// The processes of the script that still run (by their /proc entries), but bash itself
    /// when it still runs as bash (it `exec`s the last simple command).
    fn processes(&self, with_shell: bool) -> Vec<u32> {
        let shell_is_bash = fs::read_to_string(format!("/proc/{}/comm", self.pgid))
            .is_ok_and(|c| c.trim_end() == "bash");
        let mut pids = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "PID (COMM) STATE PPID PGRP ...": COMM may hold anything, so parse after ')'.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let zombie = fields.first() == Some(&"Z");
            let in_group = fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(self.pgid);
            if in_group && !zombie && (with_shell || pid != self.pgid || !shell_is_bash) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Ctrl-C as a terminal does it to the foreground job: `signal` to every process of the
    /// script, not to the non-interactive shell (an interactive one ignores SIGINT).
    fn signal(&self, signal: &str) {
        let pids = self.processes(false);
        assert!(
            !pids.is_empty(),
            "no process of the example left to send SIG{signal} to"
        );
        for pid in pids {
            kill(signal, pid);
        }
    }
}

/// `kill -s SIGNAL PID`; a process that has ended meanwhile is not an error.
fn kill(signal: &str, pid: u32) {
    let out = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(Stdio::piped())
        .output()
        .expect("run kill");
    if !out.status.success() && Path::new(&format!("/proc/{pid}")).exists() {
        panic!(
            "kill -s {signal} {pid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Not reaped yet, so the group id cannot have been reused.
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.pgid)])
                .stderr(Stdio::null())
                .status();
            self.exited(TIMEOUT);
        }
        // What is left of the group (e.g. a background job): its id is still in use by these
        // processes, so they are the script's.
        for pid in self.processes(true) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

// ── Running an example ──────────────────────────────────────────────────────

/// Topic of the message that marks the end of what an observer must have received.
const SENTINEL: &str = "mqttc-examples/sentinel";

/// An observer on `#` that tells the example's messages from the test's own.
struct Watch {
    observer: Observer,
    /// Messages the test published and the observer has not seen yet, in order.
    own: VecDeque<(String, Vec<u8>)>,
    /// The example's messages so far.
    theirs: Vec<Message>,
}

impl Watch {
    fn publish(&mut self, broker: &Broker, topic: &str, payload: &[u8], retain: bool) {
        self.own.push_back((topic.to_owned(), payload.to_vec()));
        common::mosquitto_pub(broker, topic, payload, 1, retain, &[]);
    }

    /// Takes the next message; false when it is the sentinel.
    fn take(&mut self) -> bool {
        let m = self.observer.wait_for(1, TIMEOUT).remove(0);
        if m.topic == SENTINEL {
            return false;
        }
        match self
            .own
            .iter()
            .position(|(t, p)| *t == m.topic && *p == m.payload)
        {
            Some(i) => {
                self.own.remove(i);
            }
            None => self.theirs.push(m),
        }
        true
    }
}

/// The broker's log file so far (without the stdout/stderr of mosquitto that
/// [`Broker::log`] appends), so that what was logged since a point is a suffix of it.
fn log_file(broker: &Broker) -> String {
    let log = broker.log();
    match log.split_once("\n--- mosquitto stdout/stderr ---\n") {
        Some((file, _)) => file.to_owned(),
        None => log,
    }
}

/// Runs the example on a broker of its own; panics when it does not do what `e` says.
fn run_example(doc: &DocExample, e: &Expect) {
    if let Some(why) = unsubstitutable(&doc.text) {
        panic!("{}: cannot run {:?}: {why}", doc.origin, doc.text);
    }
    let listener = listener_for(&doc.text);
    let opts = match listener {
        Listener::Plain => BrokerOptions::new(),
        Listener::Password => BrokerOptions::new().password(),
        Listener::Tls => BrokerOptions::new().tls(),
        Listener::TlsClientCert => BrokerOptions::new().tls_client_cert(),
        Listener::Unix => BrokerOptions::new().unix_socket(),
    };
    let broker = Broker::start(opts);
    let port = match listener {
        Listener::Plain | Listener::Unix => broker.port(),
        Listener::Password => broker.password_port(),
        Listener::Tls => broker.tls_port(),
        Listener::TlsClientCert => broker.tls_client_cert_port(),
    };
    let unix = match listener {
        Listener::Unix => broker.unix_path().display().to_string(),
        _ => "/nonexistent/mqtt.sock".to_owned(),
    };
    let script = substitute(&doc.text, &format!("127.0.0.1:{port}"), &unix);

    // The example's directory, and `mqttc` first on the PATH.
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir, bin) = (tmp.path().join("work"), tmp.path().join("bin"));
    fs::create_dir_all(&dir)
        .and_then(|()| fs::create_dir_all(&bin))
        .expect("mkdir");
    symlink(common::mqttc_bin(), bin.join("mqttc")).expect("symlink mqttc");
    for (name, from) in [
        ("ca.pem", broker.ca_pem()),
        ("client.pem", broker.client_cert_pem()),
        ("client-key.pem", broker.client_key_pem()),
    ] {
        fs::copy(&from, dir.join(name)).unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    fs::write(dir.join("password.txt"), format!("{ALICE_PASSWORD}\n")).unwrap();
    fs::write(dir.join("app.log"), "line 1\nline 2\n").unwrap();

    let mut watch = Watch {
        observer: Observer::start(&broker, &["#"], 2, &[]),
        own: VecDeque::new(),
        theirs: Vec::new(),
    };
    for (topic, payload) in e.retained_before {
        watch.publish(&broker, topic, payload.as_bytes(), true);
    }
    let log_before = log_file(&broker);
    let subacks = log_before.matches("Sending SUBACK to").count();
    let mut subscribed = 0;

    let mut run = Script::spawn(&script, &dir, &bin);
    let context = |run: &Script, why: &str| {
        format!(
            "{}: {why}\nexample: {}\nscript:  {script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            doc.origin,
            doc.text,
            run.stdout.text(),
            run.stderr.text()
        )
    };
    for step in e.steps {
        match step {
            Step::AwaitSubscribed => {
                subscribed += 1;
                broker.wait_for_log("Sending SUBACK to", subacks + subscribed, TIMEOUT);
            }
            Step::Publish(topic, payload) => {
                watch.publish(&broker, topic, payload.as_bytes(), false)
            }
            Step::PublishUntilExit(topic, payload) => {
                let mut n = 0;
                while run.exited(Duration::from_millis(50)).is_none() {
                    n += 1;
                    assert!(
                        n <= 100,
                        "{}",
                        context(&run, "still running after 100 messages")
                    );
                    watch.publish(&broker, topic, payload.as_bytes(), false);
                }
            }
            Step::Append(file, text) => {
                OpenOptions::new()
                    .append(true)
                    .open(dir.join(file))
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .unwrap_or_else(|e| panic!("append to {file}: {e}"));
            }
            Step::AwaitStdout(n) => {
                let printed = run.stdout.wait_until(TIMEOUT, |out| {
                    out.iter().filter(|&&b| b == b'\n').count() >= *n
                });
                assert!(
                    printed,
                    "{}",
                    context(&run, &format!("no {n} lines printed"))
                );
            }
            Step::AwaitPublished(n) => {
                while watch.theirs.len() < *n {
                    // (No sentinel is published before the end of the run.)
                    assert!(watch.take(), "{}", context(&run, "sentinel during the run"));
                }
            }
            Step::AwaitLog(needle) => {
                let before = log_before.matches(needle).count();
                broker.wait_for_log(needle, before + 1, TIMEOUT);
            }
            Step::Signal(signal) => run.signal(signal),
        }
    }

    let Some(status) = run.exited(TIMEOUT) else {
        panic!(
            "{}",
            context(&run, &format!("did not exit within {TIMEOUT:?}"))
        );
    };
    // Both pipes close with the last process of the script (bounded: a stray process could
    // hold them; the output is then what was written so far).
    run.stdout.wait_closed(TIMEOUT);
    run.stderr.wait_closed(TIMEOUT);

    // What it published: everything up to a sentinel published after the end.
    common::mosquitto_pub(&broker, SENTINEL, b"end", 1, false, &[]);
    while watch.take() {}
    // What is retained now: everything an observer gets before a sentinel.
    let mut retained_watch = Watch {
        observer: Observer::start(&broker, &["#"], 2, &[]),
        own: VecDeque::new(),
        theirs: Vec::new(),
    };
    common::mosquitto_pub(&broker, SENTINEL, b"end", 1, false, &[]);
    while retained_watch.take() {}
    let log = log_file(&broker);

    let mut problems = Vec::new();
    if status.code() != Some(e.status) {
        problems.push(format!(
            "exit status {:?} (signal {:?}), expected {}",
            status.code(),
            status.signal(),
            e.status
        ));
    }
    let (stdout, stderr) = (run.stdout.text(), run.stderr.text());
    if !matches(e.stdout, &stdout) {
        problems.push(format!("stdout {stdout:?} does not match {:?}", e.stdout));
    }
    if !matches(e.stderr, &stderr) {
        problems.push(format!("stderr {stderr:?} does not match {:?}", e.stderr));
    }
    let published: Vec<(String, String, u8)> = watch
        .theirs
        .iter()
        .map(|m| {
            (
                m.topic.clone(),
                String::from_utf8_lossy(&m.payload).into_owned(),
                m.qos,
            )
        })
        .collect();
    let published_ok = published.len() == e.published.len()
        && published
            .iter()
            .zip(e.published)
            .all(|((t, p, q), (et, ep, eq))| matches(et, t) && matches(ep, p) && q == eq);
    if !published_ok {
        problems.push(format!(
            "published {published:?}, expected {:?}",
            e.published
        ));
    }
    if !watch.own.is_empty() {
        problems.push(format!(
            "the test's own messages never arrived: {:?}",
            watch.own
        ));
    }
    let mut retained: Vec<(String, String)> = retained_watch
        .theirs
        .iter()
        .map(|m| {
            (
                m.topic.clone(),
                String::from_utf8_lossy(&m.payload).into_owned(),
            )
        })
        .collect();
    retained.sort();
    let mut expected_retained: Vec<(String, String)> = e
        .retained_after
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect();
    expected_retained.sort();
    if retained != expected_retained {
        problems.push(format!(
            "retained afterwards {retained:?}, expected {expected_retained:?}"
        ));
    }
    let new_log = log.get(log_before.len()..).unwrap_or(&log);
    for needle in e.broker_log {
        if !new_log.contains(needle) {
            problems.push(format!("the broker log has no {needle:?}"));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{}\n--- broker log of the run ---\n{new_log}",
            context(&run, &problems.join("\n"))
        );
    }
}

/// Runs `examples` (a few at a time, each on a broker of its own), then fails with every
/// example that failed. Prints how long each took.
fn run_all(examples: Vec<DocExample>) {
    const WORKERS: usize = 3;
    let queue = Mutex::new(VecDeque::from(examples));
    let results = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let Some(doc) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let t0 = Instant::now();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    match expectation(&doc.text) {
                        Some(e) => run_example(&doc, e),
                        None => panic!(
                            "{}: no row in EXPECTATIONS (tests/examples.rs) for {:?}",
                            doc.origin, doc.text
                        ),
                    }
                }));
                let outcome = outcome.map_err(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panic".into())
                });
                results.lock().unwrap().push((doc, t0.elapsed(), outcome));
            });
        }
    });
    let results = results.into_inner().unwrap();
    for (doc, took, outcome) in &results {
        eprintln!(
            "{:>6} ms  {}  {}  {}",
            took.as_millis(),
            if outcome.is_ok() { "ok  " } else { "FAIL" },
            doc.origin,
            doc.text.replace('\n', " ⏎ ")
        );
    }
    eprintln!(
        "{} examples in {} ms",
        results.len(),
        started.elapsed().as_millis()
    );
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(_, _, outcome)| outcome.err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} example(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ── Tests ───────────────────────────────────────────────────────────────────

#[test]
fn readme_examples_work() {
    let readme = readme();
    assert!(readme.problems.is_empty(), "{}", readme.problems.join("\n"));
    for (line, why) in &readme.skipped {
        eprintln!("skipped: {line}  ({why})");
    }
    run_all(readme.examples);
}

#[test]
fn man_page_examples_work() {
    run_all(man_page_examples());
}

/// Every example has a row in the table (and can run against a test broker), every row has an
/// example, and every skipped line is still in the README.
#[test]
fn every_example_has_an_expectation() {
    let readme = readme();
    let mut problems = readme.problems.clone();
    let all: Vec<DocExample> = readme
        .examples
        .iter()
        .cloned()
        .chain(man_page_examples())
        .collect();
    assert!(
        all.len() >= 20,
        "only {} examples found: is the extraction broken?",
        all.len()
    );
    for doc in &all {
        if expectation(&doc.text).is_none() {
            problems.push(format!(
                "{}: no row in EXPECTATIONS for {:?} (if it is no mqttc example, add its \
                 program to SKIPPED_PROGRAMS)",
                doc.origin, doc.text
            ));
        }
        if let Some(why) = unsubstitutable(&doc.text) {
            problems.push(format!("{}: cannot run {:?}: {why}", doc.origin, doc.text));
        }
    }
    for (i, e) in EXPECTATIONS.iter().enumerate() {
        if !all.iter().any(|d| d.text == e.example) {
            problems.push(format!(
                "EXPECTATIONS row {:?} has no example in README.md or man/mqttc.1",
                e.example
            ));
        }
        if EXPECTATIONS[..i].iter().any(|o| o.example == e.example) {
            problems.push(format!("EXPECTATIONS has {:?} twice", e.example));
        }
    }
    for (line, _) in SKIPPED_LINES {
        if !readme.skipped.iter().any(|(l, _)| l == line) {
            problems.push(format!(
                "SKIPPED_LINES has {line:?}, which README.md no longer has"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn substitution_extraction_and_patterns() {
    let tcp = "127.0.0.1:5";
    assert_eq!(
        substitute(
            "mqttc -s 'a/#' localhost &\necho x | mqttc -p a localhost:1883",
            tcp,
            "/s"
        ),
        "mqttc -s 'a/#' 127.0.0.1:5 &\necho x | mqttc -p a 127.0.0.1:5"
    );
    assert_eq!(
        substitute(
            "mqttc localhost; mqttc mqtts://broker.example.com -m localhostx",
            tcp,
            "/s"
        ),
        "mqttc 127.0.0.1:5; mqttc mqtts://127.0.0.1:5 -m localhostx"
    );
    assert_eq!(
        substitute("mqttc --net unix /run/mosquitto/mqtt.sock", tcp, "/s"),
        "mqttc --net unix /s"
    );
    assert!(unsubstitutable("mqttc -p a -m b").is_some());
    assert!(unsubstitutable("mqttc -p a localhost && mqttc -s b").is_some());
    assert!(unsubstitutable("mqttc localhost && echo up").is_none());
    assert!(unsubstitutable("install -Dm644 man/mqttc.1 x/mqttc").is_some());
    assert_eq!(
        listener_for("mqttc --tls --cert c -u alice x"),
        Listener::TlsClientCert
    );
    assert_eq!(listener_for("mqttc mqtts://x"), Listener::Tls);
    assert_eq!(listener_for("mqttc -u alice x"), Listener::Password);
    assert_eq!(listener_for("mqttc --net unix /s"), Listener::Unix);
    assert_eq!(listener_for("mqttc -s 'a/#' -p b x"), Listener::Plain);

    assert_eq!(
        strip_shell_comment("mqttc -s 'a/#' x   # a comment"),
        "mqttc -s 'a/#' x"
    );
    assert_eq!(
        strip_shell_comment("echo \"# not\" # yes"),
        "echo \"# not\""
    );
    assert!(runs_mqttc("X=\"$(cat f)\" mqttc -p a"));
    assert!(runs_mqttc("echo a|mqttc -l"));
    assert!(!runs_mqttc(
        "install -Dm644 completions/mqttc.bash ~/c/mqttc"
    ));
    assert_eq!(program("MQTTC_REGENERATE=1 cargo test"), Some("cargo"));
    assert_eq!(unescape(r"mqttc \-s \*(Aqa/#\*(Aq"), "mqttc -s 'a/#'");

    assert!(matches("a {num} ms\n", "a 0.412 ms\n"));
    assert!(!matches("a {num} ms\n", "a  ms\n"));
    assert!(matches(
        "{\"t\":\"{time}\"}",
        "{\"t\":\"2026-11-25T04:05:06.123456Z\"}"
    ));
    assert!(!matches("{\"t\":\"{time}\"}", "{\"t\":\"yesterday\"}"));
    assert!(matches("mqttc/probe/{id}", "mqttc/probe/mqttc0001abc"));
    assert!(matches(INTERRUPTED, "mqttc: SIGINT received\n"));
    assert!(!matches(INTERRUPTED, "mqttc: one\nmqttc: two\n"));
    assert!(matches("{any}", "") && matches("{any}", "x\ny\n"));
}
