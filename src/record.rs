//! `--input json`: one JSON object per line of standard input, each a message to publish.
//! The format is the one `--output json` prints, so a capture replays unchanged:
//! `{"topic":"a","payload":"text","qos":1,"retain":false,"properties":{...}}`, with
//! `payload_base64` instead of `payload` for binary payloads. `received` is accepted and
//! ignored; any other unknown field is an error, so a misspelt field is not silently dropped.

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use serde_json::{Map, Value};

use crate::cli::Qos;

/// One message to publish; what it leaves out comes from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: Option<String>,
    pub payload: Bytes,
    pub qos: Option<Qos>,
    pub retain: Option<bool>,
    pub properties: Option<PublishProperties>,
}

pub fn parse_record(line: &[u8]) -> Result<Record, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let mut record = Record {
        topic: None,
        payload: Bytes::new(),
        qos: None,
        retain: None,
        properties: None,
    };
    let mut has_payload = false;
    for (key, value) in &map {
        match key.as_str() {
            "topic" => record.topic = Some(string(key, value)?.to_owned()),
            "payload" | "payload_base64" if has_payload => {
                return Err("both payload and payload_base64".into());
            }
            "payload" => {
                record.payload = Bytes::from(string(key, value)?.to_owned());
                has_payload = true;
            }
            "payload_base64" => {
                record.payload = Bytes::from(
                    base64_decode(string(key, value)?)
                        .map_err(|e| format!("payload_base64: {e}"))?,
                );
                has_payload = true;
            }
            "qos" => {
                record.qos = Some(match value.as_u64() {
                    Some(0) => Qos::AtMostOnce,
                    Some(1) => Qos::AtLeastOnce,
                    Some(2) => Qos::ExactlyOnce,
                    _ => return Err(format!("qos must be 0, 1 or 2, not {value}")),
                })
            }
            "retain" => {
                record.retain = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| format!("retain must be true or false, not {value}"))?,
                )
            }
            "properties" => record.properties = Some(properties(value)?),
            "received" => {}
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    if !has_payload {
        return Err("no payload or payload_base64".into());
    }
    Ok(record)
}

fn string<'a>(key: &str, value: &'a Value) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{key} must be a string, not {value}"))
}

fn properties(value: &Value) -> Result<PublishProperties, String> {
    let map: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| format!("properties must be an object, not {value}"))?;
    let mut p = PublishProperties::default();
    for (key, value) in map {
        let number = |max: u64| {
            value.as_u64().filter(|n| *n <= max).ok_or_else(|| {
                format!("properties.{key} must be a number up to {max}, not {value}")
            })
        };
        match key.as_str() {
            "payload_format_indicator" => p.payload_format_indicator = Some(number(1)? as u8),
            "message_expiry_interval" => {
                p.message_expiry_interval = Some(number(u32::MAX.into())? as u32)
            }
            "content_type" => p.content_type = Some(string(key, value)?.to_owned()),
            "response_topic" => p.response_topic = Some(string(key, value)?.to_owned()),
            "correlation_data" => {
                let data = base64_decode(string(key, value)?)
                    .map_err(|e| format!("properties.correlation_data: {e}"))?;
                p.correlation_data = Some(Bytes::from(data));
            }
            "user_properties" => p.user_properties = user_properties(value)?,
            // Set by the broker for the subscriber; meaningless on a publish.
            "subscription_identifiers" => {}
            other => return Err(format!("unknown property {other:?}")),
        }
    }
    Ok(p)
}

/// `[["k","v"],...]` as `--output json` prints them, or `{"k":"v"}` as people write them.
fn user_properties(value: &Value) -> Result<Vec<(String, String)>, String> {
    let bad = || {
        format!("properties.user_properties must be [[key, value], ...] or an object of strings, not {value}")
    };
    match value {
        Value::Array(pairs) => pairs
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                _ => Err(bad()),
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_owned()))
                    .ok_or_else(bad)
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// Standard base64 (RFC 4648), with or without `=` padding.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let data = s.trim_end_matches('=').as_bytes();
    if s.len() - data.len() > 2 || data.len() % 4 == 1 {
        return Err("not valid base64".into());
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c).ok_or("not valid base64")? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_with_the_encoder() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\xfe\x00"] {
            let mut enc = Vec::new();
            crate::output::base64_encode(&mut enc, input).unwrap();
            let enc = String::from_utf8(enc).unwrap();
            assert_eq!(base64_decode(&enc).unwrap(), input, "{enc}");
            assert_eq!(base64_decode(enc.trim_end_matches('=')).unwrap(), input);
        }
        assert!(base64_decode("a").is_err());
        assert!(base64_decode("ab!=").is_err());
        assert!(base64_decode("a===").is_err());
    }

    #[test]
    fn records() {
        let r =
            parse_record(br#"{"topic":"a/b","payload":"hi","qos":2,"retain":true,"received":"x"}"#)
                .unwrap();
        assert_eq!(r.topic.as_deref(), Some("a/b"));
        assert_eq!(&r.payload[..], b"hi");
        assert_eq!(r.qos, Some(Qos::ExactlyOnce));
        assert_eq!(r.retain, Some(true));
        let r = parse_record(br#"{"payload_base64":"/wA="}"#).unwrap();
        assert_eq!(r.topic, None);
        assert_eq!(&r.payload[..], b"\xff\x00");
    }

    #[test]
    fn properties_in_both_user_property_forms() {
        let r = parse_record(
            br#"{"payload":"","properties":{"content_type":"t","response_topic":"r","correlation_data":"AQI=","message_expiry_interval":5,"payload_format_indicator":1,"user_properties":[["k","v"],["k","w"]],"subscription_identifiers":[3]}}"#,
        )
        .unwrap();
        let p = r.properties.unwrap();
        assert_eq!(p.content_type.as_deref(), Some("t"));
        assert_eq!(p.response_topic.as_deref(), Some("r"));
        assert_eq!(p.correlation_data.as_deref(), Some(&b"\x01\x02"[..]));
        assert_eq!(p.message_expiry_interval, Some(5));
        assert_eq!(p.payload_format_indicator, Some(1));
        assert_eq!(
            p.user_properties,
            vec![("k".into(), "v".into()), ("k".into(), "w".into())]
        );
        let r =
            parse_record(br#"{"payload":"","properties":{"user_properties":{"a":"b"}}}"#).unwrap();
        assert_eq!(
            r.properties.unwrap().user_properties,
            vec![("a".into(), "b".into())]
        );
    }

    #[test]
    fn malformed_records_say_why() {
        for (line, why) in [
            (
                &b"{"[..],
                "not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (b"[1]", "not a JSON object"),
            (br#"{"topic":"t"}"#, "no payload or payload_base64"),
            (
                br#"{"payload":"a","payload_base64":"YQ=="}"#,
                "both payload and payload_base64",
            ),
            (
                br#"{"payload":"a","qos":3}"#,
                "qos must be 0, 1 or 2, not 3",
            ),
            (
                br#"{"payload":"a","retain":1}"#,
                "retain must be true or false, not 1",
            ),
            (
                br#"{"payload":"a","paylaod":"b"}"#,
                "unknown field \"paylaod\"",
            ),
            (br#"{"payload":5}"#, "payload must be a string, not 5"),
            (
                br#"{"payload_base64":"!!"}"#,
                "payload_base64: not valid base64",
            ),
            (
                br#"{"payload":"","properties":{"x":1}}"#,
                "unknown property \"x\"",
            ),
        ] {
            assert_eq!(parse_record(line).unwrap_err(), why);
        }
    }
}
