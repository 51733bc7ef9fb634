//! Metric curves as a PNG (`run --plot`, `compare --plot`): one panel per
//! group of related values, step on the x axis, every run on shared axes
//! (solid lines for the first run, dashed for the second).

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::record::Record;
use crate::engine::{Divergences, Metrics};

/// The embedded font (Noto Mono, SIL OFL 1.1, see assets/fonts/OFL.txt).
const FONT: &[u8] = include_bytes!("../../assets/fonts/NotoMono-Regular.ttf");
const FAMILY: &str = "sans-serif";

/// One panel: a title, the values it draws, and whether its y axis is log.
struct Panel {
    title: &'static str,
    y_label: &'static str,
    series: &'static [&'static str],
    log: bool,
}

const PANELS: [Panel; 8] = [
    Panel { title: "CFD (App. E.1)", y_label: "CFD", series: &["cfd", "cfd_heldout", "cfd_floor"], log: true },
    Panel { title: "Outliers (Remark 1)", y_label: "fraction", series: &["outlier_fraction"], log: false },
    Panel { title: "KL and JS of the proxies", y_label: "nats", series: &["kl_qp", "kl_pq", "js"], log: true },
    Panel {
        title: "Fisher divergences",
        y_label: "|score diff|^2",
        series: &["fisher_q", "fisher_p", "fisher_r"],
        log: true,
    },
    Panel { title: "MMD^2, energy, sliced W2", y_label: "value", series: &["mmd2", "energy", "sw2"], log: true },
    Panel { title: "Memorisation (held out)", y_label: "NN ratio", series: &["memorization"], log: false },
    Panel {
        title: "KL rate per step",
        y_label: "d kl_qp / step",
        series: &["kl_rate_predicted", "kl_rate_measured"],
        log: false,
    },
    Panel { title: "Moments", y_label: "error", series: &["mean_error", "cov_error"], log: true },
];

/// (run index, series index in its panel, points).
type Curve = (usize, usize, Vec<(f64, f64)>);

const COLOURS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44)];

/// The value called `name` in a record.
fn value(r: &Record, name: &str) -> Option<f64> {
    if let Some(i) = Metrics::NAMES.iter().position(|n| *n == name) {
        return Some(r.metrics.values()[i]);
    }
    Divergences::NAMES.iter().position(|n| *n == name).map(|i| r.divergences.values()[i])
}

fn register_font() -> anyhow::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("the embedded plot font could not be read")) }
}

/// Writes the curves of `runs` (name, history) to a PNG at `path`.
pub fn plot_runs(path: &Path, runs: &[(&str, &Vec<Record>)]) -> anyhow::Result<()> {
    register_font()?;
    draw(path, runs).map_err(|e| anyhow!("{e}")).with_context(|| format!("cannot write the plot {}", path.display()))
}

fn draw(path: &Path, runs: &[(&str, &Vec<Record>)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1800, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
    let names: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{} {n}", if i == 0 { "solid:" } else { "dashed:" }))
        .collect();
    let title = if runs.len() == 1 { runs[0].0.to_string() } else { names.join("   ") };
    let (top, body) = root.split_vertically(40);
    top.draw(&Text::new(title, (20, 10), (FAMILY, 22).into_font()))?;
    let x_max = runs.iter().flat_map(|(_, h)| h.iter().map(|r| r.step)).max().unwrap_or(1).max(1) as f64;
    for (area, panel) in body.split_evenly((2, 4)).iter().zip(&PANELS) {
        let curves: Vec<Curve> = runs
            .iter()
            .enumerate()
            .flat_map(|(run, (_, h))| {
                panel.series.iter().enumerate().map(move |(s, name)| {
                    let pts = h
                        .iter()
                        .filter_map(|r| value(r, name).map(|v| (r.step as f64, v)))
                        .filter(|(_, v)| v.is_finite() && (!panel.log || *v > 0.0))
                        .collect();
                    (run, s, pts)
                })
            })
            .collect();
        let ys = curves.iter().flat_map(|(_, _, p)| p.iter().map(|(_, y)| *y));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
        if !(lo.is_finite() && hi.is_finite()) {
            area.draw(&Text::new(format!("{}: no data", panel.title), (20, 20), (FAMILY, 16).into_font()))?;
            continue;
        }
        // Head room above the data for the legend.
        let legend_rows = curves.len() as f64;
        if panel.log {
            let (l, h) = (lo.log10(), hi.log10().max(lo.log10() + 1e-3));
            let top = h + (h - l).max(1.0) * 0.12 * legend_rows;
            let range = (10f64.powf(l - 0.05 * (h - l).max(0.1))..10f64.powf(top)).log_scale();
            panel_chart(area, panel, x_max, range, &curves, runs.len())?;
        } else {
            let span = (hi - lo).max(1e-12 * hi.abs().max(1.0));
            let range = (lo - 0.05 * span)..(hi + span * 0.12 * legend_rows.max(2.0));
            panel_chart(area, panel, x_max, range, &curves, runs.len())?;
        }
    }
    root.present()?;
    Ok(())
}

fn panel_chart<Y>(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    panel: &Panel,
    x_max: f64,
    y: Y,
    curves: &[Curve],
    runs: usize,
) -> Result<(), Box<dyn std::error::Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, (FAMILY, 18))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(75)
        .build_cartesian_2d(0f64..x_max, y)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(panel.y_label)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .x_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| compact(*y))
        .y_labels(6)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (run, s, pts) in curves {
        let colour = COLOURS[*s % COLOURS.len()];
        let label = if runs > 1 {
            format!("{} ({})", panel.series[*s], if *run == 0 { "solid" } else { "dashed" })
        } else {
            panel.series[*s].to_string()
        };
        let style = colour.stroke_width(2);
        let drawn = if *run == 0 {
            chart.draw_series(LineSeries::new(pts.iter().copied(), style))?
        } else {
            chart.draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 5, style))?
        };
        drawn.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2)));
        if pts.len() <= 12 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 13))
        .draw()?;
    Ok(())
}

/// A tick label that stays short: plain for moderate values, else 1.2e5.
fn compact(y: f64) -> String {
    let a = y.abs();
    // Ticks of linear axes land near 0 with rounding dust (3.5e-18).
    if a < 1e-12 {
        "0".into()
    } else if (1e-2..1e4).contains(&a) {
        let s = format!("{y:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{y:.1e}")
    }
}
