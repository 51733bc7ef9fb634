//! Metric curves as a PNG (`run --plot`, `compare --plot`): one panel per
//! group of related values, steps, seconds or kernel evaluations on the x
//! axis, every run on shared axes (solid lines for the first run, dashed for
//! the second); runs over several seeds draw their mean with a shaded
//! min-max band.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::seeds::Band;

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

/// What the curves are drawn against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum XAxis {
    /// Steps taken.
    #[default]
    Step,
    /// Seconds spent in steps (metrics excluded): equal wall time.
    Seconds,
    /// Kernel evaluations so far: equal work, whatever the machine.
    Kernels,
}

impl XAxis {
    fn label(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Seconds => "seconds in steps",
            XAxis::Kernels => "kernel evaluations",
        }
    }
}

/// (run index, series index in its panel, points (x, mean, min, max)).
type Curve = (usize, usize, Vec<(f64, f64, f64, f64)>);

const COLOURS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44)];

fn register_font() -> anyhow::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("the embedded plot font could not be read")) }
}

/// Writes the curves of `runs` (name, curves over its seeds) to a PNG at
/// `path`, against `x`.
pub fn plot_runs(path: &Path, runs: &[(&str, &Band)], x: XAxis) -> anyhow::Result<()> {
    register_font()?;
    // Drawn in memory, then written atomically: a full disk leaves no half PNG.
    let (width, height) = PLOT_SIZE;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    draw(&mut rgb, runs, x)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("cannot draw the plot {}", path.display()))?;
    let rgba: Vec<u8> = rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    crate::export::write_png(path, width, height, &rgba)?;
    Ok(())
}

/// Pixels of a plot.
const PLOT_SIZE: (u32, u32) = (1800, 1000);

fn draw(rgb: &mut [u8], runs: &[(&str, &Band)], x: XAxis) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let names: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{} {n}", if i == 0 { "solid:" } else { "dashed:" }))
        .collect();
    let title = if runs.len() == 1 { runs[0].0.to_string() } else { names.join("   ") };
    let (top, body) = root.split_vertically(40);
    top.draw(&Text::new(title, (20, 10), (FAMILY, 22).into_font()))?;
    let x_of = |r: &super::seeds::BandRow| match x {
        XAxis::Step => r.step as f64,
        XAxis::Seconds => r.seconds,
        XAxis::Kernels => r.kernel_evaluations,
    };
    let x_max = runs.iter().flat_map(|(_, b)| b.rows.iter().map(x_of)).fold(0.0, f64::max);
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    for (area, panel) in body.split_evenly((2, 4)).iter().zip(&PANELS) {
        let curves: Vec<Curve> = runs
            .iter()
            .enumerate()
            .flat_map(|(run, (_, band))| {
                panel.series.iter().enumerate().map(move |(s, name)| {
                    let column = band.names.iter().position(|n| n == name);
                    let pts = column
                        .map(|k| {
                            band.rows
                                .iter()
                                .map(|r| (x_of(r), r.values[k].mean, r.values[k].min, r.values[k].max))
                                .filter(|(_, v, lo, hi)| {
                                    [v, lo, hi].iter().all(|v| v.is_finite() && (!panel.log || **v > 0.0))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (run, s, pts)
                })
            })
            .collect();
        let ys = curves.iter().flat_map(|(_, _, p)| p.iter().flat_map(|(_, _, lo, hi)| [*lo, *hi]));
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
            panel_chart(area, panel, (x, x_max), range, &curves, runs.len())?;
        } else {
            let span = (hi - lo).max(1e-12 * hi.abs().max(1.0));
            let range = (lo - 0.05 * span)..(hi + span * 0.12 * legend_rows.max(2.0));
            panel_chart(area, panel, (x, x_max), range, &curves, runs.len())?;
        }
    }
    root.present()?;
    Ok(())
}

fn panel_chart<Y>(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    panel: &Panel,
    (x, x_max): (XAxis, f64),
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
        .x_desc(x.label())
        .y_desc(panel.y_label)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .x_labels(6)
        .x_label_formatter(&|v| if x == XAxis::Step { format!("{v:.0}") } else { compact(*v) })
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
        // The seeds' range, shaded under the mean.
        if pts.iter().any(|(_, _, lo, hi)| lo < hi) {
            let upper = pts.iter().map(|&(x, _, _, hi)| (x, hi));
            let lower = pts.iter().rev().map(|&(x, _, lo, _)| (x, lo));
            let alpha = if *run == 0 { 0.18 } else { 0.10 };
            chart.draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                colour.mix(alpha),
            )))?;
        }
        let mean = pts.iter().map(|&(x, m, _, _)| (x, m));
        let drawn = if *run == 0 {
            chart.draw_series(LineSeries::new(mean, style))?
        } else {
            chart.draw_series(DashedLineSeries::new(mean, 8, 5, style))?
        };
        drawn.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2)));
        if pts.len() <= 12 {
            chart.draw_series(pts.iter().map(|&(x, m, _, _)| Circle::new((x, m), 3, colour.filled())))?;
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
