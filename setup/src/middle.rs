//! The middle namespace of the bridge and routed topologies (`vb-<id>-m`): two veth ends, one
//! facing A (`vb<id>c`) and one facing B (`vb<id>d`), joined by a Linux bridge (`vb<id>m`) or by
//! the kernel's IP forwarding. Built inside the namespace and read back like the ends.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::plan::{IPV6_MIN_MTU, MIDDLE_MAC, ROUTED_ADDRESSING, ROUTER_IPV4, ROUTER_IPV6};
use crate::{netlink, netns, sysctl, SetupError, Side, TopologyKind, TopologySpec};
use model::{Middle, MIDDLE_LINK_ROLES, MIDDLE_ROLE};

/// Sysctls of the middle namespace: (key, value).
fn plan(spec: &TopologySpec, links: &[String; 2], bridge: &str) -> Vec<(String, String)> {
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let s = &spec.sysctls;
    let mut plan = Vec::new();
    match spec.kind {
        TopologyKind::Routed => {
            // A router forwards, whatever --forwarding says about the ends.
            plan.push(("net.ipv4.conf.all.forwarding".into(), "1".into()));
            plan.push((
                "net.ipv4.conf.all.rp_filter".into(),
                s.rp_filter.to_string(),
            ));
            if spec.mtu >= IPV6_MIN_MTU {
                plan.push(("net.ipv6.conf.all.forwarding".into(), "1".into()));
            }
            for dev in links {
                plan.push((format!("net.ipv4.conf.{dev}.forwarding"), "1".into()));
                plan.push((
                    format!("net.ipv4.conf.{dev}.rp_filter"),
                    s.rp_filter.to_string(),
                ));
                plan.push((format!("net.ipv4.conf.{dev}.proxy_arp"), flag(s.proxy_arp)));
                if spec.mtu >= IPV6_MIN_MTU {
                    plan.extend(sysctl::quiet_ipv6(dev));
                }
            }
        }
        _ => {
            // A bridge needs no addresses: no IPv6 on its ports or itself, so it sends nothing.
            if spec.mtu >= IPV6_MIN_MTU {
                for dev in links.iter().map(String::as_str).chain([bridge]) {
                    plan.push((format!("net.ipv6.conf.{dev}.disable_ipv6"), "1".into()));
                }
            }
        }
    }
    plan
}

/// Configures the middle namespace of a bridge or routed topology whose veth pairs exist.
pub fn configure(spec: &TopologySpec) -> Result<Middle, SetupError> {
    let id = &spec.id;
    let namespace = id.namespace_for_role(MIDDLE_ROLE);
    let links = MIDDLE_LINK_ROLES.map(|r| id.link_for_role(r));
    let bridge = id.link_for_role(MIDDLE_ROLE);
    netns::run_in(&namespace, || {
        let routed = spec.kind == TopologyKind::Routed;
        if !routed {
            netlink::block_on(async {
                let handle = netlink::connect()?;
                netlink::create_bridge(&handle, &bridge, spec.mtu).await
            })?;
        }
        let plan = plan(spec, &links, &bridge);
        for (key, value) in &plan {
            sysctl::write(key, value)?;
        }
        netlink::block_on(async {
            let handle = netlink::connect()?;
            let lo = netlink::index_of(&handle, "lo").await?;
            netlink::set_up(&handle, lo, "lo").await?;
            let bridge_index = if routed {
                None
            } else {
                Some(netlink::index_of(&handle, &bridge).await?)
            };
            for (i, dev) in links.iter().enumerate() {
                let side = Side::BOTH[i];
                let index = netlink::index_of(&handle, dev).await?;
                if let Some(b) = bridge_index {
                    netlink::set_controller(&handle, index, dev, b).await?;
                } else {
                    let p = ROUTED_ADDRESSING;
                    netlink::add_address(&handle, index, dev, ROUTER_IPV4[i].into(), p.ipv4_prefix)
                        .await?;
                    netlink::add_neighbour(&handle, index, dev, p.ipv4(side).into(), p.mac(side))
                        .await?;
                    if spec.mtu >= IPV6_MIN_MTU {
                        netlink::add_address(
                            &handle,
                            index,
                            dev,
                            ROUTER_IPV6[i].into(),
                            p.ipv6_prefix,
                        )
                        .await?;
                        netlink::add_neighbour(
                            &handle,
                            index,
                            dev,
                            IpAddr::V6(p.ipv6(side)),
                            p.mac(side),
                        )
                        .await?;
                    }
                }
                netlink::set_up(&handle, index, dev).await?;
            }
            if let Some(b) = bridge_index {
                netlink::set_up(&handle, b, &bridge).await?;
            }
            Ok(())
        })?;
        let mut sysctls = BTreeMap::new();
        for (key, value) in &plan {
            let actual = sysctl::read(key)?;
            if &actual != value {
                return Err(SetupError::NotApplied {
                    what: "sysctl",
                    interface: format!("{namespace} ({key})"),
                    wanted: value.clone(),
                    actual,
                });
            }
            sysctls.insert(key.clone(), actual);
        }
        Ok(Middle {
            kind: spec.kind,
            namespace: namespace.clone(),
            links: links.clone(),
            bridge: (!routed).then(|| bridge.clone()),
            router_ipv4: routed.then_some(ROUTER_IPV4),
            sysctls,
        })
    })
}

/// The MAC a frame from `side` must carry to reach the other end: the router's, or the peer's.
pub fn next_hop_mac(kind: TopologyKind, side: Side) -> [u8; 6] {
    match kind {
        TopologyKind::Routed => MIDDLE_MAC[side.index()],
        _ => crate::ADDRESSING.mac(side.peer()),
    }
}
