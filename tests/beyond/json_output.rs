//! `--output json`: every field for text and binary payloads, under MQTT 3.1.1 and 5, and
//! record and replay through `--input json`.

use super::*;

#[test]
fn every_field_for_text_binary_and_empty_payloads() {
    let b = Broker::plain();
    mosquitto_pub(&b, "j/retained", b"kept", 1, true, &[]);
    let before = rfc3339_micros(std::time::SystemTime::now());
    let sub = start_sub(
        &b,
        "json311",
        &argv("-s j/# -q 2 -o json -C 6", &[&b.addr()]),
    );
    mosquitto_pub(
        &b,
        "j/text",
        "héllo \"wörld\" \\ \t\n".as_bytes(),
        0,
        false,
        &[],
    );
    mosquitto_pub(&b, "j/bin", &[0xff, 0x00, 0x01, 0x80], 1, false, &[]);
    mosquitto_pub(&b, "j/empty", b"", 2, false, &[]);
    mosquitto_pub(&b, "j/ctrl", b"\x00\x01\x1f\x7f\x08\x0c\r", 1, false, &[]);
    // Retained on publish: a live subscriber under 3.1.1 gets the flag cleared.
    mosquitto_pub(&b, "j/ü space", b"{\"json\":[1]}", 1, true, &[]);
    let out = sub.wait(T);
    let after = rfc3339_micros(std::time::SystemTime::now());
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    // `received` is the UTC time of arrival.
    for stamp in received_stamps(&out.stdout) {
        assert!(
            before <= stamp && stamp <= after,
            "{before} <= {stamp} <= {after}"
        );
    }
    assert_eq!(
        json_lines(&out.stdout),
        [
            r##"{"topic":"j/retained","payload":"kept","qos":1,"retain":true,"received":#}"##,
            r##"{"topic":"j/text","payload":"héllo \"wörld\" \\ \t\n","qos":0,"retain":false,"received":#}"##,
            r##"{"topic":"j/bin","payload_base64":"/wABgA==","qos":1,"retain":false,"received":#}"##,
            r##"{"topic":"j/empty","payload":"","qos":2,"retain":false,"received":#}"##,
            // U+007F needs no escape in JSON and is written as is.
            "{\"topic\":\"j/ctrl\",\"payload\":\"\\u0000\\u0001\\u001f\u{7f}\\b\\f\\r\",\"qos\":1,\"retain\":false,\"received\":#}",
            r##"{"topic":"j/ü space","payload":"{\"json\":[1]}","qos":1,"retain":false,"received":#}"##,
        ]
    );
    // The same, parsed: the escapes decode to the exact payloads.
    let values = json_values(&out.stdout);
    assert_eq!(values[1]["payload"], "héllo \"wörld\" \\ \t\n");
    assert_eq!(values[4]["payload"], "\u{0}\u{1}\u{1f}\u{7f}\u{8}\u{c}\r");
}

#[test]
fn large_payloads_are_printed_whole() {
    // Far beyond rumqttc's default 10 KiB packet limit, text and binary.
    let b = Broker::plain();
    let sub = start_sub(&b, "big", &argv("-s big/# -o json -C 2", &[&b.addr()]));
    let text = "é".repeat(150_000);
    let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8 | 0x80).collect();
    mosquitto_pub(&b, "big/text", text.as_bytes(), 0, false, &[]);
    mosquitto_pub(&b, "big/bin", &binary, 0, false, &[]);
    let out = sub.wait(T);
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    let v = json_values(&out.stdout);
    assert_eq!(v.len(), 2, "{out:?}");
    assert_eq!(v[0]["payload"].as_str(), Some(text.as_str()));
    let b64 = v[1]["payload_base64"].as_str().expect("payload_base64");
    // Published again through --input json, the binary payload is the same bytes.
    let mut obs = Observer::start(&b, &["again"], 0, &[]);
    let record = format!("{{\"topic\":\"again\",\"payload_base64\":\"{b64}\"}}\n");
    let out = run_mqttc(&argv("--input json", &[&b.addr()]), record.as_bytes());
    assert_output(&out, 0, "", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("again", &binary, 0, false)]);
}

#[test]
fn mqtt5_properties_from_mosquitto_pub_and_from_mqttc() {
    let b = Broker::plain();
    let sub = start_sub(
        &b,
        "json5",
        &argv("--mqtt-version 5 -s v/# -q 2 -o json -C 3", &[&b.addr()]),
    );
    // Every publish property mosquitto_pub can set; user properties with a repeated key.
    let props = v5_props(&[
        &["payload-format-indicator", "1"],
        &["message-expiry-interval", "3600"],
        &["content-type", "text/plain"],
        &["response-topic", "resp/t"],
        &["correlation-data", "abc"],
        &["user-property", "a", "1"],
        &["user-property", "a", "2"],
        &["user-property", "b", "x y"],
    ]);
    mosquitto_pub(&b, "v/all", b"hi", 1, false, &props);
    // mqttc's own MQTT 5 options, with a binary payload.
    let bin = file_in(&b, "bin", &[0xff, 0xfe, 0x00]);
    let out = run_mqttc(
        &argv(
            "--mqtt-version 5 -q 2 -p v/bin --property k=v --property k= --property e=a=b \
             --content-type application/octet-stream --response-topic r/t --message-expiry 100",
            &["--correlation-data", "c d", "-f", &bin, &b.addr()],
        ),
        b"",
    );
    assert_output(&out, 0, "", "");
    // No properties at all.
    mosquitto_pub(&b, "v/none", b"plain", 0, false, &["-V", "mqttv5"]);

    let out = sub.wait(T);
    assert_eq!((out.code, out.stderr.len()), (Some(0), 0), "{out:?}");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{out:?}");
    let (all, expiry) = mask_field(&lines[0], "message_expiry_interval");
    assert_expiry(expiry.parse().unwrap(), 3600);
    assert_eq!(
        all,
        r##"{"topic":"v/all","payload":"hi","qos":1,"retain":false,"received":#,"properties":{"payload_format_indicator":1,"message_expiry_interval":#,"content_type":"text/plain","response_topic":"resp/t","correlation_data":"YWJj","user_properties":[["a","1"],["a","2"],["b","x y"]]}}"##
    );
    let (bin, expiry) = mask_field(&lines[1], "message_expiry_interval");
    assert_expiry(expiry.parse().unwrap(), 100);
    assert_eq!(
        bin,
        r##"{"topic":"v/bin","payload_base64":"//4A","qos":2,"retain":false,"received":#,"properties":{"message_expiry_interval":#,"content_type":"application/octet-stream","response_topic":"r/t","correlation_data":"YyBk","user_properties":[["k","v"],["k",""],["e","a=b"]]}}"##
    );
    // A message without properties has no "properties" field (an empty object would do too).
    let none = r##"{"topic":"v/none","payload":"plain","qos":0,"retain":false,"received":#"##;
    assert!(
        lines[2] == format!("{none}}}") || lines[2] == format!("{none},\"properties\":{{}}}}"),
        "{}",
        lines[2]
    );
}

/// Subscribes to `rec/#` with `-o json` at QoS 2 under MQTT 5 with retain-as-published, so
/// that the capture holds QoS and retain flags as published. (MQTT 3.1.1 clears the retain
/// flag of messages forwarded to live subscribers, so a 3.1.1 capture cannot record it.)
fn start_capture(b: &Broker, id: &str, n: usize) -> Proc {
    let n = n.to_string();
    let line = "--mqtt-version 5 --retain-as-published -s rec/# -q 2 -o json -C";
    start_sub(b, id, &argv(line, &[&n, &b.addr()]))
}

/// The records of a capture without `received`; the expiry interval is checked against
/// `expiry` and removed (the broker counts it down in whole seconds); sorted by topic
/// (mosquitto forwards an inbound QoS 2 message on PUBREL, so the order across QoS levels
/// depends on timing).
fn normalized(capture: &[u8], expiry: u64) -> Vec<Value> {
    let mut v = json_values(capture);
    for r in &mut v {
        if let Some(p) = r.get_mut("properties").and_then(Value::as_object_mut) {
            if let Some(e) = p.remove("message_expiry_interval") {
                assert_expiry(e.as_u64().unwrap(), expiry);
            }
        }
    }
    v.sort_by_key(|r| r["topic"].as_str().unwrap().to_string());
    v
}

/// The retained messages under `rec/#` as masked `--output json` lines, sorted.
fn retained_json(b: &Broker) -> Vec<String> {
    let out = run_mqttc(
        &argv("-s rec/# --retained-only -q 2 -o json", &[&b.addr()]),
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut lines = json_lines(&out.stdout);
    lines.sort();
    lines
}

#[test]
fn replaying_a_capture_reproduces_it() {
    let a = Broker::plain();
    let cap = start_capture(&a, "rec-a", 6);
    let v5 = ["-V", "mqttv5"];
    mosquitto_pub(&a, "rec/text", b"hello", 0, false, &v5);
    mosquitto_pub(&a, "rec/retained", b"kept", 1, true, &v5);
    mosquitto_pub(&a, "rec/bin", &[0, 1, 2, 0xff], 2, true, &v5);
    mosquitto_pub(&a, "rec/empty", b"", 1, false, &v5);
    mosquitto_pub(
        &a,
        "rec/unicode",
        "héllo\ttab \"q\"".as_bytes(),
        2,
        false,
        &v5,
    );
    let props = v5_props(&[
        &["content-type", "text/plain"],
        &["response-topic", "rec/reply"],
        &["correlation-data", "id-1"],
        &["message-expiry-interval", "3600"],
        &["user-property", "k", "v"],
        &["user-property", "k", "w"],
    ]);
    mosquitto_pub(&a, "rec/props", b"p", 1, false, &props);
    let first = cap.wait(T);
    assert_eq!((first.code, first.stderr.len()), (Some(0), 0), "{first:?}");

    // Replay the capture, unchanged, into another broker, and capture it there.
    let b = Broker::plain();
    let cap = start_capture(&b, "rec-b", 6);
    let out = run_mqttc(
        &argv("--mqtt-version 5 --input json", &[&b.addr()]),
        &first.stdout,
    );
    assert_output(&out, 0, "", "");
    let second = cap.wait(T);
    assert_eq!(
        (second.code, second.stderr.len()),
        (Some(0), 0),
        "{second:?}"
    );

    let recorded = normalized(&first.stdout, 3600);
    assert_eq!(recorded, normalized(&second.stdout, 3600));
    // And the recording is what was published.
    let summary: Vec<(&str, &Value, u64, bool)> = recorded
        .iter()
        .map(|r| {
            (
                r["topic"].as_str().unwrap(),
                r.get("payload").or(r.get("payload_base64")).unwrap(),
                r["qos"].as_u64().unwrap(),
                r["retain"].as_bool().unwrap(),
            )
        })
        .collect();
    let text = |s: &str| Value::from(s);
    assert_eq!(
        summary,
        [
            ("rec/bin", &text("AAEC/w=="), 2, true),
            ("rec/empty", &text(""), 1, false),
            ("rec/props", &text("p"), 1, false),
            ("rec/retained", &text("kept"), 1, true),
            ("rec/text", &text("hello"), 0, false),
            ("rec/unicode", &text("héllo\ttab \"q\""), 2, false),
        ]
    );
    assert!(recorded[0].get("payload_base64").is_some());
    assert_eq!(
        recorded[2]["properties"],
        serde_json::json!({
            "content_type": "text/plain",
            "response_topic": "rec/reply",
            "correlation_data": "aWQtMQ==",
            "user_properties": [["k", "v"], ["k", "w"]],
        })
    );

    // Both brokers now retain the same messages.
    let on_a = retained_json(&a);
    assert_eq!(on_a.len(), 2, "{on_a:?}");
    assert_eq!(on_a, retained_json(&b));
}
