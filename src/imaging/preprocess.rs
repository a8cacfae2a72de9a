//! Model input from a scan: PREPROCESSING SPEC v1. `training/preprocess.py` implements the
//! same steps for training; change both together (and the manifest's `[preprocessing]` table,
//! which [`Preprocessing`] reads) or neither.
//!
//! 1. **Attenuation**, per pixel, f32, for `high` and `low`: `a = -ln(max(v, 1) / 65535)`.
//! 2. **Resampling** to the model's pitch `pixel_pitch_mm` when the scan's differs (no-op when
//!    equal), separably along each axis, with `s = scan pitch / model pitch` and `n' =
//!    max(1, round(n · s))` pixels per axis. Shrinking (`s < 1`): output pixel `j` is the
//!    area average of input span `[j / s, (j + 1) / s)` clipped to the image, partly covered
//!    pixels weighted by their covered fraction. Enlarging (`s > 1`): bilinear at
//!    `u = (j + 0.5) / s - 0.5` clamped to `[0, n - 1]`.
//! 3. **Tiles** of `tile_size` px, stride `tile_stride`, over each region (e.g. a container's
//!    interior) mapped to model pixels as `[floor(x0 · s), ceil(x1 · s))` and clipped to the
//!    image. Origins along an axis are `x0, x0 + stride, …` while the tile ends inside the
//!    region, then one more aligned to the region's end if the last did not end there. A region
//!    no longer than a tile gets one tile at `x0`, moved back inside the image if it would
//!    reach past it; an image smaller than a tile is padded with zeros (air). Tiles are ordered
//!    by region, then row-major: y origin outer, x origin inner.
//! 4. **Channels**: `c0 = clamp(a_high / attenuation_scale, 0, 1.5)`; for dual energy
//!    `c1 = clamp((a_low - dual_energy_ratio · a_high) / difference_scale, -4, 4)`, for single
//!    energy `c1 = 0` exactly. Model input: f32 `[N, 2, tile, tile]`, `[row][column]`.

use std::borrow::Cow;
use std::sync::OnceLock;

use ndarray::{Array2, Array4, ArrayView2, Axis, Zip, s};
use serde::Deserialize;

use super::decode::ScanImages;
use crate::imaging::PixelBox;

const C0_MAX: f32 = 1.5;
const C1_LIMIT: f32 = 4.0;

/// The parameters of the spec, as the model manifest carries them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preprocessing {
    pub pixel_pitch_mm: f64,
    pub tile_size: usize,
    pub tile_stride: usize,
    pub attenuation_scale: f32,
    pub dual_energy_ratio: f32,
    pub difference_scale: f32,
}

impl Default for Preprocessing {
    fn default() -> Self {
        Self {
            pixel_pitch_mm: 5.0,
            tile_size: 64,
            tile_stride: 48,
            attenuation_scale: 8.0,
            dual_energy_ratio: 1.57,
            difference_scale: 0.25,
        }
    }
}

/// A scan's log-attenuation planes, `(rows, columns)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attenuation {
    pub high: Array2<f32>,
    pub low: Option<Array2<f32>>,
    pub pitch_mm: f64,
}

/// Tiles ready for a model, with where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiles {
    /// `[N, 2, tile_size, tile_size]`.
    pub data: Array4<f32>,
    pub origins: Vec<TileOrigin>,
    /// A tile's side in the original scan's pixels: `tile_size` when the pitches agree.
    pub extent: f64,
}

/// A tile's top-left corner in the original scan's pixels (before resampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileOrigin {
    /// Index of the region the tile covers.
    pub region: usize,
    pub x: u32,
    pub y: u32,
}

impl Attenuation {
    /// Step 1, through a table: one lookup per pixel instead of a logarithm.
    pub fn new(images: &ScanImages, pitch_mm: f64) -> Self {
        // A whole table, so that indexing it with a u16 needs no bounds check.
        static TABLE: OnceLock<Box<[f32; 1 << 16]>> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            let values: Box<[f32]> = (0..=u16::MAX).map(|v| (-(f64::from(v.max(1)) / 65535.0).ln()) as f32).collect();
            values.try_into().expect("one value per u16")
        });
        let shape = (images.height as usize, images.width as usize);
        let plane = |pixels: &[u16]| {
            let values = pixels.iter().map(|&v| table[usize::from(v)]).collect();
            Array2::from_shape_vec(shape, values).expect("a scan's images hold width × height pixels")
        };
        let (high, low) = super::on_both_images(&images.high[..], images.low.as_deref(), plane);
        Self { high, low, pitch_mm }
    }

    /// Step 2: the planes at `pitch_mm`, borrowed when already there.
    pub fn at_pitch(&self, pitch_mm: f64) -> Cow<'_, Attenuation> {
        if self.pitch_mm == pitch_mm {
            return Cow::Borrowed(self);
        }
        let scale = self.pitch_mm / pitch_mm;
        let resample = |plane: &Array2<f32>| resample(plane.view(), scale);
        Cow::Owned(Attenuation { high: resample(&self.high), low: self.low.as_ref().map(resample), pitch_mm })
    }
}

impl Preprocessing {
    /// Refuses parameters the spec cannot work with (from a damaged manifest, say).
    pub fn validate(&self) -> Result<(), String> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(0.1..=100.0).contains(&self.pixel_pitch_mm) {
            Err(format!("pixel_pitch_mm must be 0.1 to 100, got {}", self.pixel_pitch_mm))
        } else if self.tile_size == 0 || self.tile_stride == 0 || self.tile_stride > self.tile_size {
            Err(format!("need 0 < tile_stride <= tile_size, got {} and {}", self.tile_stride, self.tile_size))
        } else if ![self.attenuation_scale, self.difference_scale].iter().all(|&v| positive(f64::from(v)))
            || !self.dual_energy_ratio.is_finite()
        {
            Err("attenuation_scale and difference_scale must be positive, dual_energy_ratio finite".to_owned())
        } else {
            Ok(())
        }
    }

    /// Steps 2 to 4 over `regions`, given in the scan's own pixels.
    pub fn tiles(&self, scan: &Attenuation, regions: &[PixelBox]) -> Tiles {
        let planes = scan.at_pitch(self.pixel_pitch_mm);
        let scale = scan.pitch_mm / self.pixel_pitch_mm;
        let (height, width) = planes.high.dim();
        let size = self.tile_size;
        let origins: Vec<(usize, usize, usize)> = regions
            .iter()
            .enumerate()
            .flat_map(|(region, b)| {
                let xs = self.starts(b.x0, b.x1, scale, width);
                let ys = self.starts(b.y0, b.y1, scale, height);
                ys.into_iter().flat_map(move |y| xs.clone().into_iter().map(move |x| (region, x, y)))
            })
            .collect();

        let mut data = Array4::zeros((origins.len(), 2, size, size));
        for (mut tile, &(_, x, y)) in data.outer_iter_mut().zip(&origins) {
            // Only an image smaller than a tile leaves part of it outside: that part stays 0.
            let (rows, cols) = (y..(y + size).min(height), x..(x + size).min(width));
            let inside = s![..rows.len(), ..cols.len()];
            let high = planes.high.slice(s![rows.clone(), cols.clone()]);
            Zip::from(tile.index_axis_mut(Axis(0), 0).slice_mut(inside))
                .and(high)
                .for_each(|c0, &a| *c0 = (a / self.attenuation_scale).clamp(0.0, C0_MAX));
            if let Some(low) = &planes.low {
                Zip::from(tile.index_axis_mut(Axis(0), 1).slice_mut(inside))
                    .and(high)
                    .and(low.slice(s![rows, cols]))
                    .for_each(|c1, &h, &l| {
                        *c1 = ((l - self.dual_energy_ratio * h) / self.difference_scale).clamp(-C1_LIMIT, C1_LIMIT);
                    });
            }
        }
        let back = |v: usize| (v as f64 / scale).round() as u32;
        Tiles {
            data,
            origins: origins.into_iter().map(|(region, x, y)| TileOrigin { region, x: back(x), y: back(y) }).collect(),
            extent: size as f64 / scale,
        }
    }

    /// Tile starts along one axis for the span `[from, to)` of the original scan.
    fn starts(&self, from: u32, to: u32, scale: f64, len: usize) -> Vec<usize> {
        let start = ((f64::from(from) * scale).floor() as usize).min(len);
        let end = ((f64::from(to) * scale).ceil() as usize).min(len);
        let size = self.tile_size;
        if start >= end {
            return Vec::new();
        }
        if end - start <= size {
            return vec![start.min(len.saturating_sub(size))];
        }
        let mut starts: Vec<usize> = (start..=end - size).step_by(self.tile_stride).collect();
        if starts.last().is_some_and(|&last| last + size < end) {
            starts.push(end - size);
        }
        starts
    }
}

/// Resamples `plane` by `scale` (output pixels per input pixel), as step 2 says.
fn resample(plane: ArrayView2<f32>, scale: f64) -> Array2<f32> {
    let size = |n: usize| ((n as f64 * scale).round() as usize).max(1);
    let (rows, cols) = plane.dim();
    // Rows first, as weighted sums of whole rows, which are contiguous.
    let mut tall = Array2::zeros((size(rows), cols));
    for (j, mut row) in tall.rows_mut().into_iter().enumerate() {
        for (i, w) in taps(j, rows, scale) {
            row.scaled_add(w, &plane.row(i));
        }
    }
    let column_taps: Vec<_> = (0..size(cols)).map(|j| taps(j, cols, scale)).collect();
    Array2::from_shape_fn((tall.nrows(), column_taps.len()), |(y, x)| {
        column_taps[x].iter().map(|&(i, w)| w * tall[[y, i]]).sum()
    })
}

/// Input pixels and weights making output pixel `j`.
fn taps(j: usize, n: usize, scale: f64) -> Vec<(usize, f32)> {
    if scale < 1.0 {
        let (from, to) = ((j as f64 / scale).min(n as f64), ((j + 1) as f64 / scale).min(n as f64));
        let covered = to - from;
        (from.floor() as usize..(to.ceil() as usize).min(n))
            .map(|i| (i, ((to.min(i as f64 + 1.0) - from.max(i as f64)) / covered) as f32))
            .collect()
    } else {
        let u = ((j as f64 + 0.5) / scale - 0.5).clamp(0.0, (n - 1) as f64);
        let (i, f) = (u.floor() as usize, u.fract());
        vec![(i, (1.0 - f) as f32), ((i + 1).min(n - 1), f as f32)]
    }
}
