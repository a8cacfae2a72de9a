//! From line integrals to what the detector line records: blur, photon noise, residual gain
//! errors and pulse-to-pulse dose jitter, quantised to 16-bit transmission.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Dose setting of the accelerator, expressed as photons reaching one pixel through air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Dose {
    Normal,
    /// Reduced dose, e.g. for scans with the driver in the cab: four times fewer photons.
    Low,
}

impl Dose {
    /// Photons per pixel in air at the high and low energy; the low-energy pulse carries fewer.
    pub fn air_counts(self) -> (f32, f32) {
        match self {
            Self::Normal => (1_000_000.0, 700_000.0),
            Self::Low => (250_000.0, 175_000.0),
        }
    }
}

/// Imperfections of one scanner, drawn once per scan.
pub struct Detector {
    /// Gaussian sigma of the detector and focal-spot blur, pixels.
    blur_sigma: f32,
    /// Residual gain error per detector row after flat-field calibration (faint horizontal streaks).
    row_gain: Vec<f32>,
    /// Relative dose of each accelerator pulse, one per column (thin vertical stripes).
    pulse_dose: [Vec<f32>; 2],
    /// Electronic noise, in photon-equivalent counts.
    electronic_noise: f32,
}

impl Detector {
    pub fn random(width: usize, height: usize, rng: &mut impl Rng) -> Self {
        let gain_spread = rng.random_range(0.001..0.004);
        let jitter = rng.random_range(0.002..0.008);
        let row_gain = (0..height).map(|_| 1.0 + gain_spread * gaussian(rng)).collect();
        let mut pulses = || (0..width).map(|_| 1.0 + jitter * gaussian(rng)).collect::<Vec<f32>>();
        let pulse_dose = [pulses(), pulses()];
        Self { blur_sigma: rng.random_range(0.5..0.9), row_gain, pulse_dose, electronic_noise: 3.0 }
    }

    /// Records one energy: `attenuation` holds μ·ρ·t per pixel; returns 16-bit transmission.
    /// `energy` 0 is high, 1 is low (their pulses jitter independently).
    pub fn expose(&self, attenuation: &[f32], width: usize, air_counts: f32, energy: usize, rng: &mut impl Rng) -> Vec<u16> {
        let mut transmission: Vec<f32> = attenuation.iter().map(|&a| (-a).exp()).collect();
        blur(&mut transmission, width, self.blur_sigma);
        let pulses = &self.pulse_dose[energy];
        transmission
            .chunks(width)
            .zip(&self.row_gain)
            .flat_map(|(row, &gain)| {
                row.iter().zip(pulses).map(move |(&t, &pulse)| (t, gain * pulse))
            })
            .map(|(t, gain)| {
                let counts = photon_count(air_counts * t * gain, rng) + self.electronic_noise * gaussian(rng);
                ((counts / air_counts) * 65535.0).round().clamp(0.0, 65535.0) as u16
            })
            .collect()
    }
}

/// Poisson photon statistics: exact for small means, normal approximation above.
fn photon_count(mean: f32, rng: &mut impl Rng) -> f32 {
    if mean > 40.0 {
        mean + mean.sqrt() * gaussian(rng)
    } else {
        // Knuth's method; cheap for the few pixels behind very dense cargo.
        let limit = (-mean).exp();
        let mut product: f32 = rng.random();
        let mut k = 0.0;
        while product > limit {
            product *= rng.random::<f32>();
            k += 1.0;
        }
        k
    }
}

/// Standard normal sample (Box–Muller; the second value is dropped for simplicity of state).
pub fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Separable Gaussian blur in place, edges clamped.
fn blur(image: &mut [f32], width: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    let height = image.len() / width;
    let mut scratch = vec![0.0f32; image.len()];
    convolve(image, &mut scratch, &kernel, width, height, 1, width);
    convolve(&scratch, image, &kernel, height, width, width, 1);
}

/// 1-D convolution along lines of `len` samples spaced `step` apart; `lines` lines start
/// `line_step` apart.
fn convolve(src: &[f32], dst: &mut [f32], kernel: &[f32], len: usize, lines: usize, step: usize, line_step: usize) {
    let radius = (kernel.len() / 2) as isize;
    for line in 0..lines {
        let base = line * line_step;
        for i in 0..len as isize {
            let mut acc = 0.0;
            for (k, &w) in kernel.iter().enumerate() {
                let j = (i + k as isize - radius).clamp(0, len as isize - 1) as usize;
                acc += w * src[base + j * step];
            }
            dst[base + i as usize * step] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn air_reads_near_full_scale_and_steel_reads_dark() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (w, h) = (64, 32);
        let detector = Detector::random(w, h, &mut rng);
        let mut att = vec![0.0; w * h];
        // Right half: 20 cm of steel at the high energy.
        for row in att.chunks_mut(w) {
            row[w / 2..].fill(0.0362 * 7.85 * 20.0);
        }
        let image = detector.expose(&att, w, Dose::Normal.air_counts().0, 0, &mut rng);
        let mean = |cols: std::ops::Range<usize>| {
            let values: Vec<f64> = image.chunks(w).flat_map(|r| r[cols.clone()].iter().map(|&v| f64::from(v))).collect();
            values.iter().sum::<f64>() / values.len() as f64
        };
        let air = mean(0..w / 2 - 4) / 65535.0;
        let steel = mean(w / 2 + 4..w) / 65535.0;
        assert!((air - 1.0).abs() < 0.01, "air {air}");
        let expected = (-0.0362f64 * 7.85 * 20.0).exp();
        assert!((steel - expected).abs() / expected < 0.05, "steel {steel} vs {expected}");
    }

    #[test]
    fn photon_noise_grows_as_dose_falls() {
        // Two exposures through the same detector differ only by photon and electronic noise:
        // gain errors and pulse jitter cancel in the difference.
        let noise = |dose: Dose| {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let detector = Detector::random(100, 100, &mut rng);
            let att = vec![1.0; 100 * 100];
            let air = dose.air_counts().0;
            let a = detector.expose(&att, 100, air, 0, &mut rng);
            let b = detector.expose(&att, 100, air, 0, &mut rng);
            let var = a.iter().zip(&b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
            (var / 2.0).sqrt()
        };
        // A quarter of the photons: twice the noise (blur smooths both alike).
        let ratio = noise(Dose::Low) / noise(Dose::Normal);
        assert!((1.8..2.2).contains(&ratio), "{ratio}");
    }

    #[test]
    fn small_means_follow_poisson_statistics() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let samples: Vec<f32> = (0..20_000).map(|_| photon_count(5.0, &mut rng)).collect();
        let mean = samples.iter().sum::<f32>() / samples.len() as f32;
        let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / samples.len() as f32;
        assert!((mean - 5.0).abs() < 0.1 && (var - 5.0).abs() < 0.3, "mean {mean} var {var}");
    }
}
