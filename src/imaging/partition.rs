//! Walls across the hold. A false wall shuts off a compartment between itself and the
//! container's end, so it must reach from the floor to the roof. Its few centimetres of wood
//! or steel stand edge-on to the beam over the hold's whole 235 cm width, which makes it a band
//! darker than nearly any cargo, a few pixels wide and as high as the hold. Cargo is not like
//! that: it leaves headroom under the roof for the forklift and the doors (no honest load of
//! the training, validation or calibration sets was dark over more than 96 % of the hold's
//! height in any column that narrow), and where a load is dark over its height, it is dark
//! over more than a wall's thickness. The ends of the hold, where the container's own walls
//! and doors stand, are left out.
//!
//! Like the container search, this is physics, not a model: it works on the high-energy
//! log-attenuation, so single-energy scans are checked alike.

use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use super::PixelBox;
use super::locate::runs;

/// A wall's blurred core is above 3.5 (plywood) to 4.5 (corrugated steel); the side walls'
/// corrugations are about 0.2 and air 0.1.
const WALL_MIN_ATTENUATION: f32 = 1.5;
/// Share of the hold's rows the band must be dark in: floor to roof.
const FULL_HEIGHT_SHARE: f64 = 0.98;
/// The thickest wall looked for (boards on battens), with the detector's blur.
const MAX_WALL_MM: f64 = 120.0;
/// Share of rows where the dark run through the band is no wider than a wall. Elsewhere goods
/// or a hidden load may be stacked against it.
const NARROW_ROW_SHARE: f64 = 0.5;
/// The hold's ends, where the container's end wall and doors stand, are not searched.
const END_MARGIN_MM: f64 = 150.0;

/// A wall across a container's hold, away from its ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Partition {
    /// The band of columns it covers, over the hold's height.
    #[serde(rename = "box")]
    pub bbox: PixelBox,
    /// Distance from the hold's nearer end: how deep a compartment behind it would be.
    pub from_end_mm: f64,
}

/// The walls across the hold `interior` in the high-energy attenuation plane `(rows, columns)`
/// of a scan with `pitch_mm` pixels, in scan order.
pub fn find_partitions(high: ArrayView2<f32>, interior: &PixelBox, pitch_mm: f64) -> Vec<Partition> {
    let px = |mm: f64| (mm / pitch_mm).round() as usize;
    let (x0, x1) = (interior.x0 as usize, (interior.x1 as usize).min(high.ncols()));
    let (y0, y1) = (interior.y0 as usize, (interior.y1 as usize).min(high.nrows()));
    if x1 <= x0 || y1 <= y0 {
        return Vec::new();
    }
    let width = x1 - x0;
    // Per column: rows where it is dark, and rows where its dark run is no wider than a wall.
    let (mut dark, mut narrow) = (vec![0usize; width], vec![0usize; width]);
    for row in high.slice(s![y0..y1, x0..x1]).rows() {
        for run in runs(row.iter().map(|&a| a >= WALL_MIN_ATTENUATION)) {
            let thin = run.len() <= px(MAX_WALL_MM);
            for x in run {
                dark[x] += 1;
                narrow[x] += usize::from(thin);
            }
        }
    }
    let rows = (y1 - y0) as f64;
    let margin = px(END_MARGIN_MM);
    let is_wall = |x: usize| {
        x >= margin
            && x + margin < width
            && dark[x] as f64 >= FULL_HEIGHT_SHARE * rows
            && narrow[x] as f64 >= NARROW_ROW_SHARE * rows
    };
    runs((0..width).map(is_wall))
        .map(|band| Partition {
            bbox: PixelBox { x0: (x0 + band.start) as u32, y0: y0 as u32, x1: (x0 + band.end) as u32, y1: y1 as u32 },
            from_end_mm: band.start.min(width - band.end) as f64 * pitch_mm,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    const HOLD: PixelBox = PixelBox { x0: 10, y0: 5, x1: 410, y1: 205 };

    /// Air in a 420 × 210 px scan at 5 mm, with `paint(x, y)` added where it says.
    fn scan(paint: impl Fn(usize, usize) -> f32) -> Array2<f32> {
        Array2::from_shape_fn((210, 420), |(y, x)| 0.1 + paint(x, y))
    }

    fn found(high: &Array2<f32>) -> Vec<Partition> {
        find_partitions(high.view(), &HOLD, 5.0)
    }

    #[test]
    fn a_wall_from_floor_to_roof_is_found_with_its_distance_from_the_end() {
        let wall = |x: usize, _| if (110..118).contains(&x) { 4.0 } else { 0.0 };
        // Goods stacked against it on one side, from the floor up to 40 % of the hold.
        let high = scan(|x, y| wall(x, y) + if (118..300).contains(&x) && y > 125 { 2.0 } else { 0.0 });
        let walls = found(&high);
        assert_eq!(walls.len(), 1, "{walls:?}");
        assert_eq!(walls[0].bbox, PixelBox { x0: 110, y0: 5, x1: 118, y1: 205 });
        assert_eq!(walls[0].from_end_mm, 500.0);
        assert!(found(&scan(|_, _| 0.0)).is_empty());
    }

    #[test]
    fn cargo_with_headroom_wide_stacks_and_the_hold_ends_are_not_walls() {
        // A thin dark post that stops 8 cm (16 px, 8 % of this hold) under the roof.
        assert!(found(&scan(|x, y| if (200..206).contains(&x) && y >= 21 { 4.0 } else { 0.0 })).is_empty());
        // A stack dark from floor to roof, but 60 cm wide.
        assert!(found(&scan(|x, _| if (200..320).contains(&x) { 4.0 } else { 0.0 })).is_empty());
        // The end wall just inside the hold's box.
        assert!(found(&scan(|x, _| if (10..20).contains(&x) { 4.0 } else { 0.0 })).is_empty());
        // Faint full-height lines: the corrugations of the side walls.
        assert!(found(&scan(|x, _| if x % 40 == 0 { 0.1 } else { 0.0 })).is_empty());
    }
}
