//! Finding the containers in a scan from the physics of the image, whatever the cargo:
//!
//! - the roof sheet lies in the beam's plane, so the container's top is a nearly opaque
//!   horizontal line along its whole length (6.06 m for 20 ft, 12.19 m for 40 ft), with air
//!   above; a tractor cab's roof is under 2.5 m long and two 20 ft boxes on one chassis show two
//!   lines 7.6 cm apart;
//! - the corner posts give the ends: dark columns over the container's height, where the roof
//!   line can be a few pixels longer (the top castings overhang the rear posts);
//! - the bottom is found by the structure under the cargo space, which no load changes: the
//!   28 mm plywood floor across the 235 cm width (a dark band), the cross members' zone below
//!   it (light but for their thin webs), and the bottom rails meeting the trailer's beams (a
//!   dark line), at fixed heights above the container's underside. Rows are judged by their
//!   quantiles over the container's length: structure is dark (or light) in nearly every
//!   column, a load that happens to mimic it in some rows is not.
//!
//! Everything works on the high-energy log-attenuation, so single-energy scans locate alike.

use ndarray::{ArrayView2, s};

use crate::imaging::PixelBox;

/// Attenuation of the roof line (about 1 to 2.5 once blurred with the air above it), well
/// above air and its noise (about 0.01 at low dose).
const ROOF_MIN_ATTENUATION: f32 = 0.5;
/// A roof line at least this long is a container: 3/4 of a 20 ft one, 2.5 times a cab's roof.
const MIN_ROOF_MM: f64 = 0.75 * 6058.0;
/// Containers are 2438 mm (8 ft) to 2896 mm (9 ft 6 in) high: the bottom rails are searched a
/// little beyond.
const HEIGHT_SEARCH_MM: (f64, f64) = (2300.0, 3050.0);
/// Above the bottom rails' line: the floor band and the cross members' zone.
const FLOOR_BAND_MM: (f64, f64) = (135.0, 150.0);
const CROSS_MEMBER_ZONE_MM: (f64, f64) = (20.0, 110.0);
/// Floor band and bottom line both darker than the zone between them by this much: a true
/// container scores about 3 to 4, the chassis under it nothing. A load can score as well (a
/// dense layer over a light one), but only above the floor, so the lowest match is taken.
const MIN_BOTTOM_SCORE: f32 = 1.5;
/// The lowest match is refined to the best score within this much above it.
const BOTTOM_REFINE_MM: f64 = 25.0;
/// Share of a row's columns that may disagree with the structure: the cross members' webs
/// (1 column in 59), the trailer beams' short ends.
const OUTLIER_SHARE: f64 = 0.1;
/// Columns this far from the roof line's ends are clear of the corner posts and castings.
const END_MARGIN_MM: f64 = 300.0;
/// How far inside the roof line's end the corner post's outer face is looked for.
const END_SEARCH_MM: f64 = 60.0;
/// From the outside to the cargo space (src/sim/container.rs): end walls, roof with top rails,
/// and the bottom rails with the floor.
const INTERIOR_INSET_MM: [f64; 4] = [80.0, 60.0, 80.0, 158.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerBox {
    pub outer: PixelBox,
    /// The cargo space.
    pub interior: PixelBox,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LocateError {
    #[error("no container roof found: no row has a dark line of at least {min_px} px")]
    NoRoof { min_px: usize },
    #[error("expected {expected} container(s) but found {found} container roof(s)")]
    Count { expected: usize, found: usize },
    #[error("no container floor found below the roof spanning columns {x0}..{x1}")]
    NoFloor { x0: usize, x1: usize },
}

/// Finds `expected` containers (from the metadata: 1, or 2 for twin 20 ft) in the high-energy
/// attenuation plane `(rows, columns)` of a scan with `pitch_mm` pixels, in scan order.
pub fn locate_containers(
    high: ArrayView2<f32>,
    pitch_mm: f64,
    expected: usize,
) -> Result<Vec<ContainerBox>, LocateError> {
    let px = |mm: f64| (mm / pitch_mm).round() as usize;
    let min_px = px(MIN_ROOF_MM);
    let dark = |v: &f32| *v >= ROOF_MIN_ATTENUATION;
    let top = (0..high.nrows())
        .find(|&y| runs(high.row(y).iter().map(dark)).any(|r| r.len() >= min_px))
        .ok_or(LocateError::NoRoof { min_px })?;
    // The roof line may straddle rows: take each column's darkest of the first few.
    let band = high.slice(s![top..(top + 3).min(high.nrows()), ..]);
    let column_max = band.columns().into_iter().map(|c| c.fold(0.0_f32, |m, &v| m.max(v)));
    let mut roofs: Vec<_> = runs(column_max.map(|v| dark(&v))).filter(|r| r.len() >= min_px).collect();
    if roofs.len() < expected {
        return Err(LocateError::Count { expected, found: roofs.len() });
    }
    roofs.sort_by_key(|r| std::cmp::Reverse(r.len()));
    roofs.truncate(expected);
    roofs.sort_by_key(|r| r.start);

    let mut scratch = Vec::new();
    roofs
        .into_iter()
        .map(|roof| {
            let inner = roof.start + px(END_MARGIN_MM)..roof.end.saturating_sub(px(END_MARGIN_MM));
            let mut row = |y: usize| dark_and_light(&mut scratch, high.slice(s![y, inner.clone()]).iter().copied());
            let y0 = (0..high.nrows()).find(|&y| row(y).0 >= ROOF_MIN_ATTENUATION).unwrap_or(top);
            let y1 =
                bottom(y0, high.nrows(), px, &mut row).ok_or(LocateError::NoFloor { x0: roof.start, x1: roof.end })?;

            // The corner posts' outer faces, looked for at mid-height, clear of the castings.
            let rows = y0 + px(END_MARGIN_MM)..y1 - px(END_MARGIN_MM);
            let mut post = |x: usize| {
                dark_and_light(&mut scratch, high.slice(s![rows.clone(), x]).iter().copied()).0 >= ROOF_MIN_ATTENUATION
            };
            let search = px(END_SEARCH_MM);
            let x0 = (roof.start..roof.start + search).find(|&x| post(x)).unwrap_or(roof.start);
            let x1 = (roof.end - search..roof.end).rev().find(|&x| post(x)).map_or(roof.end, |x| x + 1);

            let [x0, y0, x1, y1] = [x0, y0, x1, y1].map(|v| v as u32);
            let [in_x0, in_y0, in_x1, in_y1] = INTERIOR_INSET_MM.map(|mm| px(mm) as u32);
            Ok(ContainerBox {
                outer: PixelBox { x0, y0, x1, y1 },
                interior: PixelBox { x0: x0 + in_x0, y0: y0 + in_y0, x1: x1 - in_x1, y1: y1 - in_y1 },
            })
        })
        .collect()
}

/// The row just below the container whose roof is at `y0`: the best match of the floor band,
/// the cross members' zone and the bottom line, given each row's [`dark_and_light`] values.
fn bottom(
    y0: usize,
    rows: usize,
    px: impl Fn(f64) -> usize,
    row: &mut impl FnMut(usize) -> (f32, f32),
) -> Option<usize> {
    let (floor, zone) =
        ((px(FLOOR_BAND_MM.0), px(FLOOR_BAND_MM.1)), (px(CROSS_MEMBER_ZONE_MM.0), px(CROSS_MEMBER_ZONE_MM.1)));
    let from = y0 + px(HEIGHT_SEARCH_MM.0);
    let to = (y0 + px(HEIGHT_SEARCH_MM.1)).min(rows);
    // Profiles from the highest floor row the search needs, indexed by row - first.
    let first = from - floor.1;
    let (dark, light): (Vec<f32>, Vec<f32>) = (first..to.max(first)).map(&mut *row).unzip();
    let mean = |profile: &[f32], (near, far): (usize, usize), line: usize| {
        profile[line - far - first..=line - near - first].iter().sum::<f32>() / (far - near + 1) as f32
    };
    // Both dark lines must be there: one very dark band must not pass for the pair.
    let scores: Vec<f32> =
        (from..to).map(|line| mean(&dark, floor, line).min(dark[line - first]) - mean(&light, zone, line)).collect();
    let lowest = scores.iter().rposition(|&score| score >= MIN_BOTTOM_SCORE)?;
    let candidates = lowest.saturating_sub(px(BOTTOM_REFINE_MM))..=lowest;
    candidates.max_by(|&a, &b| scores[a].total_cmp(&scores[b])).map(|i| from + i + 1)
}

/// The runs of `true` in a sequence, as index ranges.
pub(super) fn runs(flags: impl Iterator<Item = bool>) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut flags = flags.enumerate().peekable();
    std::iter::from_fn(move || {
        let (start, _) = flags.find(|&(_, dark)| dark)?;
        let mut end = start + 1;
        while let Some((i, true)) = flags.peek().copied() {
            end = i + 1;
            flags.next();
        }
        Some(start..end)
    })
}

/// How dark nearly all the values are, and how light: their low and high quantiles.
fn dark_and_light(scratch: &mut Vec<f32>, values: impl Iterator<Item = f32>) -> (f32, f32) {
    scratch.clear();
    scratch.extend(values);
    let Some(last) = scratch.len().checked_sub(1) else { return (0.0, 0.0) };
    let outliers = (last as f64 * OUTLIER_SHARE) as usize;
    let dark = *scratch.select_nth_unstable_by(outliers, f32::total_cmp).1;
    (dark, *scratch.select_nth_unstable_by(last - outliers, f32::total_cmp).1)
}
