//! Interface counters as the kernel keeps them (IFLA_STATS64), read through netlink inside the
//! interface's namespace.

use rtnetlink::packet_route::link::LinkAttribute;
use serde::{Deserialize, Serialize};

use crate::{netlink, netns, Endpoint, SetupError};

/// The counters of one interface that matter for accounting packets.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct LinkCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets dropped on transmit (for veth: the peer could not take them).
    pub tx_dropped: u64,
}

impl LinkCounters {
    /// Counts since `earlier`.
    pub fn since(&self, earlier: &LinkCounters) -> LinkCounters {
        LinkCounters {
            rx_packets: self.rx_packets.saturating_sub(earlier.rx_packets),
            tx_packets: self.tx_packets.saturating_sub(earlier.tx_packets),
            rx_dropped: self.rx_dropped.saturating_sub(earlier.rx_dropped),
            tx_dropped: self.tx_dropped.saturating_sub(earlier.tx_dropped),
        }
    }
}

/// Reads the counters of a topology end.
pub fn link_counters(endpoint: &Endpoint) -> Result<LinkCounters, SetupError> {
    netns::run_in(&endpoint.namespace, || {
        netlink::block_on(async {
            let handle = netlink::connect()?;
            let link = netlink::link_by_name(&handle, &endpoint.interface)
                .await?
                .ok_or_else(|| SetupError::Gone(format!("interface {}", endpoint.interface)))?;
            let mut c = LinkCounters::default();
            for attr in &link.attributes {
                if let LinkAttribute::Stats64(s) = attr {
                    c = LinkCounters {
                        rx_packets: s.rx_packets,
                        tx_packets: s.tx_packets,
                        rx_dropped: s.rx_dropped,
                        tx_dropped: s.tx_dropped,
                    };
                }
            }
            Ok(c)
        })
    })
}
