//! Machinery and metal: crated machines of irregular dense steel parts, or steel coils.

use std::f32::consts::PI;

use rand::Rng;

use super::paint::{Bulk, Painter, Point, Rect, STEEL, WOOD};
use super::stow::{Bay, Wall, walls};
use crate::sim::canvas::Axis;
use crate::sim::materials::Material;

pub fn machinery<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.35) && bay.len() >= 200.0 { coils(p, bay, rng) } else { crates(p, bay, rng) }
}

/// Hot-rolled coils lying eye-across (the eye along the beam), on timber cradles, in the middle
/// of the floor: one or two fill a 20 ft box's payload, two or three a 40 ft's.
pub(super) fn coils<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    const LIFT: f32 = 10.0;
    let eye = if rng.random_bool(0.5) { 30.5 } else { 25.4 };
    let width = rng.random_range(100.0..180.0_f32).min(bay.width - 10.0);
    let n = if bay.len() < 700.0 { rng.random_range(1..=2) } else { rng.random_range(2..=3) };
    // Wound strip is not quite solid.
    let strip = STEEL.times(0.96);
    let max_r = ((bay.headroom() - LIFT) / 2.0).min(95.0).min(bay.len() / n as f32 / 2.0 - 20.0);
    if max_r < eye + 10.0 {
        // Too short or too low a bay for even one coil.
        return 0;
    }
    let coil_kg = bay.budget_kg / f64::from(n) * 0.97;
    let r = ((coil_kg * 1000.0) as f32 / (PI * width * strip.density) + eye * eye).sqrt().clamp(eye + 10.0, max_r);
    for i in 0..n {
        let xc = bay.x0 + bay.len() * (i as f32 + 0.5) / n as f32;
        let zc = bay.floor + LIFT + r;
        // A timber base, and two wedges either side of the bottom that follow the coil's curve.
        let base = bay.floor + LIFT;
        p.block(Rect::new(xc - 0.8 * r, xc + 0.8 * r, bay.floor, base), width * 0.5, WOOD);
        for side in [-1.0, 1.0] {
            let (a, b) = (xc + side * 0.35 * r, xc + side * 0.75 * r);
            let (za, zb) = (zc - 0.937 * r, zc - 0.661 * r);
            p.polygon(&[(a, base), (b, base), (b, zb), (a, za)], width * 0.5, WOOD);
        }
        p.ring((xc, zc), (r, eye), width, strip);
    }
    n
}

/// Wooden crates side by side, a lighter one stacked on top where the height allows, skipped
/// when the payload is reached.
fn crates<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let mut x = bay.x0 + rng.random_range(0.0..10.0);
    let mut count = 0;
    while bay.x1 - x >= 40.0 {
        let w = rng.random_range(80.0..250.0_f32).min(bay.x1 - x);
        let mut z = bay.floor;
        let mut max_h = bay.headroom().min(180.0);
        // Sometimes a lower crate goes on top, when the height and the payload allow.
        while max_h >= 50.0 {
            let h = rng.random_range(50.0..=max_h);
            let krate = Crate::random(Rect::new(x, x + w, z, z + h), rng.random_range(80.0..bay.width - 10.0), rng);
            if !p.paint_within(bay.budget_kg, |p| krate.paint(p)) {
                break;
            }
            count += 1;
            z += h;
            max_h = (bay.ceiling - z).min(120.0);
            if !rng.random_bool(0.35) {
                break;
            }
        }
        x += w + rng.random_range(5.0..30.0);
    }
    count
}

/// A crated machine: skids, plank walls and an assembly of steel parts.
struct Crate {
    outer: Rect,
    depth: f32,
    parts: Vec<Part>,
}

enum Part {
    Block(Rect, f32, Bulk),
    /// A shaft or roll along x: centre height, span, radius.
    Shaft(f32, (f32, f32), f32),
    /// A housing, rotor, pulley or flange seen along its axis: centre, radii, length, bulk.
    Disc(Point, (f32, f32), f32, Bulk),
    /// A gear: outline and width.
    Gear(Vec<Point>, f32),
}

impl Crate {
    const SKIDS: f32 = 10.0;
    const PLANKS: Wall = Wall { t: 2.0, bulk: WOOD, faced: true };

    fn random<R: Rng>(outer: Rect, depth: f32, rng: &mut R) -> Self {
        let inner = Rect { z0: outer.z0 + Self::SKIDS, ..outer }.inset(Self::PLANKS.t + 2.0);
        let d = depth - 8.0;
        let base_h = rng.random_range(4.0..10.0);
        let mut parts = vec![Part::Block(
            Rect { z1: inner.z0 + base_h, ..inner.inset(2.0) },
            d * 0.7,
            STEEL.times(rng.random_range(0.35..0.6)),
        )];
        let body = Rect { z0: inner.z0 + base_h, ..inner };
        for _ in 0..rng.random_range(1..=3) {
            let size = rng.random_range(0.3..0.9) * body.w().min(body.h());
            let (cx, cz) = (rng.random_range(body.x0 + size / 2.0..=body.x1 - size / 2.0), body.z0 + size / 2.0);
            if rng.random_bool(0.5) {
                // A cast housing, hollow, with a rotor of copper windings inside.
                let r = size / 2.0;
                let hollow = rng.random_range(0.55..0.8) * r;
                parts.push(Part::Disc((cx, cz), (r, hollow), d * rng.random_range(0.3..0.6), STEEL.times(0.9)));
                parts.push(Part::Disc((cx, cz), (hollow * 0.8, 0.0), d * 0.3, Bulk::new(Material::Copper, 3.0)));
            } else {
                let top = (body.z0 + size * rng.random_range(0.5..1.2)).min(body.z1);
                let r = Rect::new(cx - size / 2.0, cx + size / 2.0, body.z0, top);
                parts.push(Part::Block(r, d * rng.random_range(0.3..0.7), STEEL.times(rng.random_range(0.25..0.5))));
            }
        }
        for _ in 0..rng.random_range(0..=2) {
            let r = rng.random_range(2.0..6.0);
            let len = rng.random_range(30.0..=body.w().max(31.0)).min(body.w());
            let x0 = rng.random_range(body.x0..=body.x1 - len);
            parts.push(Part::Shaft(rng.random_range(body.z0 + r..body.z1 - r), (x0, x0 + len), r));
        }
        for _ in 0..rng.random_range(0..=2) {
            let r = rng.random_range(8.0..25.0_f32).min(body.h() / 2.0).min(body.w() / 2.0);
            let c = (rng.random_range(body.x0 + r..=body.x1 - r), rng.random_range(body.z0 + r..=body.z1 - r));
            parts.push(Part::Gear(gear(c, r, rng.random_range(12..40)), rng.random_range(3.0..10.0)));
        }
        Self { outer, depth, parts }
    }

    fn paint(&self, p: &mut Painter<'_>) {
        let o = self.outer;
        p.block(Rect { z1: o.z0 + Self::SKIDS, ..o }, 2.0 * 10.0, WOOD);
        walls(p, Rect { z0: o.z0 + Self::SKIDS, ..o }, self.depth, 1.0, Self::PLANKS);
        for part in &self.parts {
            match *part {
                Part::Block(r, depth, bulk) => p.block(r, depth, bulk),
                Part::Shaft(z, span, r) => p.cylinder(Axis::X, z, span, (r, 0.0), 1.0, STEEL),
                Part::Disc(c, radii, len, bulk) => p.ring(c, radii, len, bulk),
                Part::Gear(ref outline, width) => p.polygon(outline, width, STEEL),
            }
        }
    }
}

/// A spur gear's outline: `teeth` teeth of module ≈ r / teeth.
fn gear(c: Point, r: f32, teeth: u32) -> Vec<Point> {
    let tooth = 2.2 * r / teeth as f32;
    (0..teeth * 4)
        .map(|i| {
            let a = i as f32 * PI / (2 * teeth) as f32;
            let rr = if i % 4 < 2 { r } else { r - tooth };
            (c.0 + rr * a.cos(), c.1 + rr * a.sin())
        })
        .collect()
}
