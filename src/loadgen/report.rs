//! What a load run measured: throughput, latency percentiles, errors, the service's stages;
//! as JSON for tools and Markdown with plots for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::metrics::StageBreakdown;
use super::{Load, LoadConfig, plot};

/// One upload: when it was sent (from the start of the run), how long to its answer, the
/// status of a verdict or why there was none, and the analysis time the verdict reports
/// (`analysis.timings_ms.total`), when it does.
#[derive(Debug, Clone)]
pub struct Sample {
    pub sent_at: Duration,
    pub latency: Duration,
    pub outcome: Result<u16, String>,
    pub analysis_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub url: String,
    /// `rate R/s` or `concurrency C`.
    pub load: String,
    pub stations: usize,
    pub duration_s: f64,
    pub requests: usize,
    pub verdicts: usize,
    /// Verdicts per second over the run.
    pub throughput_per_s: f64,
    /// Of the uploads that got their verdict.
    pub latency: Option<Latency>,
    /// Failure kind (status and code, `timeout`, `connection`) → count.
    pub errors: BTreeMap<String, usize>,
    /// Open loop: arrivals not sent because too many uploads were already in flight.
    pub dropped: usize,
    /// The service's own mean time per stage (scantriage only).
    pub stages: Option<BTreeMap<String, super::metrics::StageFigure>>,
    /// Mean verdict latency beyond the in-process analysis (HTTP, storage, queueing, triage),
    /// as a share of the analysis: from the service's means per stage.
    pub overhead_share: Option<f64>,
    /// The same per verdict, from its latency and the analysis time it reports: the median.
    pub overhead_share_p50: Option<f64>,
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Report {
    pub(super) fn new(
        config: &LoadConfig,
        samples: Vec<Sample>,
        dropped: usize,
        elapsed: Duration,
        stages: Option<StageBreakdown>,
    ) -> Self {
        let mut latencies: Vec<f64> =
            samples.iter().filter(|s| s.outcome.is_ok()).map(|s| s.latency.as_secs_f64() * 1000.0).collect();
        latencies.sort_by(f64::total_cmp);
        let latency = (!latencies.is_empty()).then(|| Latency {
            p50_ms: percentile(&latencies, 50.0),
            p90_ms: percentile(&latencies, 90.0),
            p99_ms: percentile(&latencies, 99.0),
            max_ms: *latencies.last().expect("not empty"),
            mean_ms: latencies.iter().sum::<f64>() / latencies.len() as f64,
        });
        let overhead_share = latency.as_ref().zip(stages.as_ref()).and_then(|(latency, stages)| {
            let analysis = stages.stages.get("analysis")?.mean_ms;
            (analysis > 0.0).then(|| (latency.mean_ms - analysis) / analysis)
        });
        let mut overheads: Vec<f64> = samples
            .iter()
            .filter(|s| s.outcome.is_ok())
            .filter_map(|s| Some((s.latency.as_secs_f64() * 1000.0, s.analysis_ms.filter(|&a| a > 0.0)?)))
            .map(|(latency, analysis)| (latency - analysis) / analysis)
            .collect();
        overheads.sort_by(f64::total_cmp);
        let overhead_share_p50 = (!overheads.is_empty()).then(|| percentile(&overheads, 50.0));
        let mut errors = BTreeMap::new();
        for sample in &samples {
            if let Err(kind) = &sample.outcome {
                *errors.entry(kind.clone()).or_default() += 1;
            }
        }
        Self {
            label: config.label.clone(),
            url: config.url.clone(),
            load: match config.load {
                Load::Rate(rate) => format!("rate {rate}/s"),
                Load::Concurrency(c) => format!("concurrency {c}"),
            },
            stations: config.stations.len(),
            duration_s: elapsed.as_secs_f64(),
            requests: samples.len(),
            verdicts: latencies.len(),
            throughput_per_s: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            latency,
            errors,
            dropped,
            overhead_share,
            overhead_share_p50,
            stages: stages.map(|s| s.stages),
            samples,
        }
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let latency = self.latency.as_ref().map_or("no verdicts".to_owned(), |l| {
            format!("p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms", l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms)
        });
        format!(
            "{}: {} for {:.1} s: {} uploads, {} verdicts ({:.2}/s), {latency}, {} errors, {} dropped",
            self.label,
            self.load,
            self.duration_s,
            self.requests,
            self.verdicts,
            self.throughput_per_s,
            self.errors.values().sum::<usize>(),
            self.dropped
        )
    }

    pub fn markdown(&self, plots: Option<(&str, &str)>) -> String {
        let mut md = format!("## {} — {}\n\n", self.label, self.load);
        let _ = writeln!(md, "{}\n", self.summary());
        md.push_str(&comparison_table(std::slice::from_ref(self)));
        if let Some(stages) = &self.stages {
            md.push_str("\nPer-stage means reported by the service during the run:\n\n| stage | scans | mean |\n| --- | --- | --- |\n");
            for stage in crate::metrics::STAGES {
                if let Some(figure) = stages.get(stage) {
                    let _ = writeln!(md, "| {stage} | {} | {:.1} ms |", figure.scans, figure.mean_ms);
                }
            }
        }
        if !self.errors.is_empty() {
            md.push_str("\n| error | count |\n| --- | --- |\n");
            for (kind, n) in &self.errors {
                let _ = writeln!(md, "| {kind} | {n} |");
            }
        }
        if let Some((histogram, over_time)) = plots {
            let _ = write!(md, "\n![latency histogram]({histogram})\n\n![latency over time]({over_time})\n");
        }
        md
    }
}

/// Runs side by side: one column per run.
pub fn comparison_table(reports: &[Report]) -> String {
    let mut md = String::from("| |");
    for report in reports {
        let _ = write!(md, " {} |", report.label);
    }
    md.push_str("\n| --- |");
    md.push_str(&" --- |".repeat(reports.len()));
    md.push('\n');
    type Row = (&'static str, fn(&Report) -> String);
    let rows: [Row; 12] = [
        ("load", |r| r.load.clone()),
        ("duration", |r| format!("{:.1} s", r.duration_s)),
        ("uploads", |r| r.requests.to_string()),
        ("verdicts/s", |r| format!("{:.2}", r.throughput_per_s)),
        ("p50", |r| r.latency.as_ref().map_or("–".into(), |l| format!("{:.0} ms", l.p50_ms))),
        ("p90", |r| r.latency.as_ref().map_or("–".into(), |l| format!("{:.0} ms", l.p90_ms))),
        ("p99", |r| r.latency.as_ref().map_or("–".into(), |l| format!("{:.0} ms", l.p99_ms))),
        ("max", |r| r.latency.as_ref().map_or("–".into(), |l| format!("{:.0} ms", l.max_ms))),
        ("mean", |r| r.latency.as_ref().map_or("–".into(), |l| format!("{:.0} ms", l.mean_ms))),
        ("errors + dropped", |r| (r.errors.values().sum::<usize>() + r.dropped).to_string()),
        ("overhead over the analysis (means)", |r| r.overhead_share.map_or("–".into(), |s| format!("{:.0} %", 100.0 * s))),
        ("overhead over the analysis (p50 per verdict)", |r| {
            r.overhead_share_p50.map_or("–".into(), |s| format!("{:.0} %", 100.0 * s))
        }),
    ];
    for (name, cell) in rows {
        let _ = write!(md, "| {name} |");
        for report in reports {
            let _ = write!(md, " {} |", cell(report));
        }
        md.push('\n');
    }
    md
}

/// Writes `NAME.json`, `NAME.md` and the two plots into `dir`.
pub fn write_outputs(report: &Report, dir: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |file: String, content: String| {
        std::fs::write(dir.join(&file), content).with_context(|| format!("cannot write {}/{file}", dir.display()))
    };
    let histogram = format!("{name}-histogram.svg");
    let over_time = format!("{name}-over-time.svg");
    write(histogram.clone(), plot::histogram(&report.samples, &report.label))?;
    write(over_time.clone(), plot::over_time(&report.samples, &report.label))?;
    write(format!("{name}.json"), serde_json::to_string_pretty(report)?)?;
    write(format!("{name}.md"), report.markdown(Some((&histogram, &over_time))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
