//! `vethbench check`: a UDP round trip across a topology that is up.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::CheckOptions;

pub fn run(opts: &CheckOptions) -> anyhow::Result<ExitCode> {
    let (info, _lease) = super::borrow(&opts.id, "--id")?;
    let mtu = info.endpoints[0].mtu as usize;
    let families: &[bool] = if info.endpoints[0].ipv6.is_some() {
        &[false, true]
    } else {
        &[false]
    };
    // Every family's size is checked before the first datagram goes out.
    for &ipv6 in families {
        let header = if ipv6 { 48 } else { 28 };
        if opts.size + header > mtu {
            return Err(model::UsageError {
                flag: "--size",
                value: opts.size.to_string(),
                reason: format!(
                    "a UDP payload this large does not fit the MTU {mtu} of topology '{}' (at most {} bytes over {})",
                    opts.id,
                    mtu - header,
                    if ipv6 { "IPv6" } else { "IPv4" }
                ),
            }
            .into());
        }
    }
    let mut trips = Vec::new();
    for &ipv6 in families {
        trips.push(crate::preflight::round_trip(&info, ipv6, opts.size)?);
    }
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&trips).context("serialise round trips")?
        );
    } else {
        let rows: Vec<Vec<String>> = trips
            .iter()
            .map(|t| {
                vec![
                    t.from.to_string(),
                    t.to.to_string(),
                    t.bytes.to_string(),
                    format!("{:.1}", t.rtt.as_secs_f64() * 1e6),
                    "ok".into(),
                ]
            })
            .collect();
        print!(
            "{}",
            results::text_table(
                &[
                    "from (A)",
                    "to (B)",
                    "UDP bytes",
                    "RTT µs (one exchange)",
                    "result"
                ],
                &rows
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}
