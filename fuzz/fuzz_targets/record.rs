//! `--input json` records: any bytes, never a panic; a record that parses, printed again by
//! `--output json`, parses back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttc::cli::Qos;
use mqttc::output::{write_json, JsonMessage};
use mqttc::record::parse_record;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse_record(data) else {
        return;
    };
    let topic = record.topic.clone().unwrap_or_default();
    let qos = match record.qos {
        None | Some(Qos::AtMostOnce) => 0,
        Some(Qos::AtLeastOnce) => 1,
        Some(Qos::ExactlyOnce) => 2,
    };
    let mut line = Vec::new();
    write_json(
        &mut line,
        &JsonMessage {
            topic: &topic,
            payload: &record.payload,
            qos,
            retain: record.retain.unwrap_or(false),
            received: std::time::SystemTime::UNIX_EPOCH,
            properties: record.properties.as_ref(),
        },
    )
    .unwrap();
    let again = parse_record(line.strip_suffix(b"\n").unwrap()).unwrap_or_else(|e| {
        panic!(
            "printed record does not parse: {e}: {}",
            String::from_utf8_lossy(&line)
        )
    });
    assert_eq!(again.topic.as_deref(), Some(topic.as_str()));
    assert_eq!(again.payload, record.payload);
    assert_eq!(again.properties, record.properties);
});
