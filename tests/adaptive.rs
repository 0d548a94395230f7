//! Adaptive trials: a run keeps adding rounds until every judged metric is as precise as asked
//! (or a baseline comparison is conclusive), and stops at --max-time otherwise; the record says
//! which, and after how many trials.

use setup::testing::{skip_without_root, HostLock};

mod common;
use common::{fresh_dir, json_files, text, vethbench};

fn adaptive_run(args: &[&str]) -> serde_json::Value {
    let dir = fresh_dir("adaptive");
    let mut all = vec!["run", "--mode", "throughput", "--rate", "20000"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", dir.to_str().unwrap()]);
    let out = vethbench(&all);
    assert!(out.status.success(), "{}", text(&out).1);
    serde_json::from_slice(&std::fs::read(&json_files(&dir)[0]).unwrap()).unwrap()
}

#[test]
fn a_run_stops_when_it_is_precise_enough_or_out_of_time() {
    if skip_without_root("a_run_stops_when_it_is_precise_enough_or_out_of_time") {
        return;
    }
    let _lock = HostLock::shared();
    // A paced rate is steady: a loose precision is reached at the minimum of trials.
    let easy = adaptive_run(&["--duration", "0.3", "--warmup", "0.1", "--precision", "50%"]);
    let a = &easy["adaptive"];
    assert_eq!(a["reached"], true, "{a}");
    assert_eq!(a["precision_pct"], 50.0);
    let trials = a["trials"].as_u64().unwrap();
    assert!(trials >= 3, "at least --trials (3 by default): {a}");
    assert_eq!(
        easy["scenarios"][0]["trials"].as_array().unwrap().len() as u64,
        trials,
        "it stopped where it said"
    );
    assert!(a["least_precise"][2].as_f64().unwrap() <= 50.0, "{a}");
    // An impossible precision runs until --max-time, and says so.
    let hard = adaptive_run(&[
        "--duration",
        "0.3",
        "--warmup",
        "0.1",
        "--precision",
        "0.0001%",
        "--max-time",
        "4",
        "--trials",
        "2",
    ]);
    let a = &hard["adaptive"];
    assert_eq!(a["reached"], false, "{a}");
    assert!(
        a["stopped_because"]
            .as_str()
            .unwrap()
            .contains("--max-time"),
        "{a}"
    );
    let trials = a["trials"].as_u64().unwrap();
    assert!(trials >= 2, "{a}");
    assert_eq!(
        hard["scenarios"][0]["trials"].as_array().unwrap().len() as u64,
        trials
    );
    assert!(a["least_precise"][2].as_f64().unwrap() > 0.0001, "{a}");
}
