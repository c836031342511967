//! `--probe`: a round trip through the broker, with timings.

use std::time::Instant;

use super::*;

/// Parses a duration as the text report prints it: digits, a point, exactly three decimals.
#[track_caller]
fn millis(s: &str) -> f64 {
    let ok = s.split_once('.').is_some_and(|(int, frac)| {
        !int.is_empty()
            && int.bytes().all(|c| c.is_ascii_digit())
            && frac.len() == 3
            && frac.bytes().all(|c| c.is_ascii_digit())
    });
    assert!(ok, "{s:?} is not a duration in ms with three decimals");
    s.parse().unwrap()
}

/// Checks `connect X ms\nsubscribe X ms\n` + the round-trip line(s); returns
/// (min, median, max) of the round trip.
#[track_caller]
fn parse_text_report(out: &str, probes: usize) -> (f64, f64, f64) {
    let lines: Vec<&str> = out.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    let field = |line: &str, prefix: &str| -> f64 {
        let v = line
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(" ms\n"))
            .unwrap_or_else(|| panic!("{line:?} is not {prefix}X ms"));
        millis(v)
    };
    field(lines[0], "connect ");
    field(lines[1], "subscribe ");
    if probes == 1 {
        let rt = field(lines[2], "round trip ");
        return (rt, rt, rt);
    }
    let rest = lines[2]
        .strip_prefix("round trip min ")
        .and_then(|r| r.strip_suffix(&format!(" ms ({probes} probes)\n")))
        .unwrap_or_else(|| panic!("{:?} is not a min/median/max line", lines[2]));
    let (min, rest) = rest.split_once(" ms, median ").expect("median");
    let (median, max) = rest.split_once(" ms, max ").expect("max");
    (millis(min), millis(median), millis(max))
}

/// The password listener's address and a password file for bob, on a broker with the ACL.
fn bob_broker() -> (Broker, String, String) {
    let b = Broker::start(BrokerOptions::new().acl());
    let pass = file_in(&b, "bob.pass", format!("{BOB_PASSWORD}\n").as_bytes());
    let addr = format!("127.0.0.1:{}", b.password_port());
    (b, addr, pass)
}

#[test]
fn probe_reports_timings_and_the_message_goes_through_the_broker() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["mqttc/probe/#"], 2, &[]);
    let out = run_mqttc(&argv("--probe -i prober", &[&b.addr()]), b"");
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    parse_text_report(&out.stdout_str(), 1);
    // Default topic mqttc/probe/CLIENT-ID, default QoS 0.
    let got = obs.wait_for(1, T);
    assert_eq!(
        (got[0].topic.as_str(), got[0].qos),
        ("mqttc/probe/prober", 0)
    );
    obs.assert_no_more(QUIET);
}

#[test]
fn probe_count_reports_min_median_max() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["probes/here"], 2, &[]);
    let out = run_mqttc(
        &argv(
            "--probe-count 3 -q 1 --probe-topic probes/here",
            &[&b.addr()],
        ),
        b"",
    );
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    let (min, median, max) = parse_text_report(&out.stdout_str(), 3);
    assert!(min <= median && median <= max, "{out:?}");
    // Three probe messages at QoS 1 on the chosen topic, each different.
    let got = obs.wait_for(3, T);
    assert!(
        got.iter().all(|m| m.topic == "probes/here" && m.qos == 1),
        "{got:?}"
    );
    assert!(got[0].payload != got[1].payload && got[1].payload != got[2].payload);
    obs.assert_no_more(QUIET);
}

#[test]
fn probe_json_report() {
    let b = Broker::plain();
    for (args, probes) in [("--probe", 1), ("--probe-count 3 -q 2", 3)] {
        let out = run_mqttc(&argv(args, &["-o", "json", &b.addr()]), b"");
        assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
        let text = out.stdout_str();
        assert!(text.ends_with('\n') && text.lines().count() == 1, "{out:?}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["connect_ms", "probes", "round_trip_ms", "subscribe_ms"],
            "{text}"
        );
        assert_eq!(v["probes"], probes, "{text}");
        assert!(v["connect_ms"].as_f64().unwrap() >= 0.0, "{text}");
        assert!(v["subscribe_ms"].as_f64().unwrap() >= 0.0, "{text}");
        let rt = &v["round_trip_ms"];
        assert_eq!(rt.as_object().unwrap().len(), 3, "{text}");
        let [min, median, max] = ["min", "median", "max"].map(|k| rt[k].as_f64().unwrap());
        assert!(0.0 <= min && min <= median && median <= max, "{text}");
        if probes == 1 {
            assert!(min == median && median == max, "{text}");
        }
    }
}

#[test]
fn probe_that_does_not_come_back_exits_1() {
    // bob may not read or write private/#: under MQTT 3.1.1 the broker acknowledges his
    // SUBSCRIBE and PUBLISH and silently delivers nothing.
    let (_b, addr, pass) = bob_broker();
    let bob = ["-u", BOB, "--pass", &pass];
    for qos in ["0", "1"] {
        let started = Instant::now();
        let args = [
            &argv(
                "--probe --probe-topic private/probe --timeout 2s -q",
                &[qos],
            )[..],
            &bob,
            &[&addr],
        ]
        .concat();
        let out = run_mqttc(&args, b"");
        let expected = format!("mqttc: no probe message from {addr} within 2s\n");
        assert_output(&out, 1, "", &expected);
        assert!(started.elapsed() >= Duration::from_secs(2), "{out:?}");
    }
    // The same user on his own topics: the probe comes back.
    let args = [
        &argv("--probe --probe-topic public/probe", &bob)[..],
        &[&addr],
    ]
    .concat();
    let out = run_mqttc(&args, b"");
    assert_eq!(out.code, Some(0), "{out:?}");
    parse_text_report(&out.stdout_str(), 1);
}

#[test]
fn probe_refused_under_mqtt5_reports_the_reason() {
    let (_b, addr, pass) = bob_broker();
    let started = Instant::now();
    let line =
        "--probe -q 1 --mqtt-version 5 --probe-topic private/probe --timeout 5s -u bob --pass";
    let out = run_mqttc(&argv(line, &[&pass, &addr]), b"");
    // mosquitto 2.0.11 answers the probe's PUBLISH with PUBACK reason 0x87 at once.
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr_str().contains("not authorized"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
}
