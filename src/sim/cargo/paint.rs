//! Painting cargo in scene cm while tallying its mass analytically.
//!
//! The canvas integrates mass per pixel, which can neither tell a packer what its load weighs
//! while it is being built nor what one object weighs where shapes overlap; the tally does both.

use crate::sim::canvas::{Axis, Canvas, Stuff};
use crate::sim::materials::Material;

/// A material as packed: what it is and its bulk density, g/cm³.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bulk {
    pub material: Material,
    pub density: f32,
}

impl Bulk {
    pub const fn new(material: Material, density: f32) -> Self {
        Self { material, density }
    }

    pub const fn solid(material: Material) -> Self {
        Self::new(material, material.density())
    }

    /// The material filling only `fraction` of the volume: hollow castings, boards with gaps.
    pub fn times(self, fraction: f32) -> Self {
        Self::new(self.material, self.density * fraction)
    }
}

pub const STEEL: Bulk = Bulk::solid(Material::Steel);
pub const ALUMINIUM: Bulk = Bulk::solid(Material::Aluminium);
pub const GLASS: Bulk = Bulk::solid(Material::Glass);
pub const RUBBER: Bulk = Bulk::solid(Material::Rubber);
/// Sawn softwood.
pub const WOOD: Bulk = Bulk::new(Material::Cellulose, 0.5);
/// Double-wall corrugated board: 0.5 cm thick, ≈ 650 g/m².
pub const CARDBOARD: Bulk = Bulk::new(Material::Cellulose, 0.13);
/// Solid paperboard of folding boxes and cores.
pub const BOARD: Bulk = Bulk::new(Material::Paper, 0.7);
/// Expanded polystyrene and other packing foam.
pub const FOAM: Bulk = Bulk::new(Material::Plastic, 0.02);

/// A point in scene cm: (x along the scan, z above ground).
pub type Point = (f32, f32);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub x1: f32,
    pub z0: f32,
    pub z1: f32,
}

impl Rect {
    pub const fn new(x0: f32, x1: f32, z0: f32, z1: f32) -> Self {
        Self { x0, x1, z0, z1 }
    }

    pub fn w(&self) -> f32 {
        self.x1 - self.x0
    }

    pub fn h(&self) -> f32 {
        self.z1 - self.z0
    }

    pub fn inset(self, d: f32) -> Self {
        Self::new(self.x0 + d, self.x1 - d, self.z0 + d, self.z1 - d)
    }

    /// The part spanning the given fractions of the width and height.
    pub fn part(&self, [fx0, fx1, fz0, fz1]: [f32; 4]) -> Self {
        let (w, h) = (self.w(), self.h());
        Self::new(self.x0 + fx0 * w, self.x0 + fx1 * w, self.z0 + fz0 * h, self.z0 + fz1 * h)
    }

    /// The bounding box of some points.
    pub fn around<'p>(points: impl IntoIterator<Item = &'p Point>) -> Self {
        points.into_iter().fold(Self::new(f32::MAX, f32::MIN, f32::MAX, f32::MIN), |r, &(x, z)| {
            Self::new(r.x0.min(x), r.x1.max(x), r.z0.min(z), r.z1.max(z))
        })
    }

    /// The point at the given fractions of the width and height.
    pub fn at(&self, fx: f32, fz: f32) -> Point {
        (self.x0 + fx * self.w(), self.z0 + fz * self.h())
    }
}

/// Rotation about the local origin, then translation: places outlines drawn in local cm.
#[derive(Debug, Clone, Copy)]
pub struct Pose {
    at: Point,
    cos: f32,
    sin: f32,
}

impl Pose {
    pub fn new(at: Point, angle: f32) -> Self {
        Self { at, cos: angle.cos(), sin: angle.sin() }
    }

    pub fn place(&self, (x, z): Point) -> Point {
        (self.at.0 + x * self.cos - z * self.sin, self.at.1 + x * self.sin + z * self.cos)
    }

    pub fn outline(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|&p| self.place(p)).collect()
    }
}

/// Paints one category's shapes with its label and keeps the mass of what it painted.
pub struct Painter<'a> {
    canvas: Option<&'a mut Canvas>,
    label: u8,
    grams: f64,
}

impl<'a> Painter<'a> {
    pub fn new(canvas: &'a mut Canvas, label: u8) -> Self {
        Self { canvas: Some(canvas), label, grams: 0.0 }
    }

    /// Tallies without painting: weighs a unit before deciding how many fit the payload.
    pub fn dry() -> Painter<'static> {
        Painter { canvas: None, label: 0, grams: 0.0 }
    }

    pub fn kg(&self) -> f64 {
        self.grams / 1000.0
    }

    /// Paints `shape` only if the total stays within `budget_kg`; tells whether it did.
    pub fn paint_within(&mut self, budget_kg: f64, shape: impl Fn(&mut Painter<'_>)) -> bool {
        let mut dry = Painter::dry();
        shape(&mut dry);
        let fits = self.kg() + dry.kg() <= budget_kg;
        if fits {
            shape(self);
        }
        fits
    }

    fn tally(&mut self, volume: f32, bulk: Bulk) -> Option<(&mut Canvas, Stuff)> {
        self.grams += f64::from(volume * bulk.density);
        let stuff = Stuff::cargo(bulk.material, bulk.density, self.label);
        self.canvas.as_deref_mut().map(|canvas| (canvas, stuff))
    }

    /// A box `depth` cm deep along the beam.
    pub fn block(&mut self, r: Rect, depth: f32, bulk: Bulk) {
        if r.w() <= 0.0 || r.h() <= 0.0 || depth <= 0.0 {
            return;
        }
        if let Some((canvas, stuff)) = self.tally(r.w() * r.h() * depth, bulk) {
            canvas.add_box(r.x0, r.x1, r.z0, r.z1, depth, stuff);
        }
    }

    /// A cylinder in the image plane (see [`Canvas::add_cylinder`]); `radii` are outer and inner.
    pub fn cylinder(&mut self, axis: Axis, centre: f32, span: (f32, f32), radii: (f32, f32), copies: f32, bulk: Bulk) {
        let (from, to) = span;
        let (outer, inner) = radii;
        if to <= from || outer <= inner || copies <= 0.0 {
            return;
        }
        let volume = std::f32::consts::PI * (outer * outer - inner * inner) * (to - from) * copies;
        if let Some((canvas, stuff)) = self.tally(volume, bulk) {
            canvas.add_cylinder(axis, centre, from, to, outer, inner, copies, stuff);
        }
    }

    /// A disc or ring whose axis runs along the beam, `length` cm long.
    pub fn ring(&mut self, centre: Point, radii: (f32, f32), length: f32, bulk: Bulk) {
        let (outer, inner) = radii;
        if outer <= inner || length <= 0.0 {
            return;
        }
        let volume = std::f32::consts::PI * (outer * outer - inner * inner) * length;
        if let Some((canvas, stuff)) = self.tally(volume, bulk) {
            canvas.add_ring(centre.0, centre.1, outer, inner, length, stuff);
        }
    }

    pub fn polygon(&mut self, points: &[Point], depth: f32, bulk: Bulk) {
        if points.len() < 3 || depth <= 0.0 {
            return;
        }
        let twice_area: f32 = (0..points.len())
            .map(|i| {
                let ((x0, z0), (x1, z1)) = (points[i], points[(i + 1) % points.len()]);
                x0 * z1 - x1 * z0
            })
            .sum();
        if let Some((canvas, stuff)) = self.tally(0.5 * twice_area.abs() * depth, bulk) {
            canvas.add_polygon(points, depth, stuff);
        }
    }

    /// A straight bar from `a` to `b`. The canvas samples polygons at pixel centres and tests
    /// every pixel of their bounding box, so bars thinner than 1.5 pixels are widened at the
    /// same mass per length, and long slanted bars are drawn in short pieces.
    pub fn bar(&mut self, a: Point, b: Point, width: f32, depth: f32, bulk: Bulk) {
        const MIN_WIDTH: f32 = 0.75;
        let (bulk, width) = if width < MIN_WIDTH { (bulk.times(width / MIN_WIDTH), MIN_WIDTH) } else { (bulk, width) };
        let (dx, dz) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dz);
        if len <= 0.0 {
            return;
        }
        let (nx, nz) = (-dz / len * width / 2.0, dx / len * width / 2.0);
        let pieces = (len / (2.0 * width).max(10.0)).ceil();
        for i in 0..pieces as usize {
            let (t0, t1) = (i as f32 / pieces, (i + 1) as f32 / pieces);
            let (x0, z0, x1, z1) = (a.0 + dx * t0, a.1 + dz * t0, a.0 + dx * t1, a.1 + dz * t1);
            self.polygon(
                &[(x0 + nx, z0 + nz), (x1 + nx, z1 + nz), (x1 - nx, z1 - nz), (x0 - nx, z0 - nz)],
                depth,
                bulk,
            );
        }
    }
}
