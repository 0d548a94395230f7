//! Before measuring, or when asked: does traffic pass between A and B at all? A failure comes with
//! the causes the kernel's counters show (forwarding off, rp_filter drops, no route), not as 100 %
//! loss later.

use setup::TopologyInfo;

/// A UDP round trip over IPv4 (and IPv6 when `ipv6`) of `bytes`; on failure, an error that lists
/// the causes found.
pub fn round_trip(
    info: &TopologyInfo,
    ipv6: bool,
    bytes: usize,
) -> anyhow::Result<setup::RoundTrip> {
    setup::udp_round_trip(info, ipv6, bytes).map_err(|e| {
        let causes = setup::explain(info).unwrap_or_else(|d| vec![format!("(no diagnosis: {d})")]);
        let why = if causes.is_empty() {
            "the kernel's counters show no cause".to_string()
        } else {
            causes.join("; ")
        };
        anyhow::anyhow!(
            "no traffic passes between A and B of the {} topology '{}': {e}; {why}",
            info.spec.kind,
            info.spec.id
        )
    })
}
