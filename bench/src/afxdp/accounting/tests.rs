use super::*;
use setup::LinkCounters;

fn gen(sent: u64, measured: u64, returned: u64) -> GenOutcome {
    GenOutcome {
        sent_total: sent,
        sent_measured: measured,
        window_ns: 1_000_000_000,
        returned_total: returned,
        others: Vec::new(),
        returned: SeqCounts {
            received: returned.min(measured),
            ..SeqCounts::default()
        },
        rtt: histogram(),
        a2b: histogram(),
        b2a: histogram(),
        timeouts: 0,
        xsk: XskStats::default(),
    }
}

fn sink(received: u64, measured: u64, other_flow: u64, dropped: u64) -> BOut {
    BOut::Sink(SinkOutcome {
        received_total: received,
        received: SeqCounts {
            received: measured,
            ..SeqCounts::default()
        },
        one_way: histogram(),
        other_flow,
        xsk: XskStats {
            rx_dropped: dropped,
            ..XskStats::default()
        },
    })
}

fn spec(mode: Mode, flows: u32) -> RunSpec {
    RunSpec {
        flows,
        cores: (0..2 * flows as usize).collect(),
        ..RunSpec::new(mode)
    }
}

#[test]
fn every_frame_of_every_flow_is_accounted() {
    let flows = [
        FlowWork {
            gen: gen(1000, 900, 0),
            b: Some(sink(990, 890, 0, 10)),
        },
        FlowWork {
            gen: gen(2000, 1800, 0),
            b: Some(sink(2000, 1800, 0, 0)),
        },
    ];
    let mut d = Deltas::default();
    d.prog[1] = Counters {
        matched: 3000,
        redirected: 3000,
        ..Counters::default()
    };
    let out = outcome(&spec(Mode::Throughput, 2), &flows, &d);
    assert_eq!(out.accounting.sent, 3000);
    assert_eq!(out.accounting.received, 2990);
    assert_eq!(out.accounting.unexplained, 0);
    assert_eq!(out.sent, 2700);
    assert_eq!(out.received, 2690);
    assert_eq!(out.per_flow.len(), 2);
    assert_eq!(out.per_flow[0].accounting.unexplained, 0);
    assert_eq!(out.per_flow[0].accounting.attributed_total(), 10);
    assert_eq!(out.per_flow[1].received, 1800);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn one_flow_has_no_per_flow_figures_and_link_drops_are_attributed() {
    let flows = [FlowWork {
        gen: gen(1000, 1000, 0),
        b: Some(sink(990, 990, 0, 0)),
    }];
    let mut d = Deltas::default();
    d.veth[0] = LinkCounters {
        tx_dropped: 10,
        ..LinkCounters::default()
    };
    let out = outcome(&spec(Mode::Throughput, 1), &flows, &d);
    assert!(out.per_flow.is_empty());
    assert_eq!(out.accounting.unexplained, 0);
    assert_eq!(out.accounting.attributed[0].place, "veth A: tx_dropped");
}

#[test]
fn unexplained_frames_and_wrong_queues_are_warned() {
    let flows = [
        FlowWork {
            gen: gen(1000, 1000, 0),
            b: Some(sink(995, 995, 3, 0)),
        },
        FlowWork {
            gen: gen(1000, 1000, 0),
            b: Some(sink(1000, 1000, 0, 0)),
        },
    ];
    let mut d = Deltas::default();
    d.driver
        .insert("ethtool_b.rx_queue_0_xdp_packets".into(), 1000);
    d.driver
        .insert("ethtool_b.rx_queue_1_xdp_packets".into(), 700);
    d.driver
        .insert("ethtool_b.rx_queue_2_xdp_packets".into(), 300);
    let out = outcome(&spec(Mode::Throughput, 2), &flows, &d);
    assert_eq!(out.accounting.unexplained, 5);
    assert_eq!(out.per_flow[0].accounting.unexplained, 5);
    assert_eq!(out.queues.len(), 3);
    let text = out.warnings.join("\n");
    assert!(text.contains("5 frames are not explained"), "{text}");
    assert!(text.contains("flow 0: 3 frames of other flows"), "{text}");
    assert!(text.contains("rx queue 2 carried 300"), "{text}");
}

#[test]
fn the_in_kernel_sink_counts_what_its_program_dropped() {
    let flows = [FlowWork {
        gen: gen(1000, 800, 0),
        b: None,
    }];
    let mut d = Deltas::default();
    d.prog[1] = Counters {
        matched: 1000,
        dropped: 990,
        ..Counters::default()
    };
    let out = outcome(&spec(Mode::XdpDrop, 1), &flows, &d);
    assert_eq!(out.accounting.received, 990);
    assert_eq!(out.accounting.unexplained, 0, "{:?}", out.accounting);
    assert_eq!(out.received, 790);
}
