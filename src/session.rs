//! The MQTT session: subscribe, publish, wait for acknowledgements, print, disconnect, and
//! what signals do meanwhile. The connection itself is the driver's (driver.rs); the session
//! owns standard output and the bookkeeping of what is sent and confirmed.
//!
//! Standard output is flushed whenever no event is waiting, so a slow trickle prints at once
//! and a flood is written in large blocks.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::Qos;
use crate::config::{Config, Payload, Retained};
use crate::driver::{Client, Ev, Inbound, Log, Pings};
use crate::duration::format_duration;
use crate::exit::{Failure, Status};
use crate::outbox::Out;

mod probe;

pub async fn run(cfg: &Config) -> Result<Status> {
    let log = Log {
        quiet: cfg.quiet,
        verbose: cfg.verbose,
    };
    if cfg.insecure {
        log.warn("warning: --insecure: the broker's certificate is not verified");
    }
    let signals = Signals::new()?;
    let started = Instant::now();

    // Standard input is read while the connection is set up.
    let input = match cfg.publish.as_ref().map(|p| &p.payload) {
        Some(Payload::Stdin) => Input::Whole(crate::publish::read_all()),
        Some(Payload::Lines { skip_empty }) => {
            Input::Lines(crate::publish::spawn_line_reader(*skip_empty))
        }
        Some(Payload::Json) => Input::Lines(crate::publish::spawn_line_reader(false)),
        _ => Input::None,
    };

    let (tx, rx) = mpsc::unbounded_channel();
    let pings = Pings {
        after_connack: cfg.publish.is_none() && cfg.subscribe.is_empty() && cfg.probe.is_none(),
        after_suback: cfg.retained == Retained::Only,
    };
    let online = Rc::new(Cell::new(true));
    let (client, driver) = crate::driver::start(cfg, tx, log, pings, online.clone()).await?;
    let driver = tokio::task::spawn_local(driver);

    let mut session = Session {
        cfg,
        log,
        client,
        online,
        rx,
        signals,
        out: Output::new(cfg),
        connected: false,
        disconnected: false,
        suback: None,
        suback_seen: false,
        pong: false,
        to_clear: Vec::new(),
        started,
        connected_at: None,
        probe_payload: None,
        published: 0,
        refused: 0,
        refusal: None,
        printed: 0,
        stop_printing: false,
    };
    let result = match session.main(input).await {
        Err(e) => match e.downcast::<Signalled>() {
            Ok(Signalled(status)) => session.on_signal(status).await,
            Err(e) => Err(e),
        },
        ok => ok,
    };
    if let Err(err) = &result {
        // A failure after CONNACK still ends the session cleanly, so that no will is
        // published for what is an error of this run, not a lost client.
        let status = crate::exit::status_of(err);
        if session.connected
            && !session.disconnected
            && status != Status::Interrupted
            && status != Status::Terminated
        {
            // Briefly: the error has been waited for long enough already.
            let goodbye = Instant::now() + cfg.timeout.min(Duration::from_millis(500));
            let _ = session.disconnect_by(goodbye).await;
        }
    }
    driver.abort();
    result
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
                // MQTT topics are UTF-8; rumqttc's MQTT 5 decoder does not check, so a broken
                // one is printed with U+FFFD rather than dropped.
                let topic = String::from_utf8_lossy(&m.topic);
                let record = crate::output::JsonMessage {
                    topic: &topic,
                    payload: &m.payload,
                    qos: m.qos,
                    retain: m.retain,
                    received: std::time::SystemTime::now(),
                    properties: m.properties.as_deref(),
                };
                crate::output::write_json(&mut self.w, &record)
            }
        };
        self.check(r)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        let r = self.w.write_all(bytes);
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
    client: Client,
    /// False while --reconnect restores a lost connection: deadlines wait for it.
    online: Rc<Cell<bool>>,
    rx: mpsc::UnboundedReceiver<Ev>,
    signals: Signals,
    out: Output,
    connected: bool,
    disconnected: bool,
    suback: Option<Vec<Result<u8, String>>>,
    suback_seen: bool,
    pong: bool,
    /// When the run started, for --probe's connect time.
    started: Instant,
    connected_at: Option<Instant>,
    /// The --probe message on its way.
    probe_payload: Option<Bytes>,
    /// Topics whose retained message is to be cleared (--remove-retained).
    to_clear: Vec<String>,
    /// Publishes queued so far.
    published: u64,
    /// Publishes the broker refused (MQTT 5 reason codes).
    refused: u64,
    refusal: Option<String>,
    printed: u64,
    stop_printing: bool,
}

/// "1 message", "2 messages".
fn messages(n: u64) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
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

/// A signal ended a wait: the error that carries it up to `run`, which handles it once.
#[derive(Debug)]
struct Signalled(Status);

impl std::fmt::Display for Signalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "signal received (exit {})", self.0.code())
    }
}

impl std::error::Error for Signalled {}

/// Standard input as the publish needs it.
enum Input {
    None,
    Whole(tokio::task::JoinHandle<io::Result<Vec<u8>>>),
    Lines(crate::publish::Lines),
}

impl Session<'_> {
    async fn main(&mut self, input: Input) -> Result<Status> {
        self.wait(Deadline::Never, "CONNACK", |s| s.connected)
            .await?;

        if let Some(probe) = &self.cfg.probe {
            return self.probe(probe).await;
        }

        if !self.cfg.subscribe.is_empty() {
            if self
                .client
                .subscribe(&self.cfg.subscribe, self.subscribe_qos())
                .await
                .is_err()
            {
                return Err(self.closed());
            }

            let deadline = Deadline::after_timeout(self.cfg);
            self.wait(deadline, "SUBACK", |s| s.suback.is_some())
                .await?;
            let codes = self.suback.take().unwrap_or_default();
            self.check_suback(&codes)?;
        }

        if let Some(publish) = &self.cfg.publish {
            let topic: Arc<str> = Arc::from(publish.topic.as_deref().unwrap_or_default());
            let json = matches!(publish.payload, Payload::Json);
            let payload = match input {
                Input::Lines(lines) => {
                    self.publish_lines(&topic, json, lines).await?;
                    None
                }
                Input::Whole(read) => {
                    let data = tokio::select! {
                        r = read => r.context("reading standard input")?.context("reading standard input")?,
                        s = self.signals.next() => return Err(Signalled(s).into()),
                    };
                    crate::config::check_payload_size(&topic, self.cfg.qos, data.len())?;
                    Some(Bytes::from(data))
                }
                Input::None => match &publish.payload {
                    Payload::Fixed(data) => Some(data.clone()),
                    _ => None,
                },
            };
            if let Some(payload) = payload {
                self.send(self.out_message(&topic, payload)).await?;
                let deadline = Deadline::after_timeout(self.cfg);
                self.wait(deadline, self.ack_name(), Self::all_acked)
                    .await?;
            }
        }

        if self.cfg.publish.is_none() && self.cfg.subscribe.is_empty() {
            let deadline = Deadline::after_timeout(self.cfg);
            self.wait(deadline, "PINGRESP", |s| s.pong).await?;
        }

        if !self.cfg.subscribe.is_empty() {
            let deadline = match self.cfg.wait {
                Some(idle) => Deadline::Idle(idle),
                None => Deadline::Never,
            };
            let retained_only = self.cfg.retained == Retained::Only;
            let what = if retained_only { "PINGRESP" } else { "message" };
            let end = move |s: &Self| s.stop_printing || (retained_only && s.pong);
            self.wait(deadline, what, end).await?;
            // Retained messages being cleared must be confirmed too.
            let deadline = Deadline::after_timeout(self.cfg);
            self.wait(deadline, self.ack_name(), Self::all_acked)
                .await?;
        }

        self.disconnect().await?;
        if let Some(reason) = &self.refusal {
            return Err(anyhow::anyhow!(
                "{} of {} refused by {}: {reason}",
                self.refused,
                messages(self.published),
                self.cfg.target
            ));
        }
        Ok(Status::Ok)
    }

    /// A message as the command line describes it.
    fn out_message(&self, topic: &Arc<str>, payload: Bytes) -> Out {
        Out {
            topic: topic.clone(),
            payload,
            qos: self.cfg.qos,
            retain: self.cfg.retain,
            properties: None,
            dup: false,
        }
    }

    /// The QoS asked for in SUBSCRIBE. --retained-only asks for 0: the broker then sends every
    /// retained message at once, before it answers the PINGREQ that marks their end; at QoS 1/2
    /// it would hold back all but its in-flight window, and the PINGRESP would overtake them.
    fn subscribe_qos(&self) -> Qos {
        if self.cfg.retained == Retained::Only {
            Qos::AtMostOnce
        } else {
            self.cfg.qos
        }
    }

    fn ack_name(&self) -> &'static str {
        match self.cfg.qos {
            Qos::AtMostOnce => "sending PUBLISH",
            Qos::AtLeastOnce => "PUBACK",
            Qos::ExactlyOnce => "PUBCOMP",
        }
    }

    fn all_acked(&self) -> bool {
        self.client.outbox().is_empty()
    }

    /// Messages accepted and not yet confirmed.
    fn unconfirmed(&self) -> usize {
        self.client.outbox().len()
    }

    /// Hands one message to the connection. While its queue is full (the in-flight window
    /// waits for acknowledgements) this waits, handling signals, for at most --timeout, or for
    /// as long as --reconnect restores the connection.
    async fn send(&mut self, m: Out) -> Result<()> {
        let result = {
            let publish = self.client.publish(m);
            let timeout = self.cfg.timeout;
            tokio::pin!(publish);
            loop {
                tokio::select! {
                    biased;
                    r = &mut publish => break r,
                    s = self.signals.next() => return Err(Signalled(s).into()),
                    _ = tokio::time::sleep(timeout) => {
                        if !self.online.get() {
                            continue;
                        }
                        return Err(anyhow::anyhow!(
                            "no {} from {} within {}",
                            self.ack_name(),
                            self.cfg.target,
                            format_duration(timeout)
                        ));
                    }
                }
            }
        };
        if result.is_err() {
            return Err(self.closed());
        }
        self.published += 1;
        Ok(())
    }

    /// --lines: every line is a message, sent as it arrives; then every acknowledgement.
    /// --input json: every line is a record of a message (record.rs).
    async fn publish_lines(
        &mut self,
        topic: &Arc<str>,
        json: bool,
        mut lines: crate::publish::Lines,
    ) -> Result<()> {
        let bad_line = self
            .read_lines(topic, json, &mut lines)
            .await
            .map_err(|e| self.with_unconfirmed(e))?;
        let deadline = Deadline::after_timeout(self.cfg);
        let name = self.ack_name();
        self.wait(deadline, name, Self::all_acked)
            .await
            .map_err(|e| self.with_unconfirmed(e))?;
        match bad_line {
            // What was sent before the bad line stays sent; the rest is not sent at all.
            Some(why) => Err(Failure::usage(format!(
                "{why} ({} before it sent)",
                messages(self.published)
            ))),
            None => Ok(()),
        }
    }

    /// An error that ends a run with messages unconfirmed says how many.
    fn with_unconfirmed(&self, e: anyhow::Error) -> anyhow::Error {
        if e.is::<Signalled>() || self.all_acked() {
            return e;
        }
        e.context(format!(
            "{} of {} not confirmed",
            self.unconfirmed(),
            messages(self.published)
        ))
    }

    /// Sends every line of the input as it comes; the bad line that stopped it, if any.
    async fn read_lines(
        &mut self,
        topic: &Arc<str>,
        json: bool,
        lines: &mut crate::publish::Lines,
    ) -> Result<Option<String>> {
        let mut number = 0u64;
        let mut bad_line = None;
        'read: loop {
            // The oldest message in flight must be confirmed within --timeout even while the
            // input stays open and the window is not full.
            let overdue = match self.client.outbox().oldest() {
                Some(at) if self.online.get() => Some(at + self.cfg.timeout),
                _ => None,
            };
            let batch = tokio::select! {
                batch = lines.recv() => batch,
                _ = crate::driver::sleep_until_opt(overdue), if overdue.is_some() => {
                    // Acknowledgements come without a word to the session: look again.
                    match self.client.outbox().oldest() {
                        Some(at) if at + self.cfg.timeout <= Instant::now() => {}
                        _ => continue,
                    }
                    return Err(anyhow::anyhow!(
                        "no {} from {} within {}",
                        self.ack_name(),
                        self.cfg.target,
                        format_duration(self.cfg.timeout)
                    ));
                }
                ev = self.rx.recv() => {
                    match ev {
                        Some(ev) => self.handle(ev)?,
                        None => return Err(anyhow::anyhow!("connection to {} ended", self.cfg.target)),
                    }
                    while let Ok(ev) = self.rx.try_recv() {
                        self.handle(ev)?;
                    }
                    // Nothing more waiting: what was printed goes to the reader now.
                    self.out.flush()?;
                    continue;
                }
                s = self.signals.next() => return Err(Signalled(s).into()),
            };
            let batch = match batch {
                None => break,
                Some(batch) => batch.context("reading standard input")?,
            };
            for line in batch {
                number += 1;
                let message = if json {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match self.record(topic, &line) {
                        Ok(m) => m,
                        Err(e) => {
                            bad_line = Some(format!("line {number}: {e}"));
                            break 'read;
                        }
                    }
                } else {
                    self.out_message(topic, line)
                };
                if let Err(e) = crate::config::check_payload_size(
                    &message.topic,
                    message.qos,
                    message.payload.len(),
                ) {
                    bad_line = Some(format!("line {number}: {e}"));
                    break 'read;
                }
                self.send(message).await?;
            }
            while let Ok(ev) = self.rx.try_recv() {
                self.handle(ev)?;
            }
            self.out.flush()?;
        }
        Ok(bad_line)
    }

    /// One --input json line as a message; the command line fills in what it leaves out.
    fn record(&self, topic: &Arc<str>, line: &[u8]) -> Result<Out, String> {
        let r = crate::record::parse_record(line)?;
        if r.properties.is_some() && self.cfg.version != crate::config::Version::V5 {
            return Err("properties need --mqtt-version 5".into());
        }
        let topic: Arc<str> = match r.topic {
            Some(t) => {
                crate::topic::check_topic(&t)?;
                t.into()
            }
            None if !topic.is_empty() => topic.clone(),
            None => return Err("no topic, and no --publish topic to fall back to".into()),
        };
        Ok(Out {
            topic,
            payload: r.payload,
            qos: r.qos.unwrap_or(self.cfg.qos),
            retain: r.retain.unwrap_or(self.cfg.retain),
            properties: r.properties,
            dup: false,
        })
    }

    /// Handles events until `done` holds, a signal arrives, or the deadline passes (an error
    /// naming `what` was not received in time).
    async fn wait(
        &mut self,
        deadline: Deadline,
        what: &str,
        done: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        let mut at = match deadline {
            Deadline::Never => None,
            Deadline::At(at) => Some(at),
            Deadline::Idle(idle) => Some(Instant::now() + idle),
        };
        loop {
            if done(self) {
                self.out.flush()?;
                return Ok(());
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
                        s = self.signals.next() => return Err(Signalled(s).into()),
                        _ = sleep => {
                            // Deadlines wait for a reconnect, but not after a signal.
                            if !self.online.get() && self.signals.received.is_none() {
                                if let Deadline::At(_) = deadline {
                                    at = Some(Instant::now() + self.cfg.timeout);
                                    continue;
                                }
                            }
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
                let clear = Out {
                    retain: true,
                    ..self.out_message(&Arc::from(topic), Bytes::new())
                };
                self.send(clear).await?;
            }
        }
    }

    fn handle(&mut self, ev: Ev) -> Result<()> {
        match ev {
            Ev::ConnAck => {
                self.connected = true;
                self.connected_at = Some(Instant::now());
            }
            Ev::SubAck(codes) => {
                // A SUBACK after a reconnect answers the resubscription: check it here.
                if self.suback_seen {
                    self.check_suback(&codes)?;
                }
                self.suback_seen = true;
                self.suback = Some(codes);
            }
            Ev::Message(m) if self.cfg.probe.is_some() => {
                if self.probe_payload.as_deref() == Some(&m.payload[..]) {
                    self.probe_payload = None;
                }
            }
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
            Ev::Outbox => {}
            Ev::Refused(reason) => {
                self.refused += 1;
                self.refusal.get_or_insert(reason);
            }
            Ev::PingResp => self.pong = true,
            Ev::DisconnectSent => self.disconnected = true,
            Ev::Lost => {}
            // The driver subscribes and publishes again itself.
            Ev::Reconnected { .. } => {}
            Ev::Failed(e) => {
                self.connected = false;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends DISCONNECT and waits until it is written.
    async fn disconnect(&mut self) -> Result<()> {
        self.disconnect_by(Instant::now() + self.cfg.timeout).await
    }

    async fn disconnect_by(&mut self, at: Instant) -> Result<()> {
        // The request queue may be full behind a stalled connection: bounded too.
        match tokio::time::timeout_at(at, self.client.disconnect()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(self.closed()),
            Err(_) => {
                return Err(anyhow::anyhow!(
                    "could not send DISCONNECT to {} within {}",
                    self.cfg.target,
                    format_duration(self.cfg.timeout)
                ))
            }
        }
        let deadline = Deadline::At(at);
        loop {
            match self.wait(deadline, "DISCONNECT", |s| s.disconnected).await {
                // A signal during the goodbye changes nothing; a second one exits at once.
                Err(e) if e.is::<Signalled>() => continue,
                other => return other,
            }
        }
    }

    /// A filter the broker refused is an error naming it.
    fn check_suback(&self, codes: &[Result<u8, String>]) -> Result<()> {
        let refused: Vec<String> = self
            .cfg
            .subscribe
            .iter()
            .zip(codes)
            .filter_map(|(filter, code)| {
                code.as_ref().err().map(|why| format!("{filter:?} ({why})"))
            })
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        let what = if refused.len() == 1 {
            "subscription to"
        } else {
            "subscriptions to"
        };
        Err(anyhow::anyhow!(
            "{what} {} refused by {}",
            refused.join(", "),
            self.cfg.target
        ))
    }

    /// The event loop has ended: its reason is waiting in the channel.
    fn closed(&mut self) -> anyhow::Error {
        while let Ok(ev) = self.rx.try_recv() {
            if let Err(e) = self.handle(ev) {
                return e;
            }
        }
        anyhow::anyhow!("connection to {} ended", self.cfg.target)
    }

    async fn on_signal(&mut self, status: Status) -> Result<Status> {
        let _ = self.out.flush();
        let name = if status == Status::Terminated {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        // What the broker accepted but has not confirmed gets --timeout to be confirmed; a
        // second signal ends the wait (and the process) at once.
        if self.connected && !self.all_acked() {
            self.log.warn(format_args!(
                "{name} received; waiting for {} to be confirmed",
                messages(self.unconfirmed() as u64)
            ));
            let deadline = Deadline::after_timeout(self.cfg);
            if self
                .wait(deadline, self.ack_name(), Self::all_acked)
                .await
                .is_err()
                && !self.all_acked()
            {
                self.log.warn(format_args!(
                    "{} of {} not confirmed",
                    self.unconfirmed(),
                    messages(self.published)
                ));
            }
        }
        if status == Status::Terminated {
            self.log.warn("SIGTERM received; sending DISCONNECT");
            if self.connected && !self.disconnected {
                self.disconnect().await?;
            }
        } else {
            self.log.warn("SIGINT received; closing the connection");
        }
        Ok(status)
    }
}
