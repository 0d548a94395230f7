//! Every input checked before anything is built: exit 2, a message naming the flag or file, and
//! the host unchanged. Record readers are bounded and validate what they read.

use std::time::Duration;

use setup::testing::{skip_without_root, snapshot, test_id, HostLock};

mod common;
use common::{fresh_dir, latency_record, refused_within, text, vethbench, Down};

/// Asserts exit 2 within a few seconds with every needle in stderr.
fn refused(args: &[&str], needles: &[&str]) {
    refused_within(args, needles, Duration::from_secs(5));
}

#[test]
fn run_and_check_refuse_bad_input_before_building_anything() {
    if skip_without_root("run_and_check_refuse_bad_input_before_building_anything") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    refused(
        &[
            "run",
            "--ipv6",
            "--mtu",
            "1000",
            "--size",
            "100",
            "--mode",
            "throughput",
        ],
        &["--ipv6", "1280"],
    );
    refused(
        &["run", "--on", "nosuchid", "--mode", "throughput"],
        &["--on", "nosuchid"],
    );
    refused(&["run", "--size", "-64"], &["--size", "-64"]);
    refused(&["run", "--size", "64,,128"], &["--size", "empty value"]);
    // A setting the mode does not use is refused, not silently carried into the record.
    refused(
        &["run", "--mode", "icmp", "--batch", "1"],
        &["--batch", "icmp"],
    );
    refused(
        &["run", "--mode", "udp-flood", "--xdp-mode", "skb"],
        &["--xdp-mode", "udp-flood"],
    );
    refused(
        &["run", "--mode", "throughput", "--inflight", "4"],
        &["--inflight"],
    );
    assert_eq!(snapshot(), before, "nothing built");
    drop(_lock);

    let _lock = HostLock::shared();
    let id = test_id("isz");
    assert!(vethbench(&["up", "--id", id.as_str()]).status.success());
    let _down = Down(id.clone());
    // Fits IPv4 (1472 at most) but not IPv6 (1452): refused before the first datagram.
    refused(
        &["check", "--id", id.as_str(), "--size", "1453"],
        &["--size", "1453", "IPv6"],
    );
    refused(&["check", "--id", "nosuchid"], &["--id", "nosuchid"]);
    // An existing topology's MTU is known only after it is found; still exit 2, before traffic.
    let up9000 = test_id("i9k");
    assert!(vethbench(&["up", "--id", up9000.as_str(), "--mtu", "1000"])
        .status
        .success());
    let _down9000 = Down(up9000.clone());
    refused(
        &[
            "run",
            "--on",
            up9000.as_str(),
            "--mode",
            "throughput",
            "--ipv6",
            "--size",
            "100",
        ],
        &["--ipv6", "1280"],
    );
}

#[test]
fn sweep_plans_get_the_limits_of_run() {
    if skip_without_root("sweep_plans_get_the_limits_of_run") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    let dir = fresh_dir("inputs-sweep");
    for (body, needles) in [
        ("[run]\nduration = 1e308\n", &["[run] duration"][..]),
        ("[run]\ntrials = 1000000\n", &["[run] trials"]),
        ("[run]\nwarmup = -3\n", &["[run] warmup", "-3"]),
        ("[axes]\nsize = []\n", &["[axes] size"]),
        ("[axes]\nsize = [64, 64]\n", &["[axes] size", "twice"]),
    ] {
        let file = dir.join("plan.toml");
        std::fs::write(&file, body).unwrap();
        let mut all = vec![file.to_str().unwrap().to_string()];
        all.extend(needles.iter().map(|s| s.to_string()));
        let args = [
            "sweep",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ];
        let needles: Vec<&str> = all.iter().map(String::as_str).collect();
        refused(&args, &needles);
    }
    // 7,429,120 points: refused at once, naming the limit's flag.
    let list = |n: usize| {
        (1..=n)
            .map(|i| (i * 64).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (sizes, batches, rings) = (list(20), list(64), list(5804));
    refused(
        &[
            "sweep",
            "--size",
            &sizes,
            "--batch",
            &batches,
            "--ring",
            &rings,
            "--out",
            dir.to_str().unwrap(),
        ],
        &["--max-points", "7429120"],
    );
    refused(
        &["sweep", "--size", "64,64", "--out", dir.to_str().unwrap()],
        &["--size", "twice"],
    );
    assert_eq!(snapshot(), before, "nothing built");
}

#[test]
fn record_readers_are_bounded_and_validate_what_they_read() {
    if skip_without_root("record_readers_are_bounded_and_validate_what_they_read") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = fresh_dir("inputs-read");
    refused(
        &["export", "/dev/zero"],
        &["/dev/zero", "not a regular file"],
    );
    let big = dir.join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    refused(&["export", big.to_str().unwrap()], &["big.json", "64 MiB"]);

    let record = latency_record(&fresh_dir("inputs-readrec"));
    let text_of = std::fs::read_to_string(&record).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text_of).unwrap();
    let scenario = v["scenarios"][0]["key"].as_str().unwrap().to_string();
    let histograms = v["scenarios"][0]["trials"][0]["histograms"]
        .as_object_mut()
        .unwrap();
    let (name, full) = histograms.iter().next().expect("a histogram");
    let (name, full) = (name.clone(), full.as_str().unwrap().to_string());
    // Half of a real one, cut where base64 still decodes: the histogram inside is incomplete.
    let half = full[..full.len() / 8 * 4].to_string();
    for (tag, bad) in [
        ("aaaa", "AAAA"),
        ("notb64", "not base64!"),
        ("half", half.as_str()),
    ] {
        let histograms = v["scenarios"][0]["trials"][0]["histograms"]
            .as_object_mut()
            .unwrap();
        histograms.insert(name.clone(), serde_json::Value::String(bad.into()));
        let corrupt = dir.join(format!("corrupt-{tag}.json"));
        std::fs::write(&corrupt, serde_json::to_vec(&v).unwrap()).unwrap();
        let c = corrupt.to_str().unwrap();
        let needles = [c, scenario.as_str(), "histogram"];
        refused(&["export", c], &needles);
        refused(&["compare", record.to_str().unwrap(), c], &needles);
        refused(
            &["report", c, "-o", dir.join("r.html").to_str().unwrap()],
            &needles,
        );
    }
    let wrong_type = dir.join("wrong-type.json");
    std::fs::write(
        &wrong_type,
        text_of.replacen("\"schema_version\": 1", "\"schema_version\": \"1\"", 1),
    )
    .unwrap();
    refused(
        &["export", wrong_type.to_str().unwrap()],
        &["schema_version", "not a whole number"],
    );
}

#[test]
fn report_never_overwrites_an_input_and_counts_each_record_once() {
    if skip_without_root("report_never_overwrites_an_input_and_counts_each_record_once") {
        return;
    }
    let _lock = HostLock::shared();
    let dir = fresh_dir("inputs-report");
    let record = latency_record(&dir);
    let _ = std::fs::remove_file(dir.join("r.html"));
    let r = record.to_str().unwrap();
    let original = std::fs::read(&record).unwrap();
    refused(&["report", r, "-o", r], &["-o", "one of the records"]);
    assert_eq!(
        std::fs::read(&record).unwrap(),
        original,
        "the input is intact"
    );
    refused(
        &["report", r, "-o", dir.to_str().unwrap()],
        &["-o", "directory"],
    );
    // A directory with a link to itself inside, and a second link to the record.
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::os::unix::fs::symlink(&record, dir.join("again.json")).unwrap();
    let html = fresh_dir("inputs-html").join("r.html");
    let out = vethbench(&[
        "report",
        dir.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("(1 record(s))"), "one record, once: {err}");
    // A comparison of records with nothing in common is unusable input, as for `compare`.
    let other = dir.join("other.json");
    let mut v: serde_json::Value = serde_json::from_slice(&original).unwrap();
    v["scenarios"][0]["key"] = "nothing/in/common".into();
    v["scenarios"][0]["spec"]["size"] = 1500.into();
    std::fs::write(&other, serde_json::to_vec(&v).unwrap()).unwrap();
    refused(
        &[
            "report",
            r,
            "--compare",
            r,
            other.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
        &["--compare", "no scenario in common"],
    );
}

#[test]
fn flows_cores_and_layouts_are_checked_before_anything_is_built() {
    if skip_without_root("flows_cores_and_layouts_are_checked_before_anything_is_built") {
        return;
    }
    let _lock = HostLock::exclusive();
    let before = snapshot();
    refused(
        &[
            "run",
            "--mode",
            "throughput",
            "--flows",
            "3",
            "--queues",
            "2",
        ],
        &["--flows 3", "queue"],
    );
    // Two flows split need four cores: two given.
    refused(
        &[
            "run",
            "--mode",
            "throughput",
            "--flows",
            "2",
            "--cores",
            "0,1",
        ],
        &["--cores", "need 4 cores"],
    );
    refused(
        &["run", "--mode", "throughput", "--cores", "0,4096"],
        &["--cores", "4096"],
    );
    refused(
        &["run", "--mode", "throughput", "--cores", "1-0"],
        &["--cores", "empty range"],
    );
    refused(
        &[
            "run",
            "--mode",
            "icmp",
            "--layout",
            "colocated",
            "--cores",
            "0",
        ],
        &["--layout", "icmp"],
    );
    refused(
        &[
            "run",
            "--mode",
            "throughput",
            "--threaded",
            "on",
            "--gro",
            "on",
            "--napi-cores",
            "4096",
        ],
        &["--napi-cores", "4096"],
    );
    refused(
        &["run", "--mode", "throughput", "--napi-cores", "0"],
        &["--napi-cores", "--threaded on"],
    );
    assert_eq!(snapshot(), before, "nothing built");
    drop(_lock);

    // On a topology left up with two queues, a third flow is refused and the topology stays.
    let _lock = HostLock::shared();
    let id = test_id("fl3");
    assert!(vethbench(&["up", "--id", id.as_str(), "--queues", "2"])
        .status
        .success());
    let _down = Down(id.clone());
    refused(
        &[
            "run",
            "--on",
            id.as_str(),
            "--mode",
            "throughput",
            "--flows",
            "3",
            "--layout",
            "colocated",
            "--cores",
            "0,1,0",
        ],
        &["--flows 3", "2 queue"],
    );
    let out = vethbench(&[
        "run",
        "--on",
        id.as_str(),
        "--mode",
        "throughput",
        "--flows",
        "2",
        "--layout",
        "colocated",
        "--cores",
        "0,1",
        "--duration",
        "0",
        "--count",
        "2000",
        "--rate",
        "20000",
        "--warmup",
        "0",
        "--out",
        fresh_dir("fl3").to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("flow 1: received"), "{stdout}");
    assert!(stdout.contains("XDP frames per queue"), "{stdout}");
}
