//! The UDP and ICMP counters of a namespace (/proc/thread-self/net/snmp and snmp6, read from a
//! thread inside it): where the kernel stack drops datagrams. A file that cannot be read or a
//! counter that is missing fails the run; it is never taken as zero.

use setup::Endpoint;

use crate::error::BenchError;

/// UDP and ICMP counters of one namespace, IPv4 and IPv6 together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snmp {
    /// Udp InErrors + Udp6InErrors (receive buffer full, checksum).
    pub udp_in_errors: u64,
    /// Udp NoPorts + Udp6NoPorts.
    pub udp_no_ports: u64,
    /// Udp SndbufErrors + Udp6SndbufErrors.
    pub udp_sndbuf_errors: u64,
    /// Icmp InErrors + Icmp6InErrors.
    pub icmp_in_errors: u64,
}

/// The counters in the texts of `snmp` (pairs of header and value lines) and `snmp6` (name
/// value lines); a counter missing from either is an error naming it.
pub fn parse(snmp: &str, snmp6: &str) -> Result<Snmp, String> {
    let mut v4 = std::collections::BTreeMap::new();
    let lines: Vec<&str> = snmp.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Vec<&str> = values.split_whitespace().collect();
        for (n, v) in names.iter().zip(&values).skip(1) {
            if let Ok(v) = v.parse::<u64>() {
                v4.insert(format!("{}{n}", names[0]), v);
            }
        }
    }
    let v6: std::collections::BTreeMap<&str, u64> = snmp6
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect();
    let get = |k4: &str, k6: &str| -> Result<u64, String> {
        let a = v4.get(k4).ok_or_else(|| format!("no {k4} in snmp"))?;
        let b = v6.get(k6).ok_or_else(|| format!("no {k6} in snmp6"))?;
        Ok(a + b)
    };
    Ok(Snmp {
        udp_in_errors: get("Udp:InErrors", "Udp6InErrors")?,
        udp_no_ports: get("Udp:NoPorts", "Udp6NoPorts")?,
        udp_sndbuf_errors: get("Udp:SndbufErrors", "Udp6SndbufErrors")?,
        icmp_in_errors: get("Icmp:InErrors", "Icmp6InErrors")?,
    })
}

/// Reads the counters of `e`'s namespace.
pub fn read(e: &Endpoint) -> Result<Snmp, BenchError> {
    let counter = |reason: String| BenchError::Counter {
        what: format!("the UDP/ICMP counters of {}", e.namespace),
        reason,
    };
    let texts = setup::netns::run_in(&e.namespace, || {
        let read = |p: &str| std::fs::read_to_string(p).map_err(|err| format!("{p}: {err}"));
        Ok((
            read("/proc/thread-self/net/snmp"),
            read("/proc/thread-self/net/snmp6"),
        ))
    })?;
    let (snmp, snmp6) = texts;
    parse(&snmp.map_err(counter)?, &snmp6.map_err(counter)?).map_err(counter)
}

impl Snmp {
    /// Counts since `earlier`.
    pub fn since(&self, earlier: &Snmp) -> Snmp {
        Snmp {
            udp_in_errors: self.udp_in_errors.saturating_sub(earlier.udp_in_errors),
            udp_no_ports: self.udp_no_ports.saturating_sub(earlier.udp_no_ports),
            udp_sndbuf_errors: self
                .udp_sndbuf_errors
                .saturating_sub(earlier.udp_sndbuf_errors),
            icmp_in_errors: self.icmp_in_errors.saturating_sub(earlier.icmp_in_errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "Ip: Forwarding DefaultTTL\nIp: 2 64\n\
        Icmp: InMsgs InErrors InCsumErrors\nIcmp: 10 2 0\n\
        Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 100 3 4 100 4 5\n";
    const SNMP6: &str = "Icmp6InErrors 1\nUdp6InErrors 10\nUdp6NoPorts 20\nUdp6SndbufErrors 30\n";

    #[test]
    fn ipv4_and_ipv6_counters_are_added() {
        let s = parse(SNMP, SNMP6).unwrap();
        assert_eq!(
            s,
            Snmp {
                udp_in_errors: 14,
                udp_no_ports: 23,
                udp_sndbuf_errors: 35,
                icmp_in_errors: 3,
            }
        );
    }

    #[test]
    fn a_missing_counter_is_an_error_not_a_zero() {
        let e = parse(SNMP, "Udp6InErrors 1\n").unwrap_err();
        assert!(e.contains("Udp6NoPorts"), "{e}");
        assert!(parse("", SNMP6).is_err());
    }
}
