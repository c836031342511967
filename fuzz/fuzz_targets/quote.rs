//! The output formatters: Go-style quoting and JSON lines on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttc::output::{go_quote, write_json, JsonMessage, TextFormat};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    go_quote(&mut out, data).unwrap();
    let text = std::str::from_utf8(&out).expect("go_quote output is UTF-8");
    assert!(text.len() >= 2 && text.starts_with('"') && text.ends_with('"'));
    assert!(
        !text.contains(char::is_control),
        "raw control character in {text:?}"
    );

    // The first byte splits the rest into a topic and a payload.
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let (topic, payload) = rest.split_at(usize::from(cut).min(rest.len()));

    let format = TextFormat {
        prefix: b" ".to_vec(),
        suffix: b"\n".to_vec(),
        topic: true,
        quote: true,
    };
    out.clear();
    format.write(&mut out, topic, payload).unwrap();
    assert!(std::str::from_utf8(&out).is_ok());

    let topic = String::from_utf8_lossy(topic);
    out.clear();
    write_json(
        &mut out,
        &JsonMessage {
            topic: &topic,
            payload,
            qos: cut % 3,
            retain: cut & 0x80 != 0,
            received: std::time::SystemTime::UNIX_EPOCH,
            properties: None,
        },
    )
    .unwrap();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    assert_eq!(out.last(), Some(&b'\n'));
    let v: serde_json::Value = serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&out)));
    assert_eq!(v["topic"].as_str(), Some(&*topic));
});
