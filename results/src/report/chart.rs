//! Charts as SVG strings, drawn with plotters' SVG backend (text as SVG text, no fonts or network
//! needed): line charts with points, on linear or log axes, with categorical x labels where asked.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
pub use plotters::prelude::SeriesLabelPosition;
use plotters::prelude::*;

/// One line of a chart.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// How an axis is scaled and labelled.
#[derive(Clone, Copy)]
pub enum Axis {
    /// Linear.
    Linear,
    /// Logarithmic.
    Log,
}

/// A line chart.
pub struct LineChart<'a> {
    /// Title.
    pub title: &'a str,
    /// X axis description.
    pub x_desc: &'a str,
    /// Y axis description.
    pub y_desc: &'a str,
    /// X scaling.
    pub x_axis: Axis,
    /// Y scaling.
    pub y_axis: Axis,
    /// Tick label of an x value (categories, percentiles).
    pub x_label: &'a dyn Fn(f64) -> String,
    /// The lines.
    pub series: &'a [Series],
    /// A fixed x range (categorical axes); `None` fits the data.
    pub x_range: Option<(f64, f64)>,
    /// Where the legend goes (where the lines are not).
    pub legend: SeriesLabelPosition,
}

/// The range of `values` with a margin, never empty; log axes stay positive.
fn range(values: impl Iterator<Item = f64>, axis: Axis) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    match axis {
        Axis::Linear => {
            let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.05).max(1e-9);
            (
                if lo >= 0.0 {
                    (lo - pad).max(0.0)
                } else {
                    lo - pad
                },
                hi + pad,
            )
        }
        Axis::Log => {
            let lo = lo.max(1e-9);
            (lo / 1.5, hi.max(lo) * 1.5)
        }
    }
}

/// Draws `chart` into an SVG string (640×400).
pub fn line_chart(chart: &LineChart<'_>) -> Result<String, String> {
    let (x0, x1) = chart.x_range.unwrap_or_else(|| {
        range(
            chart
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0)),
            chart.x_axis,
        )
    });
    let (y0, y1) = range(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1)),
        chart.y_axis,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        match (chart.x_axis, chart.y_axis) {
            (Axis::Linear, Axis::Linear) => draw(&root, chart, x0..x1, y0..y1),
            (Axis::Log, Axis::Linear) => draw(&root, chart, (x0..x1).log_scale(), y0..y1),
            (Axis::Linear, Axis::Log) => draw(&root, chart, x0..x1, (y0..y1).log_scale()),
            (Axis::Log, Axis::Log) => {
                draw(&root, chart, (x0..x1).log_scale(), (y0..y1).log_scale())
            }
        }?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    chart: &LineChart<'_>,
    x: X,
    y: Y,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut c = ChartBuilder::on(root)
        .caption(chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    c.configure_mesh()
        .x_desc(chart.x_desc)
        .y_desc(chart.y_desc)
        .x_label_formatter(&|v| (chart.x_label)(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        c.draw_series(s.points.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    c.configure_series_labels()
        .position(chart.legend.clone())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Horizontal interval chart: one row per label with a point and its interval, and a shaded band
/// (the noise band of a comparison), 800 px wide.
pub fn interval_chart(
    title: &str,
    x_desc: &str,
    rows: &[(String, f64, (f64, f64))],
    band: f64,
) -> Result<String, String> {
    let (x0, x1) = range(
        rows.iter()
            .flat_map(|r| [r.2 .0, r.2 .1, r.1])
            .chain([band, -band]),
        Axis::Linear,
    );
    let x0 = x0.min(-band * 1.5);
    let height = 90 + 22 * rows.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = rows.len() as f64;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(330)
            .build_cartesian_2d(x0..x1, -0.5..(n - 0.5).max(0.5))
            .map_err(|e| e.to_string())?;
        let label = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < rows.len() {
                rows[i as usize].0.clone()
            } else {
                String::new()
            }
        };
        c.configure_mesh()
            .x_desc(x_desc)
            .y_labels(rows.len().max(1) * 2 + 1)
            .y_label_formatter(&label)
            .draw()
            .map_err(|e| e.to_string())?;
        c.draw_series(std::iter::once(Rectangle::new(
            [(-band, -0.5), (band, n - 0.5)],
            RGBColor(200, 200, 200).mix(0.4).filled(),
        )))
        .map_err(|e| e.to_string())?;
        c.draw_series(rows.iter().enumerate().map(|(i, (_, v, (lo, hi)))| {
            ErrorBar::new_horizontal(i as f64, *lo, *v, *hi, BLUE.filled(), 8)
        }))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
