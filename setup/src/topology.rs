//! Topologies: namespace A ↔ veth ↔ namespace B (pair), through a bridge or a router in a middle
//! namespace, or both ends in one namespace. [`Topology::create`] builds one, reads every setting
//! back from the kernel into a [`TopologyInfo`], and returns a guard that tears it all down on drop
//! — also while a panic unwinds, and also when creation fails halfway.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::lease::Lease;
use crate::middle;
use crate::netlink::{self, VethEnd};
use crate::netns::{self, NetnsFile};
use crate::plan::{network, IPV6_MIN_MTU, MIDDLE_MAC, ROUTER_IPV4, ROUTER_IPV6};
use crate::{
    ethtool, napi, sysctl, teardown, Addressing, RunId, RunRecord, SetupError, Side, TopologyKind,
    TopologySpec, ADDRESSING, ROUTED_ADDRESSING,
};
use model::{Endpoint, Mac, NapiThread, TopologyInfo, MIDDLE_LINK_ROLES, MIDDLE_ROLE};

/// The address plan of a topology kind.
fn addressing(kind: TopologyKind) -> Addressing {
    match kind {
        TopologyKind::Routed => ROUTED_ADDRESSING,
        _ => ADDRESSING,
    }
}

#[cfg(feature = "testing")]
use crate::testing::fail_point;
#[cfg(not(feature = "testing"))]
fn fail_point(_: &'static str) -> Result<(), SetupError> {
    Ok(())
}

/// While armed, removes what this process created for a run — never more: a process that lost a
/// race for an id must not remove the winner's namespaces.
struct Guard {
    id: RunId,
    /// Namespaces this process created.
    created: Vec<String>,
    /// Whether the run record is ours to remove.
    claimed: bool,
    /// This process's exclusive use of the topology (dropped after the guard's teardown, since
    /// fields drop after `Drop::drop` runs).
    lease: Option<Lease>,
    armed: bool,
}

impl Guard {
    fn teardown(&mut self) -> Result<teardown::Removed, SetupError> {
        self.armed = false;
        let removed = teardown::remove_namespaces(&self.id, &self.created);
        if self.claimed && RunRecord::load(&self.id).is_none_or(|r| r.is_mine()) {
            RunRecord::remove(&self.id)?;
        }
        // The lock file goes only with the lock in hand: a process measuring on the topology
        // (`run --on` of a held topology) keeps its lock to the end.
        if self.lease.is_none() {
            self.lease = Lease::acquire(&self.id).ok();
        }
        if self.lease.is_some() {
            crate::lease::remove_lock_file(&self.id)?;
        }
        removed
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.teardown() {
                eprintln!(
                    "vethbench: tearing down run {}: {e} (run `vethbench cleanup`)",
                    self.id
                );
            }
        }
    }
}

/// A live pair topology; dropping it removes it.
pub struct Topology {
    info: TopologyInfo,
    guard: Guard,
}

impl Topology {
    /// Builds the pair topology. Validates the spec and checks the id is free before creating
    /// anything; on any later failure everything created so far is removed.
    pub fn create(spec: &TopologySpec) -> Result<Topology, SetupError> {
        spec.validate()?;
        let id = &spec.id;
        let namespaces = spec.namespaces();
        check_id_free(id, &namespaces)?;
        let mut guard = Guard {
            id: id.clone(),
            created: Vec::new(),
            claimed: false,
            lease: None,
            armed: true,
        };
        RunRecord::claim(id, namespaces.clone())?;
        guard.claimed = true;
        guard.lease = Some(Lease::acquire(id)?);
        for ns in &namespaces {
            netns::create(ns)?;
            guard.created.push(ns.clone());
        }
        fail_point("namespaces")?;
        create_links(spec)?;
        fail_point("veth")?;
        let middle = if spec.kind.has_middle() {
            Some(middle::configure(spec)?)
        } else {
            None
        };
        let endpoints = std::thread::scope(|s| {
            let workers = Side::BOTH.map(|side| s.spawn(move || configure_end(spec, side)));
            workers.map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(SetupError::Thread("configuring a veth end panicked".into()))
                })
            })
        });
        let [a, b] = endpoints;
        let info = TopologyInfo {
            spec: spec.clone(),
            endpoints: [a?, b?],
            middle,
        };
        fail_point("configured")?;
        let mut record = RunRecord::for_this_process(id, namespaces);
        record.topology = Some(info.clone());
        record.save()?;
        Ok(Topology { info, guard })
    }

    /// What an earlier `create` (possibly of another process) built, if it is still up.
    pub fn lookup(id: &RunId) -> Result<TopologyInfo, SetupError> {
        RunRecord::load(id)
            .and_then(|r| r.topology)
            .filter(|info| info.endpoints.iter().all(|e| netns::exists(&e.namespace)))
            .ok_or_else(|| SetupError::NotFound(id.to_string()))
    }

    /// Takes an existing topology (left up by `vethbench up`) for this process alone: refused,
    /// naming the owner's pid, while another live process measures on it or holds it; a missing
    /// topology is [`SetupError::NotFound`]. Nothing is touched before both checks pass.
    pub fn borrow(id: &RunId) -> Result<(TopologyInfo, Lease), SetupError> {
        let info = Topology::lookup(id)?;
        let lease = Lease::acquire(id)?;
        Ok((info, lease))
    }

    /// What was built.
    pub fn info(&self) -> &TopologyInfo {
        &self.info
    }

    /// One end.
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        self.info.endpoint(side)
    }

    /// Removes the topology now, reporting errors (Drop can only print them).
    pub fn destroy(mut self) -> Result<teardown::Removed, SetupError> {
        self.guard.teardown()
    }

    /// Lets other processes measure on the topology while this one holds it up (`up --hold`):
    /// gives up the exclusive lock, keeps the teardown on drop.
    pub fn share(&mut self) {
        self.guard.lease = None;
    }

    /// Leaves the topology up after this process exits (`vethbench up`); `vethbench down` or
    /// `vethbench cleanup` removes it later.
    pub fn keep(mut self) -> Result<TopologyInfo, SetupError> {
        if let Some(mut record) = RunRecord::load(&self.guard.id) {
            record.detached = true;
            record.save()?;
        }
        self.guard.armed = false;
        self.guard.lease = None;
        Ok(self.info.clone())
    }
}

/// Refuses an id whose namespaces exist (a live topology or a leftover); a live owner without
/// namespaces yet is caught by [`RunRecord::claim`].
fn check_id_free(id: &RunId, namespaces: &[String]) -> Result<(), SetupError> {
    if let Some(pid) = Lease::holder(id) {
        return Err(SetupError::Busy {
            id: id.to_string(),
            pid,
        });
    }
    if let Some(ns) = namespaces.iter().find(|ns| netns::exists(ns)) {
        return Err(SetupError::IdInUse {
            id: id.to_string(),
            what: format!("namespace {ns} exists"),
        });
    }
    Ok(())
}

/// Creates the veth pairs, every end born in its namespace, from a thread of its own (so the
/// caller may be anywhere, even inside an async runtime): A ↔ B directly, or A ↔ middle (`c`) and
/// B ↔ middle (`d`).
fn create_links(spec: &TopologySpec) -> Result<(), SetupError> {
    let id = &spec.id;
    let ends = [
        NetnsFile::open(&spec.namespace_of(Side::A))?,
        NetnsFile::open(&spec.namespace_of(Side::B))?,
    ];
    let middle_ns = if spec.kind.has_middle() {
        Some(NetnsFile::open(&id.namespace_for_role(MIDDLE_ROLE))?)
    } else {
        None
    };
    let names = [id.link(Side::A), id.link(Side::B)];
    let middle_names = MIDDLE_LINK_ROLES.map(|r| id.link_for_role(r));
    let end = |name, netns, mac| VethEnd {
        name,
        netns,
        mac,
        mtu: spec.mtu,
        queues: spec.queues,
    };
    let end_of = |side: Side| {
        end(
            &names[side.index()],
            &ends[side.index()],
            ADDRESSING.mac(side),
        )
    };
    netns::on_thread(|| {
        netlink::block_on(async {
            let handle = netlink::connect()?;
            match &middle_ns {
                None => netlink::create_veth(&handle, &end_of(Side::A), &end_of(Side::B)).await,
                Some(m) => {
                    for side in Side::BOTH {
                        let i = side.index();
                        let facing = end(&middle_names[i], m, MIDDLE_MAC[i]);
                        netlink::create_veth(&handle, &end_of(side), &facing).await?;
                    }
                    Ok(())
                }
            }
        })
    })
}

/// Sysctl keys set on each side: (key, value).
fn sysctl_plan(spec: &TopologySpec, dev: &str) -> Vec<(String, String)> {
    let s = &spec.sysctls;
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let mut plan = vec![
        // Let unprivileged ICMP echo sockets work in the namespace (default there is "1 0").
        ("net.ipv4.ping_group_range".into(), "0 2147483647".into()),
        ("net.ipv4.conf.all.forwarding".into(), flag(s.forwarding)),
        ("net.ipv6.conf.all.forwarding".into(), flag(s.forwarding)),
        (
            "net.ipv4.conf.all.rp_filter".into(),
            s.rp_filter.to_string(),
        ),
        (
            "net.ipv4.conf.all.accept_local".into(),
            flag(s.accept_local),
        ),
    ];
    for (knob, value) in [
        ("rp_filter", s.rp_filter.to_string()),
        ("accept_local", flag(s.accept_local)),
        ("forwarding", flag(s.forwarding)),
        ("proxy_arp", flag(s.proxy_arp)),
    ] {
        plan.push((format!("net.ipv4.conf.{dev}.{knob}"), value));
    }
    if spec.mtu >= IPV6_MIN_MTU {
        plan.extend(sysctl::quiet_ipv6(dev));
    }
    plan
}

/// Configures one end inside its namespace and reads it back.
fn configure_end(spec: &TopologySpec, side: Side) -> Result<Endpoint, SetupError> {
    let id = &spec.id;
    let namespace = spec.namespace_of(side);
    let dev = id.link(side);
    let p = addressing(spec.kind);
    let routed = spec.kind == TopologyKind::Routed;
    netns::run_in(&namespace, || {
        let plan = sysctl_plan(spec, &dev);
        for (key, value) in &plan {
            sysctl::write(key, value)?;
        }
        let ipv6 = spec.mtu >= IPV6_MIN_MTU;
        let (link, features) = netlink::block_on(async {
            let handle = netlink::connect()?;
            let lo = netlink::index_of(&handle, "lo").await?;
            netlink::set_up(&handle, lo, "lo").await?;
            let index = netlink::index_of(&handle, &dev).await?;
            netlink::set_up(&handle, index, &dev).await?;
            let peer = side.peer();
            let i = side.index();
            netlink::add_address(&handle, index, &dev, p.ipv4(side).into(), p.ipv4_prefix).await?;
            if ipv6 {
                netlink::add_address(&handle, index, &dev, p.ipv6(side).into(), p.ipv6_prefix)
                    .await?;
            }
            if routed {
                // The router is the next hop: a permanent neighbour entry for it, and a route to
                // the other end's subnet through it.
                let (gw4, gw6) = (ROUTER_IPV4[i], ROUTER_IPV6[i]);
                netlink::add_neighbour(&handle, index, &dev, gw4.into(), MIDDLE_MAC[i]).await?;
                let far = network(p.ipv4(peer).into(), p.ipv4_prefix);
                netlink::add_route(&handle, index, far, p.ipv4_prefix, gw4.into()).await?;
                if ipv6 {
                    netlink::add_neighbour(&handle, index, &dev, gw6.into(), MIDDLE_MAC[i]).await?;
                    let far = network(p.ipv6(peer).into(), p.ipv6_prefix);
                    netlink::add_route(&handle, index, far, p.ipv6_prefix, gw6.into()).await?;
                }
            } else {
                netlink::add_neighbour(&handle, index, &dev, p.ipv4(peer).into(), p.mac(peer))
                    .await?;
                if ipv6 {
                    netlink::add_neighbour(
                        &handle,
                        index,
                        &dev,
                        IpAddr::V6(p.ipv6(peer)),
                        p.mac(peer),
                    )
                    .await?;
                }
            }
            let mut eth = ethtool::connect()?;
            let wanted: Vec<(&str, bool)> = [
                (ethtool::GRO, spec.gro),
                (ethtool::TX_CSUM, spec.tx_checksum),
            ]
            .into_iter()
            .filter_map(|(name, on)| on.map(|on| (name, on)))
            .collect();
            if !wanted.is_empty() {
                ethtool::set_features(&mut eth, &dev, &wanted).await?;
            }
            let features =
                ethtool::active_features(&mut eth, &dev, &[ethtool::GRO, ethtool::TX_CSUM]).await?;
            let link = netlink::link_by_name(&handle, &dev).await?;
            Ok((link, features))
        })?;
        let napi_threads = match (&spec.napi_cores, spec.threaded_napi) {
            (Some(cores), Some(true)) => napi::set_threaded_and_find(&dev)?
                .into_iter()
                .enumerate()
                .map(|(i, (pid, name))| {
                    let cores = napi::pin_thread(pid, cores[i % cores.len()])?;
                    Ok(NapiThread { pid, name, cores })
                })
                .collect::<Result<Vec<_>, SetupError>>()?,
            (_, Some(on)) => {
                napi::set_threaded(&dev, on)?;
                Vec::new()
            }
            (_, None) => Vec::new(),
        };
        let (defer, flush) = napi::tune(
            &dev,
            napi::NapiTuning {
                defer_hard_irqs: spec.napi_defer_hard_irqs,
                gro_flush_timeout_ns: spec.gro_flush_timeout_ns,
            },
        )?;
        let link = netlink::link_state(&link.ok_or_else(|| SetupError::NotFound(id.to_string()))?);
        let mut sysctls = BTreeMap::new();
        for (key, _) in &plan {
            sysctls.insert(key.clone(), sysctl::read(key)?);
        }
        let endpoint = Endpoint {
            side,
            namespace: namespace.clone(),
            interface: dev.clone(),
            ifindex: link.index,
            mac: Mac(link.mac.as_slice().try_into().unwrap_or([0; 6])),
            ipv4: p.ipv4(side),
            ipv4_prefix: p.ipv4_prefix,
            ipv6: ipv6.then(|| p.ipv6(side)),
            ipv6_prefix: p.ipv6_prefix,
            mtu: link.mtu,
            rx_queues: link.rx_queues,
            tx_queues: link.tx_queues,
            gro: features[0],
            tx_checksum: features[1],
            threaded_napi: napi::threaded(&dev)?,
            napi_threads,
            napi_defer_hard_irqs: defer,
            gro_flush_timeout_ns: flush,
            sysctls,
            next_hop_mac: Some(Mac(middle::next_hop_mac(spec.kind, side))),
            gateway: routed.then_some(ROUTER_IPV4[side.index()]),
        };
        check_applied(spec, &endpoint, &plan)?;
        Ok(endpoint)
    })
}

/// Every setting asked for must read back as asked.
fn check_applied(
    spec: &TopologySpec,
    e: &Endpoint,
    plan: &[(String, String)],
) -> Result<(), SetupError> {
    let mismatch = |what, wanted: String, actual: String| {
        (wanted != actual).then(|| SetupError::NotApplied {
            what,
            interface: e.interface.clone(),
            wanted,
            actual,
        })
    };
    let onoff = |b: bool| if b { "on" } else { "off" }.to_string();
    let checks = [
        mismatch("MTU", spec.mtu.to_string(), e.mtu.to_string()),
        mismatch(
            "rx queues",
            spec.queues.to_string(),
            e.rx_queues.to_string(),
        ),
        mismatch(
            "tx queues",
            spec.queues.to_string(),
            e.tx_queues.to_string(),
        ),
        mismatch(
            "MAC",
            Mac(ADDRESSING.mac(e.side)).to_string(),
            e.mac.to_string(),
        ),
        spec.gro
            .and_then(|g| mismatch("GRO", onoff(g), onoff(e.gro))),
        spec.tx_checksum
            .and_then(|c| mismatch("tx checksum offload", onoff(c), onoff(e.tx_checksum))),
        spec.threaded_napi
            .and_then(|t| mismatch("threaded NAPI", onoff(t), onoff(e.threaded_napi))),
    ];
    if let Some(err) = checks.into_iter().flatten().next() {
        return Err(err);
    }
    if let Some(cores) = &spec.napi_cores {
        let pinned = |i: usize, t: &NapiThread| t.cores == [cores[i % cores.len()]];
        let all = e.napi_threads.iter().enumerate().all(|(i, t)| pinned(i, t));
        if e.napi_threads.is_empty() || !all {
            return Err(SetupError::NotApplied {
                what: "NAPI thread pinning",
                interface: e.interface.clone(),
                wanted: format!("cores {cores:?}"),
                actual: if e.napi_threads.is_empty() {
                    "no NAPI thread of the device appeared".into()
                } else {
                    format!("{:?}", e.napi_threads)
                },
            });
        }
    }
    for (key, value) in plan {
        if e.sysctls.get(key) != Some(value) {
            return Err(SetupError::NotApplied {
                what: "sysctl",
                interface: format!("{} ({key})", e.interface),
                wanted: value.clone(),
                actual: e.sysctls.get(key).cloned().unwrap_or_default(),
            });
        }
    }
    Ok(())
}
