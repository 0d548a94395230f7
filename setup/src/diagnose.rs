//! Why traffic does not pass: kernel readings that explain a failed round trip (forwarding off in
//! the router, reverse-path filtering, missing routes), so a user sees a cause instead of 100 % loss.

use crate::{netns, sysctl, SetupError, TopologyInfo, TopologyKind};

/// Named counters of one `/proc/net/{snmp,netstat}`-style file: `("Ip", "OutNoRoutes") -> n`.
fn counter(text: &str, group: &str, name: &str) -> u64 {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter_map(|pair| match pair {
            [names, values] => Some((names, values)),
            _ => None,
        })
        .filter(|(names, _)| names.split_whitespace().next() == Some(&format!("{group}:")))
        .find_map(|(names, values)| {
            names
                .split_whitespace()
                .zip(values.split_whitespace())
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The causes that show in `namespace`'s counters.
fn causes_in(namespace: &str) -> Result<Vec<String>, SetupError> {
    netns::run_in(namespace, || {
        let read = |f: &str| std::fs::read_to_string(format!("/proc/thread-self/net/{f}"));
        let (snmp, netstat) = (
            read("snmp").unwrap_or_default(),
            read("netstat").unwrap_or_default(),
        );
        let mut causes = Vec::new();
        let rp = counter(&netstat, "TcpExt", "IPReversePathFilter");
        if rp > 0 {
            causes.push(format!(
                "{namespace}: reverse-path filtering dropped {rp} packets (TcpExt IPReversePathFilter): \
                 use --rp-filter 0 (off) or 2 (loose), or routes back the way packets came"
            ));
        }
        let addr_errors = counter(&snmp, "Ip", "InAddrErrors");
        if addr_errors > 0 {
            causes.push(format!(
                "{namespace}: {addr_errors} packets addressed elsewhere were dropped on input (Ip InAddrErrors): \
                 is forwarding off there?"
            ));
        }
        let no_routes = counter(&snmp, "Ip", "OutNoRoutes");
        if no_routes > 0 {
            causes.push(format!(
                "{namespace}: {no_routes} packets had no route (Ip OutNoRoutes)"
            ));
        }
        Ok(causes)
    })
}

/// Everything that explains why A and B cannot reach each other, most telling first; empty when
/// the kernel shows no cause.
pub fn explain(info: &TopologyInfo) -> Result<Vec<String>, SetupError> {
    let mut causes = Vec::new();
    if let Some(m) = info
        .middle
        .as_ref()
        .filter(|m| m.kind == TopologyKind::Routed)
    {
        let off: Vec<String> = netns::run_in(&m.namespace, || {
            let keys = ["net.ipv4.conf.all.forwarding".to_string()]
                .into_iter()
                .chain(
                    m.links
                        .iter()
                        .map(|l| format!("net.ipv4.conf.{l}.forwarding")),
                );
            Ok(keys
                .filter(|k| sysctl::read(k).map(|v| v == "0").unwrap_or(false))
                .collect())
        })?;
        if !off.is_empty() {
            causes.push(format!(
                "router {}: forwarding is off ({} = 0); vethbench sets it to 1 — something changed it",
                m.namespace,
                off.join(", ")
            ));
        }
    }
    let mut namespaces: Vec<&str> = info
        .endpoints
        .iter()
        .map(|e| e.namespace.as_str())
        .collect();
    if let Some(m) = &info.middle {
        namespaces.push(&m.namespace);
    }
    namespaces.dedup();
    for ns in namespaces {
        causes.extend(causes_in(ns)?);
    }
    Ok(causes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_found_by_group_and_name() {
        let text = "Ip: Forwarding InAddrErrors OutNoRoutes\nIp: 1 7 3\nIcmp: InMsgs\nIcmp: 9\n";
        assert_eq!(super::counter(text, "Ip", "InAddrErrors"), 7);
        assert_eq!(super::counter(text, "Ip", "OutNoRoutes"), 3);
        assert_eq!(super::counter(text, "Icmp", "InMsgs"), 9);
        assert_eq!(super::counter(text, "Tcp", "InMsgs"), 0);
    }
}
