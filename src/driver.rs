//! The connection: rumqttc's event loop for MQTT 3.1.1 or 5, polled in a task of its own, and
//! one client handle for both versions. Every difference between the versions stays here; the
//! session sees only [`Ev`] and [`Client`].
//!
//! Why a task of its own: the session must wait on other things (standard input, signals,
//! deadlines, a blocked standard output) while the event loop keeps answering the broker, and
//! rumqttc's `poll()` may not be dropped half-way. The driver forwards each event over a
//! channel; the session sees when the channel is empty, which is when it flushes its output.
//!
//! rumqttc has no acknowledgement API: `publish()` only queues. The driver reports the packet
//! id of every publish as it goes out (`Sent`, in queueing order) and every final
//! acknowledgement (`Acked`/`Refused`); the session matches them.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use rumqttc::v5 as mq5;
use rumqttc::v5::mqttbytes::v5 as p5;
use rumqttc::{self as mq4, TlsConfiguration, Transport};
use tokio::sync::mpsc;

use crate::cli::Qos;
use crate::config::{Config, Family, Target, Version, V5};
use crate::duration::format_duration;
use crate::exit::{Failure, Status};

/// Bigger than any packet MQTT can carry, so rumqttc's 10 KiB default never applies.
const MAX_PACKET: usize = crate::config::MAX_REMAINING_LENGTH + 5;

/// Requests queued towards the event loop; with the in-flight window below it bounds what a
/// line publisher holds in memory.
const REQUEST_QUEUE: usize = 256;

/// QoS 1/2 publishes awaiting acknowledgement at once: enough to keep the broker busy. Under
/// MQTT 5 the broker's Receive Maximum lowers it.
const INFLIGHT: u16 = 1000;

/// MQTT 3.1.1 has no Receive Maximum, and a broker may hold only so many incoming QoS 2
/// messages before PUBREL: mosquitto answers the 21st with a PUBREC that 3.1.1 cannot mark as
/// a refusal, and drops the message. 20 is mosquitto's default and libmosquitto's window.
const INFLIGHT_V311_QOS2: u16 = 20;

fn inflight_v311(cfg: &Config) -> u16 {
    let may_publish_qos2 = cfg.qos == Qos::ExactlyOnce
        || matches!(
            cfg.publish.as_ref().map(|p| &p.payload),
            Some(crate::config::Payload::Json)
        );
    if may_publish_qos2 {
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
    /// A publish went out with this packet id (0 for QoS 0).
    Sent(u16),
    /// The broker completed the publish with this packet id (PUBACK or PUBCOMP).
    Acked(u16),
    /// The broker refused the publish with this packet id (MQTT 5 reason code).
    Refused(u16, String),
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

/// The request side of the connection.
pub enum Client {
    V4(mq4::AsyncClient),
    V5(mq5::AsyncClient, Box<V5>),
}

/// The event loop ended; the reason is in the event channel.
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
    pub async fn subscribe(&self, filters: &[String], qos: Qos) -> Result<(), Closed> {
        match self {
            Client::V4(c) => c
                .subscribe_many(
                    filters
                        .iter()
                        .map(|f| mq4::SubscribeFilter::new(f.clone(), qos4(qos))),
                )
                .await
                .map_err(|_| Closed),
            Client::V5(c, v5) => {
                let rule = match v5.retain_handling {
                    0 => p5::RetainForwardRule::OnEverySubscribe,
                    1 => p5::RetainForwardRule::OnNewSubscribe,
                    _ => p5::RetainForwardRule::Never,
                };
                let filters = filters.iter().map(|f| p5::Filter {
                    path: f.clone(),
                    qos: qos5(qos),
                    nolocal: v5.no_local,
                    preserve_retain: v5.retain_as_published,
                    retain_forward_rule: rule.clone(),
                });
                c.subscribe_many(filters).await.map_err(|_| Closed)
            }
        }
    }

    pub async fn publish(
        &self,
        topic: &str,
        qos: Qos,
        retain: bool,
        payload: Bytes,
        properties: Option<p5::PublishProperties>,
    ) -> Result<(), Closed> {
        let queued = match self {
            Client::V4(c) => c
                .publish_bytes(topic, qos4(qos), retain, payload)
                .await
                .is_ok(),
            Client::V5(c, v5) => match properties.as_ref().or(v5.publish_properties.as_ref()) {
                None => c
                    .publish_bytes(topic, qos5(qos), retain, payload)
                    .await
                    .is_ok(),
                Some(p) => c
                    .publish_bytes_with_properties(topic, qos5(qos), retain, payload, p.clone())
                    .await
                    .is_ok(),
            },
        };
        if queued {
            Ok(())
        } else {
            Err(Closed)
        }
    }

    pub async fn disconnect(&self) -> Result<(), Closed> {
        match self {
            Client::V4(c) => c.disconnect().await.map_err(|_| Closed),
            Client::V5(c, _) => c.disconnect().await.map_err(|_| Closed),
        }
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

    match cfg.version {
        Version::V311 => {
            let mut o = mq4::MqttOptions::new(cfg.client_id.clone(), host, port);
            o.set_keep_alive(keep_alive);
            o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
            o.set_clean_session(!cfg.session);
            o.set_inflight(inflight_v311(cfg));
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
            let (client, mut eventloop) = mq4::AsyncClient::new(o, REQUEST_QUEUE);
            eventloop.set_network_options(net);
            Ok((
                Client::V4(client),
                futures_either::Either::Left(drive(V4Loop(eventloop), link)),
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
            let (client, eventloop) = mq5::AsyncClient::new(o, REQUEST_QUEUE);
            Ok((
                Client::V5(client, Box::new(v5)),
                futures_either::Either::Right(drive(V5Loop(eventloop), link)),
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
    target: String,
}

/// One step of an event loop, version-neutral.
enum Step {
    ConnAck {
        session_present: bool,
    },
    Ev(Ev),
    /// Logged, nothing for the session.
    Skip,
    /// DISCONNECT is written: polling on would reconnect (rumqttc #447).
    End,
}

/// The two rumqttc event loops behind one face.
trait EventLoop {
    async fn step(&mut self, link: &Link) -> Result<Step>;
    fn queue_ping(&mut self);
    /// Drops the connection and moves what is queued and unconfirmed into the pending list.
    fn clean(&mut self);
}

async fn drive(mut eventloop: impl EventLoop, link: Link) {
    let first = tokio::time::timeout(link.timeout, eventloop.step(&link)).await;
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
        eventloop.queue_ping();
    }
    // Messages since the socket last ran dry.
    let mut burst = 0u32;
    loop {
        let step = if link.coalesce && burst >= FLOOD {
            // In a flood, a subscriber that reads the moment anything arrives makes the broker
            // send one small TCP segment per message, and both sides pay per segment. Pausing
            // for a moment once the socket is drained lets messages gather into large reads: on
            // 2 cores this took the subscriber from 0.75 to 0.17 CPU seconds per 200,000
            // messages and its rate to the raw-socket ceiling. A trickle never pauses.
            // (Cancelling a pending step is safe here: a pure subscriber writes nothing but
            // small acknowledgements, so the step can only be waiting to read.)
            tokio::select! {
                biased;
                step = eventloop.step(&link) => step,
                _ = std::future::ready(()) => {
                    burst = 0;
                    tokio::time::sleep(FLOOD_PAUSE).await;
                    eventloop.step(&link).await
                }
            }
        } else {
            eventloop.step(&link).await
        };
        if let Ok(Step::Ev(Ev::Message(_))) = &step {
            burst += 1;
        }
        match step {
            Ok(Step::Ev(ev)) => {
                if let (Ev::SubAck(_), true) = (&ev, link.pings.after_suback) {
                    eventloop.queue_ping();
                }
                if link.tx.send(ev).is_err() {
                    return;
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
                let _ = link.tx.send(Ev::Lost);
                match reconnect(&mut eventloop, &link).await {
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
async fn reconnect(eventloop: &mut impl EventLoop, link: &Link) -> Result<bool> {
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
        // Publishes that entered rumqttc's queue after the loss join its pending list now, so
        // that a broker without our session drops all of them and the session resends all.
        eventloop.clean();
        match tokio::time::timeout(link.timeout, eventloop.step(link)).await {
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

struct V4Loop(mq4::EventLoop);

impl EventLoop for V4Loop {
    fn clean(&mut self) {
        self.0.clean();
    }

    fn queue_ping(&mut self) {
        // rumqttc has no ping request in its client API; its queue of pending requests takes one.
        self.0
            .pending
            .push_back(mq4::Request::PingReq(mq4::PingReq));
    }

    async fn step(&mut self, link: &Link) -> Result<Step> {
        use mq4::{Event, Incoming};
        let log = link.log;
        let event = self.0.poll().await.map_err(|e| error_v4(e, &link.target))?;
        Ok(match event {
            Event::Incoming(Incoming::ConnAck(ack)) => Step::ConnAck {
                session_present: ack.session_present,
            },
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
                Step::Ev(Ev::Acked(ack.pkid))
            }
            Event::Incoming(Incoming::PubComp(ack)) => {
                log.packet(format_args!("received PUBCOMP packet id {}", ack.pkid));
                Step::Ev(Ev::Acked(ack.pkid))
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
        })
    }
}

struct V5Loop(mq5::EventLoop);

impl EventLoop for V5Loop {
    fn clean(&mut self) {
        self.0.clean();
    }

    fn queue_ping(&mut self) {
        self.0.pending.push_back(mq5::Request::PingReq);
    }

    async fn step(&mut self, link: &Link) -> Result<Step> {
        use mq5::{Event, Incoming};
        let log = link.log;
        let event = self.0.poll().await.map_err(|e| error_v5(e, &link.target))?;
        Ok(match event {
            Event::Incoming(Incoming::ConnAck(ack)) => Step::ConnAck {
                session_present: ack.session_present,
            },
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
                Step::Ev(match ack.reason {
                    p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers => {
                        Ev::Acked(ack.pkid)
                    }
                    other => Ev::Refused(ack.pkid, reason_name(&format!("{other:?}"))),
                })
            }
            Event::Incoming(Incoming::PubRec(rec)) => {
                log.packet(format_args!(
                    "received PUBREC packet id {} ({:?})",
                    rec.pkid, rec.reason
                ));
                match rec.reason {
                    p5::PubRecReason::Success | p5::PubRecReason::NoMatchingSubscribers => {
                        Step::Skip
                    }
                    // rumqttc drops the publish without a PUBREL: this is its final answer.
                    other => Step::Ev(Ev::Refused(rec.pkid, reason_name(&format!("{other:?}")))),
                }
            }
            Event::Incoming(Incoming::PubComp(ack)) => {
                log.packet(format_args!("received PUBCOMP packet id {}", ack.pkid));
                Step::Ev(Ev::Acked(ack.pkid))
            }
            Event::Incoming(Incoming::PingResp(_)) => {
                log.packet("received PINGRESP");
                Step::Ev(Ev::PingResp)
            }
            Event::Incoming(Incoming::Disconnect(d)) => {
                return Err(anyhow::anyhow!(
                    "disconnected by {}: {}",
                    link.target,
                    reason_name(&format!("{:?}", d.reason_code))
                ));
            }
            Event::Incoming(other) => {
                log.packet(format_args!(
                    "received {}",
                    packet_name(&format!("{other:?}"))
                ));
                Step::Skip
            }
            Event::Outgoing(o) => outgoing(log, o),
        })
    }
}

/// Both protocol versions report what went out with the same type.
fn outgoing(log: Log, o: mq4::Outgoing) -> Step {
    match o {
        mq4::Outgoing::Publish(pkid) => {
            log.packet(format_args!("sent PUBLISH packet id {pkid}"));
            Step::Ev(Ev::Sent(pkid))
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
        E::NotConnAck(p) => anyhow::anyhow!("connect to {target}: expected CONNACK, got {p:?}"),
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
        E::NotConnAck(p) => anyhow::anyhow!("connect to {target}: expected CONNACK, got {p:?}"),
        other => anyhow::anyhow!("connection to {target}: {other}"),
    }
}

fn state_error(e: mq4::StateError, target: &str) -> anyhow::Error {
    match e {
        mq4::StateError::Deserialization(mq4::mqttbytes::Error::Io(e)) => io_lost(e, target),
        mq4::StateError::ConnectionAborted => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
        mq4::StateError::Io(e) => io_lost(e, target),
        mq4::StateError::AwaitPingResp => no_pingresp(target),
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
        io::ErrorKind::ConnectionReset => anyhow::anyhow!(
            "connection to {target} lost: reset by the broker (wrong port, or TLS expected?)"
        ),
        io::ErrorKind::UnexpectedEof => {
            anyhow::anyhow!("connection to {target} lost: closed by the broker")
        }
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
