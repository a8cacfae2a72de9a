//! Pure metric functions: no I/O, no models, so they can be unit-tested exactly.

use serde::Serialize;

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney U statistic). `None` when either class
/// is empty, since the AUROC is undefined then.
pub fn auroc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    // Quadratic, but evaluation sets are hundreds of scans, and this is obviously right.
    let wins: f64 = positives
        .iter()
        .flat_map(|p| negatives.iter().map(move |n| if p > n { 1.0 } else if p == n { 0.5 } else { 0.0 }))
        .sum();
    Some(wins / (positives.len() * negatives.len()) as f64)
}

/// The median, the mean of the two middle values for an even count; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// `part / whole`, `None` for an empty whole rather than NaN (which JSON cannot carry).
pub fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Confusion matrix over `n` categories: `counts[truth][predicted]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    pub fn new(n: usize) -> Self {
        Self { counts: vec![vec![0; n]; n] }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..self.counts.len()).map(|i| self.counts[i][i]).sum()
    }

    pub fn accuracy(&self) -> Option<f64> {
        share(self.correct(), self.total())
    }

    /// Per true category: the share of its tiles predicted as it (recall); `None` without tiles.
    pub fn per_category(&self) -> Vec<Option<f64>> {
        self.counts.iter().enumerate().map(|(i, row)| share(row[i], row.iter().sum())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_perfect_inverse_and_tied_scores() {
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2, 0.3]), Some(1.0));
        assert_eq!(auroc(&[0.1, 0.2], &[0.8, 0.9]), Some(0.0));
        assert_eq!(auroc(&[0.5, 0.5], &[0.5]), Some(0.5));
        assert_eq!(auroc(&[0.6, 0.4], &[0.5]), Some(0.5));
    }

    #[test]
    fn auroc_needs_both_classes() {
        assert_eq!(auroc(&[], &[0.1]), None);
        assert_eq!(auroc(&[0.1], &[]), None);
    }

    #[test]
    fn median_of_odd_even_and_empty_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn confusion_counts_accuracy_and_recall() {
        let mut c = Confusion::new(3);
        assert_eq!(c.accuracy(), None);
        for (t, p) in [(0, 0), (0, 1), (1, 1), (1, 1)] {
            c.add(t, p);
        }
        assert_eq!(c.total(), 4);
        assert_eq!(c.accuracy(), Some(0.75));
        assert_eq!(c.per_category(), vec![Some(0.5), Some(1.0), None]);
        assert_eq!(share(1, 0), None);
    }
}
