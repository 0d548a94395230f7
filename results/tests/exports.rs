//! Every export format of one hand-built record, pinned by snapshots (tests/snapshots/). After a
//! deliberate format change: `INSTA_UPDATE=always cargo test -p results --test exports`, then review
//! the diff.

mod fixture;

use results::{Format, Record};

fn export(record: &Record, format: Format) -> String {
    let bytes = format
        .exporter()
        .serialize(record)
        .unwrap_or_else(|e| panic!("{format}: {e}"));
    String::from_utf8(bytes).expect("exports are UTF-8")
}

#[test]
fn table() {
    insta::assert_snapshot!(export(&fixture::suite_record(), Format::Table));
}

#[test]
fn json_is_the_record_itself() {
    let r = fixture::suite_record();
    let text = export(&r, Format::Json);
    let back: Record = serde_json::from_str(&text).expect("the JSON export reads back as a record");
    // Floats read back bit for bit (serde_json's float_roundtrip), so a record re-exported is the same.
    assert!(
        serde_json::to_string(&back).unwrap() == serde_json::to_string(&r).unwrap(),
        "the record changed on its way through JSON"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn csv() {
    let text = export(&fixture::suite_record(), Format::Csv);
    let columns = text.lines().next().unwrap().split(',').count();
    assert!(
        text.lines().all(|l| l.split(',').count() == columns),
        "every line has as many fields as the header"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn markdown() {
    insta::assert_snapshot!(export(&fixture::suite_record(), Format::Markdown));
}

#[test]
fn bmf() {
    let text = export(&fixture::suite_record(), Format::Bmf);
    let v: serde_json::Value = serde_json::from_str(&text).expect("BMF is JSON");
    // Bencher's schema: benchmark -> measure -> { value (required), lower_value, upper_value }.
    for (bench, measures) in v.as_object().unwrap() {
        for (measure, m) in measures.as_object().unwrap() {
            let value = m["value"].as_f64().expect("value");
            let (lo, hi) = (m["lower_value"].as_f64(), m["upper_value"].as_f64());
            assert!(
                lo <= Some(value) && Some(value) <= hi,
                "{bench}/{measure}: {m}"
            );
        }
    }
    insta::assert_snapshot!(text);
}

#[test]
fn format_names_round_trip_and_unknown_ones_are_refused() {
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>(), Ok(f));
    }
    let err = "xml".parse::<Format>().unwrap_err();
    assert!(err.contains("xml") && err.contains("bmf"), "{err}");
}

#[test]
fn several_records_make_one_document() {
    let a = fixture::suite_record();
    let mut b = fixture::suite_record();
    b.run_id = "other".into();
    let both = [a, b];
    let json: serde_json::Value =
        serde_json::from_slice(&Format::Json.exporter().serialize_all(&both).unwrap())
            .expect("one valid JSON document");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    let csv = String::from_utf8(Format::Csv.exporter().serialize_all(&both).unwrap()).unwrap();
    assert_eq!(csv.matches("run_id,scenario").count(), 1, "one header");
    assert!(csv.contains("\nsnap,") && csv.contains("\nother,"));
    let bmf: serde_json::Value =
        serde_json::from_slice(&Format::Bmf.exporter().serialize_all(&both).unwrap()).unwrap();
    let keys: Vec<&String> = bmf.as_object().unwrap().keys().collect();
    assert!(
        keys.iter().any(|k| k.starts_with("vethbench/snap/")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("vethbench/other/")),
        "{keys:?}"
    );
}
