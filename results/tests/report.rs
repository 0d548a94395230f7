//! The HTML report from hand-built records: every section populated, self-contained.

mod fixture;

use model::Mode;
use results::report::html;
use results::Record;

/// A sweep over `batch` at two sizes, as `vethbench sweep` stores it: one record per point.
fn sweep() -> Vec<(String, Record)> {
    let mut out = Vec::new();
    for size in [64, 1500] {
        for (batch, pps) in [(16, 1.1e6), (64, 1.0e6)] {
            let mut spec = fixture::spec(Mode::Throughput, [0, 1]);
            spec.size = size;
            spec.xsk.batch = batch;
            let mut r = fixture::suite_record();
            r.scenarios.clear();
            r.add_trial(&spec, fixture::trial(Mode::Throughput, size, pps, None));
            out.push((format!("sweep/{size}-{batch}.json"), r));
        }
    }
    out
}

#[test]
fn every_section_has_its_plot_and_nothing_is_fetched() {
    let mut records = vec![("suite.json".to_string(), fixture::suite_record())];
    records.extend(sweep());
    let base = records[0].clone();
    let mut slower = base.clone();
    for s in &mut slower.1.scenarios {
        for t in &mut s.trials {
            t.received_pps *= 0.5;
        }
    }
    let page = html(&records, Some((&base, &slower, 2.0))).expect("report");
    // Throughput by size, latency spectrum (needs histograms: none in the fixture), one knob
    // (batch), comparison.
    let svgs = page.matches("<svg").count();
    assert!(svgs >= 3, "{svgs} plots");
    for section in [
        "Throughput against frame size",
        "Per-knob effects",
        "Effect of batch",
        "Comparison",
        "Where each record was measured",
        "6.18.0-test",
    ] {
        assert!(page.contains(section), "missing {section}");
    }
    let fetches: Vec<&str> = page
        .match_indices("http")
        .map(|(i, _)| &page[i..(i + 30).min(page.len())])
        .filter(|s| !s.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(fetches.is_empty(), "external references: {fetches:?}");
    assert!(!page.contains("<script"), "no scripts");
}

#[test]
fn the_latency_spectrum_is_drawn_from_stored_histograms() {
    let mut r = fixture::suite_record();
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for v in 1..=10_000u64 {
        h.record(3_000 + v).unwrap();
    }
    let text = model::outcome::histogram_v2_base64(&h);
    for s in &mut r.scenarios {
        for t in &mut s.trials {
            t.histograms.insert("rtt".into(), text.clone());
        }
    }
    let page = html(&[("r.json".into(), r)], None).expect("report");
    assert!(page.contains("RTT by percentile"), "spectrum drawn");
    assert!(page.contains("99.9%"), "percentile ticks");
}

#[test]
fn flows_are_plotted_against_the_ideal_line() {
    let mut records = Vec::new();
    for (flows, pps) in [(1, 0.4e6), (2, 0.75e6)] {
        let mut spec = fixture::spec(Mode::Throughput, [0, 1]);
        spec.flows = flows;
        spec.layout = model::Layout::Colocated;
        spec.cores = (0..flows as usize).collect();
        let mut r = fixture::suite_record();
        r.scenarios.clear();
        r.add_trial(&spec, fixture::trial(Mode::Throughput, 64, pps, None));
        records.push((format!("flows-{flows}.json"), r));
    }
    let page = html(&records, None).expect("report");
    assert!(page.contains("Scaling with flows"));
    assert!(page.contains("Received rate by flows"), "the plot is drawn");
    assert!(
        page.contains("ideal: throughput 64 B colocated"),
        "with its ideal line"
    );
    // One flow count only: no scaling plot.
    let page = html(&records[..1], None).expect("report");
    assert!(!page.contains("Received rate by flows"));
}
