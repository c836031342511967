//! `--input json`: one record per line, per-record topic/QoS/retain, fallbacks, malformed lines.

use super::*;

/// An observer that sees QoS and retain flags as published: MQTT 5 with retain-as-published
/// (under 3.1.1 the broker clears the retain flag for live subscribers) at QoS 2 (so the
/// delivered QoS is the published one).
fn exact_observer(b: &Broker, filter: &str) -> Observer {
    Observer::start(b, &[filter], 2, &["-V", "mqttv5", "--retain-as-published"])
}

/// The retained messages under `filter`, as `TOPIC PAYLOAD` lines, sorted.
fn retained(b: &Broker, filter: &str) -> Vec<String> {
    let out = run_mqttc(
        &argv(
            "--retained-only --topic --prefix",
            &[" ", "-s", filter, &b.addr()],
        ),
        b"",
    );
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    let mut lines: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn records_choose_topic_qos_and_retain_and_fall_back_to_the_command_line() {
    let b = Broker::plain();
    let mut obs = exact_observer(&b, "in/#");
    // The QoS 2 record is last: mosquitto forwards an inbound QoS 2 message on PUBREL, so a
    // later QoS 0/1 message of the same run could overtake it. A \r\n line break and an empty
    // line are fine; "received" (as --output json writes it) is ignored.
    let input = concat!(
        r#"{"topic":"in/a","payload":"text","qos":0,"retain":true}"#,
        "\n",
        r#"{"payload":"falls back to -p and -q"}"#,
        "\n",
        r#"{"topic":"in/c","payload":"","retain":false,"received":"2026-01-01T00:00:00.000000Z"}"#,
        "\r\n\n",
        r#"{"payload_base64":"AAH/","qos":2,"topic":"in/b"}"#,
        "\n",
    );
    let out = run_mqttc(
        &argv("--input json -p in/default -q 1", &[&b.addr()]),
        input.as_bytes(),
    );
    assert_output(&out, 0, "", "");
    assert_eq!(
        obs.wait_for(4, T),
        vec![
            msg("in/a", b"text", 0, true),
            msg("in/default", b"falls back to -p and -q", 1, false),
            msg("in/c", b"", 1, false),
            msg("in/b", &[0x00, 0x01, 0xff], 2, false),
        ]
    );
    obs.assert_no_more(QUIET);
    assert_eq!(retained(&b, "in/#"), ["in/a text"]);
}

#[test]
fn retain_option_is_the_default_of_records_without_publish_topic() {
    let b = Broker::plain();
    let mut obs = exact_observer(&b, "in/#");
    // -r is the default retain flag of records that do not say; no -p needed, every record
    // names its topic.
    let input = concat!(
        r#"{"topic":"in/r1","payload":"kept"}"#,
        "\n",
        r#"{"topic":"in/r2","payload":"not kept","retain":false}"#,
        "\n"
    );
    let out = run_mqttc(
        &argv("--input json -r -q 1", &[&b.addr()]),
        input.as_bytes(),
    );
    assert_output(&out, 0, "", "");
    assert_eq!(
        obs.wait_for(2, T),
        vec![
            msg("in/r1", b"kept", 1, true),
            msg("in/r2", b"not kept", 1, false)
        ]
    );
    assert_eq!(retained(&b, "in/#"), ["in/r1 kept"]);
}

#[test]
fn malformed_line_stops_the_run_with_its_number_and_what_was_sent() {
    let b = Broker::plain();
    let mut obs = exact_observer(&b, "m/#");
    let addr = b.addr();

    // Line 3 is invalid: lines 1 and 2 are sent (and acknowledged), line 4 is not.
    let input = concat!(
        r#"{"topic":"m/1","payload":"one","qos":1}"#,
        "\n",
        r#"{"topic":"m/2","payload":"two"}"#,
        "\n",
        r#"{"topic":"m/3","payload":"three","qos":7}"#,
        "\n",
        r#"{"topic":"m/4","payload":"four"}"#,
        "\n"
    );
    let out = run_mqttc(&argv("--input json", &[&addr]), input.as_bytes());
    assert_output(
        &out,
        2,
        "",
        "mqttc: line 3: qos must be 0, 1 or 2, not 7 (2 messages before it sent)\n",
    );
    assert_eq!(
        obs.wait_for(2, T),
        vec![msg("m/1", b"one", 1, false), msg("m/2", b"two", 0, false)]
    );
    obs.assert_no_more(QUIET);

    // Not JSON at all, after one good line; empty lines count in the numbering.
    let input = concat!(
        r#"{"topic":"m/5","payload":"five"}"#,
        "\n\n",
        "not json\n",
        r#"{"topic":"m/6","payload":"six"}"#,
        "\n"
    );
    let out = run_mqttc(&argv("--input json -q 1", &[&addr]), input.as_bytes());
    let err = out.stderr_str();
    assert!(
        out.code == Some(2)
            && out.stdout.is_empty()
            && err.starts_with("mqttc: line 3: not JSON: ")
            && err.ends_with(" (1 message before it sent)\n")
            && err.lines().count() == 1,
        "{out:?}"
    );
    assert_eq!(obs.wait_for(1, T), vec![msg("m/5", b"five", 1, false)]);
    obs.assert_no_more(QUIET);

    for (input, error) in [
        // A misspelt field is an error, not silently dropped.
        (
            r#"{"topic":"m/7","paylaod":"seven"}"#,
            r#"unknown field "paylaod""#,
        ),
        (
            r#"{"payload":"no topic"}"#,
            "no topic, and no --publish topic to fall back to",
        ),
        (
            r#"{"topic":"m/8","payload":"p","properties":{"content_type":"text/plain"}}"#,
            "properties need --mqtt-version 5",
        ),
        (
            r#"{"topic":"m/9","payload":"a","payload_base64":"YQ=="}"#,
            "both payload and payload_base64",
        ),
        (
            r#"{"topic":"m/#","payload":"wildcard"}"#,
            r#"invalid topic "m/#": wildcards + and # are not allowed in a topic name"#,
        ),
    ] {
        let input = format!("{input}\n{}\n", r#"{"topic":"m/never","payload":"x"}"#);
        let out = run_mqttc(&argv("--input json -q 1", &[&addr]), input.as_bytes());
        let expected = format!("mqttc: line 1: {error} (0 messages before it sent)\n");
        assert_output(&out, 2, "", &expected);
    }
    obs.assert_no_more(QUIET);
}
