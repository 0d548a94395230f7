//! The metrics estimated from each trial, by name: records store estimates under these names,
//! `compare` judges them, exports and reports show them.

use std::fmt;

use crate::outcome::RunOutcome;

/// One metric of a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Frames per second that arrived where the mode ends (B, or back at A).
    ReceivedPps,
    /// Measured frames lost, percent.
    LossPct,
    /// Round-trip time, median, µs.
    RttP50Us,
    /// Round-trip time, 99th percentile, µs.
    RttP99Us,
    /// One-way time A → B, median, µs.
    A2bP50Us,
    /// CPU time of the sender's thread per frame it sent (per round trip in ping-pong modes),
    /// warm-up included, ns.
    ACpuNsPerFrame,
}

impl Metric {
    /// Every metric, in the order tables show them.
    pub const ALL: [Metric; 6] = [
        Metric::ReceivedPps,
        Metric::LossPct,
        Metric::RttP50Us,
        Metric::RttP99Us,
        Metric::A2bP50Us,
        Metric::ACpuNsPerFrame,
    ];

    /// The name in records, exports and noise profiles.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::ReceivedPps => "received_pps",
            Metric::LossPct => "loss_pct",
            Metric::RttP50Us => "rtt_p50_us",
            Metric::RttP99Us => "rtt_p99_us",
            Metric::A2bP50Us => "a2b_p50_us",
            Metric::ACpuNsPerFrame => "a_cpu_ns_per_frame",
        }
    }

    /// The metric of a name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether a higher value is better.
    pub fn higher_is_better(self) -> bool {
        self == Metric::ReceivedPps
    }

    /// Its value in a trial; `None` where the trial did not measure it.
    pub fn of(self, o: &RunOutcome) -> Option<f64> {
        let us = |ns: u64| ns as f64 / 1e3;
        match self {
            Metric::ReceivedPps => Some(o.received_pps),
            Metric::LossPct => Some(o.loss_pct),
            Metric::RttP50Us => o.rtt.as_ref().map(|l| us(l.p50_ns)),
            Metric::RttP99Us => o.rtt.as_ref().map(|l| us(l.p99_ns)),
            Metric::A2bP50Us => o.one_way_a2b.as_ref().map(|l| us(l.p50_ns)),
            Metric::ACpuNsPerFrame => o.sender_ns_per_frame(),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
