//! Two small SVG plots of a run's latencies, drawn by hand: no plotting library for 2 charts.

use std::fmt::Write as _;

use super::report::Sample;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const MARGIN: f64 = 48.0;

fn frame(title: &str, x_label: &str, y_label: &str, x_max: f64, y_max: f64) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n\
         <line x1=\"{MARGIN}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <line x1=\"{MARGIN}\" y1=\"{MARGIN}\" x2=\"{MARGIN}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n\
         <text x=\"12\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {})\">{y_label}</text>\n",
        WIDTH / 2.0,
        escape(title),
        WIDTH / 2.0,
        HEIGHT - 8.0,
        HEIGHT / 2.0,
        HEIGHT / 2.0,
        b = HEIGHT - MARGIN,
        r = WIDTH - MARGIN / 2.0,
    );
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let (x, y) = (MARGIN + f * (WIDTH - 1.5 * MARGIN), HEIGHT - MARGIN - f * (HEIGHT - 2.0 * MARGIN));
        let _ = writeln!(svg, "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>", HEIGHT - MARGIN + 14.0, tick(f * x_max));
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", MARGIN - 4.0, y + 4.0, tick(f * y_max));
    }
    svg
}

fn tick(value: f64) -> String {
    if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn ok_latencies_ms(samples: &[Sample]) -> impl Iterator<Item = (f64, f64)> + '_ {
    samples.iter().filter(|s| s.outcome.is_ok()).map(|s| (s.sent_at.as_secs_f64(), s.latency.as_secs_f64() * 1000.0))
}

/// Verdict latencies in 40 bins from 0 to the largest.
pub fn histogram(samples: &[Sample], label: &str) -> String {
    const BINS: usize = 40;
    let max = ok_latencies_ms(samples).map(|(_, l)| l).fold(1.0, f64::max);
    let mut counts = [0usize; BINS];
    for (_, latency) in ok_latencies_ms(samples) {
        counts[((latency / max * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let peak = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut svg = frame(&format!("{label}: verdict latency"), "latency (ms)", "uploads", max, peak);
    let bar = (WIDTH - 1.5 * MARGIN) / BINS as f64;
    for (i, &n) in counts.iter().enumerate() {
        let h = n as f64 / peak * (HEIGHT - 2.0 * MARGIN);
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#3b6ea8\"/>",
            MARGIN + i as f64 * bar,
            HEIGHT - MARGIN - h,
            bar - 1.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Each upload's latency at the time it was sent; failures as red marks on the axis.
pub fn over_time(samples: &[Sample], label: &str) -> String {
    let duration = samples.iter().map(|s| s.sent_at.as_secs_f64()).fold(1.0, f64::max);
    let max = ok_latencies_ms(samples).map(|(_, l)| l).fold(1.0, f64::max);
    let mut svg = frame(&format!("{label}: latency over the run"), "time sent (s)", "latency (ms)", duration, max);
    let x = |t: f64| MARGIN + t / duration * (WIDTH - 1.5 * MARGIN);
    for (t, latency) in ok_latencies_ms(samples) {
        let y = HEIGHT - MARGIN - latency / max * (HEIGHT - 2.0 * MARGIN);
        let _ = writeln!(svg, "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"1.6\" fill=\"#3b6ea8\"/>", x(t));
    }
    for sample in samples.iter().filter(|s| s.outcome.is_err()) {
        let _ = writeln!(svg, "<circle cx=\"{:.1}\" cy=\"{}\" r=\"2\" fill=\"#c0392b\"/>", x(sample.sent_at.as_secs_f64()), HEIGHT - MARGIN);
    }
    svg.push_str("</svg>\n");
    svg
}
