//! The service's own per-stage figures, from its Prometheus metrics before and after a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Histogram sums and counts by stage, as scraped.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    stages: BTreeMap<String, (f64, f64)>,
}

/// Mean time per scan in each stage during the run.
#[derive(Debug, Clone, Serialize)]
pub struct StageBreakdown {
    /// Stage → (scans, mean milliseconds).
    pub stages: BTreeMap<String, StageFigure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageFigure {
    pub scans: u64,
    pub mean_ms: f64,
}

/// `None` when the service has no scantriage metrics (the Python baseline).
pub async fn scrape(client: &reqwest::Client, url: &str, key: Option<&str>) -> Option<Scrape> {
    let mut request = client.get(format!("{url}/metrics"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    Some(parse(&response.text().await.ok()?))
}

fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("scantriage_stage_duration_seconds_") else { continue };
        let Some((kind, rest)) = rest.split_once("{stage=\"") else { continue };
        let Some((stage, value)) = rest.split_once("\"} ") else { continue };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let entry = scrape.stages.entry(stage.to_owned()).or_default();
        match kind {
            "sum" => entry.0 = value,
            "count" => entry.1 = value,
            _ => {}
        }
    }
    scrape
}

pub fn breakdown(before: &Scrape, after: &Scrape) -> StageBreakdown {
    let stages = after
        .stages
        .iter()
        .filter_map(|(stage, &(sum, count))| {
            let (sum_before, count_before) = before.stages.get(stage).copied().unwrap_or_default();
            let scans = count - count_before;
            (scans > 0.0).then(|| {
                (stage.clone(), StageFigure { scans: scans as u64, mean_ms: 1000.0 * (sum - sum_before) / scans })
            })
        })
        .collect();
    StageBreakdown { stages }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_means_come_from_the_difference_of_two_scrapes() {
        let before = parse("scantriage_stage_duration_seconds_sum{stage=\"decode\"} 1.0\nscantriage_stage_duration_seconds_count{stage=\"decode\"} 10\n");
        let after = parse(
            "# HELP x\nscantriage_stage_duration_seconds_sum{stage=\"decode\"} 1.5\n\
             scantriage_stage_duration_seconds_count{stage=\"decode\"} 20\n\
             scantriage_stage_duration_seconds_bucket{stage=\"decode\",le=\"0.1\"} 20\n\
             scantriage_stage_duration_seconds_sum{stage=\"triage\"} 0.0\n\
             scantriage_stage_duration_seconds_count{stage=\"triage\"} 0\n",
        );
        let stages = breakdown(&before, &after).stages;
        assert_eq!(stages.len(), 1, "stages without scans in the run are left out");
        assert_eq!(stages["decode"].scans, 10);
        assert!((stages["decode"].mean_ms - 50.0).abs() < 1e-9);
    }
}
