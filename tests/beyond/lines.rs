//! Publishing: `-l/--lines` (+ `--skip-empty`) and the payload sources `-m` and `-f`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use super::*;

#[test]
fn ten_thousand_lines_at_qos1_arrive_complete_and_in_order() {
    let b = Broker::start(BrokerOptions::new().extra(BIG_QUEUE));
    let mut obs = Observer::start(&b, &["bulk"], 1, &[]);
    let input: String = (1..=10_000).map(|i| format!("line {i}\n")).collect();
    let out = run(
        &mut mqttc(&argv("-l -q 1 -p bulk", &[&b.addr()])),
        input.as_bytes(),
        Duration::from_secs(20),
    );
    assert_output(&out, 0, "", "");
    let got = obs.wait_for(10_000, Duration::from_secs(20));
    for (i, m) in got.iter().enumerate() {
        let want = format!("line {}", i + 1);
        assert!(
            m.topic == "bulk" && m.payload == want.as_bytes() && m.qos == 1 && !m.retain,
            "message {} is {m:?}, expected {want:?} at QoS 1 on bulk",
            i + 1
        );
    }
    obs.assert_no_more(QUIET);
}

/// mosquitto silently drops messages for a subscriber that lags behind by more than
/// max_queued_messages (1000 by default); on 2 busy cores an observer might. (Not 0, "no
/// limit": with it 2.0.11 closes the connection of a 3.1.1 publisher that has more than 20
/// QoS 2 messages in flight.)
const BIG_QUEUE: &str = "max_queued_messages 1000000";

/// `-l -q 2` of 2,000 lines with the `version` options; the observer must get them all, in
/// order.
fn lines_at_qos2(version: &str) {
    let b = Broker::start(BrokerOptions::new().extra(BIG_QUEUE));
    let mut obs = Observer::start(&b, &["bulk2"], 2, &[]);
    let input: String = (1..=2_000).map(|i| format!("{i}\n")).collect();
    let line = format!("-l -q 2 -p bulk2 {version}");
    let out = run_mqttc(&argv(&line, &[&b.addr()]), input.as_bytes());
    assert_output(&out, 0, "", "");
    let got = obs.wait_for(2_000, T);
    for (i, m) in got.iter().enumerate() {
        let want = (i + 1).to_string();
        assert!(
            m.topic == "bulk2" && m.payload == want.as_bytes() && m.qos == 2 && !m.retain,
            "message {} is {m:?}, expected {want:?} at QoS 2",
            i + 1
        );
    }
    obs.assert_no_more(QUIET);
}

#[test]
fn lines_at_qos2_under_mqtt5_arrive_complete_and_in_order() {
    lines_at_qos2("--mqtt-version 5");
}

#[test]
fn lines_at_qos2_under_mqtt311_arrive_complete_and_in_order() {
    lines_at_qos2("");
}

#[test]
fn lines_are_sent_as_they_arrive() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["live"], 1, &[]);
    let mut p = spawn(&mut mqttc(&argv("-l -q 1 -p live", &[&b.addr()])));
    // Each line reaches the subscriber while mqttc's stdin is still open, before the next
    // line is written.
    for (written, expected) in [
        (&b"first\n"[..], &b"first"[..]),
        (b"second\r\n", b"second"),
        (b"\n", b""),
        (b"third\n", b"third"),
    ] {
        p.write_stdin(written);
        assert_eq!(obs.wait_for(1, T), vec![msg("live", expected, 1, false)]);
    }
    // A last line without a line break is sent at the end of input.
    p.write_stdin(b"no line break");
    assert_output(&p.wait(T), 0, "", "");
    assert_eq!(
        obs.wait_for(1, T),
        vec![msg("live", b"no line break", 1, false)]
    );
    obs.assert_no_more(QUIET);
}

#[test]
fn line_breaks_and_empty_lines() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["l/#"], 1, &[]);
    // \n and \r\n end a line; a lone \r is part of the message.
    let input = b"a\n\nb\r\n\r\nx\ry\n\nc";
    let expect = |topic: &str, payloads: &[&[u8]]| -> Vec<Message> {
        payloads.iter().map(|p| msg(topic, p, 1, false)).collect()
    };

    let out = run_mqttc(&argv("-l -q 1 -p l/all", &[&b.addr()]), input);
    assert_output(&out, 0, "", "");
    let all = expect("l/all", &[b"a", b"", b"b", b"", b"x\ry", b"", b"c"]);
    assert_eq!(obs.wait_for(all.len(), T), all);
    obs.assert_no_more(QUIET);

    let out = run_mqttc(&argv("-l --skip-empty -q 1 -p l/skip", &[&b.addr()]), input);
    assert_output(&out, 0, "", "");
    let skip = expect("l/skip", &[b"a", b"b", b"x\ry", b"c"]);
    assert_eq!(obs.wait_for(skip.len(), T), skip);
    obs.assert_no_more(QUIET);
}

#[test]
fn long_and_binary_lines_arrive_whole() {
    // Far beyond rumqttc's default 10 KiB packet limit.
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["long"], 1, &[]);
    let long = vec![b'x'; 200_000];
    let binary = b"\xff\xfe\x00 not UTF-8".to_vec();
    let input = [&long[..], b"\n", &binary, b"\n"].concat();
    let out = run_mqttc(&argv("-l -q 1 -p long", &[&b.addr()]), &input);
    assert_output(&out, 0, "", "");
    assert_eq!(
        obs.wait_for(2, T),
        vec![msg("long", &long, 1, false), msg("long", &binary, 1, false)]
    );
}

#[test]
fn lines_with_empty_input_send_nothing() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["#"], 1, &[]);
    let out = run_mqttc(&argv("-l -q 1 -p nothing", &[&b.addr()]), b"");
    assert_output(&out, 0, "", "");
    let out = run_mqttc(
        &argv("-l --skip-empty -q 1 -p nothing", &[&b.addr()]),
        b"\n\r\n\n",
    );
    assert_output(&out, 0, "", "");
    obs.assert_no_more(QUIET);
}

#[test]
fn message_and_file_sources() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["src/#"], 1, &[]);
    // -m: the text, not standard input.
    let out = run_mqttc(
        &argv("-q 1 -p src/m -m", &["from -m", &b.addr()]),
        b"stdin is ignored",
    );
    assert_output(&out, 0, "", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("src/m", b"from -m", 1, false)]);
    // -m '': an empty message.
    let out = run_mqttc(&argv("-q 1 -p src/empty -m", &["", &b.addr()]), b"");
    assert_output(&out, 0, "", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("src/empty", b"", 1, false)]);
    // -f: the file's bytes exactly, trailing line break included.
    let content: Vec<u8> = (0..=255u8).chain(*b"\r\nend\n").collect();
    let path = file_in(&b, "payload.bin", &content);
    let out = run_mqttc(
        &argv("-q 1 -p src/f -f", &[&path, &b.addr()]),
        b"stdin is ignored",
    );
    assert_output(&out, 0, "", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("src/f", &content, 1, false)]);
    obs.assert_no_more(QUIET);
}

#[test]
fn conflicting_or_missing_sources_exit_2_and_send_nothing() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["#"], 1, &[]);
    let file = file_in(&b, "f.txt", b"file");
    let addr = b.addr();
    for sources in [
        argv("-m x -f", &[&file]),
        argv("-m x -l", &[]),
        argv("-l -f", &[&file]),
        argv("-m x --input json", &[]),
        argv("--input json -f", &[&file]),
    ] {
        let args = [&sources[..], &["-p", "conflict", &addr]].concat();
        assert_usage_error(&run_mqttc(&args, b"line\n"));
    }
    let missing = b.dir().join("no-such-file").display().to_string();
    let out = run_mqttc(&argv("-p conflict -f", &[&missing, &addr]), b"");
    assert_output(
        &out,
        2,
        "",
        &format!("mqttc: --file {missing}: no such file\n"),
    );
    obs.assert_no_more(QUIET);
}

/// Reads one MQTT packet: (first byte, body). None at EOF or on error.
fn read_packet(conn: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut byte = [0u8; 1];
    conn.read_exact(&mut byte).ok()?;
    let kind = byte[0];
    let (mut len, mut shift) = (0usize, 0);
    loop {
        conn.read_exact(&mut byte).ok()?;
        len |= usize::from(byte[0] & 0x7f) << shift;
        shift += 7;
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some((kind, body))
}

/// A fake MQTT 3.1.1 broker on loopback that accepts one client, acknowledges its first QoS 1
/// PUBLISH and no other, and keeps the connection open until the client closes it. Returns its
/// address and a receiver for the number of PUBLISH packets it got.
fn broker_that_acks_only_the_first_publish() -> (String, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(T)).unwrap();
        let mut publishes = 0;
        while let Some((kind, body)) = read_packet(&mut conn) {
            match kind >> 4 {
                1 => conn.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap(), // CONNACK accepted
                3 => {
                    publishes += 1;
                    if publishes == 1 {
                        let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                        let id = &body[2 + topic_len..4 + topic_len];
                        conn.write_all(&[0x40, 0x02, id[0], id[1]]).unwrap(); // PUBACK
                    }
                }
                12 => conn.write_all(&[0xd0, 0x00]).unwrap(), // PINGRESP
                _ => {}
            }
        }
        let _ = tx.send(publishes);
    });
    (addr, rx)
}

#[test]
fn lines_not_acknowledged_are_counted_and_exit_1() {
    let (addr, publishes) = broker_that_acks_only_the_first_publish();
    let out = run_mqttc(&argv("-l -q 1 -p t --timeout 1s", &[&addr]), b"a\nb\nc\n");
    let expected =
        format!("mqttc: 2 of 3 messages not confirmed: no PUBACK from {addr} within 1s\n");
    assert_output(&out, 1, "", &expected);
    assert_eq!(publishes.recv_timeout(T), Ok(3));
}

#[test]
fn explicit_input_raw_is_the_default() {
    let b = Broker::plain();
    let mut obs = Observer::start(&b, &["raw"], 1, &[]);
    let out = run_mqttc(&argv("--input raw -l -q 1 -p raw", &[&b.addr()]), b"a\nb\n");
    assert_output(&out, 0, "", "");
    let out = run_mqttc(&argv("--input raw -q 1 -p raw", &[&b.addr()]), b"a\nb\n");
    assert_output(&out, 0, "", "");
    assert_eq!(
        obs.wait_for(3, T),
        vec![
            msg("raw", b"a", 1, false),
            msg("raw", b"b", 1, false),
            msg("raw", b"a\nb\n", 1, false)
        ]
    );
}
