//! The record format's JSON Schema is published in the repository (`results/record.schema.json`),
//! generated from the very types that write records, and kept equal to them. After a deliberate
//! format change: `VETHBENCH_UPDATE_SCHEMA=1 cargo test -p results --test schema`, then review.

use std::path::Path;

fn generated() -> String {
    let schema = schemars::schema_for!(results::Record);
    serde_json::to_string_pretty(&schema).expect("schema as JSON") + "\n"
}

#[test]
fn the_published_schema_matches_the_record_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("record.schema.json");
    let text = generated();
    if std::env::var_os("VETHBENCH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &text).expect("write the schema");
    }
    let published = std::fs::read_to_string(&path)
        .expect("results/record.schema.json exists (VETHBENCH_UPDATE_SCHEMA=1 writes it)");
    assert!(
        published == text,
        "results/record.schema.json is out of date: run VETHBENCH_UPDATE_SCHEMA=1 cargo test -p results --test schema and review the diff"
    );
}

#[test]
fn the_schema_describes_what_records_hold() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required properties")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for key in [
        "schema_version",
        "run_id",
        "fingerprint",
        "scenarios",
        "warnings",
    ] {
        assert!(required.contains(&key), "{key} missing from {required:?}");
    }
    let text = generated();
    for doc in [
        "Cut short by SIGINT/SIGTERM",
        "CPU ns per frame",
        "Per-second figures of the trial",
    ] {
        assert!(
            text.contains(doc),
            "the field docs become descriptions: {doc}"
        );
    }
}
