//! Every message handed to the connection that the broker has not yet confirmed, so that
//! nothing accepted is lost: a run ends only when the outbox is empty, and after a reconnect
//! every unconfirmed message goes out again.
//!
//! The driver takes messages from the queue and writes them itself, choosing each packet id, so
//! the outbox knows exactly which message every acknowledgement confirms. A packet id stays
//! taken until the exchange is complete (PUBACK, or PUBCOMP after PUBREC/PUBREL), so it is never
//! reused while the broker may still hold it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use tokio::time::Instant;

use crate::cli::Qos;

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: Qos,
    pub retain: bool,
    /// MQTT 5 properties of this message, instead of those of the command line.
    pub properties: Option<PublishProperties>,
    /// Sent before, on a connection that was lost (the DUP flag).
    pub dup: bool,
}

/// A QoS 1/2 message on the wire, by packet id.
#[derive(Debug)]
struct InFlight {
    /// The order the messages were first written in.
    seq: u64,
    /// When it was (last) written, for --timeout.
    at: Instant,
    /// PUBREC received and PUBREL sent: the broker owns the message, only PUBCOMP is missing.
    released: bool,
    out: Out,
}

/// What to send again after a reconnect to a broker that kept the session, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Resend {
    Publish(u16, Out),
    PubRel(u16),
}

#[derive(Debug, Default)]
pub struct Outbox {
    /// Accepted, not yet written.
    queued: VecDeque<Out>,
    /// Written at QoS 1/2 and not yet complete.
    sent: HashMap<u16, InFlight>,
    /// Handed to rumqttc, which chooses the packet id (MQTT 5, QoS 0/1): in the order handed
    /// over, which is the order rumqttc reports their ids in.
    unassigned: VecDeque<(Out, Instant)>,
    next_seq: u64,
    last_pkid: u16,
}

impl Outbox {
    pub fn push(&mut self, m: Out) {
        self.queued.push_back(m);
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.sent.is_empty() && self.unassigned.is_empty()
    }

    /// Messages not yet confirmed.
    pub fn len(&self) -> usize {
        self.queued.len() + self.sent.len() + self.unassigned.len()
    }

    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    pub fn in_flight(&self) -> usize {
        self.sent.len() + self.unassigned.len()
    }

    /// A message went to rumqttc, which will choose its packet id.
    pub fn handed_over(&mut self, out: Out, at: Instant) {
        self.unassigned.push_back((out, at));
    }

    /// rumqttc wrote the oldest message handed over with this packet id (0 at QoS 0); false
    /// when none was waiting.
    pub fn assigned(&mut self, pkid: u16) -> bool {
        match self.unassigned.pop_front() {
            Some((out, at)) => {
                if pkid != 0 {
                    self.sent(pkid, out, at);
                }
                true
            }
            None => false,
        }
    }

    /// The next message to write.
    pub fn pop(&mut self) -> Option<Out> {
        self.queued.pop_front()
    }

    /// A message taken with `pop` that cannot be written yet.
    pub fn unpop(&mut self, m: Out) {
        self.queued.push_front(m);
    }

    /// Whether a message in flight holds this packet id.
    pub fn holds(&self, pkid: u16) -> bool {
        self.sent.contains_key(&pkid)
    }

    /// The packet id for the next QoS 1/2 message: the next in 1..=max that is not in flight.
    /// The caller keeps fewer than `max` messages in flight, so there is always one.
    pub fn next_pkid(&mut self, max: u16) -> u16 {
        loop {
            self.last_pkid = if self.last_pkid >= max {
                1
            } else {
                self.last_pkid + 1
            };
            if !self.sent.contains_key(&self.last_pkid) {
                return self.last_pkid;
            }
        }
    }

    /// A QoS 1/2 message went out with this packet id.
    pub fn sent(&mut self, pkid: u16, out: Out, at: Instant) {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.sent.insert(
            pkid,
            InFlight {
                seq,
                at,
                released: false,
                out,
            },
        );
    }

    /// PUBREC arrived: only PUBCOMP is missing.
    pub fn released(&mut self, pkid: u16) {
        if let Some(m) = self.sent.get_mut(&pkid) {
            m.released = true;
        }
    }

    /// The broker completed (or refused) the publish with this packet id; false when it is
    /// not one of ours.
    pub fn done(&mut self, pkid: u16) -> bool {
        self.sent.remove(&pkid).is_some()
    }

    /// When the oldest unconfirmed message was written.
    pub fn oldest(&self) -> Option<Instant> {
        let handed = self.unassigned.front().map(|(_, at)| *at);
        self.sent.values().map(|m| m.at).chain(handed).min()
    }

    /// Messages handed over but never written (the connection ended first) go first in line.
    fn unhand(&mut self) {
        while let Some((out, _)) = self.unassigned.pop_back() {
            self.queued.push_front(out);
        }
    }

    fn in_order(&mut self) -> Vec<(u16, InFlight)> {
        let mut sent: Vec<(u16, InFlight)> = self.sent.drain().collect();
        sent.sort_by_key(|(_, m)| m.seq);
        sent
    }

    /// The broker kept no session: every message in flight is queued again, first, in the
    /// order it was first written, marked as sent before. The broker owned the QoS 2 messages
    /// it had answered with PUBREC, but without the session it forgot them before PUBREL
    /// released them, so they go again too.
    pub fn requeue(&mut self) -> usize {
        self.unhand();
        let again = self.in_order();
        let count = again.len();
        for (_, mut m) in again.into_iter().rev() {
            m.out.dup = true;
            self.queued.push_front(m.out);
        }
        count
    }

    /// The broker kept the session: every message in flight goes again under its packet id,
    /// as a PUBLISH marked DUP or, once released, as a PUBREL. They stay in flight.
    pub fn resume(&mut self, at: Instant) -> Vec<Resend> {
        self.unhand();
        let again = self.in_order();
        let mut out = Vec::with_capacity(again.len());
        for (pkid, mut m) in again {
            m.at = at;
            if m.released {
                out.push(Resend::PubRel(pkid));
            } else {
                m.out.dup = true;
                out.push(Resend::Publish(pkid, m.out.clone()));
            }
            self.sent.insert(pkid, m);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str) -> Out {
        Out {
            topic: Arc::from(name),
            payload: Bytes::new(),
            qos: Qos::AtLeastOnce,
            retain: false,
            properties: None,
            dup: false,
        }
    }

    fn send_all(o: &mut Outbox, max: u16) -> Vec<u16> {
        let mut ids = Vec::new();
        while let Some(out) = o.pop() {
            let pkid = o.next_pkid(max);
            o.sent(pkid, out, Instant::now());
            ids.push(pkid);
        }
        ids
    }

    #[test]
    fn a_message_leaves_when_its_own_packet_id_is_acknowledged() {
        let mut o = Outbox::default();
        o.push(m("a"));
        o.push(m("b"));
        assert_eq!(send_all(&mut o, 10), [1, 2]);
        assert!(o.done(2));
        assert!(!o.done(2), "not ours any more");
        assert_eq!(o.len(), 1);
        assert!(o.done(1));
        assert!(o.is_empty());
    }

    #[test]
    fn packet_ids_in_flight_are_never_reused_across_the_wrap() {
        let mut o = Outbox::default();
        for name in ["a", "b", "c"] {
            o.push(m(name));
        }
        assert_eq!(send_all(&mut o, 3), [1, 2, 3]);
        o.released(2); // a QoS 2 exchange waiting for PUBCOMP keeps its id
        o.done(1);
        o.done(3);
        o.push(m("d"));
        o.push(m("e"));
        assert_eq!(send_all(&mut o, 3), [1, 3]);
    }

    #[test]
    fn requeue_keeps_the_first_order_and_marks_dup() {
        let mut o = Outbox::default();
        for name in ["a", "b", "c", "d"] {
            o.push(m(name));
        }
        for _ in 0..3 {
            let out = o.pop().unwrap();
            let id = o.next_pkid(1000);
            o.sent(id, out, Instant::now());
        }
        assert_eq!(o.requeue(), 3);
        let names: Vec<(String, bool)> = std::iter::from_fn(|| o.pop())
            .map(|m| (m.topic.to_string(), m.dup))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), true),
                ("b".into(), true),
                ("c".into(), true),
                ("d".into(), false)
            ]
        );
    }

    #[test]
    fn ids_chosen_by_rumqttc_are_assigned_in_order_and_unwritten_ones_requeued() {
        let mut o = Outbox::default();
        for name in ["a", "b", "c"] {
            o.push(m(name));
        }
        for _ in 0..3 {
            let out = o.pop().unwrap();
            o.handed_over(out, Instant::now());
        }
        assert_eq!(o.in_flight(), 3);
        assert!(o.assigned(7));
        assert!(o.assigned(0)); // b went at QoS 0
        assert_eq!(o.in_flight(), 2);
        // The connection ends before c is written: a (in flight, DUP) goes again, then c.
        assert_eq!(o.requeue(), 1);
        let names: Vec<(String, bool)> = std::iter::from_fn(|| o.pop())
            .map(|m| (m.topic.to_string(), m.dup))
            .collect();
        assert_eq!(names, [("a".into(), true), ("c".into(), false)]);
        assert!(!o.assigned(9));
    }

    #[test]
    fn resume_resends_publishes_and_releases_under_their_ids() {
        let mut o = Outbox::default();
        for name in ["a", "b"] {
            o.push(m(name));
        }
        send_all(&mut o, 10);
        o.released(1);
        let again = o.resume(Instant::now());
        let mut b = m("b");
        b.dup = true;
        assert_eq!(again, [Resend::PubRel(1), Resend::Publish(2, b)]);
        assert_eq!(o.in_flight(), 2);
    }
}
