//! The report as plain-text tables for a terminal.

use std::fmt::Write;

use super::{Metrics, Report};

type Row = (&'static str, fn(&Metrics) -> String);

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let columns: Vec<(String, &Metrics)> = std::iter::once(("all".to_owned(), &report.overall))
        .chain(report.by_length.iter().map(|(k, m)| (k.clone(), m)))
        .chain(report.by_dose.iter().map(|(k, m)| (format!("{k} dose"), m)))
        .collect();
    let rows: [Row; 10] = [
        ("scans", |m| m.scans.to_string()),
        ("pure tiles", |m| m.tiles.to_string()),
        ("tile accuracy", |m| percent(m.tile_accuracy)),
        ("concealment AUROC", |m| number(m.concealment_auroc)),
        ("  anomaly model alone", |m| number(m.anomaly_model_auroc)),
        ("concealment localised", |m| percent(m.concealment_localised)),
        ("concealment false alarms", |m| percent(m.concealment_false_alarm_rate)),
        ("mass error (median)", |m| percent(m.mass_error_median)),
        ("mismatch recall", |m| percent(m.mismatch_recall)),
        ("false flag rate", |m| percent(m.false_flag_rate)),
    ];
    let _ = write!(out, "{:<24}", "metric");
    for (name, _) in &columns {
        let _ = write!(out, "{name:>12}");
    }
    out.push('\n');
    for (label, value) in rows {
        let _ = write!(out, "{label:<24}");
        for (_, m) in &columns {
            let _ = write!(out, "{:>12}", value(m));
        }
        out.push('\n');
    }

    if !report.by_concealment_kind.is_empty() {
        let clean = report.per_scan.iter().filter(|o| o.concealed.is_empty()).count();
        let _ = writeln!(out, "\nconcealment by kind (each against the {clean} scans without concealment)");
        for (kind, m) in &report.by_concealment_kind {
            let _ = writeln!(
                out,
                "  {kind:<24} {:>4} scans  AUROC {:>6} (model alone {:>6})  localised {:>8} of {} objects",
                m.scans,
                number(m.auroc),
                number(m.anomaly_model_auroc),
                percent(m.localised),
                m.objects
            );
        }
    }

    out.push_str("\ntile accuracy by true category\n");
    for (i, name) in report.categories.iter().enumerate() {
        let tiles: usize = report.confusion[i].iter().sum();
        if tiles > 0 {
            let accuracy = report.category_accuracy.get(name).copied().flatten();
            let _ = writeln!(out, "  {i:>2} {name:<22}{:>8}  of {tiles} tiles", percent(accuracy));
        }
    }
    // Columns as wide as the largest count, so that no two numbers run together.
    let width = report.confusion.iter().flatten().max().map_or(1, |m| m.to_string().len()).max(2) + 1;
    out.push_str("\nconfusion matrix (rows: truth, columns: predicted; numbers as above)\n    ");
    for j in 0..report.categories.len() {
        let _ = write!(out, "{j:>width$}");
    }
    out.push('\n');
    for (i, row) in report.confusion.iter().enumerate() {
        let _ = write!(out, "  {i:>2}");
        for count in row {
            let _ = write!(out, "{count:>width$}");
        }
        out.push('\n');
    }
    let honest_flagged = report.per_scan.iter().filter(|o| o.misdeclared == Some(false) && o.flagged);
    let mismatches_missed = report.per_scan.iter().filter(|o| o.misdeclared == Some(true) && !o.flagged);
    for o in honest_flagged {
        let _ = writeln!(out, "FALSE FLAG {} ({}): {}", o.name, o.scenario, o.goods_reasons.join(" "));
    }
    for o in mismatches_missed {
        let _ = writeln!(out, "MISSED {} ({})", o.name, o.scenario);
    }
    for (name, error) in &report.failed {
        let _ = writeln!(out, "FAILED {name}: {error}");
    }
    out
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}
