//! `vethbench up`: build the pair topology, print it, leave it up (or hold it until a signal).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};
use setup::{Side, Topology, TopologyInfo};

use crate::cli::UpOptions;

pub fn run(opts: &UpOptions) -> anyhow::Result<ExitCode> {
    // With --hold, SIGINT/SIGTERM are taken synchronously below; block them first so one arriving
    // while the topology is being built cannot kill the process before its guard can act.
    let signals = hold_signals();
    if opts.hold {
        signals.thread_block().context("block SIGINT/SIGTERM")?;
    }
    let mut topology = Topology::create(&opts.spec)
        .with_context(|| format!("building topology '{}'", opts.spec.id))?;
    print_info(topology.info(), opts.json)?;
    if !opts.hold {
        topology
            .keep()
            .context("recording the topology as detached")?;
        if !opts.json {
            println!("left up; remove with: vethbench down --id {}", opts.spec.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Held up for others to measure on (`run --on`, `check`), one at a time.
    topology.share();
    if !opts.json {
        println!("holding; Ctrl-C (or SIGTERM) tears it down");
    }
    std::io::stdout().flush().context("flush stdout")?;
    let signal = signals.wait().context("wait for SIGINT/SIGTERM")?;
    let removed = topology.destroy().context("tearing down")?;
    eprintln!("{signal}: removed {}", removed.namespaces.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn hold_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.into()
}

/// One line on how A and B connect.
fn describe(info: &TopologyInfo) -> String {
    let kind = info.spec.kind;
    match &info.middle {
        Some(m) => match (&m.bridge, &m.router_ipv4) {
            (Some(bridge), _) => format!(
                "{kind}: A - {} = bridge {bridge} = {} - B, in namespace {}",
                m.links[0], m.links[1], m.namespace
            ),
            (_, Some([to_a, to_b])) => format!(
                "{kind}: A - {} ({to_a}) router {} ({to_b}) {} - B, forwarding on",
                m.links[0], m.namespace, m.links[1]
            ),
            _ => kind.to_string(),
        },
        None if kind == setup::TopologyKind::SameNs => format!(
            "{kind}: both ends in {} (accept_local on; the kernel stack delivers A -> B over lo, AF_XDP crosses the veth)",
            info.endpoints[0].namespace
        ),
        None => format!("{kind}: A - veth - B"),
    }
}

/// Prints a topology as a table (or JSON).
pub fn print_info(info: &TopologyInfo, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(info).context("serialise topology")?
        );
        return Ok(());
    }
    println!("topology: {}", describe(info));
    let rows: Vec<Vec<String>> = info
        .endpoints
        .iter()
        .map(|e| {
            vec![
                e.side.to_string(),
                e.namespace.clone(),
                format!("{} ({})", e.interface, e.ifindex),
                e.mac.to_string(),
                format!("{}/{}", e.ipv4, e.ipv4_prefix),
                e.ipv6
                    .map(|a| format!("{a}/{}", e.ipv6_prefix))
                    .unwrap_or_else(|| "- (MTU < 1280)".into()),
                format!("{}/{}", e.rx_queues, e.tx_queues),
                e.mtu.to_string(),
                on_off(e.gro),
                on_off(e.tx_checksum),
                on_off(e.threaded_napi),
            ]
        })
        .collect();
    print!(
        "{}",
        results::text_table(
            &[
                "side",
                "namespace",
                "interface",
                "MAC",
                "IPv4",
                "IPv6",
                "rx/tx queues",
                "MTU",
                "GRO",
                "tx-csum",
                "threaded"
            ],
            &rows
        )
    );
    let (a, b) = (info.endpoint(Side::A), info.endpoint(Side::B));
    let mut settings: Vec<Vec<String>> = a
        .sysctls
        .iter()
        .map(|(k, v)| {
            // Per-interface keys differ only in the interface name: show them once, generically.
            let generic = k.replace(&a.interface, "<veth>");
            let other = b
                .sysctls
                .get(&k.replace(&a.interface, &b.interface))
                .cloned()
                .unwrap_or_default();
            vec![generic, v.clone(), other]
        })
        .collect();
    settings.push(vec![
        "sysfs <veth>/napi_defer_hard_irqs".into(),
        a.napi_defer_hard_irqs.to_string(),
        b.napi_defer_hard_irqs.to_string(),
    ]);
    settings.push(vec![
        "sysfs <veth>/gro_flush_timeout (ns)".into(),
        a.gro_flush_timeout_ns.to_string(),
        b.gro_flush_timeout_ns.to_string(),
    ]);
    println!();
    print!("{}", results::text_table(&["setting", "A", "B"], &settings));
    Ok(())
}
