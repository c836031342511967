//! The MQTT session: connect, subscribe, publish, wait for acknowledgements, print, disconnect.
//!
//! rumqttc's event loop runs in a task of its own (the *driver*) and hands every event over a
//! channel to the session, which owns standard output and the bookkeeping. That split keeps the
//! event loop polled while the session waits on other things (stdin, signals, deadlines), and it
//! lets the session see when no event is waiting: that is when standard output is flushed, so a
//! slow trickle prints at once and a flood is written in large blocks.
//!
//! rumqttc has no acknowledgement API: `publish()` only queues. The driver reports the packet
//! id of every publish as it goes out (`Sent`, in queueing order) and every PUBACK/PUBCOMP
//! (`Acked`); the session matches the two.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::ManuallyDrop;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, LastWill,
    MqttOptions, NetworkOptions, Outgoing, PingReq, QoS, Request, StateError, SubscribeFilter,
    SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::Qos;
use crate::config::{Config, Family, Payload, Retained, Target};
use crate::duration::format_duration;
use crate::exit::{Failure, Status};

/// Bigger than any packet MQTT can carry, so rumqttc's 10 KiB default never applies.
const MAX_PACKET: usize = crate::config::MAX_REMAINING_LENGTH + 5;

/// Requests queued towards the event loop; with the in-flight window below it bounds what a
/// line publisher holds in memory.
const REQUEST_QUEUE: usize = 256;

/// QoS 1/2 publishes awaiting acknowledgement at once: enough to keep the broker busy.
const INFLIGHT: u16 = 1000;

/// One inbound application message.
#[derive(Debug)]
pub struct Inbound {
    pub topic: Bytes,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
}

/// What the driver tells the session.
#[derive(Debug)]
enum Ev {
    ConnAck,
    SubAck(Vec<Option<u8>>),
    Message(Inbound),
    /// A publish went out with this packet id (0 for QoS 0).
    Sent(u16),
    /// The broker completed the publish with this packet id (PUBACK or PUBCOMP).
    Acked(u16),
    PingResp,
    DisconnectSent,
    Failed(anyhow::Error),
}

fn qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Writes diagnostics on standard error unless --quiet.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    quiet: bool,
    verbose: bool,
}

impl Log {
    pub fn warn(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("mqttc: {msg}");
        }
    }

    fn packet(&self, msg: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("mqttc: {msg}");
        }
    }
}

pub async fn run(cfg: &Config) -> Result<Status> {
    let log = Log {
        quiet: cfg.quiet,
        verbose: cfg.verbose,
    };
    if cfg.insecure {
        log.warn("warning: --insecure: the broker's certificate is not verified");
    }
    let signals = Signals::new()?;

    // Standard input is read while the connection is set up.
    let input = match cfg.publish.as_ref().map(|p| &p.payload) {
        Some(Payload::Stdin) => Input::Whole(crate::publish::read_all()),
        Some(Payload::Lines { skip_empty }) => {
            Input::Lines(crate::publish::spawn_line_reader(*skip_empty))
        }
        _ => Input::None,
    };

    let options = mqtt_options(cfg).await?;
    let (client, eventloop) = AsyncClient::new(options, REQUEST_QUEUE);
    let (tx, rx) = mpsc::unbounded_channel();
    let pings = Pings {
        after_connack: cfg.publish.is_none() && cfg.subscribe.is_empty(),
        after_suback: cfg.retained == Retained::Only,
    };
    log.packet(format_args!(
        "connecting to {}: CONNECT client id {:?}, keep alive {} s, clean session{}{}",
        cfg.target,
        cfg.client_id,
        cfg.keepalive,
        if cfg.credentials.is_some() {
            ", with user name and password"
        } else {
            ""
        },
        if cfg.will.is_some() {
            ", with will"
        } else {
            ""
        },
    ));
    let driver = tokio::spawn(drive(
        eventloop,
        tx,
        log,
        pings,
        cfg.timeout,
        cfg.target.to_string(),
    ));

    let mut session = Session {
        cfg,
        log,
        client,
        rx,
        signals,
        out: Output::new(cfg),
        connected: false,
        disconnected: false,
        suback: None,
        queued: 0,
        unacked: HashSet::new(),
        pong: false,
        to_clear: Vec::new(),
        published: 0,
        printed: 0,
        stop_printing: false,
    };
    let result = session.main(input).await;
    if let Err(err) = &result {
        // A failure after CONNACK still ends the session cleanly, so that no will is
        // published for what is an error of this run, not a lost client.
        let status = crate::exit::status_of(err);
        if session.connected
            && !session.disconnected
            && status != Status::Interrupted
            && status != Status::Terminated
        {
            let _ = session.disconnect().await;
        }
    }
    driver.abort();
    result
}

async fn mqtt_options(cfg: &Config) -> Result<MqttOptions> {
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
    let mut o = MqttOptions::new(cfg.client_id.clone(), host, port);
    o.set_keep_alive(Duration::from_secs(cfg.keepalive.into()));
    o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    o.set_clean_session(true);
    o.set_inflight(INFLIGHT);
    if let Some((user, pass)) = &cfg.credentials {
        o.set_credentials(user.clone(), pass.clone());
    }
    if let Some(will) = &cfg.will {
        o.set_last_will(LastWill {
            topic: will.topic.clone(),
            message: will.message.clone(),
            qos: qos(will.qos),
            retain: will.retain,
        });
    }
    let tls = cfg.tls.clone().map(TlsConfiguration::Rustls);
    o.set_transport(match (&cfg.target, tls) {
        (Target::Unix { .. }, _) => Transport::Unix,
        (Target::WebSocket { .. }, None) => Transport::Ws,
        (Target::WebSocket { .. }, Some(tls)) => Transport::Wss(tls),
        (Target::Tcp { .. }, None) => Transport::Tcp,
        (Target::Tcp { .. }, Some(tls)) => Transport::Tls(tls),
    });
    Ok(o)
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

/// When the driver asks the broker for a PINGRESP: the health check's round trip, and the
/// marker after which no retained message of a subscription is still to come (the broker
/// answers a PINGREQ only after it has queued the retained messages of the SUBSCRIBE before it).
#[derive(Debug, Clone, Copy)]
struct Pings {
    after_connack: bool,
    after_suback: bool,
}

/// Polls the event loop until the connection ends, translating rumqttc's events.
async fn drive(
    mut eventloop: EventLoop,
    tx: mpsc::UnboundedSender<Ev>,
    log: Log,
    pings: Pings,
    timeout: Duration,
    target: String,
) {
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    // rumqttc counts whole seconds; mqttc's own deadline below is the one that fires.
    net.set_connection_timeout(timeout.as_secs() + 2);
    eventloop.set_network_options(net);

    let connected = match tokio::time::timeout(timeout, eventloop.poll()).await {
        Err(_) => Err(anyhow::anyhow!(
            "connect to {target}: no CONNACK within {}",
            format_duration(timeout)
        )),
        Ok(Err(e)) => Err(connection_error(e, &target)),
        Ok(Ok(Event::Incoming(Incoming::ConnAck(ack)))) => {
            log.packet(format_args!(
                "received CONNACK (session present: {})",
                ack.session_present
            ));
            Ok(())
        }
        Ok(Ok(other)) => Err(anyhow::anyhow!(
            "connect to {target}: expected CONNACK, got {other:?}"
        )),
    };
    if let Err(e) = connected {
        let _ = tx.send(Ev::Failed(e));
        return;
    }
    let _ = tx.send(Ev::ConnAck);
    // rumqttc has no ping request in its client API; its queue of pending requests takes one.
    if pings.after_connack {
        eventloop.pending.push_back(Request::PingReq(PingReq));
    }

    loop {
        let event = match eventloop.poll().await {
            Ok(event) => event,
            Err(e) => {
                let _ = tx.send(Ev::Failed(connection_error(e, &target)));
                return;
            }
        };
        let ev = match event {
            Event::Incoming(Incoming::Publish(p)) => {
                log.packet(format_args!(
                    "received PUBLISH topic {:?} QoS {} retain {} packet id {} ({} bytes)",
                    p.topic,
                    p.qos as u8,
                    p.retain,
                    p.pkid,
                    p.payload.len()
                ));
                Ev::Message(Inbound {
                    topic: Bytes::from(p.topic),
                    payload: p.payload,
                    qos: p.qos as u8,
                    retain: p.retain,
                })
            }
            Event::Incoming(Incoming::SubAck(ack)) => {
                log.packet(format_args!("received SUBACK packet id {}", ack.pkid));
                if pings.after_suback {
                    eventloop.pending.push_back(Request::PingReq(PingReq));
                }
                Ev::SubAck(
                    ack.return_codes
                        .iter()
                        .map(|c| match c {
                            SubscribeReasonCode::Success(q) => Some(*q as u8),
                            SubscribeReasonCode::Failure => None,
                        })
                        .collect(),
                )
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                log.packet(format_args!("received PUBACK packet id {}", ack.pkid));
                Ev::Acked(ack.pkid)
            }
            Event::Incoming(Incoming::PubComp(ack)) => {
                log.packet(format_args!("received PUBCOMP packet id {}", ack.pkid));
                Ev::Acked(ack.pkid)
            }
            Event::Incoming(Incoming::PingResp) => {
                log.packet("received PINGRESP");
                Ev::PingResp
            }
            Event::Incoming(other) => {
                log.packet(format_args!("received {}", incoming_name(&other)));
                continue;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                log.packet(format_args!("sent PUBLISH packet id {pkid}"));
                Ev::Sent(pkid)
            }
            Event::Outgoing(Outgoing::Disconnect) => {
                log.packet("sent DISCONNECT");
                let _ = tx.send(Ev::DisconnectSent);
                // Polling on would reconnect (rumqttc #447): the session is over.
                return;
            }
            Event::Outgoing(other) => {
                log.packet(format_args!("sent {}", outgoing_name(&other)));
                continue;
            }
        };
        if tx.send(ev).is_err() {
            return;
        }
    }
}

fn incoming_name(p: &Incoming) -> String {
    match p {
        Incoming::PubRec(p) => format!("PUBREC packet id {}", p.pkid),
        Incoming::PubRel(p) => format!("PUBREL packet id {}", p.pkid),
        Incoming::UnsubAck(p) => format!("UNSUBACK packet id {}", p.pkid),
        other => format!("{other:?}").to_uppercase(),
    }
}

fn outgoing_name(o: &Outgoing) -> String {
    match o {
        Outgoing::Subscribe(id) => format!("SUBSCRIBE packet id {id}"),
        Outgoing::Unsubscribe(id) => format!("UNSUBSCRIBE packet id {id}"),
        Outgoing::PubAck(id) => format!("PUBACK packet id {id}"),
        Outgoing::PubRec(id) => format!("PUBREC packet id {id}"),
        Outgoing::PubRel(id) => format!("PUBREL packet id {id}"),
        Outgoing::PubComp(id) => format!("PUBCOMP packet id {id}"),
        Outgoing::PingReq => "PINGREQ".into(),
        Outgoing::PingResp => "PINGRESP".into(),
        Outgoing::AwaitAck(id) => {
            format!("nothing: waiting for the acknowledgement of packet id {id}")
        }
        Outgoing::Publish(id) => format!("PUBLISH packet id {id}"),
        Outgoing::Disconnect => "DISCONNECT".into(),
    }
}

/// A connection failure as one line, with the exit status the contract gives it.
fn connection_error(e: ConnectionError, target: &str) -> anyhow::Error {
    let refused = |status: Status, what: &str| {
        Failure::error(status, format!("connection refused by {target}: {what}"))
    };
    match e {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::RefusedProtocolVersion => {
                refused(Status::ProtocolVersion, "unacceptable protocol version")
            }
            ConnectReturnCode::BadClientId => {
                refused(Status::IdentifierRejected, "identifier rejected")
            }
            ConnectReturnCode::ServiceUnavailable => {
                refused(Status::ServerUnavailable, "server unavailable")
            }
            ConnectReturnCode::BadUserNamePassword => {
                refused(Status::BadCredentials, "bad user name or password")
            }
            ConnectReturnCode::NotAuthorized => refused(Status::NotAuthorized, "not authorized"),
            ConnectReturnCode::Success => {
                anyhow::anyhow!("connect to {target}: refused with success")
            }
        },
        ConnectionError::Tls(e) => {
            let rustls_error = match &e {
                rumqttc::TlsError::TLS(r) => Some(r),
                rumqttc::TlsError::Io(io) => {
                    io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
                }
                _ => None,
            };
            match rustls_error {
                Some(r) => anyhow::anyhow!("TLS with {target}: {}", crate::tls::describe(r)),
                None => anyhow::anyhow!("TLS with {target}: {e}"),
            }
        }
        ConnectionError::Io(e) => {
            if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return anyhow::anyhow!("TLS with {target}: {}", crate::tls::describe(r));
            }
            match e.kind() {
                io::ErrorKind::ConnectionRefused => {
                    anyhow::anyhow!("connect to {target}: connection refused (nothing listening?)")
                }
                io::ErrorKind::NotFound => anyhow::anyhow!("connect to {target}: no such socket"),
                _ => anyhow::anyhow!("connect to {target}: {e}"),
            }
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
        ConnectionError::MqttState(StateError::Io(e)) => {
            anyhow::anyhow!("connection to {target} lost: {e}")
        }
        ConnectionError::MqttState(StateError::AwaitPingResp) => {
            anyhow::anyhow!(
                "connection to {target} lost: no PINGRESP within the keep-alive interval"
            )
        }
        ConnectionError::MqttState(e) => {
            anyhow::anyhow!("connection to {target}: protocol error: {e}")
        }
        ConnectionError::NetworkTimeout => anyhow::anyhow!("connect to {target}: timed out"),
        ConnectionError::FlushTimeout => anyhow::anyhow!("connection to {target}: write timed out"),
        ConnectionError::NotConnAck(p) => {
            anyhow::anyhow!("connect to {target}: expected CONNACK, got {p:?}")
        }
        other => anyhow::anyhow!("connection to {target}: {other}"),
    }
}

/// SIGINT and SIGTERM, and the rule that a second signal ends the process at once.
struct Signals {
    int: Signal,
    term: Signal,
    received: Option<Status>,
}

impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            received: None,
        })
    }

    /// Resolves on the next signal; a second signal exits the process without further ado.
    async fn next(&mut self) -> Status {
        let status = tokio::select! {
            _ = self.int.recv() => Status::Interrupted,
            _ = self.term.recv() => Status::Terminated,
        };
        if let Some(first) = self.received {
            let _ = io::stdout().flush();
            std::process::exit(first.code().into());
        }
        self.received = Some(status);
        status
    }
}

/// Standard output, written through one buffer straight to file descriptor 1 (Rust's own
/// `Stdout` would flush at every line break).
struct Output {
    w: BufWriter<RawStdout>,
    format: Option<crate::output::TextFormat>,
    closed: bool,
}

impl Output {
    fn new(cfg: &Config) -> Output {
        use std::os::fd::FromRawFd;
        // SAFETY: descriptor 1 stays open for the life of the process, and ManuallyDrop keeps
        // this File from closing it.
        let file = RawStdout(ManuallyDrop::new(unsafe { File::from_raw_fd(1) }));
        Output {
            w: BufWriter::with_capacity(64 * 1024, file),
            format: cfg.format.clone(),
            closed: false,
        }
    }

    fn message(&mut self, m: &Inbound) -> Result<()> {
        let r = match &self.format {
            Some(text) => text.write(&mut self.w, &m.topic, &m.payload),
            None => {
                // rumqttc only hands over topics it decoded as UTF-8.
                let topic = std::str::from_utf8(&m.topic).unwrap_or_default();
                let record = crate::output::JsonMessage {
                    topic,
                    payload: &m.payload,
                    qos: m.qos,
                    retain: m.retain,
                    received: std::time::SystemTime::now(),
                };
                crate::output::write_json(&mut self.w, &record)
            }
        };
        self.check(r)
    }

    fn flush(&mut self) -> Result<()> {
        if self.closed || self.w.buffer().is_empty() {
            return Ok(());
        }
        let r = self.w.flush();
        self.check(r)
    }

    /// A closed pipe ends the run as a success (`mqttc -s t | head -n 1`), as in ripgrep.
    fn check(&mut self, r: io::Result<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(anyhow::anyhow!("writing standard output: {e}")),
        }
    }
}

/// File descriptor 1 without Rust's line buffering, never closed.
struct RawStdout(ManuallyDrop<File>);

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Session<'a> {
    cfg: &'a Config,
    log: Log,
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Ev>,
    signals: Signals,
    out: Output,
    connected: bool,
    disconnected: bool,
    suback: Option<Vec<Option<u8>>>,
    /// Publishes queued in rumqttc that have not gone out yet.
    queued: usize,
    /// Packet ids of QoS 1/2 publishes awaiting PUBACK/PUBCOMP.
    unacked: HashSet<u16>,
    pong: bool,
    /// Topics whose retained message is to be cleared (--remove-retained).
    to_clear: Vec<String>,
    /// Publishes queued so far.
    published: u64,
    printed: u64,
    stop_printing: bool,
}

/// How long a wait may last.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    Never,
    At(Instant),
    /// Renewed by every inbound message (--wait).
    Idle(Duration),
}

impl Deadline {
    fn after_timeout(cfg: &Config) -> Deadline {
        Deadline::At(Instant::now() + cfg.timeout)
    }
}

/// Why waiting ended early.
enum Wait {
    Done,
    Signal(Status),
}

/// Standard input as the publish needs it.
enum Input {
    None,
    Whole(tokio::task::JoinHandle<io::Result<Vec<u8>>>),
    Lines(crate::publish::Lines),
}

impl Session<'_> {
    async fn main(&mut self, input: Input) -> Result<Status> {
        if let Wait::Signal(s) = self
            .wait(Deadline::Never, "CONNACK", |s| s.connected)
            .await?
        {
            return self.on_signal(s).await;
        }

        if !self.cfg.subscribe.is_empty() {
            let filters = self
                .cfg
                .subscribe
                .iter()
                .map(|f| SubscribeFilter::new(f.clone(), qos(self.cfg.qos)));
            self.client.subscribe_many(filters).await?;
            let deadline = Deadline::after_timeout(self.cfg);
            if let Wait::Signal(s) = self
                .wait(deadline, "SUBACK", |s| s.suback.is_some())
                .await?
            {
                return self.on_signal(s).await;
            }
            let codes = self.suback.take().unwrap_or_default();
            for (filter, code) in self.cfg.subscribe.iter().zip(&codes) {
                if code.is_none() {
                    return Err(anyhow::anyhow!(
                        "subscription to {filter:?} refused by the broker"
                    ));
                }
            }
        }

        if let Some(publish) = &self.cfg.publish {
            let topic = publish.topic.as_str();
            let payload = match input {
                Input::Lines(lines) => {
                    if let Wait::Signal(s) = self.publish_lines(topic, lines).await? {
                        return self.on_signal(s).await;
                    }
                    None
                }
                Input::Whole(read) => {
                    let data = tokio::select! {
                        r = read => r.context("reading standard input")?.context("reading standard input")?,
                        s = self.signals.next() => return self.on_signal(s).await,
                    };
                    crate::config::check_payload_size(topic, self.cfg.qos, data.len())?;
                    Some(Bytes::from(data))
                }
                Input::None => match &publish.payload {
                    Payload::Fixed(data) => Some(data.clone()),
                    _ => None,
                },
            };
            if let Some(payload) = payload {
                if let Wait::Signal(s) = self.send(topic, payload, self.cfg.retain).await? {
                    return self.on_signal(s).await;
                }
                let deadline = Deadline::after_timeout(self.cfg);
                if let Wait::Signal(s) = self
                    .wait(deadline, self.ack_name(), Self::all_acked)
                    .await?
                {
                    return self.on_signal(s).await;
                }
            }
        }

        if self.cfg.publish.is_none() && self.cfg.subscribe.is_empty() {
            let deadline = Deadline::after_timeout(self.cfg);
            if let Wait::Signal(s) = self.wait(deadline, "PINGRESP", |s| s.pong).await? {
                return self.on_signal(s).await;
            }
        }

        if !self.cfg.subscribe.is_empty() {
            let deadline = match self.cfg.wait {
                Some(idle) => Deadline::Idle(idle),
                None => Deadline::Never,
            };
            let retained_only = self.cfg.retained == Retained::Only;
            let what = if retained_only { "PINGRESP" } else { "message" };
            let end = move |s: &Self| s.stop_printing || (retained_only && s.pong);
            if let Wait::Signal(s) = self.wait(deadline, what, end).await? {
                return self.on_signal(s).await;
            }
            // Retained messages being cleared must be confirmed too.
            let deadline = Deadline::after_timeout(self.cfg);
            if let Wait::Signal(s) = self
                .wait(deadline, self.ack_name(), Self::all_acked)
                .await?
            {
                return self.on_signal(s).await;
            }
        }

        self.disconnect().await?;
        Ok(Status::Ok)
    }

    fn ack_name(&self) -> &'static str {
        match self.cfg.qos {
            Qos::AtMostOnce => "sending PUBLISH",
            Qos::AtLeastOnce => "PUBACK",
            Qos::ExactlyOnce => "PUBCOMP",
        }
    }

    fn all_acked(&self) -> bool {
        self.queued == 0 && self.unacked.is_empty()
    }

    /// Queues one publish. When rumqttc's queue is full (the in-flight window waits for
    /// acknowledgements) this waits, handling signals, for at most --timeout.
    async fn send(&mut self, topic: &str, payload: Bytes, retain: bool) -> Result<Wait> {
        let publish = self
            .client
            .publish_bytes(topic, qos(self.cfg.qos), retain, payload);
        let timeout = self.cfg.timeout;
        let result = tokio::select! {
            biased;
            r = publish => r,
            s = self.signals.next() => return Ok(Wait::Signal(s)),
            _ = tokio::time::sleep(timeout) => {
                return Err(anyhow::anyhow!(
                    "no {} from {} within {}",
                    self.ack_name(),
                    self.cfg.target,
                    format_duration(timeout)
                ))
            }
        };
        if result.is_err() {
            // The event loop has ended; its reason is waiting in the channel.
            while let Ok(ev) = self.rx.try_recv() {
                self.handle(ev)?;
            }
            return Err(anyhow::anyhow!("connection to {} ended", self.cfg.target));
        }
        self.queued += 1;
        self.published += 1;
        Ok(Wait::Done)
    }

    /// --lines: every line is a message, sent as it arrives; then every acknowledgement.
    async fn publish_lines(
        &mut self,
        topic: &str,
        mut lines: crate::publish::Lines,
    ) -> Result<Wait> {
        loop {
            let batch = tokio::select! {
                batch = lines.recv() => batch,
                ev = self.rx.recv() => {
                    match ev {
                        Some(ev) => self.handle(ev)?,
                        None => return Err(anyhow::anyhow!("connection to {} ended", self.cfg.target)),
                    }
                    continue;
                }
                s = self.signals.next() => return Ok(Wait::Signal(s)),
            };
            let batch = match batch {
                None => break,
                Some(batch) => batch.context("reading standard input")?,
            };
            for line in batch {
                let number = self.published + 1;
                crate::config::check_payload_size(topic, self.cfg.qos, line.len())
                    .with_context(|| format!("line {number}"))?;
                if let Wait::Signal(s) = self.send(topic, line, self.cfg.retain).await? {
                    return Ok(Wait::Signal(s));
                }
            }
            while let Ok(ev) = self.rx.try_recv() {
                self.handle(ev)?;
            }
        }
        let deadline = Deadline::after_timeout(self.cfg);
        let name = self.ack_name();
        self.wait(deadline, name, Self::all_acked)
            .await
            .map_err(|e| {
                let missing = self.queued + self.unacked.len();
                e.context(format!(
                    "{missing} of {} messages not confirmed",
                    self.published
                ))
            })
    }

    /// Handles events until `done` holds, a signal arrives, or the deadline passes (an error
    /// naming `what` was not received in time).
    async fn wait(
        &mut self,
        deadline: Deadline,
        what: &str,
        done: impl Fn(&Self) -> bool,
    ) -> Result<Wait> {
        let mut at = match deadline {
            Deadline::Never => None,
            Deadline::At(at) => Some(at),
            Deadline::Idle(idle) => Some(Instant::now() + idle),
        };
        loop {
            if done(self) {
                self.out.flush()?;
                return Ok(Wait::Done);
            }
            let ev = match self.rx.try_recv() {
                Ok(ev) => ev,
                Err(_) => {
                    // Nothing waiting: the moment to hand the output to the reader.
                    self.out.flush()?;
                    let sleep = async {
                        match at {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        ev = self.rx.recv() => match ev {
                            Some(ev) => ev,
                            None => return Err(anyhow::anyhow!("connection to {} ended", self.cfg.target)),
                        },
                        s = self.signals.next() => return Ok(Wait::Signal(s)),
                        _ = sleep => {
                            let limit = match deadline {
                                Deadline::Idle(idle) => idle,
                                _ => self.cfg.timeout,
                            };
                            return Err(anyhow::anyhow!(
                                "no {what} from {} within {}",
                                self.cfg.target,
                                format_duration(limit)
                            ));
                        }
                    }
                }
            };
            if let (Ev::Message(_), Deadline::Idle(idle)) = (&ev, deadline) {
                at = Some(Instant::now() + idle);
            }
            self.handle(ev)?;
            while let Some(topic) = self.to_clear.pop() {
                if let Wait::Signal(s) = self.send(&topic, Bytes::new(), true).await? {
                    return Ok(Wait::Signal(s));
                }
            }
        }
    }

    fn handle(&mut self, ev: Ev) -> Result<()> {
        match ev {
            Ev::ConnAck => self.connected = true,
            Ev::SubAck(codes) => self.suback = Some(codes),
            Ev::Message(m) => {
                if self.cfg.remove_retained && m.retain && !m.payload.is_empty() {
                    let topic = String::from_utf8_lossy(&m.topic).into_owned();
                    self.to_clear.push(topic);
                }
                let wanted = match self.cfg.retained {
                    Retained::All => true,
                    Retained::Only => m.retain,
                    Retained::Skip => !m.retain,
                };
                if wanted && !self.stop_printing {
                    self.out.message(&m)?;
                    self.printed += 1;
                    if self.out.closed || self.cfg.count == Some(self.printed) {
                        self.stop_printing = true;
                    }
                }
            }
            Ev::Sent(pkid) => {
                self.queued = self.queued.saturating_sub(1);
                if pkid != 0 {
                    self.unacked.insert(pkid);
                }
            }
            Ev::Acked(pkid) => {
                self.unacked.remove(&pkid);
            }
            Ev::PingResp => self.pong = true,
            Ev::DisconnectSent => self.disconnected = true,
            Ev::Failed(e) => {
                self.connected = false;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends DISCONNECT and waits until it is written.
    async fn disconnect(&mut self) -> Result<()> {
        self.client.disconnect().await?;
        let deadline = Deadline::after_timeout(self.cfg);
        loop {
            match self.wait(deadline, "DISCONNECT", |s| s.disconnected).await {
                Ok(Wait::Done) => return Ok(()),
                // A signal during the goodbye changes nothing; a second one exits at once.
                Ok(Wait::Signal(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn on_signal(&mut self, status: Status) -> Result<Status> {
        let _ = self.out.flush();
        match status {
            Status::Terminated => {
                self.log.warn("SIGTERM received; sending DISCONNECT");
                if self.connected {
                    self.disconnect().await?;
                }
            }
            _ => self.log.warn("SIGINT received; closing the connection"),
        }
        Ok(status)
    }
}
