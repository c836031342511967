//! Subscribing: `--count`, `--wait`, `--retained-only`, `--no-retained`, `--remove-retained`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use super::*;

#[test]
fn count_exits_0_after_n_messages() {
    let b = Broker::plain();
    let sub = start_sub(&b, "counter", &argv("-s c -q 1 -C 3", &[&b.addr()]));
    let out = run_mqttc(&argv("-l -q 1 -p c", &[&b.addr()]), b"1\n2\n3\n4\n5\n");
    assert_output(&out, 0, "", "");
    assert_output(&sub.wait(T), 0, "1\n2\n3\n", "");
}

#[test]
fn wait_exits_1_when_nothing_arrives() {
    let b = Broker::plain();
    let expected = format!("mqttc: no message from {} within 500ms\n", b.addr());
    let started = Instant::now();
    let out = run_mqttc(&argv("-s w -W 500ms", &[&b.addr()]), b"");
    assert_output(&out, 1, "", &expected);
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The same with JSON output: nothing on stdout.
    let out = run_mqttc(&argv("-s w -W 500ms -o json", &[&b.addr()]), b"");
    assert_output(&out, 1, "", &expected);
}

#[test]
fn wait_exits_0_when_the_messages_come() {
    let b = Broker::plain();
    let sub = start_sub(&b, "waiter", &argv("-s w -W 10s -C 1", &[&b.addr()]));
    mosquitto_pub(&b, "w", b"event", 0, false, &[]);
    assert_output(&sub.wait(T), 0, "event\n", "");
}

#[test]
fn wait_counts_from_the_last_message() {
    // -W 3s with messages 1.8 s apart: 3.6 s in all, so a timer that is not restarted by each
    // message fires before the third one (1.2 s margin either way).
    let b = Broker::plain();
    let mut publisher = spawn(&mut mqttc(&argv("-l -p w", &[&b.addr()])));
    let mut sub = start_sub(&b, "waiter", &argv("-s w -W 3s -C 3", &[&b.addr()]));
    for i in 1..=3 {
        if i > 1 {
            thread::sleep(Duration::from_millis(1800));
        }
        publisher.write_stdin(format!("m{i}\n").as_bytes());
        assert_eq!(sub.read_line(T), Some(format!("m{i}\n").into_bytes()));
    }
    assert_output(&sub.wait(T), 0, "", "");
    assert_output(&publisher.wait(T), 0, "", "");
}

#[test]
fn retained_only_prints_exactly_the_retained_messages() {
    let b = Broker::plain();
    mosquitto_pub(&b, "ro/1", b"one", 0, true, &[]);
    mosquitto_pub(&b, "ro/2", b"two", 1, true, &[]);
    mosquitto_pub(&b, "ro/deep/3", &[0xfe], 2, true, &[]);
    mosquitto_pub(&b, "elsewhere", b"not matched", 1, true, &[]);

    // Meanwhile a stream of messages that are not retained goes to a matching topic.
    let mut obs = Observer::start(&b, &["ro/live"], 0, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let streamer = {
        let stop = stop.clone();
        let mut p = spawn(&mut mqttc(&argv("-l -p ro/live", &[&b.addr()])));
        thread::spawn(move || {
            for n in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                p.write_stdin(format!("live {n}\n").as_bytes());
                // A throttle, not a synchronisation: about 1000 messages a second.
                thread::sleep(Duration::from_millis(1));
            }
            p.wait(T)
        })
    };
    obs.wait_for(1, T); // the stream flows

    let out = run_mqttc(
        &argv("-s ro/# --retained-only -q 2 -o json", &[&b.addr()]),
        b"",
    );
    stop.store(true, Ordering::Relaxed);
    assert_output(&streamer.join().unwrap(), 0, "", "");
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    // mosquitto sends retained messages in the order of its topic tree: compare as a set.
    // --retained-only subscribes at QoS 0 whatever -q says (so that the PINGRESP that marks
    // the end cannot overtake messages held back by an in-flight window): all arrive at 0.
    let mut lines = json_lines(&out.stdout);
    lines.sort();
    assert_eq!(
        lines,
        [
            r##"{"topic":"ro/1","payload":"one","qos":0,"retain":true,"received":#}"##,
            r##"{"topic":"ro/2","payload":"two","qos":0,"retain":true,"received":#}"##,
            r##"{"topic":"ro/deep/3","payload_base64":"/g==","qos":0,"retain":true,"received":#}"##,
        ]
    );

    // Nothing retained under the filter: nothing printed, exit 0.
    let out = run_mqttc(&argv("-s none/# --retained-only", &[&b.addr()]), b"");
    assert_output(&out, 0, "", "");
}

#[test]
fn no_retained_skips_the_stored_messages() {
    let b = Broker::plain();
    mosquitto_pub(&b, "nr", b"old", 1, true, &[]);
    let sub = start_sub(
        &b,
        "fresh-only",
        &argv("-s nr -q 1 --no-retained -C 1", &[&b.addr()]),
    );
    // The broker sent the retained message right after the SUBACK: had it been printed, it
    // would come before this one.
    mosquitto_pub(&b, "nr", b"new", 1, false, &[]);
    assert_output(&sub.wait(T), 0, "new\n", "");
}

#[test]
fn remove_retained_clears_what_it_prints() {
    let b = Broker::plain();
    // Sees the clearing publishes with their retain flag (MQTT 5, retain as published).
    let mut obs = Observer::start(&b, &["#"], 1, &["-V", "mqttv5", "--retain-as-published"]);
    mosquitto_pub(&b, "rr/a", b"1", 1, true, &[]);
    mosquitto_pub(&b, "rr/b/c", b"2", 1, true, &[]);
    mosquitto_pub(&b, "keep/x", b"3", 1, true, &[]);
    obs.wait_for(3, T);

    let out = run_mqttc(
        &argv(
            "-s rr/# --retained-only --remove-retained --topic --prefix",
            &[" ", &b.addr()],
        ),
        b"",
    );
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    let text = out.stdout_str();
    let mut printed: Vec<&str> = text.lines().collect();
    printed.sort();
    assert_eq!(printed, ["rr/a 1", "rr/b/c 2"], "{out:?}");

    // One empty retained message per printed one.
    let mut cleared: Vec<(String, Vec<u8>, bool)> = obs
        .wait_for(2, T)
        .into_iter()
        .map(|m| (m.topic, m.payload, m.retain))
        .collect();
    cleared.sort();
    assert_eq!(
        cleared,
        [
            ("rr/a".into(), vec![], true),
            ("rr/b/c".into(), vec![], true)
        ]
    );
    obs.assert_no_more(QUIET);

    // They are gone; the message outside the filter is not.
    let out = run_mqttc(&argv("-s rr/# --retained-only", &[&b.addr()]), b"");
    assert_output(&out, 0, "", "");
    let out = run_mqttc(
        &argv("-s # --retained-only --topic --prefix", &[" ", &b.addr()]),
        b"",
    );
    assert_output(&out, 0, "keep/x 3\n", "");
}

#[test]
fn retained_only_at_qos1_gets_more_than_the_in_flight_window() {
    const N: usize = 500;
    let b = Broker::plain();
    let records: String = (0..N)
        .map(|i| format!("{{\"topic\":\"many/{i:03}\",\"payload\":\"{i}\",\"retain\":true}}\n"))
        .collect();
    let out = run_mqttc(&argv("--input json -q 1", &[&b.addr()]), records.as_bytes());
    assert_output(&out, 0, "", "");
    let expected: String = (0..N).map(|i| format!("many/{i:03} {i}\n")).collect();
    // The loss depends on timing: three tries at each QoS.
    for qos in ["0", "1", "2", "0", "1", "2", "0", "1", "2"] {
        let line = "-s many/# --retained-only --topic --prefix";
        let out = run_mqttc(&argv(line, &[" ", "-q", qos, &b.addr()]), b"");
        assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
        let mut lines: Vec<String> = out.stdout_str().lines().map(|l| format!("{l}\n")).collect();
        lines.sort();
        assert!(
            lines.concat() == expected,
            "at -q {qos}: {} of {N} lines",
            lines.len()
        );
    }
}

#[test]
fn remove_retained_empties_a_broker_of_many_messages() {
    // More retained messages than mosquitto's in-flight window (20), at QoS 1.
    let b = Broker::plain();
    let records: String = (0..500)
        .map(|i| format!("{{\"topic\":\"many/{i}\",\"payload\":\"{i}\",\"retain\":true}}\n"))
        .collect();
    let out = run_mqttc(&argv("--input json -q 1", &[&b.addr()]), records.as_bytes());
    assert_output(&out, 0, "", "");
    let out = run_mqttc(
        &argv("-s # --retained-only --remove-retained -q 1", &[&b.addr()]),
        b"",
    );
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    assert_eq!(out.stdout_str().lines().count(), 500, "{out:?}");
    let out = run_mqttc(&argv("-s # --retained-only", &[&b.addr()]), b"");
    assert_output(&out, 0, "", "");
}
