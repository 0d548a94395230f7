//! rtnetlink requests. A netlink socket belongs to the namespace of the thread that opened it, so
//! callers open one per namespace (see [`crate::netns::run_in`]) and drive it on a small runtime.

use std::future::Future;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use rtnetlink::packet_route::neighbour::NeighbourState;
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::netns::NetnsFile;
use crate::SetupError;

/// Runs a future to completion on a single-threaded runtime owned by the calling thread.
pub fn block_on<T>(f: impl Future<Output = Result<T, SetupError>>) -> Result<T, SetupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| SetupError::Thread(format!("cannot start a netlink runtime: {e}")))?
        .block_on(f)
}

/// Opens a route netlink socket in the calling thread's namespace. Call inside [`block_on`].
pub fn connect() -> Result<Handle, SetupError> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(|e| SetupError::Netlink {
        op: "open a route netlink socket".into(),
        message: e.to_string(),
    })?;
    tokio::spawn(connection);
    Ok(handle)
}

fn nl_err(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> SetupError {
    let op = op.into();
    move |e| match &e {
        rtnetlink::Error::NetlinkError(m) if m.code.map(|c| c.get()) == Some(-libc::EPERM) => {
            SetupError::NotPermitted { op }
        }
        _ => SetupError::Netlink {
            op,
            message: e.to_string(),
        },
    }
}

/// One veth end to create: its name, namespace, MAC, MTU and queue count.
pub struct VethEnd<'a> {
    pub name: &'a str,
    pub netns: &'a NetnsFile,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub queues: u32,
}

/// Creates a veth pair whose two ends are born inside their namespaces.
pub async fn create_veth(
    handle: &Handle,
    a: &VethEnd<'_>,
    b: &VethEnd<'_>,
) -> Result<(), SetupError> {
    let peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(b.name)
        .mtu(b.mtu)
        .address(b.mac.to_vec())
        .setns_by_fd(b.netns.file().as_raw_fd())
        .append_extra_attribute(LinkAttribute::NumTxQueues(b.queues))
        .append_extra_attribute(LinkAttribute::NumRxQueues(b.queues))
        .build();
    let message = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(a.name)
        .mtu(a.mtu)
        .address(a.mac.to_vec())
        .setns_by_fd(a.netns.file().as_raw_fd())
        .append_extra_attribute(LinkAttribute::NumTxQueues(a.queues))
        .append_extra_attribute(LinkAttribute::NumRxQueues(a.queues))
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
    handle
        .link()
        .add(message)
        .execute()
        .await
        .map_err(nl_err(format!(
            "create veth pair {} <-> {}",
            a.name, b.name
        )))
}

/// The ifindex of a link by name, `None` if there is no such link in this namespace.
pub async fn link_by_name(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, SetupError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(rtnetlink::Error::NetlinkError(m))
            if m.code.map(|c| c.get()) == Some(-libc::ENODEV) =>
        {
            Ok(None)
        }
        Err(e) => Err(nl_err(format!("look up link {name}"))(e)),
    }
}

/// The ifindex of a link that must exist.
pub async fn index_of(handle: &Handle, name: &str) -> Result<u32, SetupError> {
    link_by_name(handle, name)
        .await?
        .map(|l| l.header.index)
        .ok_or_else(|| SetupError::Netlink {
            op: format!("look up link {name}"),
            message: "no such link".into(),
        })
}

/// Every link in this namespace.
pub async fn links(handle: &Handle) -> Result<Vec<LinkMessage>, SetupError> {
    handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(nl_err("list links"))
}

/// Sets a link administratively up.
pub async fn set_up(handle: &Handle, index: u32, name: &str) -> Result<(), SetupError> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl_err(format!("set {name} up")))
}

/// Adds an address; IPv6 addresses skip duplicate address detection so they are usable at once.
pub async fn add_address(
    handle: &Handle,
    index: u32,
    name: &str,
    addr: IpAddr,
    prefix: u8,
) -> Result<(), SetupError> {
    let mut req = handle.address().add(index, addr, prefix);
    if addr.is_ipv6() {
        req.message_mut()
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    req.execute()
        .await
        .map_err(nl_err(format!("add address {addr}/{prefix} to {name}")))
}

/// Adds a permanent neighbour entry, so traffic needs no ARP/ND (AF_XDP ends answer neither).
pub async fn add_neighbour(
    handle: &Handle,
    index: u32,
    name: &str,
    addr: IpAddr,
    mac: [u8; 6],
) -> Result<(), SetupError> {
    handle
        .neighbours()
        .add(index, addr)
        .link_layer_address(&mac)
        .state(NeighbourState::Permanent)
        .execute()
        .await
        .map_err(nl_err(format!("add neighbour {addr} on {name}")))
}

/// Deletes a link by index.
pub async fn delete_link(handle: &Handle, index: u32, name: &str) -> Result<(), SetupError> {
    handle
        .link()
        .del(index)
        .execute()
        .await
        .map_err(nl_err(format!("delete link {name}")))
}

/// What the kernel reports about a link.
#[derive(Clone, Debug, Default)]
pub struct LinkState {
    pub index: u32,
    pub name: String,
    pub mac: Vec<u8>,
    pub mtu: u32,
    pub rx_queues: u32,
    pub tx_queues: u32,
    pub kind: Option<String>,
}

/// Extracts the fields vethbench reports from a link message.
pub fn link_state(link: &LinkMessage) -> LinkState {
    let mut s = LinkState {
        index: link.header.index,
        ..LinkState::default()
    };
    for attr in &link.attributes {
        match attr {
            LinkAttribute::IfName(n) => s.name = n.clone(),
            LinkAttribute::Address(a) => s.mac = a.clone(),
            LinkAttribute::Mtu(m) => s.mtu = *m,
            LinkAttribute::NumRxQueues(q) => s.rx_queues = *q,
            LinkAttribute::NumTxQueues(q) => s.tx_queues = *q,
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        s.kind = Some(kind.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    s
}

/// Creates a Linux bridge (STP off, as the kernel makes it), administratively down.
pub async fn create_bridge(handle: &Handle, name: &str, mtu: u32) -> Result<(), SetupError> {
    handle
        .link()
        .add(
            LinkMessageBuilder::<rtnetlink::LinkBridge>::new(name)
                .mtu(mtu)
                .build(),
        )
        .execute()
        .await
        .map_err(nl_err(format!("create bridge {name}")))
}

/// Makes link `index` a port of the bridge `bridge`.
pub async fn set_controller(
    handle: &Handle,
    index: u32,
    name: &str,
    bridge: u32,
) -> Result<(), SetupError> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).controller(bridge).build())
        .execute()
        .await
        .map_err(nl_err(format!("add {name} to its bridge")))
}

/// Adds a route to `dest/prefix` via `gateway` on link `index` (main table).
pub async fn add_route(
    handle: &Handle,
    index: u32,
    dest: IpAddr,
    prefix: u8,
    gateway: IpAddr,
) -> Result<(), SetupError> {
    let message = match (dest, gateway) {
        (IpAddr::V4(d), IpAddr::V4(g)) => {
            rtnetlink::RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .destination_prefix(d, prefix)
                .gateway(g)
                .output_interface(index)
                .build()
        }
        (IpAddr::V6(d), IpAddr::V6(g)) => {
            rtnetlink::RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                .destination_prefix(d, prefix)
                .gateway(g)
                .output_interface(index)
                .build()
        }
        _ => {
            return Err(SetupError::Netlink {
                op: format!("add route {dest}/{prefix} via {gateway}"),
                message: "destination and gateway of different IP versions".into(),
            })
        }
    };
    handle
        .route()
        .add(message)
        .execute()
        .await
        .map_err(nl_err(format!("add route {dest}/{prefix} via {gateway}")))
}
