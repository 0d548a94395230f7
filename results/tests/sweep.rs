//! A sweep's winners earn it: the best point is judged against the point at default settings
//! with `compare`'s statistics, and named only when it beat them conclusively.

mod fixture;

use fixture::{outcome, record, spec};
use model::Mode;
use results::sweep::best;
use results::{Record, Verdict};

/// A throughput point with `batch` and these trial rates and losses.
fn point(batch: u32, trials: &[(f64, f64)]) -> (String, Record) {
    let mut s = spec(Mode::Throughput, [0, 1]);
    s.xsk.batch = batch;
    let mut r = record();
    for &(pps, loss) in trials {
        let mut t = outcome(pps, None, 0);
        t.mode = Mode::Throughput;
        t.loss_pct = loss;
        r.add_trial(&s, t);
    }
    (format!("batch{batch}"), r)
}

#[test]
fn a_clear_improvement_over_the_defaults_is_a_winner() {
    let points = vec![
        point(
            64,
            &[
                (100.0, 0.0),
                (101.0, 0.0),
                (99.0, 0.0),
                (100.0, 0.0),
                (100.5, 0.0),
            ],
        ),
        point(
            16,
            &[
                (120.0, 0.0),
                (121.0, 0.0),
                (119.0, 0.0),
                (120.0, 0.0),
                (120.5, 0.0),
            ],
        ),
    ];
    let b = &best(&points, 2.0)[0];
    assert_eq!(b.point, "batch16");
    assert_eq!(b.verdict, Some(Verdict::Improved));
    assert!(b.is_winner());
    let (margin, (lo, _)) = b.margin_pct.unwrap();
    assert!((margin - 20.0).abs() < 1.0 && lo > 2.0, "{margin} {lo}");
}

#[test]
fn one_trial_each_names_no_winner_and_a_lossy_default_is_still_found() {
    // The default lost 0.75 %: it is no lossless candidate, but still the point to beat.
    let points = vec![point(64, &[(100.0, 0.75)]), point(16, &[(108.9, 0.0)])];
    let b = &best(&points, 2.0)[0];
    assert_eq!(b.point, "batch16");
    assert_eq!(
        b.default.as_ref().map(|d| d.0.as_str()),
        Some("batch64"),
        "the default point is found though lossy"
    );
    assert_eq!(b.verdict, Some(Verdict::Inconclusive));
    assert!(!b.is_winner());
    assert!(b.resolve.as_deref().unwrap_or("").contains("--trials"));
}
