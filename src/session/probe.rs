//! `--probe`: a health check that proves messages flow. Subscribe to a topic of the probe's
//! own, publish to it, wait for the message to come back; report connect, subscribe and
//! round-trip times.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use tokio::time::Instant;

use super::{Deadline, Session};
use crate::config::Probe;
use crate::exit::Status;

/// What a probe run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub connect: Duration,
    pub subscribe: Duration,
    /// One per probe, in the order sent.
    pub round_trips: Vec<Duration>,
}

impl Session<'_> {
    pub(super) async fn probe(&mut self, probe: &Probe) -> Result<Status> {
        let connect = self.connected_at.unwrap_or(self.started) - self.started;
        let filters = [probe.topic.clone()];
        let sent = Instant::now();
        if self.client.subscribe(&filters, self.cfg.qos).await.is_err() {
            return Err(self.closed());
        }
        let deadline = Deadline::after_timeout(self.cfg);
        self.wait(deadline, "SUBACK", |s| s.suback.is_some())
            .await?;
        if let Some(Err(reason)) = self
            .suback
            .take()
            .and_then(|codes| codes.into_iter().next())
        {
            return Err(anyhow::anyhow!(
                "probe subscription to {:?} refused by {}: {reason}",
                probe.topic,
                self.cfg.target
            ));
        }
        let subscribe = sent.elapsed();

        let topic: std::sync::Arc<str> = probe.topic.as_str().into();
        let mut round_trips = Vec::with_capacity(probe.count as usize);
        for n in 1..=probe.count {
            let payload = Bytes::from(format!("mqttc probe {n} of {}", self.cfg.client_id));
            self.probe_payload = Some(payload.clone());
            let sent = Instant::now();
            let message = self.out_message(&topic, payload);
            self.send(message).await?;
            let deadline = Deadline::after_timeout(self.cfg);
            let back = |s: &Self| (s.probe_payload.is_none() && s.all_acked()) || s.refused > 0;
            self.wait(deadline, "probe message", back).await?;
            if let Some(reason) = &self.refusal {
                return Err(anyhow::anyhow!(
                    "probe message to {:?} refused by {}: {reason}",
                    probe.topic,
                    self.cfg.target
                ));
            }
            round_trips.push(sent.elapsed());
        }
        self.disconnect().await?;

        let report = Report {
            connect,
            subscribe,
            round_trips,
        };
        let mut text = Vec::new();
        if self.cfg.format.is_some() {
            write_text(&mut text, &report)?;
        } else {
            write_json(&mut text, &report)?;
        }
        self.out.raw(&text)?;
        self.out.flush()?;
        Ok(Status::Ok)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// min, median, max
fn summary(round_trips: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = round_trips.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    (sorted[0], median, sorted[n - 1])
}

pub fn write_text(w: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(w, "connect {:.3} ms", ms(r.connect))?;
    writeln!(w, "subscribe {:.3} ms", ms(r.subscribe))?;
    if let [one] = r.round_trips[..] {
        writeln!(w, "round trip {:.3} ms", ms(one))
    } else {
        let (min, median, max) = summary(&r.round_trips);
        writeln!(
            w,
            "round trip min {:.3} ms, median {:.3} ms, max {:.3} ms ({} probes)",
            ms(min),
            ms(median),
            ms(max),
            r.round_trips.len()
        )
    }
}

pub fn write_json(w: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let (min, median, max) = summary(&r.round_trips);
    writeln!(
        w,
        "{{\"connect_ms\":{:.3},\"subscribe_ms\":{:.3},\"round_trip_ms\":{{\"min\":{:.3},\"median\":{:.3},\"max\":{:.3}}},\"probes\":{}}}",
        ms(r.connect),
        ms(r.subscribe),
        ms(min),
        ms(median),
        ms(max),
        r.round_trips.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(trips: &[u64]) -> Report {
        Report {
            connect: Duration::from_micros(1500),
            subscribe: Duration::from_micros(250),
            round_trips: trips.iter().map(|&us| Duration::from_micros(us)).collect(),
        }
    }

    #[test]
    fn text_reports() {
        let mut out = Vec::new();
        write_text(&mut out, &report(&[400])).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "connect 1.500 ms\nsubscribe 0.250 ms\nround trip 0.400 ms\n"
        );
        let mut out = Vec::new();
        write_text(&mut out, &report(&[900, 100, 300, 200])).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "connect 1.500 ms\nsubscribe 0.250 ms\n\
             round trip min 0.100 ms, median 0.250 ms, max 0.900 ms (4 probes)\n"
        );
    }

    #[test]
    fn json_report() {
        let mut out = Vec::new();
        write_json(&mut out, &report(&[300, 100, 200])).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"connect_ms\":1.500,\"subscribe_ms\":0.250,\
             \"round_trip_ms\":{\"min\":0.100,\"median\":0.200,\"max\":0.300},\"probes\":3}\n"
        );
    }
}
