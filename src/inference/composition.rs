//! Which goods a load holds, from the goods classifier's tile probabilities.
//!
//! Cargo stands in stacks from floor to roof, one kind of goods to a stack, loaded pallet by
//! pallet along the container. So a column of tiles decides together with the columns next to
//! it, instead of every 32 cm tile voting alone: the tiles of sparse goods (a car, a machine)
//! are each unsure but agree as a stack, and a tile confused with other goods in the middle
//! of a stack no longer counts as goods of its own.

use std::collections::BTreeMap;

use super::analysis::CategoryShare;

/// Columns on each side whose loaded tiles a column's vote averages in: tiles 64 px wide at a
/// 48 px stride, so five columns span 1.28 m at 5 mm, about one pallet (1.2 m). Chosen on the
/// calibration sets (docs/models.md, "Stacks, not tiles").
const NEIGHBOUR_COLUMNS: usize = 2;

/// Loaded area counted by category, with the confidence behind each count.
#[derive(Debug, Clone, PartialEq)]
pub struct Votes {
    /// Tiles counted for each category.
    counts: Vec<usize>,
    /// Per category, the sum over its tiles of the probability that won them.
    confidence: Vec<f32>,
}

impl Votes {
    pub fn new(labels: usize) -> Self {
        Self { counts: vec![0; labels], confidence: vec![0.0; labels] }
    }

    /// One container's votes from its tiles, each given as (x origin, probabilities). A tile
    /// most likely empty counts as empty. The loaded tiles of each column (same x origin) add
    /// up their probabilities with those of `NEIGHBOUR_COLUMNS` columns on each side, leaving
    /// "empty" out, and all of them count for the category that wins there, with its share
    /// of the summed probability as confidence.
    pub fn by_stack<'a>(tiles: impl IntoIterator<Item = (u32, &'a [f32])>, labels: usize, empty: Option<usize>) -> Self {
        let mut votes = Self::new(labels);
        // Every column along the container, empty ones included, so that neighbours are
        // neighbours in space: (loaded tiles, their summed probabilities).
        let mut columns: BTreeMap<u32, (usize, Vec<f32>)> = BTreeMap::new();
        for (x, probabilities) in tiles {
            let column = columns.entry(x).or_insert_with(|| (0, vec![0.0; labels]));
            let Some(best) = most_probable(probabilities) else { continue };
            if Some(best) == empty {
                votes.count(best, 1, probabilities[best]);
            } else {
                column.0 += 1;
                column.1.iter_mut().zip(probabilities).for_each(|(sum, p)| *sum += p);
            }
        }
        let columns: Vec<_> = columns.into_values().collect();
        for (i, &(loaded, _)) in columns.iter().enumerate().filter(|(_, c)| c.0 > 0) {
            let around = &columns[i.saturating_sub(NEIGHBOUR_COLUMNS)..(i + NEIGHBOUR_COLUMNS + 1).min(columns.len())];
            let mut sum = vec![0.0f32; labels];
            for (_, probabilities) in around {
                sum.iter_mut().zip(probabilities).for_each(|(s, p)| *s += p);
            }
            if let Some(e) = empty {
                sum[e] = 0.0;
            }
            let total: f32 = sum.iter().sum();
            if let Some(best) = most_probable(&sum).filter(|_| total > 0.0) {
                votes.count(best, loaded, sum[best] / total);
            }
        }
        votes
    }

    fn count(&mut self, category: usize, tiles: usize, confidence: f32) {
        self.counts[category] += tiles;
        self.confidence[category] += confidence * tiles as f32;
    }

    pub fn merge(&mut self, other: &Votes) {
        for i in 0..self.counts.len() {
            self.counts[i] += other.counts[i];
            self.confidence[i] += other.confidence[i];
        }
    }

    fn loaded(&self, empty: Option<usize>) -> usize {
        self.counts.iter().enumerate().filter(|&(i, _)| Some(i) != empty).map(|(_, c)| c).sum()
    }

    pub fn loaded_share(&self, empty: Option<usize>) -> f32 {
        let total: usize = self.counts.iter().sum();
        if total == 0 { 0.0 } else { self.loaded(empty) as f32 / total as f32 }
    }

    /// Goods by share of the loaded tiles, largest first; empty tiles are not goods.
    pub fn composition(&self, labels: &[&str], empty: Option<usize>) -> Vec<CategoryShare> {
        let loaded = self.loaded(empty);
        let mut shares: Vec<CategoryShare> = (0..labels.len())
            .filter(|&i| Some(i) != empty && self.counts[i] > 0)
            .map(|i| CategoryShare {
                category: labels[i].to_owned(),
                share: self.counts[i] as f32 / loaded as f32,
                confidence: self.confidence[i] / self.counts[i] as f32,
            })
            .collect();
        shares.sort_by(|a, b| b.share.total_cmp(&a.share));
        shares
    }
}

fn most_probable(probabilities: &[f32]) -> Option<usize> {
    probabilities.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [&str; 4] = ["empty", "vehicles", "machinery", "paper"];
    const EMPTY: Option<usize> = Some(0);

    /// A column of `rows` tiles at x, all with the same probabilities.
    fn column(x: u32, rows: usize, p: &'static [f32]) -> impl Iterator<Item = (u32, &'static [f32])> {
        std::iter::repeat_n((x, p), rows)
    }

    fn share_of<'a>(shares: &'a [CategoryShare], category: &str) -> Option<&'a CategoryShare> {
        shares.iter().find(|s| s.category == category)
    }

    #[test]
    fn unsure_tiles_that_agree_make_a_sure_stack() {
        // Every tile of a car is unsure, and leans to machinery as often as not: tile by tile
        // the load would split between the two at a confidence under one half.
        const CAR_A: &[f32] = &[0.1, 0.45, 0.35, 0.1];
        const CAR_B: &[f32] = &[0.1, 0.35, 0.4, 0.15];
        let tiles = (0..6u32).flat_map(|c| column(48 * c, 3, CAR_A).chain(column(48 * c, 2, CAR_B)));
        let shares = Votes::by_stack(tiles, LABELS.len(), EMPTY).composition(&LABELS, EMPTY);
        assert_eq!(shares.len(), 1, "{shares:?}");
        let vehicles = share_of(&shares, "vehicles").unwrap();
        assert_eq!(vehicles.share, 1.0);
        // (3 × 0.45 + 2 × 0.35) / (5 × 0.9): the vehicles' part of the goods probability.
        assert!((vehicles.confidence - 2.05 / 4.5).abs() < 1e-5, "{vehicles:?}");
    }

    #[test]
    fn a_stray_tile_in_a_stack_counts_for_the_stack() {
        const PAPER: &[f32] = &[0.02, 0.01, 0.02, 0.95];
        const STRAY: &[f32] = &[0.05, 0.05, 0.8, 0.1];
        let tiles = (0..5u32).flat_map(|c| column(48 * c, 4, PAPER)).chain([(96, STRAY)]);
        let shares = Votes::by_stack(tiles, LABELS.len(), EMPTY).composition(&LABELS, EMPTY);
        assert_eq!(shares.len(), 1, "{shares:?}");
        assert_eq!(share_of(&shares, "paper").unwrap().share, 1.0);
    }

    #[test]
    fn stacks_a_pallet_apart_do_not_mix_and_empty_tiles_stay_empty() {
        const AIR: &[f32] = &[0.9, 0.05, 0.03, 0.02];
        const PAPER: &[f32] = &[0.02, 0.01, 0.02, 0.95];
        const MACHINE: &[f32] = &[0.05, 0.25, 0.6, 0.1];
        // Paper in columns 0–1, nothing in 2–4, a machine in 5–6; two empty tiles above each.
        let load = |c: u32| match c {
            0 | 1 => Some(PAPER),
            5 | 6 => Some(MACHINE),
            _ => None,
        };
        let tiles = (0..7u32).flat_map(|c| {
            let goods = load(c).map(|p| column(48 * c, 2, p)).into_iter().flatten();
            let air = column(48 * c, if load(c).is_some() { 2 } else { 4 }, AIR);
            goods.chain(air)
        });
        let votes = Votes::by_stack(tiles, LABELS.len(), EMPTY);
        assert!((votes.loaded_share(EMPTY) - 8.0 / 28.0).abs() < 1e-6);
        let shares = votes.composition(&LABELS, EMPTY);
        assert_eq!(share_of(&shares, "paper").unwrap().share, 0.5);
        let machinery = share_of(&shares, "machinery").unwrap();
        assert_eq!(machinery.share, 0.5);
        assert!((machinery.confidence - 0.6 / 0.95).abs() < 1e-5, "{machinery:?}");
    }

    #[test]
    fn merged_votes_weigh_containers_by_their_tiles() {
        const PAPER: &[f32] = &[0.0, 0.0, 0.0, 1.0];
        const MACHINE: &[f32] = &[0.0, 0.0, 1.0, 0.0];
        let mut scan = Votes::by_stack(column(0, 3, PAPER), LABELS.len(), EMPTY);
        scan.merge(&Votes::by_stack(column(0, 1, MACHINE), LABELS.len(), EMPTY));
        let shares = scan.composition(&LABELS, EMPTY);
        assert_eq!(share_of(&shares, "paper").unwrap().share, 0.75);
        assert_eq!(share_of(&shares, "machinery").unwrap().share, 0.25);
    }
}
