//! Evaluation of the real pipeline on simulated scan sets with ground truth: tile
//! classification, concealment detection and localisation, cargo mass. `scantriage eval`.

pub mod metrics;
pub mod scan;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::inference::Engine;
use crate::sim::output::METADATA_FILE;
use crate::triage::TriageConfig;
use metrics::{Confusion, auroc, median, share};
pub use scan::{ConcealedOutcome, ScanOutcome, measure};

/// The metrics of one set of scans. `None` (JSON null) where the set cannot define one.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub scans: usize,
    /// Pure tiles (majority label ≥ 60 %) the accuracy counts.
    pub tiles: usize,
    pub tile_accuracy: Option<f64>,
    /// Share of misdeclared scans (undeclared, misdeclared, declared empty but loaded) where
    /// triage raised a reason about the declared goods, with the evaluated configuration.
    pub mismatch_recall: Option<f64>,
    /// Share of honest scans where it did.
    pub false_flag_rate: Option<f64>,
    /// Concealment scans against the others, ranked by [`ScanOutcome::concealment_score`]: the
    /// anomaly model's score, with a wall across a hold first.
    pub concealment_auroc: Option<f64>,
    /// The same with the anomaly model's score alone: how well it finds what it never saw.
    pub anomaly_model_auroc: Option<f64>,
    pub concealment_localised: Option<f64>,
    /// Share of the scans without concealment where triage's concealment reason was raised: an
    /// anomalous region at the manifest's threshold, or a wall across a hold.
    pub concealment_false_alarm_rate: Option<f64>,
    pub mass_error_median: Option<f64>,
}

/// How well one kind of concealment is found.
#[derive(Debug, Clone, Serialize)]
pub struct ConcealmentKindMetrics {
    /// Scans holding an object of this kind.
    pub scans: usize,
    pub objects: usize,
    /// Those scans' concealment scores against the scans without concealment.
    pub auroc: Option<f64>,
    /// The same with the anomaly model's scores alone.
    pub anomaly_model_auroc: Option<f64>,
    /// Share of the objects of this kind that an anomaly region or a wall found overlaps.
    pub localised: Option<f64>,
}

/// The whole evaluation: overall metrics at the top level, then the breakdowns.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub overall: Metrics,
    /// Taxonomy order: the rows (truth) and columns (predicted) of `confusion`.
    pub categories: Vec<String>,
    pub category_accuracy: BTreeMap<String, Option<f64>>,
    pub confusion: Vec<Vec<usize>>,
    pub by_length: BTreeMap<String, Metrics>,
    pub by_dose: BTreeMap<String, Metrics>,
    pub by_concealment_kind: BTreeMap<String, ConcealmentKindMetrics>,
    /// Scan folders the pipeline failed on, with the error; they count in no metric.
    pub failed: Vec<(String, String)>,
    /// Every measured scan, so that a figure can be traced to the scans behind it.
    pub per_scan: Vec<ScanOutcome>,
}

impl Report {
    /// A human-readable table of the report.
    pub fn table(&self) -> String {
        table::render(self)
    }
}

/// The scan folders of `data` (those with a meta.json), sorted by name.
pub fn scan_dirs(data: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = fs::read_dir(data).with_context(|| format!("cannot read {}", data.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(METADATA_FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Runs every scan of `data` through `engine`, triages it with `triage`, and measures both
/// against its truth.
pub fn evaluate(engine: &Engine, data: &Path, triage: &TriageConfig) -> anyhow::Result<Report> {
    let dirs = scan_dirs(data)?;
    anyhow::ensure!(!dirs.is_empty(), "no scan folders (with {METADATA_FILE}) in {}", data.display());
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for dir in &dirs {
        // One unreadable or unlocatable scan should not hide the figures of the others.
        match measure(engine, dir, triage) {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                tracing::warn!(scan = %dir.display(), "evaluation failed: {error:#}");
                failed.push((dir.file_name().unwrap_or_default().to_string_lossy().into_owned(), format!("{error:#}")));
            }
        }
    }
    let categories: Vec<String> = engine.pool().registry().taxonomy().labels().map(str::to_owned).collect();
    Ok(report(outcomes, categories, failed))
}

/// The report of measured scans; `categories` in taxonomy order.
pub fn report(outcomes: Vec<ScanOutcome>, categories: Vec<String>, failed: Vec<(String, String)>) -> Report {
    let all: Vec<&ScanOutcome> = outcomes.iter().collect();
    let n = categories.len();
    let (overall, confusion) = metrics(&all, n);
    let group = |key: fn(&ScanOutcome) -> &str| {
        let mut groups: BTreeMap<String, Vec<&ScanOutcome>> = BTreeMap::new();
        for o in &outcomes {
            groups.entry(key(o).to_owned()).or_default().push(o);
        }
        groups.into_iter().map(|(k, v)| (k, metrics(&v, n).0)).collect()
    };
    let (by_length, by_dose) = (group(|o| &o.length), group(|o| &o.dose));
    Report {
        overall,
        category_accuracy: categories.iter().cloned().zip(confusion.per_category()).collect(),
        confusion: confusion.counts,
        categories,
        by_length,
        by_dose,
        by_concealment_kind: by_concealment_kind(&outcomes),
        failed,
        per_scan: outcomes,
    }
}

fn metrics(outcomes: &[&ScanOutcome], categories: usize) -> (Metrics, Confusion) {
    let mut confusion = Confusion::new(categories);
    for &(truth, predicted) in outcomes.iter().flat_map(|o| &o.tiles) {
        if truth < categories && predicted < categories {
            confusion.add(truth, predicted);
        }
    }
    let scores = |concealed: bool, score: fn(&ScanOutcome) -> f64| -> Vec<f64> {
        outcomes.iter().filter(|o| o.concealed.is_empty() != concealed).map(|o| score(o)).collect()
    };
    let ranked = |score: fn(&ScanOutcome) -> f64| auroc(&scores(true, score), &scores(false, score));
    let objects: Vec<&ConcealedOutcome> = outcomes.iter().flat_map(|o| &o.concealed).collect();
    let localised = objects.iter().filter(|c| c.localised).count();
    let clean: Vec<_> = outcomes.iter().filter(|o| o.concealed.is_empty()).collect();
    let false_alarms = clean.iter().filter(|o| o.concealment_alarm()).count();
    let mass_errors: Vec<f64> = outcomes.iter().filter_map(|o| o.mass_error).collect();
    let metrics = Metrics {
        scans: outcomes.len(),
        tiles: confusion.total(),
        tile_accuracy: confusion.accuracy(),
        mismatch_recall: flagged_share(outcomes, true),
        false_flag_rate: flagged_share(outcomes, false),
        concealment_auroc: ranked(ScanOutcome::concealment_score),
        anomaly_model_auroc: ranked(|o| o.anomaly_score),
        concealment_localised: share(localised, objects.len()),
        concealment_false_alarm_rate: share(false_alarms, clean.len()),
        mass_error_median: median(&mass_errors),
    };
    (metrics, confusion)
}

/// Each kind of concealment present, against every scan without concealment.
fn by_concealment_kind(outcomes: &[ScanOutcome]) -> BTreeMap<String, ConcealmentKindMetrics> {
    let clean: Vec<&ScanOutcome> = outcomes.iter().filter(|o| o.concealed.is_empty()).collect();
    let kinds: BTreeSet<&str> = outcomes.iter().flat_map(|o| &o.concealed).map(|c| c.kind.as_str()).collect();
    kinds
        .into_iter()
        .map(|kind| {
            let objects: Vec<&ConcealedOutcome> =
                outcomes.iter().flat_map(|o| &o.concealed).filter(|c| c.kind == kind).collect();
            let holding: Vec<&ScanOutcome> =
                outcomes.iter().filter(|o| o.concealed.iter().any(|c| c.kind == kind)).collect();
            let ranked = |score: fn(&ScanOutcome) -> f64| {
                auroc(&holding.iter().map(|o| score(o)).collect::<Vec<_>>(), &clean.iter().map(|o| score(o)).collect::<Vec<_>>())
            };
            let metrics = ConcealmentKindMetrics {
                scans: holding.len(),
                objects: objects.len(),
                auroc: ranked(ScanOutcome::concealment_score),
                anomaly_model_auroc: ranked(|o| o.anomaly_score),
                localised: share(objects.iter().filter(|c| c.localised).count(), objects.len()),
            };
            (kind.to_owned(), metrics)
        })
        .collect()
}

/// Share of the scans whose declaration is (or is not) a goods misdeclaration that triage flagged.
fn flagged_share(outcomes: &[&ScanOutcome], misdeclared: bool) -> Option<f64> {
    let group: Vec<_> = outcomes.iter().filter(|o| o.misdeclared == Some(misdeclared)).collect();
    share(group.iter().filter(|o| o.flagged).count(), group.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(score: f64, objects: &[(&str, bool)]) -> ScanOutcome {
        ScanOutcome {
            name: format!("SIM-{score}"),
            scenario: if objects.is_empty() { "honest" } else { "concealment" }.into(),
            length: "20ft".into(),
            dose: "normal".into(),
            tiles: Vec::new(),
            anomaly_score: score,
            anomaly_regions: objects.iter().filter(|(_, found)| *found).count(),
            partitions: 0,
            concealed: objects.iter().map(|&(kind, localised)| ConcealedOutcome { kind: kind.into(), localised }).collect(),
            mass_error: None,
            misdeclared: None,
            flagged: false,
            goods_reasons: Vec::new(),
        }
    }

    #[test]
    fn each_kind_is_ranked_against_the_scans_without_concealment_only() {
        let outcomes = vec![
            scan(0.2, &[]),
            scan(0.6, &[]),
            scan(0.9, &[("dense_packages", true), ("dense_packages", false)]),
            scan(0.7, &[("dense_packages", true)]),
            // Above both clean scans but below the packages' scans, which must not count against it.
            scan(0.65, &[("weapon", false)]),
        ];
        let kinds = report(outcomes, Vec::new(), Vec::new()).by_concealment_kind;
        assert_eq!(kinds.keys().collect::<Vec<_>>(), ["dense_packages", "weapon"]);
        let packages = &kinds["dense_packages"];
        assert_eq!((packages.scans, packages.objects), (2, 3));
        assert_eq!(packages.auroc, Some(1.0));
        assert_eq!(packages.localised, Some(2.0 / 3.0));
        let weapon = &kinds["weapon"];
        assert_eq!((weapon.scans, weapon.objects, weapon.auroc, weapon.localised), (1, 1, Some(1.0), Some(0.0)));
    }

    #[test]
    fn a_wall_across_the_hold_ranks_a_scan_first_and_counts_as_an_alarm() {
        let wall = |mut o: ScanOutcome| {
            o.partitions = 1;
            o
        };
        let outcomes = vec![
            scan(0.2, &[]),
            wall(scan(0.3, &[])),
            scan(0.6, &[]),
            // Below every clean scan by the anomaly model's score; with its wall above those
            // without one.
            wall(scan(0.1, &[("false_wall", true)])),
            scan(0.4, &[("weapon", false)]),
        ];
        let report = report(outcomes, Vec::new(), Vec::new());
        let m = &report.overall;
        assert_eq!((m.concealment_auroc, m.anomaly_model_auroc), (Some(3.0 / 6.0), Some(2.0 / 6.0)));
        assert_eq!(m.concealment_false_alarm_rate, Some(1.0 / 3.0));
        let walls = &report.by_concealment_kind["false_wall"];
        assert_eq!((walls.auroc, walls.anomaly_model_auroc), (Some(2.0 / 3.0), Some(0.0)));
    }
}
