//! Scrap metal: a loose heap straight on the floor, irregular pieces at random angles with voids
//! between them, its profile rising and falling along the container.

use std::f32::consts::{PI, TAU};

use rand::Rng;

use super::paint::{ALUMINIUM, Bulk, Painter, Point, Pose, Rect, STEEL};
use super::stow::Bay;
use crate::sim::materials::Material;

/// Returns the load's mass in kg, the unit scrap is declared in.
pub fn scrap<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    // Loose heavy melting scrap weighs 0.6–1.1 t/m³; the heap's section follows from the payload.
    let bulk = rng.random_range(0.6..1.1);
    let area = (bay.budget_kg * 1000.0) as f32 / (bulk * bay.width);
    let max_h = bay.headroom() - 5.0;
    let mean = (area / bay.len()).clamp(30.0, 0.7 * max_h);
    let waves: Vec<(f32, f32, f32)> = (0..rng.random_range(2..=3))
        .map(|_| (rng.random_range(0.1..0.3), TAU / rng.random_range(150.0..600.0), rng.random_range(0.0..TAU)))
        .collect();
    let profile = |x: f32| {
        let rise: f32 = waves.iter().map(|&(a, k, phase)| a * (k * x + phase).sin()).sum();
        (mean * (1.0 + rise)).clamp(0.2 * mean, max_h)
    };
    let mut misses = 0;
    while misses < 20 {
        // Pieces fall uniformly over the heap's section: reject points above the profile.
        let (x, z) = (rng.random_range(bay.x0..bay.x1), rng.random_range(0.0..max_h));
        if z > profile(x) {
            continue;
        }
        let piece = Piece::random((x, bay.floor + z), rng).inside(bay);
        if !p.paint_within(bay.budget_kg, |p| piece.paint(p)) {
            misses += 1;
        }
    }
    p.kg().round() as u32
}

enum Shape {
    Outline(Vec<Point>),
    Bar(Point, Point, f32),
    /// A pipe end-on: centre and radii.
    Pipe(Point, (f32, f32)),
}

struct Piece {
    shape: Shape,
    depth: f32,
    bulk: Bulk,
}

impl Piece {
    fn random<R: Rng>(at: Point, rng: &mut R) -> Self {
        let pose = Pose::new(at, rng.random_range(0.0..PI));
        let bulk = match rng.random_range(0..20) {
            0..=2 => ALUMINIUM,
            3 => Bulk::solid(Material::Copper),
            _ => STEEL,
        };
        let mut range = |a: f32, b: f32| rng.random_range(a..b);
        match range(0.0, 1.0) {
            // Plates and sheet face-on, several overlapping along the beam, corners bent.
            f if f < 0.3 => {
                let (l, w) = (range(20.0, 80.0) / 2.0, range(10.0, 50.0) / 2.0);
                let mut corner = |x: f32, z: f32| (x + range(-0.2, 0.2) * l, z + range(-0.2, 0.2) * w);
                let quad = [corner(-l, -w), corner(l, -w), corner(l, w), corner(-l, w)];
                let depth = range(0.5, 2.0) * range(4.0, 12.0);
                Self { shape: Shape::Outline(pose.outline(&quad)), depth, bulk }
            }
            // Plates edge-on: thin dark lines as deep as the plate is wide.
            f if f < 0.5 => {
                let l = range(15.0, 80.0) / 2.0;
                let shape = Shape::Bar(pose.place((-l, 0.0)), pose.place((l, 0.0)), range(0.5, 2.0));
                Self { shape, depth: range(20.0, 100.0), bulk }
            }
            // Beams, rails and angles: open sections.
            f if f < 0.65 => {
                let l = range(30.0, 150.0) / 2.0;
                let shape = Shape::Bar(pose.place((-l, 0.0)), pose.place((l, 0.0)), range(5.0, 15.0));
                Self { shape, depth: range(10.0, 40.0), bulk: bulk.times(range(0.3, 0.5)) }
            }
            f if f < 0.75 => {
                let r = range(4.0, 20.0);
                Self { shape: Shape::Pipe(at, (r, r - range(0.4, 1.5))), depth: range(40.0, 200.0), bulk }
            }
            // Lumps: castings, motor parts, crushed bundles.
            _ => {
                let (r, corners) = (range(5.0, 25.0), range(5.0, 8.0) as usize);
                let outline: Vec<Point> = (0..corners)
                    .map(|i| {
                        let (a, rr) = (i as f32 * TAU / corners as f32, r * range(0.5, 1.0));
                        (rr * a.cos(), rr * a.sin())
                    })
                    .collect();
                let depth = range(10.0, 40.0);
                Self { shape: Shape::Outline(pose.outline(&outline)), depth, bulk: bulk.times(range(0.3, 0.8)) }
            }
        }
    }

    /// The piece shrunk to fit the bay if it is bigger, and moved the least distance that puts
    /// it inside.
    fn inside(mut self, bay: &Bay) -> Self {
        let bounds = match &self.shape {
            Shape::Outline(points) => Rect::around(points),
            &Shape::Bar(a, b, w) => Rect::around(&[a, b]).inset(-w),
            &Shape::Pipe(c, (r, _)) => Rect::around(&[c]).inset(-r),
        };
        let scale = (bay.len() / bounds.w()).min(bay.headroom() / bounds.h()).min(1.0);
        let centre = bounds.at(0.5, 0.5);
        let (w, h) = (bounds.w() * scale, bounds.h() * scale);
        let dx = (bay.x0 - (centre.0 - w / 2.0)).max(0.0) + (bay.x1 - (centre.0 + w / 2.0)).min(0.0);
        let dz = (bay.floor - (centre.1 - h / 2.0)).max(0.0) + (bay.ceiling - (centre.1 + h / 2.0)).min(0.0);
        let fit = |(x, z): Point| (centre.0 + (x - centre.0) * scale + dx, centre.1 + (z - centre.1) * scale + dz);
        self.shape = match self.shape {
            Shape::Outline(points) => Shape::Outline(points.into_iter().map(fit).collect()),
            Shape::Bar(a, b, w) => Shape::Bar(fit(a), fit(b), w * scale),
            Shape::Pipe(c, (r, inner)) => Shape::Pipe(fit(c), (r * scale, inner * scale)),
        };
        self
    }

    fn paint(&self, p: &mut Painter<'_>) {
        match &self.shape {
            Shape::Outline(points) => p.polygon(points, self.depth, self.bulk),
            &Shape::Bar(a, b, w) => p.bar(a, b, w, self.depth, self.bulk),
            &Shape::Pipe(c, radii) => p.ring(c, radii, self.depth, self.bulk),
        }
    }
}
