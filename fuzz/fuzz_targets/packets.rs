//! What a broker sends, byte for byte: rumqttc's MQTT 3.1.1 and 5 decoders, driven as mqttc's
//! connection drives them (the Codec a tokio `Framed` pulls frames through, reads of any size,
//! the CONNACK check, then the protocol state that answers acks and pings), and every PUBLISH
//! printed by mqttc's own formatters. Malformed input must end in an error, never a panic.
//!
//! Byte 0 picks the run: bit 0 the protocol version (0: 3.1.1, 1: 5), bits 1-3 how many QoS 1
//! and 2 publishes of ours are in flight before the broker speaks, bits 4-7 the read size
//! (16 * n + 1 bytes, like socket reads that cut frames anywhere). The rest is the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqttc::output::{write_json, JsonMessage, TextFormat};
use tokio_util::codec::{Decoder, Encoder};

/// mqttc's limits (driver.rs): the largest packet MQTT allows, and 1000 in flight.
const MAX_PACKET: usize = mqttc::config::MAX_REMAINING_LENGTH + 5;
const INFLIGHT: u16 = 1000;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, stream)) = data.split_first() else {
        return;
    };
    let in_flight = usize::from(flags >> 1 & 7);
    let read_size = 16 * usize::from(flags >> 4) + 1;
    if flags & 1 == 0 {
        v4(stream, in_flight, read_size);
    } else {
        v5(stream, in_flight, read_size);
    }
});

/// Prints a received message the ways mqttc can (session.rs): quoted text and a JSON line,
/// which must be valid JSON whatever the broker put in the topic and properties.
fn print(topic: &[u8], payload: &[u8], qos: u8, retain: bool, p: Option<&PublishProperties5>) {
    let mut out = Vec::new();
    let text = TextFormat {
        prefix: b" ".to_vec(),
        suffix: b"\n".to_vec(),
        topic: true,
        quote: true,
    };
    text.write(&mut out, topic, payload).unwrap();
    out.clear();
    let message = JsonMessage {
        topic: std::str::from_utf8(topic).unwrap_or_default(),
        payload,
        qos,
        retain,
        received: std::time::SystemTime::now(),
        properties: p,
    };
    write_json(&mut out, &message).unwrap();
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&out) {
        panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&out));
    }
}

type PublishProperties5 = rumqttc::v5::mqttbytes::v5::PublishProperties;

/// Calls `handle` for each frame decoded from `stream` read `read_size` bytes at a time, as
/// tokio's `Framed` does (decode until it wants more bytes, `decode_eof` at the end); stops
/// at the first error, as the connection would.
fn frames<C: Decoder>(
    codec: &mut C,
    stream: &[u8],
    read_size: usize,
    mut handle: impl FnMut(&mut C, C::Item) -> bool,
) {
    let mut buf = BytesMut::new();
    for chunk in stream.chunks(read_size) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if !handle(codec, frame) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
        if !handle(codec, frame) {
            return;
        }
    }
}

fn v4(stream: &[u8], in_flight: usize, read_size: usize) {
    use rumqttc::mqttbytes::v4::{Codec, Packet, Publish};
    use rumqttc::{ConnectReturnCode, MqttState, QoS, Request};

    let mut codec = Codec {
        max_incoming_size: MAX_PACKET,
        max_outgoing_size: MAX_PACKET,
    };
    let mut state = MqttState::new(INFLIGHT, false);
    let mut out = BytesMut::new();
    let mut connected = false;
    frames(&mut codec, stream, read_size, |codec, packet| {
        if !connected {
            // rumqttc's mqtt_connect: the first packet must be a successful CONNACK.
            match packet {
                Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => {}
                _ => return false,
            }
            connected = true;
            for i in 0..in_flight {
                let qos = if i % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let publish = Publish::new("t", qos, vec![i as u8]);
                if let Ok(Some(p)) = state.handle_outgoing_packet(Request::Publish(publish)) {
                    codec.encode(p, &mut out).unwrap();
                }
            }
            if let Ok(Some(p)) = state.handle_outgoing_packet(Request::PingReq(rumqttc::PingReq)) {
                codec.encode(p, &mut out).unwrap();
            }
            return true;
        }
        if let Packet::Publish(p) = &packet {
            print(p.topic.as_bytes(), &p.payload, p.qos as u8, p.retain, None);
        }
        state.events.clear();
        match state.handle_incoming_packet(packet) {
            Ok(Some(reply)) => {
                // Answers (PUBACK, PUBREC, PUBREL, PUBCOMP) must encode.
                codec.encode(reply, &mut out).unwrap();
                out.clear();
                true
            }
            Ok(None) => true,
            Err(_) => false,
        }
    });
}

fn v5(stream: &[u8], in_flight: usize, read_size: usize) {
    use rumqttc::v5::mqttbytes::v5::{Codec, ConnectReturnCode, Packet, Publish};
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::{MqttState, Request};

    let mut codec = Codec {
        max_incoming_size: Some(MAX_PACKET as u32),
        max_outgoing_size: None,
    };
    let mut state = MqttState::new(INFLIGHT, false);
    let mut out = BytesMut::new();
    let mut connected = false;
    frames(&mut codec, stream, read_size, |codec, packet| {
        if !connected {
            // rumqttc's mqtt_connect, then the event loop hands the CONNACK to the state.
            match &packet {
                Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => {
                    if let Some(props) = &ack.properties {
                        codec.max_outgoing_size = props.max_packet_size;
                    }
                }
                _ => return false,
            }
            connected = true;
            if state.handle_incoming_packet(packet).is_err() {
                return false;
            }
            for i in 0..in_flight {
                let qos = if i % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let publish = Publish::new("t", qos, vec![i as u8], None);
                if let Ok(Some(p)) = state.handle_outgoing_packet(Request::Publish(publish)) {
                    // The broker may have asked for a tiny maximum packet size.
                    let _ = codec.encode(p, &mut out);
                }
            }
            if let Ok(Some(p)) = state.handle_outgoing_packet(Request::PingReq) {
                let _ = codec.encode(p, &mut out);
            }
            return true;
        }
        state.events.clear();
        let publish = match &packet {
            Packet::Publish(p) => Some(p.clone()),
            _ => None,
        };
        let result = state.handle_incoming_packet(packet);
        if let Some(p) = publish {
            print(
                &p.topic,
                &p.payload,
                p.qos as u8,
                p.retain,
                p.properties.as_ref(),
            );
        }
        match result {
            Ok(Some(reply)) => {
                let _ = codec.encode(reply, &mut out);
                out.clear();
                true
            }
            Ok(None) => true,
            Err(_) => false,
        }
    });
}
