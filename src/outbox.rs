//! Every message handed to the connection that the broker has not yet confirmed, so that
//! nothing accepted is lost: a run ends only when the outbox is empty, and after a reconnect to
//! a broker that kept no session the outbox is sent again.
//!
//! rumqttc reports each publish as it goes out (`Outgoing::Publish(pkid)`, in the order the
//! publishes were queued) and each final acknowledgement by packet id; a publish it sends again
//! itself (to a broker that kept the session) reuses its packet id.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PublishProperties;

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
}

#[derive(Debug, Default)]
pub struct Outbox {
    /// Queued towards the connection, not yet written.
    queued: VecDeque<Out>,
    /// Written at QoS 1/2, by packet id, with the order they were queued in.
    sent: HashMap<u16, (u64, Out)>,
    next_seq: u64,
}

impl Outbox {
    pub fn push(&mut self, m: Out) {
        self.queued.push_back(m);
    }

    /// A publish with this packet id (0 for QoS 0) went out.
    pub fn sent(&mut self, pkid: u16) {
        if pkid != 0 && self.sent.contains_key(&pkid) {
            // rumqttc resending to a broker that kept the session: already accounted for.
            return;
        }
        if let Some(m) = self.queued.pop_front() {
            if pkid != 0 {
                self.next_seq += 1;
                self.sent.insert(pkid, (self.next_seq, m));
            }
        }
    }

    /// The broker completed (or refused) the publish with this packet id.
    pub fn done(&mut self, pkid: u16) {
        self.sent.remove(&pkid);
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.sent.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queued.len() + self.sent.len()
    }

    /// Everything not confirmed, in the order it was first queued, leaving the outbox empty:
    /// for sending again after the broker lost the session.
    pub fn take_all(&mut self) -> Vec<Out> {
        let mut sent: Vec<(u64, Out)> = self.sent.drain().map(|(_, v)| v).collect();
        sent.sort_by_key(|(seq, _)| *seq);
        sent.into_iter()
            .map(|(_, m)| m)
            .chain(self.queued.drain(..))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, qos: Qos) -> Out {
        Out {
            topic: Arc::from(name),
            payload: Bytes::new(),
            qos,
            retain: false,
            properties: None,
        }
    }

    fn names(v: Vec<Out>) -> Vec<String> {
        v.iter().map(|m| m.topic.to_string()).collect()
    }

    #[test]
    fn qos0_leaves_when_written_qos1_when_acknowledged() {
        let mut o = Outbox::default();
        o.push(m("a", Qos::AtMostOnce));
        o.push(m("b", Qos::AtLeastOnce));
        assert_eq!(o.len(), 2);
        o.sent(0);
        o.sent(1);
        assert_eq!(o.len(), 1);
        o.done(1);
        assert!(o.is_empty());
    }

    #[test]
    fn resends_by_rumqttc_are_not_counted_twice() {
        let mut o = Outbox::default();
        o.push(m("a", Qos::AtLeastOnce));
        o.push(m("b", Qos::AtLeastOnce));
        o.sent(1);
        o.sent(1);
        assert_eq!(o.len(), 2, "b is still queued");
        o.sent(2);
        o.done(1);
        o.done(2);
        assert!(o.is_empty());
    }

    #[test]
    fn take_all_keeps_the_original_order_across_packet_id_wrap() {
        let mut o = Outbox::default();
        for name in ["a", "b", "c", "d"] {
            o.push(m(name, Qos::AtLeastOnce));
        }
        o.sent(999);
        o.sent(1000);
        o.sent(1);
        assert_eq!(names(o.take_all()), ["a", "b", "c", "d"]);
        assert!(o.is_empty());
    }
}
