//! The scene as line integrals: for every detector pixel, the attenuation μ·ρ·t summed along the
//! beam at both energies, plus the cargo bookkeeping the ground truth needs.
//!
//! Scene coordinates are physical: `x` in cm along the scan from the image's left edge, `z` in cm
//! above the ground. The beam crosses the container horizontally (across its width), so every
//! shape is painted with its path length along the beam (`depth`).

use super::materials::Material;

/// What a shape is made of, and for cargo which goods category (taxonomy index) it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stuff {
    pub material: Material,
    /// Bulk density in g/cm³: solid for steel plate, lower for packed goods with air gaps.
    pub density: f32,
    pub cargo: Option<u8>,
}

impl Stuff {
    /// Solid material that is part of the vehicle or the container, not cargo.
    pub const fn structure(material: Material) -> Self {
        Self { material, density: material.density(), cargo: None }
    }

    pub const fn cargo(material: Material, density: f32, category: u8) -> Self {
        Self { material, density, cargo: Some(category) }
    }
}

/// Axis of a cylinder lying in the image plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Along the scan direction, like logs or pipes loaded lengthwise.
    X,
    /// Vertical, like standing drums, bottles or stacked tyres.
    Z,
}

/// Label of pixels outside any container (air, chassis, cab) in the ground-truth label map.
pub const OUTSIDE_LABEL: u8 = 255;

pub struct Canvas {
    pub width: usize,
    pub height: usize,
    /// Pixel pitch in cm.
    pub pitch: f32,
    /// Height above ground of the top edge of the top row, cm.
    pub top_z: f32,
    pub(crate) att_low: Vec<f32>,
    pub(crate) att_high: Vec<f32>,
    /// Cargo mass thickness in g/cm² per pixel.
    pub(crate) cargo_mass: Vec<f32>,
    /// Category index whose single largest contribution dominates each pixel.
    pub(crate) labels: Vec<u8>,
    label_mass: Vec<f32>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, pitch: f32, top_z: f32) -> Self {
        let n = width * height;
        Self {
            width,
            height,
            pitch,
            top_z,
            att_low: vec![0.0; n],
            att_high: vec![0.0; n],
            cargo_mass: vec![0.0; n],
            labels: vec![OUTSIDE_LABEL; n],
            label_mass: vec![0.0; n],
        }
    }

    pub fn width_cm(&self) -> f32 {
        self.width as f32 * self.pitch
    }

    /// Marks the pixels of a container's interior as belonging to it: `empty_label` until cargo
    /// is painted over them.
    pub fn label_interior(&mut self, x0: f32, x1: f32, z0: f32, z1: f32, empty_label: u8) {
        let (c0, c1) = self.cols(x0, x1);
        let (r0, r1) = self.rows(z0, z1);
        for r in r0..r1 {
            for c in c0..c1 {
                let i = r * self.width + c;
                if self.labels[i] == OUTSIDE_LABEL {
                    self.labels[i] = empty_label;
                }
            }
        }
    }

    /// A box spanning `[x0, x1] × [z0, z1]` with `depth` cm of `stuff` along the beam.
    /// Edge pixels get their covered fraction, so thin walls of a few mm still register.
    pub fn add_box(&mut self, x0: f32, x1: f32, z0: f32, z1: f32, depth: f32, stuff: Stuff) {
        if x1 <= x0 || z1 <= z0 || depth <= 0.0 {
            return;
        }
        let (c0, c1) = self.cols(x0, x1);
        let (r0, r1) = self.rows(z0, z1);
        let mass = depth * stuff.density;
        for r in r0..r1 {
            let (row_top, row_bottom) = (self.row_top_z(r), self.row_top_z(r) - self.pitch);
            let fz = overlap(row_bottom, row_top, z0, z1) / self.pitch;
            for c in c0..c1 {
                let col_left = c as f32 * self.pitch;
                let fx = overlap(col_left, col_left + self.pitch, x0, x1) / self.pitch;
                self.deposit(r * self.width + c, mass * fx * fz, stuff);
            }
        }
    }

    /// A cylinder lying in the image plane along `axis`, centred at `centre` across it and
    /// spanning `[from, to]` along it; hollow when `r_inner > 0`. `copies` cylinders stand one
    /// behind the other along the beam (a row of drums across the container's width).
    #[allow(clippy::too_many_arguments)]
    pub fn add_cylinder(
        &mut self,
        axis: Axis,
        centre: f32,
        from: f32,
        to: f32,
        r_outer: f32,
        r_inner: f32,
        copies: f32,
        stuff: Stuff,
    ) {
        if to <= from || r_outer <= 0.0 || copies <= 0.0 {
            return;
        }
        let chord = |offset: f32| {
            let outer = (r_outer * r_outer - offset * offset).max(0.0).sqrt();
            let inner = (r_inner * r_inner - offset * offset).max(0.0).sqrt();
            2.0 * (outer - inner) * copies
        };
        let (cross0, cross1) = (centre - r_outer, centre + r_outer);
        let (x0, x1, z0, z1) = match axis {
            Axis::X => (from, to, cross0, cross1),
            Axis::Z => (cross0, cross1, from, to),
        };
        let (c0, c1) = self.cols(x0, x1);
        let (r0, r1) = self.rows(z0, z1);
        for r in r0..r1 {
            let z = self.row_top_z(r) - 0.5 * self.pitch;
            for c in c0..c1 {
                let x = (c as f32 + 0.5) * self.pitch;
                let offset = match axis {
                    Axis::X => z - centre,
                    Axis::Z => x - centre,
                };
                let depth = chord(offset);
                if depth > 0.0 {
                    self.deposit(r * self.width + c, depth * stuff.density, stuff);
                }
            }
        }
    }

    /// A cylinder whose axis runs along the beam (a wheel axle, a steel coil lying across the
    /// container): a disc or ring in the image, `length` cm deep.
    pub fn add_ring(&mut self, xc: f32, zc: f32, r_outer: f32, r_inner: f32, length: f32, stuff: Stuff) {
        let (c0, c1) = self.cols(xc - r_outer, xc + r_outer);
        let (r0, r1) = self.rows(zc - r_outer, zc + r_outer);
        let mass = length * stuff.density;
        for r in r0..r1 {
            let dz = self.row_top_z(r) - 0.5 * self.pitch - zc;
            for c in c0..c1 {
                let dx = (c as f32 + 0.5) * self.pitch - xc;
                let d2 = dx * dx + dz * dz;
                if d2 <= r_outer * r_outer && d2 >= r_inner * r_inner {
                    self.deposit(r * self.width + c, mass, stuff);
                }
            }
        }
    }

    /// A flat shape given by its outline (scene cm, any winding), `depth` cm deep.
    pub fn add_polygon(&mut self, points: &[(f32, f32)], depth: f32, stuff: Stuff) {
        if points.len() < 3 {
            return;
        }
        let (min_x, max_x, min_z, max_z) = points.iter().fold(
            (f32::MAX, f32::MIN, f32::MAX, f32::MIN),
            |(a, b, c, d), &(x, z)| (a.min(x), b.max(x), c.min(z), d.max(z)),
        );
        let (c0, c1) = self.cols(min_x, max_x);
        let (r0, r1) = self.rows(min_z, max_z);
        let mass = depth * stuff.density;
        for r in r0..r1 {
            let z = self.row_top_z(r) - 0.5 * self.pitch;
            for c in c0..c1 {
                let x = (c as f32 + 0.5) * self.pitch;
                if inside(points, x, z) {
                    self.deposit(r * self.width + c, mass, stuff);
                }
            }
        }
    }

    /// Total cargo mass painted so far, kg.
    pub fn cargo_mass_kg(&self) -> f64 {
        let pixel_area_cm2 = f64::from(self.pitch * self.pitch);
        self.cargo_mass.iter().map(|&m| f64::from(m)).sum::<f64>() * pixel_area_cm2 / 1000.0
    }

    /// Cargo mass painted inside a region (scene cm), kg.
    pub fn cargo_mass_in_kg(&self, x0: f32, x1: f32, z0: f32, z1: f32) -> f64 {
        let (c0, c1) = self.cols(x0, x1);
        let (r0, r1) = self.rows(z0, z1);
        let sum: f64 = (r0..r1)
            .flat_map(|r| (c0..c1).map(move |c| (r, c)))
            .map(|(r, c)| f64::from(self.cargo_mass[r * self.width + c]))
            .sum();
        sum * f64::from(self.pitch * self.pitch) / 1000.0
    }

    /// Pixel bounds `[x0, x1)` in image columns of a scene span.
    pub fn cols(&self, x0: f32, x1: f32) -> (usize, usize) {
        let c0 = (x0 / self.pitch).floor().max(0.0) as usize;
        let c1 = ((x1 / self.pitch).ceil().max(0.0) as usize).min(self.width);
        (c0.min(c1), c1)
    }

    /// Pixel bounds `[r0, r1)` in image rows of a scene height span.
    pub fn rows(&self, z0: f32, z1: f32) -> (usize, usize) {
        let r0 = ((self.top_z - z1) / self.pitch).floor().max(0.0) as usize;
        let r1 = (((self.top_z - z0) / self.pitch).ceil().max(0.0) as usize).min(self.height);
        (r0.min(r1), r1)
    }

    fn row_top_z(&self, row: usize) -> f32 {
        self.top_z - row as f32 * self.pitch
    }

    fn deposit(&mut self, i: usize, mass_thickness: f32, stuff: Stuff) {
        let (mu_low, mu_high) = stuff.material.mass_attenuation();
        self.att_low[i] += mu_low * mass_thickness;
        self.att_high[i] += mu_high * mass_thickness;
        if let Some(category) = stuff.cargo {
            self.cargo_mass[i] += mass_thickness;
            if mass_thickness > self.label_mass[i] {
                self.label_mass[i] = mass_thickness;
                self.labels[i] = category;
            }
        }
    }
}

fn overlap(a0: f32, a1: f32, b0: f32, b1: f32) -> f32 {
    (a1.min(b1) - a0.max(b0)).max(0.0)
}

/// Even-odd rule point-in-polygon test.
fn inside(points: &[(f32, f32)], x: f32, z: f32) -> bool {
    let mut result = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (xi, zi) = points[i];
        let (xj, zj) = points[j];
        if (zi > z) != (zj > z) && x < (xj - xi) * (z - zi) / (zj - zi) + xi {
            result = !result;
        }
        j = i;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas() -> Canvas {
        Canvas::new(200, 100, 0.5, 50.0)
    }

    #[test]
    fn box_mass_is_volume_times_density() {
        let mut c = canvas();
        // 20 cm × 10 cm face, 30 cm deep, 1 g/cm³ → 6 kg, placed off the pixel grid.
        c.add_box(10.2, 30.2, 5.3, 15.3, 30.0, Stuff::cargo(Material::Water, 1.0, 3));
        assert!((c.cargo_mass_kg() - 6.0).abs() < 1e-3, "{}", c.cargo_mass_kg());
    }

    #[test]
    fn structure_is_not_cargo() {
        let mut c = canvas();
        c.add_box(0.0, 100.0, 0.0, 50.0, 0.2, Stuff::structure(Material::Steel));
        assert_eq!(c.cargo_mass_kg(), 0.0);
        assert!(c.att_high.iter().all(|&a| a > 0.0));
        assert!(c.labels.iter().all(|&l| l == OUTSIDE_LABEL));
    }

    #[test]
    fn cylinder_mass_matches_its_volume() {
        let mut c = canvas();
        // A drum lying along x: r = 10 cm, 60 cm long, water → π·100·60 g.
        c.add_cylinder(Axis::X, 25.0, 20.0, 80.0, 10.0, 0.0, 1.0, Stuff::cargo(Material::Water, 1.0, 0));
        let expected = std::f64::consts::PI * 100.0 * 60.0 / 1000.0;
        assert!((c.cargo_mass_kg() - expected).abs() / expected < 0.02, "{}", c.cargo_mass_kg());
    }

    #[test]
    fn heaviest_contribution_sets_the_label() {
        let mut c = canvas();
        c.label_interior(0.0, 100.0, 0.0, 50.0, 0);
        c.add_box(0.0, 10.0, 0.0, 10.0, 100.0, Stuff::cargo(Material::Cellulose, 0.3, 1));
        c.add_box(0.0, 10.0, 0.0, 10.0, 10.0, Stuff::cargo(Material::Steel, 7.85, 2));
        c.add_box(0.0, 10.0, 0.0, 10.0, 1.0, Stuff::cargo(Material::Paper, 0.8, 4));
        let i = (c.height - 1) * c.width;
        assert_eq!(c.labels[i], 2);
        assert_eq!(c.labels[c.width - 1], 0, "untouched interior stays empty");
    }

    #[test]
    fn polygon_fills_its_inside_only() {
        let mut c = canvas();
        let triangle = [(0.0, 0.0), (40.0, 0.0), (0.0, 40.0)];
        c.add_polygon(&triangle, 10.0, Stuff::cargo(Material::Water, 1.0, 0));
        // Area 800 cm² × 10 cm → 8 kg, within pixelisation error.
        assert!((c.cargo_mass_kg() - 8.0).abs() < 0.3, "{}", c.cargo_mass_kg());
    }
}
