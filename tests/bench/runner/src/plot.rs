//! The load benchmarks' SVG plots (plotters, SVG backend, no font files): one or more lines
//! over time, optionally a horizontal line for a configured limit and shaded time windows
//! (the soak's faults).

use std::path::Path;

use plotters::prelude::*;

/// One line of a chart.
pub struct Line {
    /// Its legend entry.
    pub label: String,
    /// `(x, y)` points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A chart: what is drawn and how the axes are named.
pub struct Chart {
    /// The caption.
    pub title: String,
    /// The x axis' description.
    pub x_label: String,
    /// The y axis' description.
    pub y_label: String,
    /// The measured lines.
    pub lines: Vec<Line>,
    /// A horizontal line across the whole chart: its legend entry and its y.
    pub limit: Option<(String, f64)>,
    /// Shaded x windows `(from, to)`, with the legend entry they share.
    pub windows: Option<(String, Vec<(f64, f64)>)>,
}

/// Colours of the measured lines, in order.
const LINE_COLOURS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(44, 160, 44), BLACK];
/// The limit's colour.
const LIMIT_COLOUR: RGBColor = RGBColor(214, 39, 40);
/// The shaded windows' colour.
const WINDOW_COLOUR: RGBColor = RGBColor(255, 187, 120);

/// Writes `chart` as an SVG file at `path` (its folder must exist).
pub fn write_svg(path: &Path, chart: &Chart) -> Result<(), String> {
    draw(path, chart).map_err(|e| format!("cannot draw {}: {e}", path.display()))
}

fn draw(path: &Path, chart: &Chart) -> Result<(), Box<dyn std::error::Error>> {
    let points = chart.lines.iter().flat_map(|l| l.points.iter());
    let (mut x_max, mut y_max) =
        points.fold((1.0f64, 1.0f64), |(x, y), p| (x.max(p.0), y.max(p.1)));
    if let Some((_, limit)) = &chart.limit {
        y_max = y_max.max(*limit);
    }
    if let Some((_, windows)) = &chart.windows {
        x_max = windows.iter().fold(x_max, |x, w| x.max(w.1));
    }
    // Headroom above the highest point or the limit.
    y_max *= 1.15;

    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut plot = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    plot.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .draw()?;

    if let Some((label, windows)) = &chart.windows {
        let style = WINDOW_COLOUR.mix(0.45).filled();
        plot.draw_series(
            windows
                .iter()
                .map(|(from, to)| Rectangle::new([(*from, 0.0), (*to, y_max)], style)),
        )?
        .label(label.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], style));
    }
    if let Some((label, limit)) = &chart.limit {
        let style = LIMIT_COLOUR.stroke_width(2);
        plot.draw_series(LineSeries::new([(0.0, *limit), (x_max, *limit)], style))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
    }
    for (line, colour) in chart.lines.iter().zip(LINE_COLOURS.iter().cycle()) {
        let style = colour.stroke_width(1);
        plot.draw_series(LineSeries::new(line.points.iter().copied(), style))?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
    }
    plot.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder for one test's file; the test removes it.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "relay-bench-plot-{}-{}",
            std::process::id(),
            name.replace('.', "-")
        ));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir.join(name)
    }

    fn remove(path: &Path) {
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// The number of points of each polyline stroked in `colour`, in document order.
    fn polylines(svg: &str, colour: &str) -> Vec<usize> {
        svg.lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(&format!("stroke=\"{colour}\"")))
            .filter_map(|l| l.split("points=\"").nth(1))
            .map(|points| {
                points
                    .split_whitespace()
                    .filter(|p| p.contains(','))
                    .count()
            })
            .collect()
    }

    #[test]
    fn when_a_rate_is_drawn_against_a_limit_then_the_svg_holds_both_and_their_labels() {
        let path = scratch("rate.svg");
        let chart = Chart {
            title: "requests per second".into(),
            x_label: "seconds".into(),
            y_label: "requests/s".into(),
            lines: vec![Line {
                label: "achieved".into(),
                points: (0..60).map(|s| (f64::from(s), 95.0)).collect(),
            }],
            limit: Some(("limit 100/s".into(), 100.0)),
            windows: None,
        };
        write_svg(&path, &chart).expect("the SVG is written");
        let svg = std::fs::read_to_string(&path).expect("the SVG is readable");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("achieved") && svg.contains("limit 100/s"));
        // The measured line: all 60 points in its colour (and its legend swatch of 2).
        let points: Vec<usize> = polylines(&svg, "#1F77B4");
        assert_eq!(points, vec![60, 2], "{svg}");
        // The limit: one segment across the chart, and its swatch.
        assert_eq!(polylines(&svg, "#D62728"), vec![2, 2], "{svg}");
        remove(&path);
    }

    #[test]
    fn when_windows_are_shaded_then_each_is_a_rectangle_in_the_svg() {
        let path = scratch("rss.svg");
        let chart = Chart {
            title: "RSS".into(),
            x_label: "seconds".into(),
            y_label: "MiB".into(),
            lines: vec![Line {
                label: "relay local RSS".into(),
                points: vec![(0.0, 20.0), (1.0, 21.0), (2.0, 21.0)],
            }],
            limit: None,
            windows: Some(("faults".into(), vec![(0.5, 1.0), (1.5, 1.8)])),
        };
        write_svg(&path, &chart).expect("the SVG is written");
        let svg = std::fs::read_to_string(&path).expect("the SVG is readable");
        assert!(svg.contains("relay local RSS") && svg.contains("faults"));
        let filled_windows = svg.matches("fill=\"#FFBB78\"").count();
        // Two windows and the legend's swatch.
        assert_eq!(filled_windows, 3, "{svg}");
        remove(&path);
    }
}
