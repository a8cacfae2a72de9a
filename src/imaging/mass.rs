//! Cargo mass from the image: at MeV energies attenuation is almost proportional to mass
//! thickness whatever the material, so integrating it over the cargo space weighs the load.

use crate::imaging::PixelBox;

/// High-energy mass attenuation (cm²/g) assumed for any cargo: the middle of organic goods
/// (≈ 0.0385) and iron (≈ 0.0362), so the material alone errs by at most about 3 %.
const MASS_ATTENUATION_CM2_PER_G: f64 = 0.0375;
/// Each column's own empty-container attenuation is a low quantile of its pixels: the side
/// walls with their corrugation ribs, seen through the headroom above the load.
const COLUMN_BASELINE_QUANTILE: f64 = 0.10;
/// The walls proper: a low quantile over the columns' baselines (columns between ribs).
const WALL_QUANTILE: f64 = 0.05;
/// A column loaded to the ceiling has no headroom; its baseline is capped at the walls plus
/// what a rib adds (another 2 × 1.6 mm of steel), so such a load is not subtracted away.
const MAX_RIB_ATTENUATION: f32 = 0.1;
/// Beyond this attenuation (T below about 1e-4) the detector sees little but noise: the load is
/// too dense to weigh and the estimate becomes a lower bound.
const SATURATED_ATTENUATION: f32 = 9.0;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MassEstimate {
    pub kg: f64,
    /// Attenuation of the bare side walls, between ribs.
    pub wall_attenuation: f32,
    /// Share of the cargo space too dense to see through; when it is not small, `kg` is a
    /// lower bound.
    pub saturated_share: f64,
}

/// Estimates the cargo mass inside `interior` from the high-energy attenuation plane
/// (`-ln T` per pixel, row-major, `width` columns) at `pitch_mm` per pixel.
pub fn estimate_cargo_mass(attenuation: &[f32], width: usize, interior: &PixelBox, pitch_mm: f64) -> MassEstimate {
    let rows = interior.y0 as usize..interior.y1 as usize;
    let cols = interior_columns(interior);
    if rows.is_empty() || cols.is_empty() {
        return MassEstimate { kg: 0.0, wall_attenuation: 0.0, saturated_share: 0.0 };
    }
    let mut column: Vec<f32> = Vec::with_capacity(rows.len());
    let column_baselines: Vec<f32> = cols
        .clone()
        .map(|x| {
            column.clear();
            column.extend(rows.clone().map(|y| attenuation[y * width + x]));
            quantile(&mut column, COLUMN_BASELINE_QUANTILE)
        })
        .collect();
    let wall_attenuation = quantile(&mut column_baselines.clone(), WALL_QUANTILE).max(0.0);
    let excess: f64 = cols
        .zip(&column_baselines)
        .map(|(x, &baseline)| {
            let baseline = baseline.min(wall_attenuation + MAX_RIB_ATTENUATION);
            rows.clone().map(|y| f64::from((attenuation[y * width + x] - baseline).max(0.0))).sum::<f64>()
        })
        .sum();
    let saturated = rows
        .flat_map(|y| interior_columns(interior).map(move |x| y * width + x))
        .filter(|&i| attenuation[i] >= SATURATED_ATTENUATION)
        .count();
    let pixel_area_cm2 = (pitch_mm / 10.0).powi(2);
    MassEstimate {
        kg: excess / MASS_ATTENUATION_CM2_PER_G * pixel_area_cm2 / 1000.0,
        wall_attenuation,
        saturated_share: saturated as f64 / (interior.width() as f64 * interior.height() as f64),
    }
}

fn interior_columns(interior: &PixelBox) -> std::ops::Range<usize> {
    interior.x0 as usize..interior.x1 as usize
}

fn quantile(values: &mut [f32], q: f64) -> f32 {
    let k = ((values.len() - 1) as f64 * q) as usize;
    *values.select_nth_unstable_by(k, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::render::attenuation;
    use crate::sim::cargo::Goods;
    use crate::sim::scenario::Scenario;
    use crate::sim::{Layout, SimOptions, simulate};
    use crate::taxonomy::Taxonomy;

    fn relative_errors(goods: &[Option<Goods>], layout: Layout) -> Vec<f64> {
        let taxonomy = Taxonomy::built_in();
        let mut errors = Vec::new();
        for (i, &g) in goods.iter().enumerate() {
            let options = SimOptions {
                seed: 2000,
                scenario: Some(Scenario::Honest),
                layout: Some(layout),
                goods: g,
                ..SimOptions::default()
            };
            let scan = simulate(&options, i as u64, &taxonomy);
            let plane: Vec<f32> = scan.high.iter().map(|&v| attenuation(v)).collect();
            for container in &scan.truth.containers {
                if container.cargo_mass_kg < 500.0 {
                    continue;
                }
                let estimate = estimate_cargo_mass(&plane, scan.width, &container.interior, 5.0);
                errors.push(estimate.kg / container.cargo_mass_kg - 1.0);
            }
        }
        errors
    }

    #[test]
    fn weighs_simulated_loads_of_every_category() {
        let goods: Vec<Option<Goods>> = Goods::ALL.iter().map(|&g| Some(g)).collect();
        let mut errors = relative_errors(&goods, Layout::Twenty);
        errors.sort_by(f64::total_cmp);
        let median = errors[errors.len() / 2].abs();
        assert!(median < 0.10, "median error {median}, all {errors:?}");
    }

    #[test]
    fn empty_container_weighs_almost_nothing() {
        let scan = simulate(
            &SimOptions { seed: 2001, scenario: Some(Scenario::Honest), layout: Some(Layout::Forty), empty: true, ..SimOptions::default() },
            0,
            &Taxonomy::built_in(),
        );
        let plane: Vec<f32> = scan.high.iter().map(|&v| attenuation(v)).collect();
        let estimate = estimate_cargo_mass(&plane, scan.width, &scan.truth.containers[0].interior, 5.0);
        assert!(estimate.kg < 300.0, "{estimate:?}");
    }
}
