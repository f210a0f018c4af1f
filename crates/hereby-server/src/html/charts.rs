//! Charts drawn on the server as inline SVG: readable without JavaScript, sized by the page's
//! CSS, coloured by class (so the dark theme and printing restyle them), and each with a
//! `<title>` for screen readers. Every chart the pages draw has its table beside it; the
//! charts only show what the table says.

use std::fmt::Write as _;

use super::render::escape;

/// Width of the drawing in user units; the SVG scales to its container.
const WIDTH: f64 = 760.0;
/// Room for the labels left of horizontal bars.
const LABEL: f64 = 150.0;
/// Room for the figures right of horizontal bars.
const FIGURE: f64 = 290.0;
const ROW: f64 = 26.0;
const BAR: f64 = 16.0;

/// One part of a bar: a CSS class (`sev1`, `working`, `used`) and a value.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) class: &'static str,
    pub(crate) value: f64,
}

/// One row of a horizontal chart: its label, its stacked parts, an optional whisker (a p90
/// beyond a median, an allowance beyond what was used) and the figure printed after it.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) parts: Vec<Part>,
    pub(crate) whisker: Option<f64>,
    pub(crate) figure: String,
}

fn open(out: &mut String, id: &str, title: &str, height: f64) {
    let _ = write!(
        out,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
}

/// Horizontal bars, one per row, all on one scale (the largest part sum or whisker fills the
/// width). Empty rows draw an empty chart with its title.
pub(crate) fn horizontal(id: &str, title: &str, rows: &[Row]) -> String {
    let height = (rows.len().max(1) as f64) * ROW + 8.0;
    let largest = rows
        .iter()
        .map(|row| {
            let sum: f64 = row.parts.iter().map(|part| part.value.max(0.0)).sum();
            sum.max(row.whisker.unwrap_or(0.0))
        })
        .fold(0.0, f64::max);
    let span = WIDTH - LABEL - FIGURE;
    let scale = if largest > 0.0 { span / largest } else { 0.0 };
    let mut out = String::new();
    open(&mut out, id, title, height);
    for (index, row) in rows.iter().enumerate() {
        let y = 4.0 + index as f64 * ROW;
        let middle = y + BAR / 2.0;
        let _ = write!(
            out,
            r#"<text class="label" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            LABEL - 8.0,
            middle,
            escape(&row.label)
        );
        let mut x = LABEL;
        for part in &row.parts {
            let width = part.value.max(0.0) * scale;
            if width > 0.0 {
                let _ = write!(
                    out,
                    r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{BAR}"/>"#,
                    part.class
                );
            }
            x += width;
        }
        if let Some(whisker) = row.whisker {
            let end = LABEL + whisker.max(0.0) * scale;
            if end > x {
                let _ = write!(
                    out,
                    r#"<line class="whisker" x1="{x:.1}" y1="{middle:.1}" x2="{end:.1}" y2="{middle:.1}"/><line class="whisker" x1="{end:.1}" y1="{:.1}" x2="{end:.1}" y2="{:.1}"/>"#,
                    y + 2.0,
                    y + BAR - 2.0
                );
            }
            x = x.max(end);
        }
        let _ = write!(
            out,
            r#"<text class="figure" x="{:.1}" y="{middle:.1}" dominant-baseline="middle">{}</text>"#,
            x + 6.0,
            escape(&row.figure)
        );
    }
    out.push_str("</svg>");
    out
}

/// One column of a vertical chart: its label under it and its stacked parts.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) label: String,
    pub(crate) parts: Vec<Part>,
}

/// Stacked vertical columns on one scale, with the largest total printed as the axis top.
pub(crate) fn columns(id: &str, title: &str, columns: &[Column]) -> String {
    const HEIGHT: f64 = 180.0;
    const AXIS: f64 = 36.0;
    const BOTTOM: f64 = 34.0;
    let plot = HEIGHT - BOTTOM - 8.0;
    let largest = columns
        .iter()
        .map(|column| {
            column
                .parts
                .iter()
                .map(|part| part.value.max(0.0))
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let scale = if largest > 0.0 { plot / largest } else { 0.0 };
    let slot = (WIDTH - AXIS) / columns.len().max(1) as f64;
    let width = (slot * 0.7).min(40.0);
    let mut out = String::new();
    open(&mut out, id, title, HEIGHT);
    let base = 8.0 + plot;
    let _ = write!(
        out,
        r#"<line class="axis" x1="{AXIS}" y1="{base}" x2="{WIDTH}" y2="{base}"/><text class="label" x="{}" y="12" text-anchor="end">{largest}</text><text class="label" x="{}" y="{base}" text-anchor="end">0</text>"#,
        AXIS - 6.0,
        AXIS - 6.0,
    );
    // Every label when they fit, else about twelve of them.
    let every = columns.len().div_ceil(12).max(1);
    for (index, column) in columns.iter().enumerate() {
        let x = AXIS + index as f64 * slot + (slot - width) / 2.0;
        let mut top = base;
        for part in &column.parts {
            let height = part.value.max(0.0) * scale;
            if height > 0.0 {
                top -= height;
                let _ = write!(
                    out,
                    r#"<rect class="{}" x="{x:.1}" y="{top:.1}" width="{width:.1}" height="{height:.1}"/>"#,
                    part.class
                );
            }
        }
        if index % every == 0 {
            let _ = write!(
                out,
                r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + width / 2.0,
                base + 16.0,
                escape(&column.label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// What each colour of a chart stands for, as HTML under it: a swatch and a word per class.
pub(crate) fn legend(items: &[(&str, &str)]) -> String {
    let mut out = String::from(r#"<p class="legend">"#);
    for (class, label) in items {
        let _ = write!(
            out,
            r#"<span><svg class="chart swatch" width="12" height="12" aria-hidden="true" xmlns="http://www.w3.org/2000/svg"><rect class="{class}" width="12" height="12"/></svg> {}</span> "#,
            escape(label)
        );
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_are_to_scale() {
        let svg = horizontal(
            "t",
            "Time to <mitigate>",
            &[
                Row {
                    label: "team:<script>".to_owned(),
                    parts: vec![Part {
                        class: "median",
                        value: 10.0,
                    }],
                    whisker: Some(20.0),
                    figure: "10 min · p90 20 min".to_owned(),
                },
                Row {
                    label: "b".to_owned(),
                    parts: vec![Part {
                        class: "median",
                        value: 5.0,
                    }],
                    whisker: None,
                    figure: String::new(),
                },
            ],
        );
        assert!(svg.contains("Time to &lt;mitigate&gt;"), "{svg}");
        assert!(!svg.contains("<script>"), "{svg}");
        // The whisker of 20 fills the span (320); a median of 10 is half, 5 a quarter.
        assert!(svg.contains(r#"width="160.0""#), "{svg}");
        assert!(svg.contains(r#"width="80.0""#), "{svg}");
        assert!(svg.contains(r#"x2="470.0""#), "{svg}");
    }

    #[test]
    fn empty_charts_draw_without_dividing_by_zero() {
        let svg = horizontal("e", "Nothing", &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let svg = columns("c", "Nothing", &[]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn columns_stack_their_parts() {
        let svg = columns(
            "w",
            "Incidents per week",
            &[Column {
                label: "2026-W47".to_owned(),
                parts: vec![
                    Part {
                        class: "sev1",
                        value: 1.0,
                    },
                    Part {
                        class: "sev2",
                        value: 3.0,
                    },
                ],
            }],
        );
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains(r#"class="sev1""#) && svg.contains(r#"class="sev2""#));
        assert!(
            svg.contains(">4</text>"),
            "the axis top is the largest total: {svg}"
        );
    }
}
