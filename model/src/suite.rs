//! The default suite: for each size, AF_XDP next to the kernel stack, measured the same way —
//! throughput beside UDP flood, latency beside UDP ping-pong and ICMP echo — and one table that
//! says how much bypassing the stack buys on this kernel.

use serde::{Deserialize, Serialize};

use crate::outcome::RunOutcome;
use crate::{Layout, Mode, RunSpec};

/// Sizes the suite measures unless told otherwise.
pub const SUITE_SIZES: [usize; 3] = [64, 512, 1500];

/// Modes of one size, in the order they run.
pub const SUITE_MODES: [Mode; 5] = [
    Mode::Throughput,
    Mode::UdpFlood,
    Mode::Latency,
    Mode::UdpPingpong,
    Mode::Icmp,
];

/// One run per (size, mode), from a template spec.
pub fn phases(template: &RunSpec, sizes: &[usize]) -> Vec<RunSpec> {
    sizes
        .iter()
        .flat_map(|&size| {
            SUITE_MODES.iter().map(move |&mode| {
                // Kernel-stack phases run split: colocated, each flow's two workers share the
                // core its AF_XDP worker had, so both sides use the same cores.
                let cores = if mode.kernel_stack() && template.layout == Layout::Colocated {
                    template.cores.iter().flat_map(|&c| [c, c]).collect()
                } else {
                    template.cores.clone()
                };
                RunSpec {
                    mode,
                    size,
                    // A rate paces the open-loop phases; latency phases keep one frame in flight.
                    rate: if mode.closed_loop() {
                        None
                    } else {
                        template.rate
                    },
                    cores,
                    ..template.clone()
                }
                .normalized()
            })
        })
        .collect()
}

/// AF_XDP against the kernel stack at one size. Ratios say how many times better AF_XDP is
/// (rate: AF_XDP / stack; latency: stack / AF_XDP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    /// Frame size.
    pub size: usize,
    /// AF_XDP throughput mode, received frames per second.
    pub xdp_pps: Option<f64>,
    /// UDP flood, received datagrams per second.
    pub udp_pps: Option<f64>,
    /// `xdp_pps / udp_pps`.
    pub pps_ratio: Option<f64>,
    /// AF_XDP latency mode, RTT median, ns.
    pub xdp_rtt_p50_ns: Option<u64>,
    /// AF_XDP latency mode, RTT 99th percentile, ns.
    pub xdp_rtt_p99_ns: Option<u64>,
    /// UDP ping-pong RTT median, ns.
    pub udp_rtt_p50_ns: Option<u64>,
    /// UDP ping-pong RTT 99th percentile, ns.
    pub udp_rtt_p99_ns: Option<u64>,
    /// `udp_rtt_p50 / xdp_rtt_p50`.
    pub p50_ratio: Option<f64>,
    /// `udp_rtt_p99 / xdp_rtt_p99`.
    pub p99_ratio: Option<f64>,
    /// ICMP echo RTT median, ns.
    pub icmp_rtt_p50_ns: Option<u64>,
    /// AF_XDP throughput mode: the sender's CPU ns per frame (older records: none).
    #[serde(default)]
    pub xdp_cpu_ns: Option<f64>,
    /// UDP flood: the sender's CPU ns per datagram.
    #[serde(default)]
    pub udp_cpu_ns: Option<f64>,
    /// `udp_cpu_ns / xdp_cpu_ns`: how many times less CPU a frame costs with AF_XDP.
    #[serde(default)]
    pub cpu_ratio: Option<f64>,
}

fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

/// One comparison row per size present in `outcomes`, in the order sizes first appear.
pub fn compare(outcomes: &[RunOutcome]) -> Vec<Comparison> {
    let mut sizes: Vec<usize> = Vec::new();
    for o in outcomes {
        if !sizes.contains(&o.size) {
            sizes.push(o.size);
        }
    }
    sizes
        .into_iter()
        .map(|size| {
            let find = |mode: Mode| outcomes.iter().find(|o| o.size == size && o.mode == mode);
            let pps = |mode| find(mode).map(|o| o.received_pps);
            let rtt = |mode, p99: bool| {
                find(mode)
                    .and_then(|o| o.rtt)
                    .map(|l| if p99 { l.p99_ns } else { l.p50_ns })
            };
            let as_f = |v: Option<u64>| v.map(|n| n as f64);
            let (xdp_pps, udp_pps) = (pps(Mode::Throughput), pps(Mode::UdpFlood));
            let (x50, x99) = (rtt(Mode::Latency, false), rtt(Mode::Latency, true));
            let (u50, u99) = (rtt(Mode::UdpPingpong, false), rtt(Mode::UdpPingpong, true));
            let cost = |mode| find(mode).and_then(RunOutcome::sender_ns_per_frame);
            let (xdp_cpu_ns, udp_cpu_ns) = (cost(Mode::Throughput), cost(Mode::UdpFlood));
            Comparison {
                size,
                xdp_pps,
                udp_pps,
                pps_ratio: ratio(xdp_pps, udp_pps),
                xdp_rtt_p50_ns: x50,
                xdp_rtt_p99_ns: x99,
                udp_rtt_p50_ns: u50,
                udp_rtt_p99_ns: u99,
                p50_ratio: ratio(as_f(u50), as_f(x50)),
                p99_ratio: ratio(as_f(u99), as_f(x99)),
                icmp_rtt_p50_ns: rtt(Mode::Icmp, false),
                xdp_cpu_ns,
                udp_cpu_ns,
                cpu_ratio: ratio(udp_cpu_ns, xdp_cpu_ns),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Accounting, Latencies, LatencySummary, Measured};

    fn outcome(mode: Mode, size: usize, pps: f64, p50: Option<u64>) -> RunOutcome {
        let rtt = p50.map(|p| LatencySummary {
            samples: 1,
            min_ns: p,
            p50_ns: p,
            p90_ns: p,
            p99_ns: 2 * p,
            p999_ns: 2 * p,
            max_ns: 2 * p,
            mean_ns: p as f64,
        });
        let spec = RunSpec {
            size,
            ..RunSpec::new(mode)
        };
        let measured = Measured {
            sent: 1,
            received: 1,
            window_ns: 1_000_000_000,
        };
        let latencies = Latencies {
            rtt,
            ..Latencies::default()
        };
        let mut o = RunOutcome::new(
            &spec,
            measured,
            latencies,
            Accounting::new(1, 1, &[]),
            Default::default(),
            Default::default(),
            vec![],
        );
        o.offered_pps = pps;
        o.received_pps = pps;
        o
    }

    #[test]
    fn phases_cover_every_size_and_mode() {
        let template = RunSpec::new(Mode::Throughput);
        let p = phases(&template, &[64, 1500]);
        assert_eq!(p.len(), 10);
        assert_eq!((p[0].size, p[0].mode), (64, Mode::Throughput));
        assert_eq!((p[9].size, p[9].mode), (1500, Mode::Icmp));
    }

    #[test]
    fn ratios_say_how_much_af_xdp_buys() {
        let runs = vec![
            outcome(Mode::Throughput, 64, 1_000_000.0, None),
            outcome(Mode::UdpFlood, 64, 250_000.0, None),
            outcome(Mode::Latency, 64, 0.0, Some(3_000)),
            outcome(Mode::UdpPingpong, 64, 0.0, Some(60_000)),
            outcome(Mode::Icmp, 64, 0.0, Some(2_500)),
            outcome(Mode::Throughput, 1500, 500_000.0, None),
        ];
        let c = compare(&runs);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].pps_ratio, Some(4.0));
        assert_eq!(c[0].p50_ratio, Some(20.0));
        assert_eq!(c[0].p99_ratio, Some(20.0));
        assert_eq!(c[0].icmp_rtt_p50_ns, Some(2_500));
        assert_eq!(
            (c[1].size, c[1].pps_ratio, c[1].p50_ratio),
            (1500, None, None),
            "missing rows stay empty"
        );
    }
}
