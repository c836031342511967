//! Fault injection for mqttc's reliability tests (issue 5): a TCP proxy that runs in a thread of
//! the test process between mqttc and a test broker, and a fake broker that writes raw bytes.
//!
//! Include it with `#[path = "support/fault.rs"] mod fault;`. It depends on nothing but std.
//!
//! ## Proxy
//! [`Proxy::start`] listens on `127.0.0.1:0` and forwards every accepted connection to
//! `127.0.0.1:UPSTREAM` (one upstream connection per client connection, made when the client
//! connects; if the upstream refuses, as a killed broker does, the client connection is closed
//! at once). On command it can:
//! - [`Proxy::cut`]: close every live connection, both sides (the client and the broker each
//!   see an orderly close, as when the other end goes away); new connections are accepted as
//!   the [`Mode`] says;
//! - [`Proxy::stall`] / [`Proxy::stall_down`] / [`Proxy::stall_up`]: stop forwarding (both ways,
//!   broker→client only, client→broker only) without closing anything: bytes already read are
//!   held, nothing more is read, so the sender's socket buffers fill. [`Proxy::resume`] forwards
//!   again what was held and everything after it;
//! - [`Proxy::slow`]: forward at most so many bytes per second each way (a slow link);
//! - [`Proxy::set_mode`]: what happens to *new* connections: [`Mode::Forward`],
//!   [`Mode::BlackHole`] (accepted, kept open, never read nor answered) or [`Mode::Refuse`]
//!   (accepted and closed at once).
//!
//! [`Proxy::start_tapped`] also cuts both byte streams into MQTT packets: each packet forwarded
//! is recorded as a [`TapEvent`] (type, flags, packet id, and the payload of a PUBLISH) *before*
//! it is written on, so an acknowledgement is always recorded after the publish it answers. It
//! can drop packets of chosen types in one direction ([`Proxy::drop_packets`]), e.g. PUBCOMP
//! from the broker: the broker completed the message, the client never hears of it, exactly as
//! if the connection had been cut right after the broker sent it.
//!
//! ## Fake broker
//! [`FakeBroker::start`] accepts connections on `127.0.0.1:0` and runs a script of your own (a
//! closure given the `TcpStream`) for each, in a thread of its own; [`read_packet`],
//! [`remaining_length`], [`CONNACK_OK`] and [`drain`] help to write the script.
//! [`silent_listener`] is a listener that never accepts (the kernel completes the handshake,
//! nobody ever reads).
//!
//! Everything is dropped cleanly: the accept threads end, every connection is shut down.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// MQTT framing
// ---------------------------------------------------------------------------------------------

/// MQTT control packet types (the high nibble of the first byte).
pub mod kind {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
    pub const AUTH: u8 = 15;

    /// "PUBACK" for 4, and so on.
    pub fn name(k: u8) -> &'static str {
        [
            "RESERVED0",
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBACK",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "SUBSCRIBE",
            "SUBACK",
            "UNSUBSCRIBE",
            "UNSUBACK",
            "PINGREQ",
            "PINGRESP",
            "DISCONNECT",
            "AUTH",
        ][(k & 15) as usize]
    }
}

/// A successful MQTT 3.1.1 CONNACK (no session present, return code 0).
pub const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// The variable-length "remaining length" encoding of `n` (at most 268,435,455).
pub fn remaining_length(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return out;
        }
    }
}

/// Total length of the packet at the start of `buf` (fixed header included): `None` while the
/// header is incomplete, `Some(Err(()))` if the remaining length is malformed (5 bytes).
fn frame_len(buf: &[u8]) -> Option<Result<usize, ()>> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        len |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Some(Ok(1 + i + 1 + len));
        }
    }
    Some(Err(()))
}

/// Reads one whole packet (bounded by `timeout`): returns its first byte and its body (what
/// follows the remaining length).
pub fn read_packet(s: &mut TcpStream, timeout: Duration) -> io::Result<(u8, Vec<u8>)> {
    s.set_read_timeout(Some(timeout))?;
    let mut head = vec![0u8; 1];
    s.read_exact(&mut head)?;
    let mut len = 0usize;
    for i in 0..4 {
        let mut b = [0u8];
        s.read_exact(&mut b)?;
        len |= ((b[0] & 0x7f) as usize) << (7 * i);
        if b[0] & 0x80 == 0 {
            let mut body = vec![0u8; len];
            s.read_exact(&mut body)?;
            return Ok((head[0], body));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "malformed remaining length",
    ))
}

/// Reads and discards until the peer closes or `limit` passes: keeps a connection open for as
/// long as the client keeps it.
pub fn drain(s: &mut TcpStream, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Direction of a packet through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client (mqttc) → broker.
    Up,
    /// Broker → client.
    Down,
}

/// One packet the tapping proxy forwarded (or dropped on purpose).
#[derive(Clone, Debug)]
pub struct TapEvent {
    /// Connection number, from 1, in accept order.
    pub conn: usize,
    pub dir: Dir,
    /// Packet type (see [`kind`]).
    pub kind: u8,
    /// Low nibble of the first byte (for PUBLISH: DUP 8, QoS 6, RETAIN 1).
    pub flags: u8,
    /// Packet id, for the packet types that have one (PUBLISH only at QoS 1/2).
    pub pkid: Option<u16>,
    /// PUBLISH only.
    pub topic: Option<Vec<u8>>,
    /// PUBLISH only.
    pub payload: Option<Vec<u8>>,
    /// Dropped by a [`Proxy::drop_packets`] rule: never written on.
    pub dropped: bool,
}

impl TapEvent {
    pub fn qos(&self) -> u8 {
        (self.flags >> 1) & 3
    }
    pub fn dup(&self) -> bool {
        self.flags & 8 != 0
    }
}

fn read_varint(body: &[u8], at: &mut usize) -> Option<usize> {
    let mut n = 0usize;
    for i in 0..4 {
        let b = *body.get(*at)?;
        *at += 1;
        n |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// Decodes what the tap records of one whole packet.
fn describe(conn: usize, dir: Dir, raw: &[u8], v5: bool) -> TapEvent {
    let first = raw[0];
    let (k, flags) = (first >> 4, first & 15);
    let body_at = match frame_len(raw) {
        Some(Ok(total)) => total - (frame_len_body(raw)),
        _ => raw.len(),
    };
    let body = &raw[body_at..];
    let mut ev = TapEvent {
        conn,
        dir,
        kind: k,
        flags,
        pkid: None,
        topic: None,
        payload: None,
        dropped: false,
    };
    let id_at = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]))
    };
    match k {
        kind::PUBLISH => {
            let parse = || -> Option<(Vec<u8>, Option<u16>, Vec<u8>)> {
                let tlen = id_at(0)? as usize;
                let topic = body.get(2..2 + tlen)?.to_vec();
                let mut at = 2 + tlen;
                let mut pkid = None;
                if (flags >> 1) & 3 > 0 {
                    pkid = id_at(at);
                    at += 2;
                }
                if v5 {
                    let plen = read_varint(body, &mut at)?;
                    at += plen;
                }
                Some((topic, pkid, body.get(at..)?.to_vec()))
            };
            if let Some((topic, pkid, payload)) = parse() {
                ev.topic = Some(topic);
                ev.pkid = pkid;
                ev.payload = Some(payload);
            }
        }
        kind::PUBACK
        | kind::PUBREC
        | kind::PUBREL
        | kind::PUBCOMP
        | kind::SUBSCRIBE
        | kind::SUBACK
        | kind::UNSUBSCRIBE
        | kind::UNSUBACK => ev.pkid = id_at(0),
        _ => {}
    }
    ev
}

/// Length of the body of the (complete) packet `raw`.
fn frame_len_body(raw: &[u8]) -> usize {
    let mut len = 0usize;
    for i in 0..4 {
        let b = raw[1 + i];
        len |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    len
}

// ---------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------

/// What the proxy does with a *new* connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Connect to the upstream and forward (the default).
    Forward,
    /// Accept, keep open, never read, never answer.
    BlackHole,
    /// Accept and close at once.
    Refuse,
}

struct Conn {
    id: usize,
    client: TcpStream,
    upstream: Option<TcpStream>,
    dead: Arc<AtomicBool>,
}

impl Conn {
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        if let Some(u) = &self.upstream {
            let _ = u.shutdown(Shutdown::Both);
        }
    }
}

struct State {
    mode: Mode,
    stall_up: bool,
    stall_down: bool,
    /// Bytes per second each direction forwards at most (0: no limit).
    rate: usize,
    drop_up: Vec<u8>,
    drop_down: Vec<u8>,
    conns: Vec<Conn>,
    accepted: usize,
    forwarded: usize,
    closed_by_proxy: usize,
    closed: bool,
    tap: Vec<TapEvent>,
}

struct Shared {
    upstream: SocketAddr,
    tapped: bool,
    state: Mutex<State>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A fault-injecting TCP proxy in front of `127.0.0.1:UPSTREAM`. See the module docs.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// A byte-transparent proxy to `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16) -> Proxy {
        Self::start_with(upstream_port, false)
    }

    /// A proxy that also records every MQTT packet it forwards (see [`Proxy::tap`]) and can drop
    /// packets by type ([`Proxy::drop_packets`]).
    pub fn start_tapped(upstream_port: u16) -> Proxy {
        Self::start_with(upstream_port, true)
    }

    fn start_with(upstream_port: u16, tapped: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy: bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream: SocketAddr::from(([127, 0, 0, 1], upstream_port)),
            tapped,
            state: Mutex::new(State {
                mode: Mode::Forward,
                stall_up: false,
                rate: 0,
                stall_down: false,
                drop_up: Vec::new(),
                drop_down: Vec::new(),
                conns: Vec::new(),
                accepted: 0,
                forwarded: 0,
                closed_by_proxy: 0,
                closed: false,
                tap: Vec::new(),
            }),
            cv: Condvar::new(),
        });
        let sh = shared.clone();
        let accept = thread::Builder::new()
            .name(format!("proxy-accept-{port}"))
            .spawn(move || accept_loop(listener, sh))
            .expect("spawn proxy thread");
        Proxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// The port mqttc should connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1:PORT"` of the proxy.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes every live connection (client and broker side); returns how many there were.
    /// New connections are still accepted, as the mode says.
    pub fn cut(&self) -> usize {
        let mut st = self.shared.lock();
        let n = st.conns.len();
        for c in st.conns.drain(..) {
            c.kill();
        }
        st.closed_by_proxy += n;
        self.shared.cv.notify_all();
        n
    }

    /// Stops forwarding in both directions, without closing anything.
    pub fn stall(&self) {
        self.set_stall(true, true);
    }

    /// Stops forwarding broker → client only (acknowledgements are held, publishes go through).
    pub fn stall_down(&self) {
        self.set_stall(false, true);
    }

    /// Stops forwarding client → broker only.
    pub fn stall_up(&self) {
        self.set_stall(true, false);
    }

    /// Forwards at most `bytes_per_second` in each direction from now on (0: no limit): a slow
    /// link. Each slice written (a 20th of the rate at most) is followed by the time it takes
    /// at that rate.
    pub fn slow(&self, bytes_per_second: usize) {
        self.shared.lock().rate = bytes_per_second;
        self.shared.cv.notify_all();
    }

    /// Forwards again, both ways, starting with what was held.
    pub fn resume(&self) {
        self.set_stall(false, false);
    }

    fn set_stall(&self, up: bool, down: bool) {
        let mut st = self.shared.lock();
        st.stall_up = up;
        st.stall_down = down;
        self.shared.cv.notify_all();
    }

    /// What happens to new connections from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().mode = mode;
    }

    /// New connections are accepted and never answered.
    pub fn black_hole(&self) {
        self.set_mode(Mode::BlackHole);
    }

    /// New connections are accepted and closed at once.
    pub fn refuse(&self) {
        self.set_mode(Mode::Refuse);
    }

    /// New connections are forwarded (the default).
    pub fn forward(&self) {
        self.set_mode(Mode::Forward);
    }

    /// Tapping proxy only: packets of these types going in `dir` are recorded (with
    /// `dropped: true`) and not written on. An empty list drops nothing.
    pub fn drop_packets(&self, dir: Dir, kinds: &[u8]) {
        assert!(self.shared.tapped, "drop_packets needs Proxy::start_tapped");
        let mut st = self.shared.lock();
        match dir {
            Dir::Up => st.drop_up = kinds.to_vec(),
            Dir::Down => st.drop_down = kinds.to_vec(),
        }
    }

    /// Connections accepted so far (whatever the mode).
    pub fn accepted(&self) -> usize {
        self.shared.lock().accepted
    }

    /// Connections forwarded to the upstream so far.
    pub fn forwarded(&self) -> usize {
        self.shared.lock().forwarded
    }

    /// Connections currently open (forwarded or black-holed).
    pub fn live(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Waits (bounded) until at least `n` connections have been forwarded; panics otherwise.
    pub fn wait_forwarded(&self, n: usize, timeout: Duration) {
        self.wait_state(timeout, &format!("{n} forwarded connection(s)"), |s| {
            s.forwarded >= n
        });
    }

    /// Waits (bounded) until at least `n` connections have been accepted; panics otherwise.
    pub fn wait_accepted(&self, n: usize, timeout: Duration) {
        self.wait_state(timeout, &format!("{n} accepted connection(s)"), |s| {
            s.accepted >= n
        });
    }

    /// Waits (bounded) until the tap holds an event for which `pred` holds at least `n` times.
    pub fn wait_tap(
        &self,
        n: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&TapEvent) -> bool,
    ) {
        self.wait_state(timeout, what, |s| {
            s.tap.iter().filter(|e| pred(e)).count() >= n
        });
    }

    fn wait_state(&self, timeout: Duration, what: &str, cond: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while !cond(&st) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "proxy: no {what} within {timeout:?} (accepted {}, forwarded {}, live {}, tap {} packets)",
                    st.accepted,
                    st.forwarded,
                    st.conns.len(),
                    st.tap.len()
                );
            }
            st = self
                .shared
                .cv
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Every packet recorded so far (tapping proxy only), in forwarding order per direction;
    /// an acknowledgement is always after the packet it answers.
    pub fn tap(&self) -> Vec<TapEvent> {
        self.shared.lock().tap.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.closed = true;
            for c in st.conns.drain(..) {
                c.kill();
            }
            self.shared.cv.notify_all();
        }
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, sh: Arc<Shared>) {
    let mut next_id = 0usize;
    for stream in listener.incoming() {
        let Ok(client) = stream else { continue };
        let mut st = sh.lock();
        if st.closed {
            return;
        }
        next_id += 1;
        st.accepted += 1;
        let id = next_id;
        let mode = st.mode;
        sh.cv.notify_all();
        match mode {
            Mode::Refuse => {
                drop(st);
                let _ = client.shutdown(Shutdown::Both);
            }
            Mode::BlackHole => st.conns.push(Conn {
                id,
                client,
                upstream: None,
                dead: Arc::new(AtomicBool::new(false)),
            }),
            Mode::Forward => {
                drop(st);
                let up = match TcpStream::connect_timeout(&sh.upstream, Duration::from_secs(2)) {
                    Ok(up) => up,
                    Err(_) => {
                        // The broker is down: the client sees its connection closed.
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                };
                let _ = client.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let dead = Arc::new(AtomicBool::new(false));
                let v5 = Arc::new(AtomicBool::new(false));
                let (Ok(c2), Ok(u2)) = (client.try_clone(), up.try_clone()) else {
                    continue;
                };
                let mut st = sh.lock();
                if st.closed {
                    return;
                }
                st.forwarded += 1;
                st.conns.push(Conn {
                    id,
                    client: client.try_clone().expect("clone"),
                    upstream: Some(up.try_clone().expect("clone")),
                    dead: dead.clone(),
                });
                sh.cv.notify_all();
                drop(st);
                for (dir, src, dst) in [(Dir::Up, client, u2), (Dir::Down, up, c2)] {
                    let (sh, dead, v5) = (sh.clone(), dead.clone(), v5.clone());
                    thread::Builder::new()
                        .name(format!("proxy-{id}-{dir:?}"))
                        .spawn(move || pump(id, dir, src, dst, sh, dead, v5))
                        .expect("spawn pump");
                }
            }
        }
    }
}

/// Forwards one direction of one connection until either side ends, then closes both.
fn pump(
    id: usize,
    dir: Dir,
    mut src: TcpStream,
    mut dst: TcpStream,
    sh: Arc<Shared>,
    dead: Arc<AtomicBool>,
    v5: Arc<AtomicBool>,
) {
    let stalled = |st: &State| match dir {
        Dir::Up => st.stall_up,
        Dir::Down => st.stall_down,
    };
    // Blocks while this direction is stalled; false once the connection is dead.
    let wait_go = || -> bool {
        let mut st = sh.lock();
        while stalled(&st) && !dead.load(Ordering::SeqCst) && !st.closed {
            st = sh.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        !dead.load(Ordering::SeqCst) && !st.closed
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut framing_ok = true;
    loop {
        if !wait_go() {
            break;
        }
        let n = match src.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read while the stall began: hold it.
        if !wait_go() {
            break;
        }
        let out: Vec<u8> = if sh.tapped && framing_ok {
            pending.extend_from_slice(&buf[..n]);
            let mut out = Vec::with_capacity(pending.len());
            let mut st = sh.lock();
            let mut at = 0;
            loop {
                match frame_len(&pending[at..]) {
                    None => break,
                    Some(Err(())) => {
                        // Not MQTT (or broken): forward the rest untouched from now on.
                        framing_ok = false;
                        out.extend_from_slice(&pending[at..]);
                        at = pending.len();
                        break;
                    }
                    Some(Ok(total)) if pending.len() - at < total => break,
                    Some(Ok(total)) => {
                        let raw = &pending[at..at + total];
                        if dir == Dir::Up && raw[0] >> 4 == kind::CONNECT && raw.len() > 8 {
                            // Protocol level after the fixed header and "\0\x04MQTT".
                            let hdr = total - frame_len_body(raw);
                            v5.store(raw.get(hdr + 6) == Some(&5), Ordering::SeqCst);
                        }
                        let mut ev = describe(id, dir, raw, v5.load(Ordering::SeqCst));
                        let rules = match dir {
                            Dir::Up => &st.drop_up,
                            Dir::Down => &st.drop_down,
                        };
                        ev.dropped = rules.contains(&ev.kind);
                        if !ev.dropped {
                            out.extend_from_slice(raw);
                        }
                        st.tap.push(ev);
                        at += total;
                    }
                }
            }
            sh.cv.notify_all();
            drop(st);
            pending.drain(..at);
            out
        } else {
            buf[..n].to_vec()
        };
        let rate = sh.lock().rate;
        if rate == 0 {
            if !out.is_empty() && dst.write_all(&out).is_err() {
                break;
            }
            continue;
        }
        // A slow link: each slice takes its time at the rate.
        let slice = (rate / 20).max(1);
        let mut failed = false;
        for chunk in out.chunks(slice) {
            if dst.write_all(chunk).is_err() {
                failed = true;
                break;
            }
            thread::sleep(Duration::from_secs_f64(chunk.len() as f64 / rate as f64));
        }
        if failed {
            break;
        }
    }
    // One side ended (or the proxy cut it): close the whole connection.
    let mut st = sh.lock();
    if let Some(pos) = st.conns.iter().position(|c| c.id == id) {
        let c = st.conns.remove(pos);
        c.kill();
    } else {
        dead.store(true, Ordering::SeqCst);
        let _ = src.shutdown(Shutdown::Both);
        let _ = dst.shutdown(Shutdown::Both);
    }
    sh.cv.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Fake broker
// ---------------------------------------------------------------------------------------------

/// A listener on `127.0.0.1:0` that runs `script` for every connection, each in its own thread.
pub struct FakeBroker {
    port: u16,
    closed: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    accept: Option<thread::JoinHandle<()>>,
}

impl FakeBroker {
    pub fn start<F>(script: F) -> FakeBroker
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake broker: bind");
        let port = listener.local_addr().unwrap().port();
        let closed = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (c, a) = (closed.clone(), accepted.clone());
        let accept = thread::Builder::new()
            .name(format!("fake-broker-{port}"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if c.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    a.fetch_add(1, Ordering::SeqCst);
                    let script = script.clone();
                    thread::spawn(move || script(stream));
                }
            })
            .expect("spawn fake broker");
        FakeBroker {
            port,
            closed,
            accepted,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1:PORT"`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// A bound, listening socket that nobody ever accepts on: connects succeed (the kernel's
/// backlog), nothing is ever read or answered. Keep it alive for the test.
pub fn silent_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Polls `cond` every 5 ms until it holds; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        if Instant::now() >= deadline {
            panic!("not within {timeout:?}: {what}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}
