//! Records built from synthetic trials: estimates, warnings, storage and the loader's errors.

use std::path::PathBuf;

mod fixture;

use fixture::{outcome, record, spec};
use model::{Metric, Mode};
use results::{load, record_path, save, Record, RecordError, Verdict, Warning};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vethbench-records-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn trials_give_estimates_and_warnings() {
    let mut r = record();
    let s = spec(Mode::Latency, [0, 1]);
    for (pps, rtt) in [(100.0, 3), (110.0, 3), (90.0, 4)] {
        r.add_trial(&s, outcome(pps, Some(rtt), 0));
    }
    assert_eq!(r.scenarios.len(), 1);
    let sc = &r.scenarios[0];
    assert_eq!(sc.key, "latency/64B/ipv4/drv");
    assert_eq!(sc.trials.len(), 3);
    let pps = sc.estimates["received_pps"];
    assert_eq!((pps.n, pps.median), (3, 100.0));
    assert!(pps.ci95_low <= 100.0 && pps.ci95_high >= 100.0);
    assert_eq!(sc.estimates["rtt_p50_us"].median, 3.0);
    assert!(r
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::HighVariation { metric, .. } if metric == "received_pps")));
    r.add_trial(&spec(Mode::Throughput, [1, 1]), outcome(50.0, None, 7));
    assert!(r.warnings.contains(&Warning::SharedCore { core: 1 }));
    let unexplained = r
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::UnexplainedLoss { .. }))
        .unwrap();
    assert!(
        unexplained
            .to_string()
            .contains("throughput/64B/ipv4/drv trial 1: 7 frames"),
        "{unexplained}"
    );
    assert!(
        Warning::SharedCore { core: 1 }
            .to_string()
            .contains("--cores 0,1"),
        "each warning says the fix"
    );
}

#[test]
fn saved_records_round_trip_and_are_never_overwritten_by_another_run() {
    let dir = tmp("store");
    let mut r = record();
    r.add_trial(&spec(Mode::Latency, [0, 1]), outcome(1.0, Some(3), 0));
    let path = record_path(&dir, &r);
    save(&path, &r).expect("save");
    r.add_trial(&spec(Mode::Latency, [0, 1]), outcome(1.0, Some(3), 0));
    save(&path, &r).expect("the same run rewrites its file after each trial");
    let back = load(&path).expect("load");
    assert_eq!(back.scenarios[0].trials.len(), 2);
    assert_eq!(back.fingerprint, r.fingerprint);
    let mut other = record();
    other.run_id = "t2".into();
    let err = save(&path, &other).expect_err("another run's file");
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_files_give_errors_that_name_them() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = record();
    r.add_trial(&spec(Mode::Latency, [0, 1]), outcome(1.0, Some(3), 0));
    let good = serde_json::to_string(&r).unwrap();
    type Case = (&'static str, String, fn(&RecordError) -> bool);
    let cases: Vec<Case> = vec![
        ("garbage.json", "not json at all".into(), |e| {
            matches!(e, RecordError::Malformed { .. })
        }),
        ("truncated.json", good[..good.len() / 2].to_string(), |e| {
            matches!(e, RecordError::Malformed { .. })
        }),
        ("noversion.json", "{}".into(), |e| {
            matches!(e, RecordError::Malformed { .. })
        }),
        (
            "future.json",
            good.replace("\"schema_version\":1", "\"schema_version\":99"),
            |e| matches!(e, RecordError::Version { found: 99, .. }),
        ),
        (
            "wrongshape.json",
            "{\"schema_version\":1,\"run_id\":5}".into(),
            |e| matches!(e, RecordError::Malformed { .. }),
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let err = load(&path).expect_err(name);
        assert!(expected(&err), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    let missing = load(&dir.join("missing.json")).expect_err("missing");
    assert!(
        matches!(missing, RecordError::Io { .. }) && missing.to_string().contains("missing.json")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_loader_never_panics_on_arbitrary_bytes() {
    let dir = tmp("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = record();
    r.add_trial(&spec(Mode::Latency, [0, 1]), outcome(1.0, Some(3), 0));
    let good = serde_json::to_vec(&r).unwrap();
    let path = dir.join("x.json");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bytes = good.clone();
        for _ in 0..(x % 8) {
            let i = (x as usize / 7) % bytes.len();
            bytes[i] = (x >> 11) as u8;
            x = x.rotate_left(9);
        }
        bytes.truncate(if round % 3 == 0 {
            (x as usize) % bytes.len()
        } else {
            bytes.len()
        });
        std::fs::write(&path, &bytes).unwrap();
        let _ = load(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The verdict on `metric` (the first scenario that has it).
fn verdict(c: &results::Comparison, metric: &str) -> Verdict {
    c.changes
        .iter()
        .find(|m| m.metric == metric)
        .map(|m| m.verdict)
        .expect(metric)
}

fn with_trials(mode: Mode, rates: &[f64], rtt_us: Option<u64>) -> Record {
    let mut r = record();
    for &pps in rates {
        r.add_trial(&spec(mode, [0, 1]), outcome(pps, rtt_us, 0));
    }
    r
}

#[test]
fn compare_tells_regression_improvement_and_noise_apart() {
    use results::compare;
    let base = with_trials(Mode::Throughput, &[100.0, 101.0, 99.0], None);
    let worse = with_trials(Mode::Throughput, &[80.0, 81.0, 79.0], None);
    let better = with_trials(Mode::Throughput, &[120.0, 121.0, 119.0], None);
    let same = with_trials(Mode::Throughput, &[100.2, 99.9, 100.1, 100.0, 99.8], None);
    let base5 = with_trials(Mode::Throughput, &[100.0, 100.1, 99.9, 100.05, 99.95], None);
    let spread = with_trials(Mode::Throughput, &[100.5, 99.5, 100.2], None);
    let c = compare(&base, &worse, 2.0);
    assert_eq!(verdict(&c, "received_pps"), Verdict::Regressed);
    assert!(c.regressed());
    let m = &c.changes[0];
    assert!(
        (m.change_pct + 20.0).abs() < 1.0 && m.ci95_pct.1 < -2.0,
        "{m:?}"
    );
    assert_eq!(
        verdict(&compare(&base, &better, 2.0), "received_pps"),
        Verdict::Improved
    );
    let mut batch1 = with_trials(Mode::Throughput, &[100.0], None);
    batch1.scenarios[0].spec.xsk.batch = 1;
    let c = compare(&base, &batch1, 2.0);
    assert_eq!(
        c.setting_differences,
        vec!["throughput/64B/ipv4/drv: xsk.batch: 64 -> 1".to_string()]
    );
    let c = compare(&base5, &same, 2.0);
    assert_eq!(verdict(&c, "received_pps"), Verdict::NoChange);
    assert!(!c.regressed());
    // Three trials of about 1 % spread a side cannot pin the change inside ±2 %: not "no change".
    let c = compare(&base, &spread, 2.0);
    assert_eq!(verdict(&c, "received_pps"), Verdict::Inconclusive);
    assert!(c.changes[0].resolve.is_some());
    // One trial a side is never a verdict.
    assert_eq!(
        verdict(&compare(&batch1, &batch1, 2.0), "received_pps"),
        Verdict::Inconclusive
    );
    assert!(
        c.fingerprint_differences.is_empty(),
        "{:?}",
        c.fingerprint_differences
    );
    // Latency: lower is better.
    let slow = with_trials(Mode::Latency, &[1.0, 1.0, 1.0], Some(10));
    let fast = with_trials(Mode::Latency, &[1.0, 1.0, 1.0], Some(5));
    assert_eq!(
        verdict(&compare(&slow, &fast, 2.0), "rtt_p50_us"),
        Verdict::Improved
    );
    assert_eq!(
        verdict(&compare(&fast, &slow, 2.0), "rtt_p50_us"),
        Verdict::Regressed
    );
}

#[test]
fn compare_reports_unmatched_scenarios_and_different_kernels() {
    let base = with_trials(Mode::Throughput, &[100.0], None);
    let mut new = with_trials(Mode::Latency, &[1.0], Some(3));
    new.fingerprint.kernel_release = "6.99.0-test".into();
    new.fingerprint.topology.spec.id = model::RunId::new("other").unwrap();
    new.fingerprint.topology.endpoints[0].namespace = "vb-other-a".into();
    new.fingerprint.topology.endpoints[1].mtu = 9000;
    let c = results::compare(&base, &new, 2.0);
    assert!(c.changes.is_empty());
    assert!(
        c.fingerprint_differences
            .iter()
            .all(|d| !d.contains("namespace") && !d.contains("spec.id")),
        "run-id names are not differences: {:?}",
        c.fingerprint_differences
    );
    assert!(
        c.fingerprint_differences
            .iter()
            .any(|d| d.contains("endpoints[1].mtu: 1500 -> 9000")),
        "{:?}",
        c.fingerprint_differences
    );
    assert_eq!(
        c.only_in_baseline,
        vec!["throughput/64B/ipv4/drv".to_string()]
    );
    assert_eq!(c.only_in_new, vec!["latency/64B/ipv4/drv".to_string()]);
    assert!(
        c.fingerprint_differences
            .iter()
            .any(|d| d.starts_with("kernel_release:") && d.contains("6.99.0-test")),
        "{:?}",
        c.fingerprint_differences
    );
}

#[test]
fn kernel_stack_one_way_times_are_shown_but_not_judged() {
    // Two identical runs seen here: A→B/B→A swapped between runs, the round trip unchanged.
    let run = |a2b: [u64; 3]| {
        let mut r = record();
        for us in a2b {
            let mut t = fixture::trial(Mode::UdpPingpong, 64, 13_000.0, Some(77));
            if let Some(l) = t.one_way_a2b.as_mut() {
                l.p50_ns = us * 1000;
            }
            r.add_trial(&spec(Mode::UdpPingpong, [0, 1]), t);
        }
        r
    };
    let c = results::compare(&run([42, 42, 42]), &run([35, 34, 35]), 2.0);
    assert_eq!(verdict(&c, "a2b_p50_us"), Verdict::NotJudged);
    assert_eq!(verdict(&c, "rtt_p50_us"), Verdict::NoChange);
    assert!(!c.regressed());
    // AF_XDP one-way times are judged.
    assert!(spec(Mode::Latency, [0, 1]).judges(Metric::A2bP50Us));
    assert!(!spec(Mode::UdpFlood, [0, 1]).judges(Metric::A2bP50Us));
    // The one-way time of an unpaced throughput run is the wait in a full ring: not judged; paced
    // below capacity it is the path's, and judged.
    let mut throughput = spec(Mode::Throughput, [0, 1]);
    assert!(!throughput.judges(Metric::A2bP50Us));
    throughput.rate = Some(20_000);
    assert!(throughput.judges(Metric::A2bP50Us));
    assert!(throughput.judges(Metric::ReceivedPps));
}

#[test]
fn warnings_are_summarised_one_line_per_kind() {
    let mut r = record();
    for size in [64, 128, 256, 512, 1024, 1500] {
        let mut s = spec(Mode::Latency, [0, 1]);
        s.size = size;
        for (pps, rtt) in [(100.0, 3), (130.0, 5), (70.0, 9)] {
            let mut t = outcome(pps, Some(rtt), 0);
            t.size = size;
            r.add_trial(&s, t);
        }
    }
    let many = r
        .warnings
        .iter()
        .filter(|w| matches!(w, Warning::HighVariation { .. }))
        .count();
    assert!(many >= 12, "{many}");
    let summary = results::warnings::summary(&r);
    let variation: Vec<&String> = summary.iter().filter(|l| l.contains("vary more")).collect();
    assert_eq!(variation.len(), 1, "{summary:#?}");
    assert!(
        variation[0].starts_with(&format!("{many} metric(s)")),
        "{}",
        variation[0]
    );
    assert!(
        variation[0].contains("more)") && variation[0].contains("--trials"),
        "{}",
        variation[0]
    );
    assert_eq!(results::warnings::all(&r).len(), many, "-v lists every one");
}

#[test]
fn kernel_stack_keys_and_settings_carry_no_xdp() {
    let mut icmp = spec(Mode::Icmp, [0, 1]);
    icmp.xsk.batch = 1;
    icmp.xdp_mode = model::XdpMode::Skb;
    assert_eq!(results::scenario_key(&icmp), "icmp/64B/ipv4");
    let mut a = record();
    a.add_trial(&spec(Mode::Icmp, [0, 1]), outcome(1.0, Some(10), 0));
    let mut b = record();
    b.add_trial(&icmp, outcome(1.0, Some(10), 0));
    assert_eq!(b.scenarios[0].spec.xsk.batch, 64, "stored at its default");
    let c = results::compare(&a, &b, 2.0);
    assert!(
        c.setting_differences.is_empty(),
        "{:?}",
        c.setting_differences
    );
    assert_eq!(c.changes[0].scenario, "icmp/64B/ipv4");
}

#[test]
fn a_noise_profile_measures_run_to_run_variation_and_widens_bands() {
    // Runs whose rates move 10 % from run to run, each steady within itself.
    let runs: Vec<Record> = [100.0, 110.0, 90.0, 105.0]
        .iter()
        .map(|&r| with_trials(Mode::Throughput, &[r, r * 1.001, r * 0.999], None))
        .collect();
    let p = results::noise::profile(&runs).expect("four records");
    let band = p.bands_pct["received_pps"];
    assert!(band > 15.0 && band < 40.0, "{band}");
    assert!(
        results::noise::profile(&runs[..2]).is_none(),
        "needs three records"
    );
    // Two of those runs, 10 % apart: regressed with the flat 2 % band, not with the measured one.
    let flat = results::compare(&runs[1], &runs[2], 2.0);
    assert_eq!(verdict(&flat, "received_pps"), Verdict::Regressed);
    let mut noise = results::noise::NoiseBand::flat(2.0);
    noise.per_metric_pct = p.bands_pct.clone();
    assert_eq!(noise.of("received_pps"), band);
    assert_eq!(
        noise.of("rtt_p99_us"),
        2.0,
        "unmeasured metrics keep --noise"
    );
    let measured = results::compare_with(&runs[1], &runs[2], &noise);
    assert_ne!(verdict(&measured, "received_pps"), Verdict::Regressed);
}

#[test]
fn emulated_and_mixed_accelerator_records_are_not_judged() {
    use results::compare;
    use results::vm::VmInfo;
    let vm = |accel: &str| VmInfo {
        accelerator: accel.into(),
        qemu_version: "9.2.1".into(),
        vcpus: 2,
        vcpu_pinning: Vec::new(),
        memory_mib: 2048,
    };
    let base = with_trials(Mode::Throughput, &[100.0, 101.0, 99.0], None);
    let mut worse = with_trials(Mode::Throughput, &[50.0, 51.0, 49.0], None);
    assert!(
        compare(&base, &worse, 2.0).regressed(),
        "on the host: judged"
    );
    worse.fingerprint.vm = Some(vm("tcg"));
    let c = compare(&base, &worse, 2.0);
    assert!(
        !c.regressed(),
        "a halving under emulation is not a regression"
    );
    assert!(c.changes.iter().all(|m| m.verdict == Verdict::NotComparable
        && m.resolve.as_deref() == Some("not comparable: TCG emulation")));
    let mut kvm = base.clone();
    kvm.fingerprint.vm = Some(vm("kvm"));
    let c = compare(&base, &kvm, 2.0);
    assert_eq!(verdict(&c, "received_pps"), Verdict::NotComparable);
    assert!(c.changes[0]
        .resolve
        .as_deref()
        .is_some_and(|r| r.contains("the host and under kvm")));
    let mut kvm2 = worse.clone();
    kvm2.fingerprint.vm = Some(vm("kvm"));
    assert!(
        compare(&kvm, &kvm2, 2.0).regressed(),
        "two KVM guests compare"
    );
}

#[test]
fn a_flow_s_corrupt_histogram_is_refused_naming_the_flow() {
    let mut r = with_trials(Mode::Latency, &[100.0, 101.0], Some(10));
    let trial = &mut r.scenarios[0].trials[1];
    let mut flow = model::outcome::FlowOutcome::new(
        1,
        model::outcome::Measured {
            sent: 1,
            received: 1,
            window_ns: 1,
        },
        &model::outcome::Latencies::default(),
        model::outcome::Accounting::new(1, 1, &[]),
        0,
        1.0,
    );
    flow.histograms.insert("rtt".into(), "AAAA".into());
    trial.per_flow.push(flow);
    let dir = tmp("flowhist");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.json");
    std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
    let err = load(&path).expect_err("a corrupt flow histogram");
    assert!(
        matches!(&err, RecordError::Histogram { trial: 2, name, .. } if name == "flow 1 rtt"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_kernel_matrix_judges_each_kernel_against_the_first() {
    use results::matrix::{build, column_label, merge, render};
    use results::noise::NoiseBand;
    let band = NoiseBand::flat(2.0);
    let tcg = results::vm::VmInfo {
        accelerator: "tcg".into(),
        qemu_version: "10.0.2".into(),
        vcpus: 2,
        vcpu_pinning: vec![1, 0],
        memory_mib: 2048,
    };
    // Two runs of one kernel (one mode each) make one column.
    let old = merge(vec![
        with_trials(Mode::Throughput, &[100.0, 101.0, 99.0], None),
        with_trials(Mode::Latency, &[10.0, 10.0, 10.0], Some(20)),
    ])
    .expect("merged");
    assert_eq!(old.scenarios.len(), 2);
    assert!(column_label(&old).starts_with("host-"));
    let slower = with_trials(Mode::Throughput, &[50.0, 51.0, 49.0], None);
    let columns = [
        ("a".to_string(), Some(&old)),
        ("b".to_string(), Some(&slower)),
        ("c".to_string(), None),
    ];
    let m = build(&columns, &band);
    assert_eq!(m.kernels, ["a", "b", "c"]);
    let rate = m
        .rows
        .iter()
        .find(|r| r.scenario.starts_with("throughput") && r.metric == "received_pps")
        .expect("rate row");
    assert!(
        rate.against_first[0].is_none(),
        "the first is the reference"
    );
    assert_eq!(
        rate.against_first[1].as_ref().map(|c| c.verdict),
        Some(Verdict::Regressed),
        "native kernels are judged"
    );
    assert!(rate.cells[2].is_none() && rate.against_first[2].is_none());
    // The latency scenario only the first kernel has: shown, nothing to judge.
    let rtt = m
        .rows
        .iter()
        .find(|r| r.metric == "rtt_p50_us")
        .expect("rtt row");
    assert!(rtt.cells[0].is_some() && rtt.cells[1].is_none());
    let text = render(&m);
    assert!(
        text.contains("vs a") && text.contains("REGRESSED"),
        "{text}"
    );
    // Emulated: shown, never judged, and the reason is printed once.
    let mut emulated = slower.clone();
    emulated.fingerprint.vm = Some(tcg);
    assert_eq!(column_label(&emulated), emulated.fingerprint.kernel_release);
    let m = build(
        &[("a".into(), Some(&old)), ("b".into(), Some(&emulated))],
        &band,
    );
    assert!(m
        .rows
        .iter()
        .filter_map(|r| r.against_first[1].as_ref())
        .all(|c| c.verdict == Verdict::NotComparable));
    let text = render(&m);
    assert_eq!(
        text.matches("not comparable: TCG emulation").count(),
        1,
        "{text}"
    );
}
