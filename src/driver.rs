//! The connection, for MQTT 3.1.1 or 5, run in a task of its own: rumqttc connects, then
//! mqttc's loop (`Conn` over a `Wire` per version) reads, writes and pings. Every difference
//! between the versions stays here; the session sees only [`Ev`] and [`Client`].
//!
//! Why a task of its own: the session must wait on other things (standard input, signals,
//! deadlines, a blocked standard output) while the connection keeps answering the broker. The
//! driver forwards each event over a channel; the session sees when the channel is empty,
//! which is when it flushes its output.
//!
//! The session hands messages to the outbox (shared on the one thread); the driver writes
//! them, choosing or learning each packet id, takes them out when confirmed, and sends them
//! again after a reconnect. The session hears when the outbox may have changed (`Outbox`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use rumqttc::v5 as mq5;
use rumqttc::v5::mqttbytes::v5 as p5;
use rumqttc::{self as mq4, TlsConfiguration, Transport};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::cli::Qos;
use crate::config::{Config, Family, Target, Version, V5};
use crate::duration::format_duration;
use crate::exit::{Failure, Status};
use crate::outbox::{Out, Outbox, Resend};

/// Bigger than any packet MQTT can carry, so rumqttc's 10 KiB default never applies.
const MAX_PACKET: usize = crate::config::MAX_REMAINING_LENGTH + 5;

/// QoS 1/2 publishes awaiting acknowledgement at once: enough to keep the broker busy. Under
/// MQTT 5 the broker's Receive Maximum lowers it.
const INFLIGHT: u16 = 1000;

/// MQTT 3.1.1 has no Receive Maximum, and a broker may hold only so many incoming QoS 2
/// messages before PUBREL: mosquitto answers the 21st with a PUBREC that 3.1.1 cannot mark as
/// a refusal, and drops the message. 20 is mosquitto's default and libmosquitto's window.
const INFLIGHT_V311_QOS2: u16 = 20;

/// Whether the run may publish at QoS 2 (--input json sets the QoS per record).
fn may_publish_qos2(cfg: &Config) -> bool {
    cfg.qos == Qos::ExactlyOnce
        || matches!(
            cfg.publish.as_ref().map(|p| &p.payload),
            Some(crate::config::Payload::Json)
        )
}

fn inflight_v311(cfg: &Config) -> u16 {
    if may_publish_qos2(cfg) {
        INFLIGHT_V311_QOS2
    } else {
        INFLIGHT
    }
}

/// Messages in a row that make a flood, and the pause that lets a flood gather (see `drive`).
const FLOOD: u32 = 64;
const FLOOD_PAUSE: Duration = Duration::from_millis(1);

/// One inbound application message.
#[derive(Debug)]
pub struct Inbound {
    pub topic: Bytes,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5 only.
    pub properties: Option<Box<p5::PublishProperties>>,
}

/// What the driver tells the session.
#[derive(Debug)]
pub enum Ev {
    ConnAck,
    /// Per filter: the granted QoS, or the broker's reason for refusing it.
    SubAck(Vec<Result<u8, String>>),
    Message(Inbound),
    /// The outbox changed: messages were written (QoS 0 ones have left it) or the last
    /// unconfirmed one was confirmed.
    Outbox,
    /// The broker refused a publish (MQTT 5 reason code); it has left the outbox.
    Refused(String),
    PingResp,
    DisconnectSent,
    /// The connection is lost and --reconnect is restoring it.
    Lost,
    /// A new CONNACK after a loss.
    Reconnected {
        session_present: bool,
    },
    Failed(anyhow::Error),
}

/// Writes diagnostics on standard error unless --quiet.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub quiet: bool,
    pub verbose: bool,
}

impl Log {
    pub fn warn(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("mqttc: {msg}");
        }
    }

    pub fn packet(&self, msg: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("mqttc: {msg}");
        }
    }
}

/// When the driver asks the broker for a PINGRESP: the health check's round trip, and the
/// marker after which no retained message of a subscription is still to come (the broker
/// answers a PINGREQ only after it has queued the retained messages of the SUBSCRIBE before it).
#[derive(Debug, Clone, Copy)]
pub struct Pings {
    pub after_connack: bool,
    pub after_suback: bool,
}

/// Work for the connection besides publishing.
#[derive(Debug)]
enum Control {
    Subscribe(Vec<String>, Qos),
    /// A PINGREQ as a marker (health check, end of retained messages): when one is already
    /// unanswered, its PINGRESP serves.
    Ping,
    /// The keep-alive PINGREQ: an unanswered one before it is a lost connection.
    KeepAlive,
    Disconnect,
}

/// What the session and the driver task share; both run on one thread (a `LocalSet`).
struct Shared {
    outbox: RefCell<Outbox>,
    control: RefCell<VecDeque<Control>>,
    /// The driver has work: a message or a request.
    work: Notify,
    /// The queue has room again, or the driver ended.
    room: Notify,
    ended: Cell<bool>,
}

/// Messages accepted but not yet written: with the in-flight window this bounds what a line
/// publisher holds in memory.
const QUEUE: usize = 1024;

/// The session's side of the connection.
pub struct Client {
    shared: Rc<Shared>,
}

/// The driver has ended; the reason is in the event channel.
#[derive(Debug)]
pub struct Closed;

fn qos4(q: Qos) -> mq4::QoS {
    match q {
        Qos::AtMostOnce => mq4::QoS::AtMostOnce,
        Qos::AtLeastOnce => mq4::QoS::AtLeastOnce,
        Qos::ExactlyOnce => mq4::QoS::ExactlyOnce,
    }
}

fn qos5(q: Qos) -> mq5::mqttbytes::QoS {
    match q {
        Qos::AtMostOnce => mq5::mqttbytes::QoS::AtMostOnce,
        Qos::AtLeastOnce => mq5::mqttbytes::QoS::AtLeastOnce,
        Qos::ExactlyOnce => mq5::mqttbytes::QoS::ExactlyOnce,
    }
}

impl Client {
    /// Every message accepted and not yet confirmed.
    pub fn outbox(&self) -> std::cell::Ref<'_, Outbox> {
        self.shared.outbox.borrow()
    }

    fn request(&self, c: Control) -> Result<(), Closed> {
        if self.shared.ended.get() {
            return Err(Closed);
        }
        self.shared.control.borrow_mut().push_back(c);
        self.shared.work.notify_one();
        Ok(())
    }

    pub async fn subscribe(&self, filters: &[String], qos: Qos) -> Result<(), Closed> {
        self.request(Control::Subscribe(filters.to_vec(), qos))
    }

    /// Accepts one message into the outbox, waiting while the queue is full.
    pub async fn publish(&self, m: Out) -> Result<(), Closed> {
        loop {
            if self.shared.ended.get() {
                return Err(Closed);
            }
            {
                let mut outbox = self.shared.outbox.borrow_mut();
                if outbox.queued() < QUEUE {
                    outbox.push(m);
                    self.shared.work.notify_one();
                    return Ok(());
                }
            }
            self.shared.room.notified().await;
        }
    }

    pub async fn disconnect(&self) -> Result<(), Closed> {
        self.request(Control::Disconnect)
    }
}

/// Sets up the connection (nothing is sent yet) and returns the client and the driver task's
/// future, which connects, then forwards events until the connection ends.
pub async fn start(
    cfg: &Config,
    tx: mpsc::UnboundedSender<Ev>,
    log: Log,
    pings: Pings,
    online: Rc<Cell<bool>>,
) -> Result<(Client, impl std::future::Future<Output = ()>)> {
    let (host, port) = match &cfg.target {
        Target::Tcp { host, port, family } => {
            let host = match family {
                Family::Any => host.clone(),
                Family::V4 | Family::V6 => resolve(host, *port, *family, cfg.timeout).await?,
            };
            (host, *port)
        }
        Target::WebSocket { url } => (url.clone(), 0),
        Target::Unix { path } => (path.to_string_lossy().into_owned(), 0),
    };
    let tls = cfg.tls.clone().map(TlsConfiguration::Rustls);
    let transport = match (&cfg.target, tls) {
        (Target::Unix { .. }, _) => Transport::Unix,
        (Target::WebSocket { .. }, None) => Transport::Ws,
        (Target::WebSocket { .. }, Some(tls)) => Transport::Wss(tls),
        (Target::Tcp { .. }, None) => Transport::Tcp,
        (Target::Tcp { .. }, Some(tls)) => Transport::Tls(tls),
    };
    let mut net = mq4::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    // rumqttc counts whole seconds; mqttc's own deadline in `drive` is the one that fires.
    let rumqttc_timeout = cfg.timeout.as_secs() + 2;
    net.set_connection_timeout(rumqttc_timeout);
    let keep_alive = Duration::from_secs(cfg.keepalive.into());
    let link = Link {
        tx,
        coalesce: cfg.publish.is_none() && cfg.probe.is_none() && !cfg.remove_retained,
        reconnect: cfg.reconnect,
        online,
        log,
        pings,
        timeout: cfg.timeout,
        keep_alive,
        target: cfg.target.to_string(),
    };

    log.packet(format_args!(
        "connecting to {}: CONNECT MQTT {}, client id {:?}, keep alive {} s, {}{}{}",
        cfg.target,
        match cfg.version {
            Version::V311 => "3.1.1",
            Version::V5 => "5",
        },
        cfg.client_id,
        cfg.keepalive,
        if cfg.session {
            "keep session"
        } else {
            "clean session"
        },
        match &cfg.credentials {
            Some((_, pass)) if !pass.is_empty() => ", with user name and password",
            Some(_) => ", with user name",
            None => "",
        },
        if cfg.will.is_some() {
            ", with will"
        } else {
            ""
        },
    ));

    let shared = Rc::new(Shared {
        outbox: RefCell::new(Outbox::default()),
        control: RefCell::new(VecDeque::new()),
        work: Notify::new(),
        room: Notify::new(),
        ended: Cell::new(false),
    });
    let client = Client {
        shared: shared.clone(),
    };
    match cfg.version {
        Version::V311 => {
            let window = inflight_v311(cfg);
            let mut o = mq4::MqttOptions::new(cfg.client_id.clone(), host, port);
            o.set_keep_alive(keep_alive);
            o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
            o.set_clean_session(!cfg.session);
            o.set_inflight(window);
            o.set_transport(transport);
            if let Some((user, pass)) = &cfg.credentials {
                o.set_credentials(user.clone(), pass.clone());
            }
            if let Some(w) = &cfg.will {
                o.set_last_will(mq4::LastWill {
                    topic: w.topic.clone(),
                    message: w.message.clone(),
                    qos: qos4(w.qos),
                    retain: w.retain,
                });
            }
            let mut eventloop = mq4::EventLoop::new(o, 1);
            eventloop.set_network_options(net);
            let wire = V4Wire {
                el: eventloop,
                unfinished: false,
                last_subscribe_pkid: 0,
            };
            Ok((
                client,
                futures_either::Either::Left(drive(Conn::new(wire, shared, window), link)),
            ))
        }
        Version::V5 => {
            let v5 = cfg.v5.clone().unwrap_or_default();
            let mut o = mq5::MqttOptions::new(cfg.client_id.clone(), host, port);
            o.set_keep_alive(keep_alive);
            o.set_max_packet_size(Some(MAX_PACKET as u32));
            o.set_clean_start(!cfg.session);
            o.set_outgoing_inflight_upper_limit(INFLIGHT);
            o.set_connection_timeout(rumqttc_timeout);
            o.set_network_options(net);
            o.set_transport(transport);
            // --session without --session-expiry: the broker keeps the session until it ends it.
            let expiry = v5.session_expiry.or(cfg.session.then_some(u32::MAX));
            if expiry.is_some() {
                o.set_session_expiry_interval(expiry);
            }
            if let Some((user, pass)) = &cfg.credentials {
                o.set_credentials(user.clone(), pass.clone());
            }
            if let Some(w) = &cfg.will {
                o.set_last_will(p5::LastWill {
                    topic: Bytes::from(w.topic.clone()),
                    message: w.message.clone(),
                    qos: qos5(w.qos),
                    retain: w.retain,
                    properties: None,
                });
            }
            // The channel holds at most the in-flight window.
            let (requests, el) = mq5::AsyncClient::new(o, usize::from(INFLIGHT) + 16);
            let wire = V5Wire {
                el,
                client: requests,
                v5: Box::new(v5),
                online: false,
                own_ids: VecDeque::new(),
                in_channel: 0,
                last_pkid: 0,
            };
            Ok((
                client,
                futures_either::Either::Right(drive(Conn::new(wire, shared, INFLIGHT), link)),
            ))
        }
    }
}

/// A tiny either-future, so `start` returns one type for both versions without boxing.
mod futures_either {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub enum Either<A, B> {
        Left(A),
        Right(B),
    }

    impl<A: Future<Output = ()>, B: Future<Output = ()>> Future for Either<A, B> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            // SAFETY: structural pinning; neither variant is moved out of the pin.
            unsafe {
                match self.get_unchecked_mut() {
                    Either::Left(a) => Pin::new_unchecked(a).poll(cx),
                    Either::Right(b) => Pin::new_unchecked(b).poll(cx),
                }
            }
        }
    }
}

/// --net tcp4/tcp6: rumqttc tries every address of a name, so mqttc picks the family itself.
async fn resolve(host: &str, port: u16, family: Family, timeout: Duration) -> Result<String> {
    let lookup = tokio::net::lookup_host((host, port));
    let addrs = tokio::time::timeout(timeout, lookup)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "looking up {host}: no answer within {}",
                format_duration(timeout)
            )
        })?
        .with_context(|| format!("looking up {host}"))?;
    let found = addrs
        .map(|a| a.ip())
        .find(|ip| ip.is_ipv4() == (family == Family::V4));
    match found {
        Some(ip) => Ok(ip.to_string()),
        None => Err(anyhow::anyhow!(
            "{host} has no {} address",
            if family == Family::V4 { "IPv4" } else { "IPv6" }
        )),
    }
}

/// What the driver needs besides the event loop.
struct Link {
    tx: mpsc::UnboundedSender<Ev>,
    /// A pure subscriber: nothing of ours is written but acknowledgements.
    coalesce: bool,
    /// Some(longest pause between attempts) with --reconnect.
    reconnect: Option<Duration>,
    /// False while the connection is lost and being restored.
    online: Rc<Cell<bool>>,
    log: Log,
    pings: Pings,
    timeout: Duration,
    keep_alive: Duration,
    target: String,
}

/// One step of the connection, version-neutral.
enum Step {
    ConnAck {
        session_present: bool,
    },
    Ev(Ev),
    /// Logged, nothing for the session.
    Skip,
    /// DISCONNECT is written.
    End,
}

/// One version of the protocol over rumqttc's pieces: its event loop connects (CONNECT,
/// CONNACK); after that, mqttc's own loop (`Conn`) reads, writes and pings with rumqttc's
/// state machine and codec, so that it can choose packet ids, mark resends DUP and write many
/// messages with one system call.
trait Wire {
    fn online(&self) -> bool;
    /// Whether mqttc sends the keep-alive pings (else rumqttc does).
    fn pings(&self) -> bool;
    /// A PINGREQ is unanswered or about to be written.
    fn ping_outstanding(&self) -> bool;
    /// Whether many messages go out in one write (else one write each: no use waiting to
    /// refill the window in batches).
    fn batches(&self) -> bool;
    /// Connects; the CONNACK's session-present flag and, under MQTT 5, Receive Maximum.
    async fn connect(&mut self, link: &Link) -> Result<(bool, Option<u16>)>;
    /// Reads what has arrived (at least one packet) into the state, then writes the answers.
    async fn read(&mut self, link: &Link) -> Result<()>;
    /// The next event the state holds, translated.
    fn event(&mut self, link: &Link, shared: &Shared) -> Option<Result<Step>>;
    /// Queues a PUBLISH for writing (pkid 0 at QoS 0).
    async fn publish(&mut self, pkid: u16, m: Out, link: &Link) -> Result<()>;
    /// Whether rumqttc chooses the packet id of a message at this QoS (`hand_over`).
    fn lets_rumqttc_choose(&self, _qos: Qos) -> bool {
        false
    }
    /// The packet id rumqttc gave last (it gives them in turn, 1 up to the window, then 1
    /// again), for wires that let it choose.
    fn rumqttc_last_pkid(&self) -> u16 {
        0
    }
    /// Hands a message to rumqttc, which chooses its packet id and reports it in an event.
    async fn hand_over(&mut self, _m: Out, _link: &Link) -> Result<()> {
        unreachable!("only wires that let rumqttc choose packet ids hand over")
    }
    async fn pubrel(&mut self, pkid: u16, link: &Link) -> Result<()>;
    async fn control(&mut self, c: Control, link: &Link) -> Result<()>;
    async fn flush(&mut self, link: &Link) -> Result<()>;
    /// Drops the connection and forgets what rumqttc's state holds (the outbox has it all).
    fn clean(&mut self);
    /// Whether I/O was left half-done (a read or write dropped at an await) or requests wait
    /// inside rumqttc: then `finish` must run before anything races against the connection.
    fn busy(&self) -> bool;
    /// Completes what `busy` reports: flushes what was left in the write buffer, or (MQTT 5)
    /// lets rumqttc's poll() write the pending requests.
    async fn finish(&mut self, link: &Link) -> Result<()>;
}

/// The connection after CONNACK: reads acknowledgements and messages, writes what the session
/// queued (as many messages as the in-flight window allows, then one flush), pings.
struct Conn<W> {
    wire: W,
    shared: Rc<Shared>,
    /// QoS 1/2 messages in flight at most; also the highest packet id.
    window: u16,
    upper: u16,
    next_ping: Option<Instant>,
    /// REFILL_WAIT has passed: write whatever fits.
    refill_due: bool,
    /// Every SUBSCRIBE of the run, made again after a reconnect to a broker without our
    /// session (before any message is sent again, so none misses its subscriber).
    subscriptions: Vec<(Vec<String>, Qos)>,
    /// Of those, the ones written and not yet answered, oldest first: made again after any
    /// reconnect.
    unanswered: VecDeque<usize>,
    /// A marker PINGREQ (`Control::Ping`) is unanswered: its PINGRESP goes to the session.
    marker_sent: bool,
    /// A marker waits for an unanswered PINGREQ before it (a keep-alive one, sent before what
    /// the marker must follow).
    marker_waiting: bool,
    /// When mqttc last wrote a PINGREQ (marker or keep-alive).
    last_ping: Option<Instant>,
    /// The packet id rumqttc would give the next message is still held by a message in flight
    /// (MQTT 5): nothing is handed over until that one is complete.
    blocked_on: Option<u16>,
}

/// The driver's end: the session's waits end with it.
impl<W> Drop for Conn<W> {
    fn drop(&mut self) {
        self.shared.ended.set(true);
        self.shared.room.notify_one();
    }
}

impl<W: Wire> Conn<W> {
    fn new(wire: W, shared: Rc<Shared>, window: u16) -> Self {
        Conn {
            wire,
            shared,
            window,
            upper: window,
            next_ping: None,
            refill_due: false,
            subscriptions: Vec::new(),
            unanswered: VecDeque::new(),
            marker_sent: false,
            marker_waiting: false,
            last_ping: None,
            blocked_on: None,
        }
    }

    /// A PINGRESP came: whether it answers a marker (else a keep-alive PINGREQ; a marker
    /// waiting for it goes now).
    fn pingresp(&mut self) -> bool {
        if std::mem::take(&mut self.marker_sent) {
            return true;
        }
        if std::mem::take(&mut self.marker_waiting) {
            self.queue_ping();
        }
        false
    }

    /// What the connection makes of an event before the session gets it: None when it is not
    /// for the session (the PINGRESP to a keep-alive PINGREQ).
    fn on_event(&mut self, ev: Ev, link: &Link) -> Option<Ev> {
        match ev {
            Ev::PingResp if !self.pingresp() => None,
            Ev::SubAck(codes) => {
                // The oldest SUBSCRIBE is answered.
                self.unanswered.pop_front();
                if link.pings.after_suback {
                    self.queue_ping();
                }
                Some(Ev::SubAck(codes))
            }
            ev => Some(ev),
        }
    }

    fn queue_ping(&mut self) {
        self.shared.control.borrow_mut().push_back(Control::Ping);
    }

    fn has_work(&self) -> bool {
        if !self.shared.control.borrow().is_empty() {
            return true;
        }
        // The window refills once a worthwhile batch fits (an eighth of it, or all that is
        // queued): refilling after every few acknowledgements costs a write, and a wake-up of
        // the broker, per few messages. The messages in flight keep the broker busy meanwhile.
        // It waits for that at most REFILL_WAIT (`refill_due`): mosquitto leaves Nagle's
        // algorithm on, so its acknowledgements wait for our TCP ACK, which the kernel delays
        // by up to 40 ms when no data of ours goes out.
        let (queued, room) = self.queued_and_room();
        queued > 0
            && room > 0
            && !self.blocked()
            && (self.refill_due || room >= queued.min(self.batch()))
    }

    fn blocked(&self) -> bool {
        self.blocked_on
            .is_some_and(|id| self.shared.outbox.borrow().holds(id))
    }

    fn batch(&self) -> usize {
        // A small window (QoS 2 under 3.1.1: 20) frees one message at a time; waiting for more
        // would only idle the broker.
        if self.wire.batches() && self.window >= 64 {
            usize::from(self.window) / 8
        } else {
            1
        }
    }

    fn queued_and_room(&self) -> (usize, usize) {
        let outbox = self.shared.outbox.borrow();
        let room = usize::from(self.window).saturating_sub(outbox.in_flight());
        (outbox.queued(), room)
    }

    /// Messages wait and some fit, but not yet a batch.
    fn refill_waiting(&self) -> bool {
        let (queued, room) = self.queued_and_room();
        queued > 0 && room > 0 && !self.blocked()
    }

    fn clean(&mut self, link: &Link) {
        // Events already taken in (acknowledgements above all) reach the session first.
        while let Some(step) = self.wire.event(link, &self.shared) {
            if let Ok(Step::Ev(ev)) = step {
                if let Some(ev) = self.on_event(ev, link) {
                    let _ = link.tx.send(ev);
                }
            }
        }
        self.wire.clean();
        // A marker that lost its PINGRESP with the connection goes again on the new one.
        if std::mem::take(&mut self.marker_sent) | std::mem::take(&mut self.marker_waiting) {
            self.queue_ping();
        }
    }

    async fn step(&mut self, link: &Link) -> Result<Step> {
        if !self.wire.online() {
            return self.connect(link).await;
        }
        loop {
            if let Some(step) = self.wire.event(link, &self.shared) {
                return step;
            }
            if self.wire.busy() {
                tokio::time::timeout(link.timeout, self.wire.finish(link))
                    .await
                    .map_err(|_| write_timeout(link))?
                    .map_err(established)?;
                continue;
            }
            if self.has_work() {
                let written = tokio::time::timeout(link.timeout, self.write(link))
                    .await
                    .map_err(|_| write_timeout(link))?
                    .map_err(established)?;
                if written > 0 {
                    return Ok(Step::Ev(Ev::Outbox));
                }
                continue;
            }
            let ping = self.next_ping;
            let refill = self.refill_waiting();
            tokio::select! {
                r = self.wire.read(link) => r.map_err(established)?,
                _ = self.shared.work.notified() => {}
                _ = tokio::time::sleep(REFILL_WAIT), if refill => self.refill_due = true,
                _ = sleep_until_opt(ping), if ping.is_some() => {
                    let now = Instant::now();
                    // A marker PINGREQ written less than a keep-alive interval ago still has
                    // time for its PINGRESP: the keep-alive one waits for that interval.
                    let due = self.last_ping.map(|at| at + link.keep_alive);
                    match due {
                        Some(due) if due > now && self.wire.ping_outstanding() => {
                            self.next_ping = Some(due);
                        }
                        _ => {
                            self.next_ping = Some(now + link.keep_alive);
                            self.shared.control.borrow_mut().push_back(Control::KeepAlive);
                        }
                    }
                }
            }
        }
    }

    async fn connect(&mut self, link: &Link) -> Result<Step> {
        let (session_present, receive_maximum) = self.wire.connect(link).await?;
        if let Some(max) = receive_maximum {
            self.window = max.clamp(1, self.upper);
        }
        self.next_ping = (self.wire.pings() && !link.keep_alive.is_zero())
            .then(|| Instant::now() + link.keep_alive);
        let again: Vec<usize> = if session_present {
            self.unanswered.drain(..).collect()
        } else {
            self.unanswered.clear();
            (0..self.subscriptions.len()).collect()
        };
        let resend = {
            let mut outbox = self.shared.outbox.borrow_mut();
            if session_present {
                outbox.resume(Instant::now())
            } else {
                let count = outbox.requeue();
                if count > 0 {
                    link.log.packet(format_args!(
                        "the broker kept no session: sending {count} unconfirmed again"
                    ));
                }
                Vec::new()
            }
        };
        if !resend.is_empty() {
            link.log.packet(format_args!(
                "the broker kept the session: sending {} unconfirmed again",
                resend.len()
            ));
        }
        if !again.is_empty() || !resend.is_empty() {
            let again = async {
                for i in again {
                    let (filters, qos) = self.subscriptions[i].clone();
                    self.unanswered.push_back(i);
                    self.wire
                        .control(Control::Subscribe(filters, qos), link)
                        .await?;
                }
                for r in resend {
                    match r {
                        Resend::Publish(pkid, m) => self.wire.publish(pkid, m, link).await?,
                        Resend::PubRel(pkid) => self.wire.pubrel(pkid, link).await?,
                    }
                }
                self.wire.flush(link).await
            };
            tokio::time::timeout(link.timeout, again)
                .await
                .map_err(|_| write_timeout(link))??;
        }
        Ok(Step::ConnAck { session_present })
    }

    /// Writes the queued requests and as many messages as the window takes, then flushes once;
    /// the number of messages written.
    async fn write(&mut self, link: &Link) -> Result<usize> {
        self.refill_due = false;
        self.blocked_on = None;
        // The ids rumqttc will give, in turn (it has nothing queued when `write` runs: see
        // `Wire::busy`). SUBSCRIBEs written here take one each before any message.
        let mut last_id = self.wire.rumqttc_last_pkid();
        let window = self.window;
        let next_id = |last: u16| if last >= window { 1 } else { last + 1 };
        loop {
            let next = self.shared.control.borrow_mut().pop_front();
            match next {
                Some(c) => {
                    match &c {
                        Control::Subscribe(filters, qos) => {
                            self.unanswered.push_back(self.subscriptions.len());
                            self.subscriptions.push((filters.clone(), *qos));
                            if self.wire.lets_rumqttc_choose(*qos) {
                                last_id = next_id(last_id);
                            }
                        }
                        Control::Ping if self.wire.ping_outstanding() => {
                            self.marker_waiting = true;
                            continue;
                        }
                        Control::Ping => {
                            self.marker_sent = true;
                            self.last_ping = Some(Instant::now());
                        }
                        Control::KeepAlive => self.last_ping = Some(Instant::now()),
                        _ => {}
                    }
                    self.wire.control(c, link).await?
                }
                None => break,
            }
        }
        let now = Instant::now();
        let mut written = 0usize;
        loop {
            let (pkid, m, handed) = {
                let mut outbox = self.shared.outbox.borrow_mut();
                if outbox.in_flight() >= usize::from(self.window) {
                    break;
                }
                let Some(m) = outbox.pop() else { break };
                if self.wire.lets_rumqttc_choose(m.qos) {
                    if m.qos != Qos::AtMostOnce {
                        // Never an id a message in flight holds (a QoS 2 one waiting for
                        // PUBCOMP above all): rumqttc checks only those awaiting PUBACK/PUBREC.
                        let id = next_id(last_id);
                        if outbox.holds(id) {
                            outbox.unpop(m);
                            self.blocked_on = Some(id);
                            break;
                        }
                        last_id = id;
                    }
                    outbox.handed_over(m.clone(), now);
                    (0, m, true)
                } else if m.qos == Qos::AtMostOnce {
                    (0, m, false)
                } else {
                    // In the outbox before it is written: a write that fails loses nothing.
                    let pkid = outbox.next_pkid(self.window);
                    outbox.sent(pkid, m.clone(), now);
                    (pkid, m, false)
                }
            };
            if handed {
                self.wire.hand_over(m, link).await?;
            } else {
                self.wire.publish(pkid, m, link).await?;
            }
            written += 1;
        }
        self.wire.flush(link).await?;
        if written > 0 {
            self.shared.room.notify_one();
        }
        Ok(written)
    }
}

/// The longest wait for room for a batch of messages (see `Conn::has_work`).
const REFILL_WAIT: Duration = Duration::from_millis(1);

/// Rounds of `readb` after the first, at most, before writing again.
const READ_MORE: usize = 50;

/// The future's output if it is ready at once.
async fn ready_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        r = f => Some(r),
        _ = std::future::ready(()) => None,
    }
}

/// Sleeps until `at`, or for ever.
pub(crate) async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The hint about ports and TLS fits a connection reset before CONNACK, not one that worked.
fn established(e: anyhow::Error) -> anyhow::Error {
    let text = e.to_string();
    match text.strip_suffix(RESET_HINT) {
        Some(plain) if e.downcast_ref::<Failure>().is_none() => anyhow::anyhow!("{plain}"),
        _ => e,
    }
}

const RESET_HINT: &str = " (wrong port, or TLS expected?)";

fn write_timeout(link: &Link) -> anyhow::Error {
    anyhow::anyhow!(
        "connection to {} lost: could not write for {}",
        link.target,
        format_duration(link.timeout)
    )
}

async fn drive<W: Wire>(mut conn: Conn<W>, link: Link) {
    let first = tokio::time::timeout(link.timeout, conn.step(&link)).await;
    let connected = match first {
        Err(_) => Err(anyhow::anyhow!(
            "connect to {}: no CONNACK within {}",
            link.target,
            format_duration(link.timeout)
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Step::ConnAck { session_present })) => {
            link.log.packet(format_args!(
                "received CONNACK (session present: {session_present})"
            ));
            Ok(())
        }
        Ok(Ok(_)) => Err(anyhow::anyhow!(
            "connect to {}: expected CONNACK",
            link.target
        )),
    };
    if let Err(e) = connected {
        let _ = link.tx.send(Ev::Failed(e));
        return;
    }
    let _ = link.tx.send(Ev::ConnAck);
    if link.pings.after_connack {
        conn.queue_ping();
    }
    // Messages since the socket last ran dry.
    let mut burst = 0u32;
    loop {
        let step = if link.coalesce && burst >= FLOOD && !conn.has_work() && !conn.wire.busy() {
            // In a flood, a subscriber that reads the moment anything arrives makes the broker
            // send one small TCP segment per message, and both sides pay per segment. Pausing
            // for a moment once the socket is drained lets messages gather into large reads: on
            // 2 cores this took the subscriber from 0.75 to 0.17 CPU seconds per 200,000
            // messages and its rate to the raw-socket ceiling. A trickle never pauses.
            // (Cancelling the step here is safe: with nothing to write and nothing half-done
            // it is waiting to read, or for work; I/O dropped half-way is finished by the
            // next step, see `Wire::busy`.)
            tokio::select! {
                biased;
                step = conn.step(&link) => step,
                _ = std::future::ready(()) => {
                    burst = 0;
                    tokio::time::sleep(FLOOD_PAUSE).await;
                    conn.step(&link).await
                }
            }
        } else {
            conn.step(&link).await
        };
        if let Ok(Step::Ev(Ev::Message(_))) = &step {
            burst += 1;
        }
        match step {
            Ok(Step::Ev(ev)) => {
                if let Some(ev) = conn.on_event(ev, &link) {
                    if link.tx.send(ev).is_err() {
                        return;
                    }
                }
            }
            Ok(Step::Skip | Step::ConnAck { .. }) => {}
            Ok(Step::End) => {
                link.log.packet("sent DISCONNECT");
                let _ = link.tx.send(Ev::DisconnectSent);
                return;
            }
            Err(e) => {
                if link.reconnect.is_none() || crate::exit::status_of(&e) != Status::Operational {
                    let _ = link.tx.send(Ev::Failed(e));
                    return;
                }
                link.log.warn(format_args!("{e:#}; reconnecting"));
                link.online.set(false);
                conn.clean(&link);
                let _ = link.tx.send(Ev::Lost);
                match reconnect(&mut conn, &link).await {
                    Ok(session_present) => {
                        link.online.set(true);
                        link.log.warn(format_args!(
                            "reconnected to {} (session present: {session_present})",
                            link.target
                        ));
                        let _ = link.tx.send(Ev::Reconnected { session_present });
                    }
                    Err(e) => {
                        let _ = link.tx.send(Ev::Failed(e));
                        return;
                    }
                }
            }
        }
    }
}

/// Tries again and again, with exponential backoff and jitter, until a CONNACK comes; only a
/// refusal (bad credentials and the like) gives up.
async fn reconnect<W: Wire>(conn: &mut Conn<W>, link: &Link) -> Result<bool> {
    let max = link.reconnect.unwrap_or(Duration::from_secs(30));
    let mut delay = Duration::from_millis(100).min(max);
    let mut seed = jitter_seed();
    loop {
        // Full jitter in the upper half: clients that lost the same broker spread out.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pause = delay / 2 + delay.mul_f64((seed % 1000) as f64 / 2000.0);
        link.log
            .packet(format_args!("reconnecting in {}", format_duration(pause)));
        tokio::time::sleep(pause).await;
        conn.clean(link);
        match tokio::time::timeout(link.timeout, conn.step(link)).await {
            Ok(Ok(Step::ConnAck { session_present })) => return Ok(session_present),
            Ok(Ok(_)) => {}
            Ok(Err(e)) if crate::exit::status_of(&e) != Status::Operational => return Err(e),
            Ok(Err(e)) => link.log.packet(format_args!("reconnect failed: {e:#}")),
            Err(_) => link.log.packet("reconnect failed: no CONNACK in time"),
        }
        delay = (delay * 2).min(max);
    }
}

fn jitter_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    (nanos ^ u64::from(std::process::id())) | 1
}

/// Flushes rumqttc's write buffer, bounded by --timeout.
macro_rules! flush_network {
    ($network:expr, $link:expr, $err:expr) => {
        match tokio::time::timeout($link.timeout, $network.flush()).await {
            Ok(r) => r.map_err(|e| $err(e, &$link.target)),
            Err(_) => Err(write_timeout($link)),
        }
    };
}

struct V4Wire {
    el: mq4::EventLoop,
    /// A read or write started and not finished (dropped at an await).
    unfinished: bool,
    /// SUBSCRIBE packet ids, apart from those of publishes (1..=window).
    last_subscribe_pkid: u16,
}

/// SUBSCRIBE packet ids on MQTT 3.1.1: above any publish's (the window is at most 1000).
const SUBSCRIBE_PKIDS: std::ops::RangeInclusive<u16> = 60001..=65535;

fn state_v4(e: mq4::StateError, target: &str) -> anyhow::Error {
    error_v4(mq4::ConnectionError::MqttState(e), target)
}

impl V4Wire {
    fn out(&mut self, request: mq4::Request, target: &str) -> Result<Option<mq4::Packet>> {
        self.el
            .state
            .handle_outgoing_packet(request)
            .map_err(|e| state_v4(e, target))
    }

    async fn send(&mut self, packet: Option<mq4::Packet>, target: &str) -> Result<()> {
        if let (Some(p), Some(network)) = (packet, self.el.network.as_mut()) {
            self.unfinished = true;
            network.write(p).await.map_err(|e| state_v4(e, target))?;
        }
        Ok(())
    }
}

impl Wire for V4Wire {
    fn online(&self) -> bool {
        self.el.network.is_some()
    }

    fn pings(&self) -> bool {
        true
    }

    fn batches(&self) -> bool {
        true
    }

    fn ping_outstanding(&self) -> bool {
        self.el.state.await_pingresp
    }

    async fn connect(&mut self, link: &Link) -> Result<(bool, Option<u16>)> {
        use mq4::{Event, Incoming};
        match self
            .el
            .poll()
            .await
            .map_err(|e| error_v4(e, &link.target))?
        {
            Event::Incoming(Incoming::ConnAck(ack)) => Ok((ack.session_present, None)),
            other => Err(anyhow::anyhow!(
                "connect to {}: expected CONNACK, got {}",
                link.target,
                packet_name(&format!("{other:?}"))
            )),
        }
    }

    async fn read(&mut self, link: &Link) -> Result<()> {
        self.unfinished = true;
        let mq4::EventLoop { network, state, .. } = &mut self.el;
        let network = network.as_mut().expect("online");
        network
            .readb(state)
            .await
            .map_err(|e| state_v4(e, &link.target))?;
        // rumqttc takes 10 packets at a time; everything already received is taken before
        // writing again, so that the in-flight window refills in large writes. Dropping
        // `readb` when its first read is pending loses nothing; it cannot be pending later,
        // writing an answer, as the write buffer stays below tokio-util's 8 KiB boundary
        // (READ_MORE × 10 answers of 4 bytes, and `finish` flushes what a dropped read left).
        for _ in 0..READ_MORE {
            match ready_now(network.readb(state)).await {
                Some(r) => r.map_err(|e| state_v4(e, &link.target))?,
                None => break,
            }
        }
        flush_network!(network, link, state_v4)?;
        self.unfinished = false;
        Ok(())
    }

    async fn publish(&mut self, pkid: u16, m: Out, link: &Link) -> Result<()> {
        let mut p = mq4::Publish::from_bytes(&*m.topic, qos4(m.qos), m.payload);
        p.retain = m.retain;
        p.pkid = pkid;
        p.dup = m.dup && pkid != 0;
        let packet = self.out(mq4::Request::Publish(p), &link.target)?;
        // The event says what the write says; the outbox knows it already.
        if let Some(mq4::Event::Outgoing(mq4::Outgoing::Publish(id))) = self.el.state.events.back()
        {
            link.log.packet(format_args!("sent PUBLISH packet id {id}"));
            self.el.state.events.pop_back();
        }
        self.send(packet, &link.target).await
    }

    async fn pubrel(&mut self, pkid: u16, link: &Link) -> Result<()> {
        let packet = self.out(mq4::Request::PubRel(mq4::PubRel::new(pkid)), &link.target)?;
        self.send(packet, &link.target).await
    }

    async fn control(&mut self, c: Control, link: &Link) -> Result<()> {
        let request = match c {
            Control::Subscribe(filters, qos) => {
                // Written past rumqttc's state, which would take a packet id of the publish
                // range (it does not check the SUBACK's id).
                let mut sub = mq4::Subscribe::new_many(
                    filters
                        .into_iter()
                        .map(|f| mq4::SubscribeFilter::new(f, qos4(qos))),
                );
                self.last_subscribe_pkid = match self.last_subscribe_pkid {
                    id if SUBSCRIBE_PKIDS.contains(&id) && id < *SUBSCRIBE_PKIDS.end() => id + 1,
                    _ => *SUBSCRIBE_PKIDS.start(),
                };
                sub.pkid = self.last_subscribe_pkid;
                link.log
                    .packet(format_args!("sent SUBSCRIBE packet id {}", sub.pkid));
                return self
                    .send(Some(mq4::Packet::Subscribe(sub)), &link.target)
                    .await;
            }
            Control::Ping | Control::KeepAlive => mq4::Request::PingReq(mq4::PingReq),
            Control::Disconnect => mq4::Request::Disconnect(mq4::Disconnect),
        };
        let packet = self.out(request, &link.target)?;
        self.send(packet, &link.target).await
    }

    async fn flush(&mut self, link: &Link) -> Result<()> {
        self.unfinished = true;
        if let Some(network) = self.el.network.as_mut() {
            flush_network!(network, link, state_v4)?;
        }
        self.unfinished = false;
        Ok(())
    }

    fn busy(&self) -> bool {
        self.unfinished
    }

    async fn finish(&mut self, link: &Link) -> Result<()> {
        self.flush(link).await
    }

    fn clean(&mut self) {
        self.unfinished = false;
        self.el.clean();
        self.el.pending.clear();
        self.el.state.events.clear();
        self.el.state.collision = None;
    }

    fn event(&mut self, link: &Link, shared: &Shared) -> Option<Result<Step>> {
        use mq4::{Event, Incoming};
        let log = link.log;
        let event = self.el.state.events.pop_front()?;
        Some(Ok(match event {
            Event::Incoming(Incoming::Publish(p)) => {
                log_publish(
                    log,
                    &p.topic,
                    p.qos as u8,
                    p.retain,
                    p.pkid,
                    p.payload.len(),
                );
                Step::Ev(Ev::Message(Inbound {
                    topic: Bytes::from(p.topic),
                    payload: p.payload,
                    qos: p.qos as u8,
                    retain: p.retain,
                    properties: None,
                }))
            }
            Event::Incoming(Incoming::SubAck(ack)) => {
                log.packet(format_args!("received SUBACK packet id {}", ack.pkid));
                Step::Ev(Ev::SubAck(
                    ack.return_codes
                        .iter()
                        .map(|c| match c {
                            mq4::SubscribeReasonCode::Success(q) => Ok(*q as u8),
                            mq4::SubscribeReasonCode::Failure => Err("failure".to_owned()),
                        })
                        .collect(),
                ))
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                log.packet(format_args!("received PUBACK packet id {}", ack.pkid));
                acked(shared, ack.pkid)
            }
            Event::Incoming(Incoming::PubRec(rec)) => {
                log.packet(format_args!("received PUBREC packet id {}", rec.pkid));
                shared.outbox.borrow_mut().released(rec.pkid);
                Step::Skip
            }
            Event::Incoming(Incoming::PubComp(ack)) => {
                log.packet(format_args!("received PUBCOMP packet id {}", ack.pkid));
                acked(shared, ack.pkid)
            }
            Event::Incoming(Incoming::PingResp) => {
                log.packet("received PINGRESP");
                Step::Ev(Ev::PingResp)
            }
            Event::Incoming(other) => {
                log.packet(format_args!(
                    "received {}",
                    packet_name(&format!("{other:?}"))
                ));
                Step::Skip
            }
            Event::Outgoing(o) => outgoing(log, o),
        }))
    }
}

/// A final acknowledgement: the message leaves the outbox. The session hears of it when
/// the outbox is empty (what it waits for); a message per acknowledgement would cost more
/// than the acknowledgement itself.
fn acked(shared: &Shared, pkid: u16) -> Step {
    let mut outbox = shared.outbox.borrow_mut();
    if outbox.done(pkid) && outbox.is_empty() {
        Step::Ev(Ev::Outbox)
    } else {
        Step::Skip
    }
}

/// MQTT 5: rumqttc keeps this event loop's connection private, so its `poll()` does the
/// reading, writing and pinging. Messages go through its request channel and rumqttc chooses
/// their packet ids, in turn; the outbox learns each from the `Outgoing::Publish` event, in
/// order, and `Conn::write` hands a message over only when the id it will get is free (rumqttc
/// itself would reuse one a QoS 2 exchange still holds). Everything sent again after a
/// reconnect, and requests (SUBSCRIBE, PINGREQ, DISCONNECT), go through its public queue of
/// pending requests, with the ids mqttc chooses and DUP set; that queue waits a timer tick
/// (about 1 ms) per request. One write per packet: the batched fast path is MQTT 3.1.1's.
struct V5Wire {
    el: mq5::EventLoop,
    client: mq5::AsyncClient,
    v5: Box<V5>,
    online: bool,
    /// Packet ids of the publishes put in `pending`, in order.
    own_ids: VecDeque<u16>,
    /// Messages in rumqttc's request channel, not yet reported written.
    in_channel: usize,
    /// The packet id rumqttc gave last (publishes and SUBSCRIBEs).
    last_pkid: u16,
}

impl Wire for V5Wire {
    fn online(&self) -> bool {
        self.online
    }

    fn pings(&self) -> bool {
        false
    }

    fn batches(&self) -> bool {
        false
    }

    fn ping_outstanding(&self) -> bool {
        self.el.state.await_pingresp
            || self
                .el
                .pending
                .iter()
                .any(|r| matches!(r, mq5::Request::PingReq))
    }

    async fn connect(&mut self, link: &Link) -> Result<(bool, Option<u16>)> {
        use mq5::{Event, Incoming};
        match self
            .el
            .poll()
            .await
            .map_err(|e| error_v5(e, &link.target))?
        {
            Event::Incoming(Incoming::ConnAck(ack)) => {
                self.online = true;
                Ok((
                    ack.session_present,
                    ack.properties.as_ref().and_then(|p| p.receive_max),
                ))
            }
            other => Err(anyhow::anyhow!(
                "connect to {}: expected CONNACK, got {}",
                link.target,
                packet_name(&format!("{other:?}"))
            )),
        }
    }

    async fn read(&mut self, link: &Link) -> Result<()> {
        // Raced against new work only when no request is pending (see `busy`): then it is
        // waiting to read, or writing a few bytes of acknowledgement or PINGREQ, which stay
        // in the write buffer if it is dropped. A poll() dropped while it writes a request
        // from `pending` would lose that packet, so with requests pending it runs to the end.
        match self.el.poll().await {
            Ok(event) => {
                self.el.state.events.push_front(event);
                Ok(())
            }
            Err(e) => {
                self.online = false;
                Err(error_v5(e, &link.target))
            }
        }
    }

    async fn publish(&mut self, pkid: u16, m: Out, _link: &Link) -> Result<()> {
        let properties = m.properties.or_else(|| self.v5.publish_properties.clone());
        let mut p = p5::Publish::new(&*m.topic, qos5(m.qos), m.payload, properties);
        p.retain = m.retain;
        p.pkid = pkid;
        p.dup = m.dup && pkid != 0;
        self.own_ids.push_back(pkid);
        self.el.pending.push_back(mq5::Request::Publish(p));
        Ok(())
    }

    fn lets_rumqttc_choose(&self, _qos: Qos) -> bool {
        true
    }

    fn rumqttc_last_pkid(&self) -> u16 {
        self.last_pkid
    }

    async fn hand_over(&mut self, m: Out, link: &Link) -> Result<()> {
        let properties = m.properties.or_else(|| self.v5.publish_properties.clone());
        let (topic, qos, payload) = (&*m.topic, qos5(m.qos), m.payload);
        let sent = match properties {
            Some(p) => self
                .client
                .try_publish_with_properties(topic, qos, m.retain, payload, p),
            None => self.client.try_publish(topic, qos, m.retain, payload),
        };
        sent.map_err(|e| anyhow::anyhow!("connection to {}: {e}", link.target))?;
        self.in_channel += 1;
        Ok(())
    }

    async fn pubrel(&mut self, pkid: u16, _link: &Link) -> Result<()> {
        self.el
            .pending
            .push_back(mq5::Request::PubRel(p5::PubRel::new(pkid, None)));
        Ok(())
    }

    async fn control(&mut self, c: Control, _link: &Link) -> Result<()> {
        let request = match c {
            Control::Subscribe(filters, qos) => {
                let v5 = &self.v5;
                let rule = match v5.retain_handling {
                    0 => p5::RetainForwardRule::OnEverySubscribe,
                    1 => p5::RetainForwardRule::OnNewSubscribe,
                    _ => p5::RetainForwardRule::Never,
                };
                let filters = filters.into_iter().map(|f| p5::Filter {
                    path: f,
                    qos: qos5(qos),
                    nolocal: v5.no_local,
                    preserve_retain: v5.retain_as_published,
                    retain_forward_rule: rule.clone(),
                });
                mq5::Request::Subscribe(p5::Subscribe::new_many(filters, None))
            }
            Control::Ping | Control::KeepAlive => mq5::Request::PingReq,
            Control::Disconnect => mq5::Request::Disconnect,
        };
        self.el.pending.push_back(request);
        Ok(())
    }

    async fn flush(&mut self, _link: &Link) -> Result<()> {
        Ok(())
    }

    fn busy(&self) -> bool {
        !self.el.pending.is_empty() || self.in_channel > 0
    }

    async fn finish(&mut self, link: &Link) -> Result<()> {
        self.read(link).await
    }

    fn clean(&mut self) {
        self.online = false;
        self.own_ids.clear();
        self.in_channel = 0;
        self.el.clean();
        self.el.pending.clear();
        self.el.state.events.clear();
        self.el.state.collision = None;
    }

    fn event(&mut self, link: &Link, shared: &Shared) -> Option<Result<Step>> {
        use mq5::{Event, Incoming};
        let log = link.log;
        let event = self.el.state.events.pop_front()?;
        Some(Ok(match event {
            Event::Outgoing(mq4::Outgoing::Publish(pkid)) => {
                log.packet(format_args!("sent PUBLISH packet id {pkid}"));
                if self.own_ids.front() == Some(&pkid) {
                    self.own_ids.pop_front();
                    return Some(Ok(Step::Skip));
                }
                self.in_channel = self.in_channel.saturating_sub(1);
                if pkid != 0 {
                    self.last_pkid = pkid;
                }
                let mut outbox = shared.outbox.borrow_mut();
                if outbox.assigned(pkid) && outbox.is_empty() {
                    Step::Ev(Ev::Outbox)
                } else {
                    Step::Skip
                }
            }
            Event::Outgoing(mq4::Outgoing::Subscribe(pkid)) => {
                self.last_pkid = pkid;
                log.packet(format_args!("sent SUBSCRIBE packet id {pkid}"));
                Step::Skip
            }
            Event::Incoming(Incoming::Publish(p)) => {
                let topic = String::from_utf8_lossy(&p.topic);
                log_publish(log, &topic, p.qos as u8, p.retain, p.pkid, p.payload.len());
                Step::Ev(Ev::Message(Inbound {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos as u8,
                    retain: p.retain,
                    properties: p.properties.map(Box::new),
                }))
            }
            Event::Incoming(Incoming::SubAck(ack)) => {
                log.packet(format_args!("received SUBACK packet id {}", ack.pkid));
                Step::Ev(Ev::SubAck(
                    ack.return_codes
                        .iter()
                        .map(|c| match c {
                            p5::SubscribeReasonCode::Success(q) => Ok(*q as u8),
                            other => Err(reason_name(&format!("{other:?}"))),
                        })
                        .collect(),
                ))
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                log.packet(format_args!(
                    "received PUBACK packet id {} ({:?})",
                    ack.pkid, ack.reason
                ));
                match ack.reason {
                    p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers => {
                        acked(shared, ack.pkid)
                    }
                    other => refused(shared, ack.pkid, &format!("{other:?}")),
                }
            }
            Event::Incoming(Incoming::PubRec(rec)) => {
                log.packet(format_args!(
                    "received PUBREC packet id {} ({:?})",
                    rec.pkid, rec.reason
                ));
                match rec.reason {
                    p5::PubRecReason::Success | p5::PubRecReason::NoMatchingSubscribers => {
                        shared.outbox.borrow_mut().released(rec.pkid);
                        Step::Skip
                    }
                    // rumqttc drops the publish without a PUBREL: this is its final answer.
                    other => refused(shared, rec.pkid, &format!("{other:?}")),
                }
            }
            Event::Incoming(Incoming::PubComp(ack)) => {
                log.packet(format_args!("received PUBCOMP packet id {}", ack.pkid));
                acked(shared, ack.pkid)
            }
            Event::Incoming(Incoming::PingResp(_)) => {
                log.packet("received PINGRESP");
                Step::Ev(Ev::PingResp)
            }
            Event::Incoming(Incoming::Disconnect(d)) => {
                return Some(Err(anyhow::anyhow!(
                    "disconnected by {}: {}",
                    link.target,
                    reason_name(&format!("{:?}", d.reason_code))
                )));
            }
            Event::Incoming(other) => {
                log.packet(format_args!(
                    "received {}",
                    packet_name(&format!("{other:?}"))
                ));
                Step::Skip
            }
            Event::Outgoing(o) => outgoing(log, o),
        }))
    }
}

fn refused(shared: &Shared, pkid: u16, reason: &str) -> Step {
    if shared.outbox.borrow_mut().done(pkid) {
        Step::Ev(Ev::Refused(reason_name(reason)))
    } else {
        Step::Skip
    }
}

/// Both protocol versions report what went out with the same type.
fn outgoing(log: Log, o: mq4::Outgoing) -> Step {
    match o {
        mq4::Outgoing::Publish(pkid) => {
            log.packet(format_args!("sent PUBLISH packet id {pkid}"));
            Step::Skip
        }
        mq4::Outgoing::Disconnect => Step::End,
        other => {
            log.packet(format_args!("sent {}", packet_name(&format!("{other:?}"))));
            Step::Skip
        }
    }
}

fn log_publish(log: Log, topic: &str, qos: u8, retain: bool, pkid: u16, len: usize) {
    log.packet(format_args!(
        "received PUBLISH topic {topic:?} QoS {qos} retain {retain} packet id {pkid} ({len} bytes)"
    ));
}

/// `PubRec(PubRec { pkid: 3, .. })` → `PUBREC packet id 3`; `PingReq` → `PINGREQ`.
fn packet_name(debug: &str) -> String {
    let name_end = debug.find(['(', ' ', '{']).unwrap_or(debug.len());
    let name = debug[..name_end].to_uppercase();
    match debug.find("pkid: ").map(|i| &debug[i + 6..]) {
        Some(rest) => {
            let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
            format!("{name} packet id {id}")
        }
        None => match debug[name_end..].trim_matches(['(', ')']).parse::<u16>() {
            Ok(id) => format!("{name} packet id {id}"),
            Err(_) => name,
        },
    }
}

/// `NotAuthorized` → `not authorized`.
fn reason_name(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A connection failure of MQTT 3.1.1 as one line, with the exit status the contract gives it.
fn error_v4(e: mq4::ConnectionError, target: &str) -> anyhow::Error {
    use mq4::ConnectionError as E;
    match e {
        E::ConnectionRefused(code) => {
            // exit.rs holds the one table of return codes, statuses and meanings.
            let status = Status::from_connack_v4(code as u8);
            let what = status.meaning();
            let what = what.strip_prefix("connection refused: ").unwrap_or(what);
            Failure::error(status, format!("connection refused by {target}: {what}"))
        }
        E::Tls(e) => tls_error(&e, target),
        E::Io(e) => io_error(e, target),
        E::MqttState(e) => state_error(e, target),
        E::NetworkTimeout => anyhow::anyhow!("connect to {target}: timed out"),
        E::FlushTimeout => anyhow::anyhow!("connection to {target}: write timed out"),
        E::NotConnAck(p) => not_connack(&format!("{p:?}"), target),
        other => anyhow::anyhow!("connection to {target}: {other}"),
    }
}

/// A connection failure of MQTT 5 as one line; CONNACK reasons map onto exit statuses 5–9.
fn error_v5(e: mq5::ConnectionError, target: &str) -> anyhow::Error {
    use mq5::ConnectionError as E;
    use p5::ConnectReturnCode as C;
    match e {
        E::ConnectionRefused(code) => {
            let status = match code {
                C::RefusedProtocolVersion | C::UnsupportedProtocolVersion => {
                    Status::ProtocolVersion
                }
                C::BadClientId | C::ClientIdentifierNotValid => Status::IdentifierRejected,
                C::ServiceUnavailable | C::ServerUnavailable | C::ServerBusy => {
                    Status::ServerUnavailable
                }
                C::BadUserNamePassword => Status::BadCredentials,
                C::NotAuthorized => Status::NotAuthorized,
                _ => Status::Operational,
            };
            let what = reason_name(&format!("{code:?}"));
            Failure::error(status, format!("connection refused by {target}: {what}"))
        }
        E::Tls(e) => tls_error(&e, target),
        E::Io(e) => io_error(e, target),
        E::MqttState(mq5::StateError::Io(e)) => io_lost(e, target),
        E::MqttState(mq5::StateError::Deserialization(mq5::mqttbytes::Error::Io(e))) => {
            io_lost(e, target)
        }
        E::MqttState(mq5::StateError::ConnectionAborted) => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
        E::MqttState(mq5::StateError::AwaitPingResp) => no_pingresp(target),
        E::MqttState(mq5::StateError::Deserialization(e)) => malformed(&e.to_string(), target),
        E::MqttState(mq5::StateError::Unsolicited(pkid)) => unsolicited(pkid, target),
        E::MqttState(mq5::StateError::WrongPacket) => wrong_packet(target),
        E::MqttState(mq5::StateError::ServerDisconnect {
            reason_code,
            reason_string,
        }) => {
            let reason = reason_name(&format!("{reason_code:?}"));
            match reason_string {
                Some(text) => anyhow::anyhow!("disconnected by {target}: {reason} ({text})"),
                None => anyhow::anyhow!("disconnected by {target}: {reason}"),
            }
        }
        E::MqttState(e) => anyhow::anyhow!("connection to {target}: protocol error: {e}"),
        E::Timeout(_) => anyhow::anyhow!("connect to {target}: timed out"),
        E::NotConnAck(p) => not_connack(&format!("{p:?}"), target),
        other => anyhow::anyhow!("connection to {target}: {other}"),
    }
}

fn not_connack(debug: &str, target: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "connect to {target}: expected CONNACK, got {}",
        packet_name(debug)
    )
}

/// rumqttc's decoding errors, in mqttc's words: "Invalid QoS level: 3" → "malformed packet
/// from the broker: invalid QoS level 3".
fn malformed(what: &str, target: &str) -> anyhow::Error {
    let what = what.replacen(": ", " ", 1);
    let what = match what.as_str() {
        "Malformed packet" => "malformed packet".to_owned(),
        "Remaining length is malformed" => "malformed remaining length".to_owned(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    };
    let what = what.replace("Connect return code", "CONNACK return code");
    anyhow::anyhow!("connection to {target}: malformed packet from the broker: {what}")
}

fn unsolicited(pkid: u16, target: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "connection to {target}: the broker acknowledged packet id {pkid}, which is not in flight"
    )
}

fn wrong_packet(target: &str) -> anyhow::Error {
    anyhow::anyhow!("connection to {target}: the broker sent a packet a client may not receive")
}

fn state_error(e: mq4::StateError, target: &str) -> anyhow::Error {
    match e {
        mq4::StateError::Deserialization(mq4::mqttbytes::Error::Io(e)) => io_lost(e, target),
        mq4::StateError::ConnectionAborted => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
        mq4::StateError::Io(e) => io_lost(e, target),
        mq4::StateError::AwaitPingResp => no_pingresp(target),
        mq4::StateError::Deserialization(e) => malformed(&e.to_string(), target),
        mq4::StateError::Unsolicited(pkid) => unsolicited(pkid, target),
        mq4::StateError::WrongPacket => wrong_packet(target),
        e => anyhow::anyhow!("connection to {target}: protocol error: {e}"),
    }
}

fn no_pingresp(target: &str) -> anyhow::Error {
    anyhow::anyhow!("connection to {target} lost: no PINGRESP within the keep-alive interval")
}

/// The connection failed after CONNECT went out: TLS alerts about the client certificate
/// arrive here under TLS 1.3, and a reset usually means the wrong port or protocol.
fn io_lost(e: io::Error, target: &str) -> anyhow::Error {
    if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return anyhow::anyhow!("TLS with {target}: {}", crate::tls::describe(r));
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset => {
            anyhow::anyhow!("connection to {target} lost: reset by the broker{RESET_HINT}")
        }
        io::ErrorKind::UnexpectedEof => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
        // tokio-util's framing: the stream ended inside a packet.
        _ if e.to_string() == "bytes remaining on stream" => anyhow::anyhow!(
            "connection to {target} lost: closed by the broker in the middle of a packet"
        ),
        _ => anyhow::anyhow!("connection to {target} lost: {}", strip_os_error(&e)),
    }
}

/// "Broken pipe (os error 32)" → "broken pipe".
fn strip_os_error(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn tls_error(e: &mq4::TlsError, target: &str) -> anyhow::Error {
    let rustls_error = match e {
        mq4::TlsError::TLS(r) => Some(r),
        mq4::TlsError::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match rustls_error {
        Some(r) => anyhow::anyhow!("TLS with {target}: {}", crate::tls::describe(r)),
        None => anyhow::anyhow!("TLS with {target}: {e}"),
    }
}

fn io_error(e: io::Error, target: &str) -> anyhow::Error {
    if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return anyhow::anyhow!("TLS with {target}: {}", crate::tls::describe(r));
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            anyhow::anyhow!("connect to {target}: connection refused (nothing listening?)")
        }
        io::ErrorKind::NotFound => anyhow::anyhow!("connect to {target}: no such socket"),
        io::ErrorKind::ConnectionReset => anyhow::anyhow!(
            "connect to {target}: reset by the broker (wrong port, or TLS not expected?)"
        ),
        io::ErrorKind::UnexpectedEof => {
            anyhow::anyhow!("connect to {target}: connection closed by the broker")
        }
        _ => anyhow::anyhow!("connect to {target}: {}", strip_os_error(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_names_for_verbose_lines() {
        assert_eq!(packet_name("PingReq"), "PINGREQ");
        assert_eq!(packet_name("PubRel(7)"), "PUBREL packet id 7");
        assert_eq!(
            packet_name("PubRec(PubRec { pkid: 3, reason: Success })"),
            "PUBREC packet id 3"
        );
        assert_eq!(packet_name("Subscribe(12)"), "SUBSCRIBE packet id 12");
    }

    #[test]
    fn reason_names_are_words() {
        assert_eq!(reason_name("NotAuthorized"), "not authorized");
        assert_eq!(reason_name("TopicFilterInvalid"), "topic filter invalid");
        assert_eq!(reason_name("Failure"), "failure");
    }

    #[test]
    fn connack_refusals_map_onto_exit_statuses() {
        use crate::exit::status_of;
        let v4 = |c| status_of(&error_v4(mq4::ConnectionError::ConnectionRefused(c), "b")).code();
        use mq4::ConnectReturnCode as C4;
        assert_eq!(
            [
                v4(C4::RefusedProtocolVersion),
                v4(C4::BadClientId),
                v4(C4::ServiceUnavailable),
                v4(C4::BadUserNamePassword),
                v4(C4::NotAuthorized)
            ],
            [5, 6, 7, 8, 9]
        );
        let v5 = |c| status_of(&error_v5(mq5::ConnectionError::ConnectionRefused(c), "b")).code();
        use p5::ConnectReturnCode as C5;
        assert_eq!(
            [
                v5(C5::UnsupportedProtocolVersion),
                v5(C5::ClientIdentifierNotValid),
                v5(C5::ServerUnavailable),
                v5(C5::ServerBusy),
                v5(C5::BadUserNamePassword),
                v5(C5::NotAuthorized),
                v5(C5::Banned),
            ],
            [5, 6, 7, 7, 8, 9, 1]
        );
        let err = error_v5(mq5::ConnectionError::ConnectionRefused(C5::Banned), "b");
        assert_eq!(err.to_string(), "connection refused by b: banned");
    }
}
