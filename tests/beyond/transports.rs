//! MQTT over WebSocket (`ws://`) and over unix domain sockets (`unix://`, `--net unix`).

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use super::*;

/// Publishes through `addr_args` (mqttc's address arguments) and checks that a subscriber on the
/// plain listener gets it; subscribes through them and checks that a message published on the
/// plain listener is printed; and probes through them.
fn publish_and_subscribe_through(b: &Broker, addr_args: &[&str], id: &str) {
    let mut obs = Observer::start(b, &["tr/#"], 1, &[]);
    let out = run_mqttc(&argv("-q 1 -m out -p tr/out", addr_args), b"");
    assert_output(&out, 0, "", "");
    assert_eq!(obs.wait_for(1, T), vec![msg("tr/out", b"out", 1, false)]);

    let args = argv(
        "-s tr/in -q 1 -C 1 --topic --prefix",
        &[&[" "][..], addr_args].concat(),
    );
    let sub = start_sub(b, id, &args);
    mosquitto_pub(b, "tr/in", b"in", 1, false, &[]);
    assert_output(&sub.wait(T), 0, "tr/in in\n", "");
    obs.wait_for(1, T);
    obs.assert_no_more(QUIET);

    let out = run_mqttc(&argv("--probe -q 1", addr_args), b"");
    assert!(
        out.code == Some(0) && out.stderr.is_empty() && out.stdout_str().starts_with("connect "),
        "{out:?}"
    );
}

#[test]
fn websocket_default_path() {
    let b = Broker::start(BrokerOptions::new().websockets());
    let addr = format!("ws://127.0.0.1:{}", b.ws_port());
    publish_and_subscribe_through(&b, &[&addr], "ws-sub");
}

#[test]
fn websocket_explicit_paths() {
    // mosquitto 2.0.11 accepts a WebSocket upgrade on any path.
    let b = Broker::start(BrokerOptions::new().websockets());
    let root = format!("ws://127.0.0.1:{}/", b.ws_port());
    publish_and_subscribe_through(&b, &[&root], "ws-root");
    let deep = format!("ws://127.0.0.1:{}/some/path", b.ws_port());
    let out = run_mqttc(&argv("-q 1 -m x -p tr/deep", &[&deep]), b"");
    assert_output(&out, 0, "", "");
}

#[test]
fn websocket_over_tls() {
    let b = Broker::start(BrokerOptions::new().websockets_tls());
    let ca = b.ca_pem();
    let ca = ca.to_str().unwrap();
    // wss:// implies TLS; the certificate is for localhost and 127.0.0.1.
    let addr = format!("wss://localhost:{}/mqtt", b.wss_port());
    publish_and_subscribe_through(&b, &["--ca", ca, &addr], "wss-sub");
    // --tls with ws:// is the same; without the CA the broker is not trusted.
    let addr = format!("ws://127.0.0.1:{}", b.wss_port());
    let out = run_mqttc(
        &argv("--tls --ca", &[ca, "-m", "x", "-p", "tr/t", &addr]),
        b"",
    );
    assert_output(&out, 0, "", "");
    let out = run_mqttc(
        &argv(
            "-m x -p tr/t",
            &[&format!("wss://localhost:{}", b.wss_port())],
        ),
        b"",
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr_str().starts_with("mqttc: ") && out.stderr_str().lines().count() == 1,
        "{out:?}"
    );
}

/// Starts a TCP server on loopback that reads one HTTP request head and closes the connection;
/// returns its port and a receiver for the head.
fn capture_http_request() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(T)).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
    });
    (port, rx)
}

#[test]
fn websocket_request_uses_the_path_of_the_address() {
    for (suffix, path) in [("", "/mqtt"), ("/", "/"), ("/a/b", "/a/b")] {
        let (port, head) = capture_http_request();
        let addr = format!("ws://127.0.0.1:{port}{suffix}");
        // The fake server closes the connection after the request: the run fails.
        let out = run_mqttc(&argv("--timeout 2s", &[&addr]), b"");
        assert_eq!(out.code, Some(1), "{out:?}");
        let head = head.recv_timeout(T).expect("no HTTP request");
        let mut lines = head.split("\r\n");
        assert_eq!(
            lines.next(),
            Some(format!("GET {path} HTTP/1.1").as_str()),
            "{head}"
        );
        let headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
        assert!(
            headers.contains(&"upgrade: websocket".to_string()),
            "{head}"
        );
        assert!(
            headers.contains(&"sec-websocket-protocol: mqtt".to_string()),
            "{head}"
        );
        assert!(
            headers.contains(&format!("host: 127.0.0.1:{port}")),
            "{head}"
        );
    }
}

#[test]
fn unix_socket_address() {
    let b = Broker::start(BrokerOptions::new().unix_socket());
    let addr = format!("unix://{}", b.unix_path().display());
    publish_and_subscribe_through(&b, &[&addr], "unix-url");
}

#[test]
fn unix_socket_with_net_unix() {
    let b = Broker::start(BrokerOptions::new().unix_socket());
    let path = b.unix_path().display().to_string();
    publish_and_subscribe_through(&b, &["--net", "unix", &path], "unix-net");
}
