//! 8-bit views of a scan for people: log-attenuation with window/level, and the dual-energy
//! material colouring of scanner workstations (organic orange, inorganic green, metal blue).

use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

/// Contrast window over log-attenuation −ln(T): `level` at mid-grey, `width` from white to black.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub level: f32,
    pub width: f32,
}

impl Default for Window {
    /// Shows everything from air to about 0.2 % transmission.
    fn default() -> Self {
        Self { level: 3.0, width: 6.0 }
    }
}

impl Window {
    /// Brightness 0..=1 of a pixel: bright where there is little material.
    fn brightness(&self, attenuation: f32) -> f32 {
        (0.5 - (attenuation - self.level) / self.width).clamp(0.0, 1.0)
    }
}

/// Low/high log-attenuation ratio bounds between the material classes, from the simulator's
/// and real scanners' MeV physics: organic ≈ 1.59, light inorganic ≈ 1.55, iron ≈ 1.52.
const ORGANIC_ABOVE: f32 = 1.572;
const METAL_BELOW: f32 = 1.535;
/// Below this attenuation the ratio is mostly noise: leave such pixels grey.
const MIN_ATTENUATION_FOR_COLOUR: f32 = 0.15;

pub fn attenuation(sample: u16) -> f32 {
    -((f32::from(sample).max(1.0)) / 65535.0).ln()
}

pub fn grayscale(high: &[u16], width: u32, height: u32, window: Window) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let a = attenuation(high[(y * width + x) as usize]);
        Luma([(window.brightness(a) * 255.0).round() as u8])
    })
}

/// Material colouring: hue from the dual-energy ratio, brightness from the high-energy window.
pub fn material_colour(high: &[u16], low: &[u16], width: u32, height: u32, window: Window) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let i = (y * width + x) as usize;
        let (a_high, a_low) = (attenuation(high[i]), attenuation(low[i]));
        let brightness = window.brightness(a_high);
        let hue: [f32; 3] = if a_high < MIN_ATTENUATION_FOR_COLOUR {
            [1.0, 1.0, 1.0]
        } else {
            let ratio = a_low / a_high;
            if ratio >= ORGANIC_ABOVE {
                [1.0, 0.6, 0.15]
            } else if ratio <= METAL_BELOW {
                [0.25, 0.5, 1.0]
            } else {
                [0.3, 0.85, 0.3]
            }
        };
        Rgb(hue.map(|c| (c * brightness * 255.0).round() as u8))
    })
}

/// A grayscale view with a score grid on top: cells above `threshold` tinted red, more
/// strongly the higher they score. `values` holds `columns × rows` cells of `cell` pixels.
pub fn score_overlay(base: &GrayImage, values: &[f32], columns: u32, cell: u32, threshold: f32) -> RgbImage {
    let grid = ScoreGrid::new(values, columns, cell, threshold);
    RgbImage::from_fn(base.width(), base.height(), |x, y| {
        let grey = f32::from(base.get_pixel(x, y)[0]);
        let alpha = grid.alpha(x, y);
        let mix = |target: f32| (grey * (1.0 - alpha) + target * alpha).round() as u8;
        Rgb([mix(255.0), mix(0.0), mix(0.0)])
    })
}

/// The same tint as [`score_overlay`] on its own, transparent elsewhere: for a viewer that
/// stacks it on the image and toggles it.
pub fn heatmap_layer(values: &[f32], columns: u32, cell: u32, threshold: f32, width: u32, height: u32) -> RgbaImage {
    let grid = ScoreGrid::new(values, columns, cell, threshold);
    RgbaImage::from_fn(width, height, |x, y| Rgba([255, 0, 0, (grid.alpha(x, y) * 255.0).round() as u8]))
}

struct ScoreGrid<'a> {
    values: &'a [f32],
    columns: u32,
    cell: u32,
    threshold: f32,
    peak: f32,
}

impl<'a> ScoreGrid<'a> {
    fn new(values: &'a [f32], columns: u32, cell: u32, threshold: f32) -> Self {
        let peak = values.iter().copied().fold(threshold, f32::max);
        Self { values, columns, cell: cell.max(1), threshold, peak }
    }

    /// Opacity of the tint at a pixel: none at or below the threshold.
    fn alpha(&self, x: u32, y: u32) -> f32 {
        let index = (y / self.cell) as usize * self.columns as usize + (x / self.cell) as usize;
        let score = if x / self.cell < self.columns { self.values.get(index).copied().unwrap_or(0.0) } else { 0.0 };
        if score > self.threshold && self.peak > self.threshold {
            0.35 + 0.5 * (score - self.threshold) / (self.peak - self.threshold)
        } else {
            0.0
        }
    }
}
