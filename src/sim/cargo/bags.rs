//! Foodstuffs: 25–50 kg bags of grain or sugar in a brick pattern, or cartons of packets or cans.

use std::f32::consts::FRAC_PI_2;

use rand::Rng;

use super::paint::{Bulk, Painter, Point, Rect, STEEL};
use super::stow::{Bay, Cartons, pallet_layers, stow_cartons};
use crate::sim::canvas::Axis;
use crate::sim::materials::Material;

pub fn foodstuffs<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.65) { bags(p, bay, rng) } else { cartons(p, bay, rng) }
}

/// Bags lie flat, floor-loaded to the payload, each layer shifted half a bag over the one below;
/// their filled ends round off, leaving voids between the bags. The rows further along the beam
/// are not aligned with the near ones, which softens the voids in projection.
fn bags<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    // A 50 kg bag is ≈ 90 × 55 × 15 cm, a 25 kg one ≈ 70 × 45 × 12; either side may face the beam.
    let (long, short, thick) = if rng.random_bool(0.6) { (90.0, 55.0, 15.0) } else { (70.0, 45.0, 12.0) };
    let scale = rng.random_range(0.93..1.07);
    let (w, d) = if rng.random_bool(0.5) && long * scale <= bay.len() {
        (long * scale, short * scale)
    } else {
        (short * scale, long * scale)
    };
    let h = thick * rng.random_range(0.9..1.1);
    let n = (bay.width / d).floor();
    let grain = Bulk::new(Material::Grain, rng.random_range(0.75..0.85));
    // Near and far halves of the rows along the beam.
    let depth = n * d * 0.95 / 2.0;
    let bag = |x: f32, z: f32| rounded(Rect::new(x, x + w - 1.0, z, z + h), 0.45 * h);
    let mut one = Painter::dry();
    one.polygon(&bag(0.0, 0.0), depth, grain);
    let affordable = (bay.budget_kg / one.kg()) as usize;
    let layers = ((bay.height() / h).floor() as usize).max(1);
    let far_shift = rng.random_range(0.2..0.8) * w;
    let mut placed = 0;
    'stack: for layer in 0..layers {
        let z = bay.floor + layer as f32 * h;
        let brick = if layer % 2 == 1 { w / 2.0 } else { 0.0 };
        for shift in [brick, (brick + far_shift) % w] {
            for i in 0..((bay.len() - shift) / w).floor() as usize {
                if placed == affordable {
                    break 'stack;
                }
                p.polygon(&bag(bay.x0 + shift + i as f32 * w + rng.random_range(0.0..1.0), z), depth, grain);
                placed += 1;
            }
        }
    }
    (placed as f32 * n / 2.0).round() as u32
}

/// A rectangle with quarter-circle corners of radius `r`.
fn rounded(b: Rect, r: f32) -> Vec<Point> {
    let corners = [(b.x1 - r, b.z1 - r), (b.x0 + r, b.z1 - r), (b.x0 + r, b.z0 + r), (b.x1 - r, b.z0 + r)];
    corners
        .iter()
        .enumerate()
        .flat_map(|(k, &(cx, cz))| {
            (0..=3).map(move |i| {
                let a = (k as f32 + i as f32 / 3.0) * FRAC_PI_2;
                (cx + r * a.cos(), cz + r * a.sin())
            })
        })
        .collect()
}

/// Cartons of consumer packets (pasta, biscuits) in rows, or of tins.
fn cartons<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let (w, h) = (rng.random_range(30.0..45.0), rng.random_range(20.0..30.0));
    let spec = Cartons {
        w,
        h,
        d: rng.random_range(25.0..40.0),
        pallet: rng.random_bool(0.6).then(|| (((115.0 / w) as u32).max(1), pallet_layers(bay, h, rng))),
        gap: rng.random_range(0.5..4.0),
    };
    let stowed = if rng.random_bool(0.5) {
        let rows = rng.random_range(2..=4);
        let food = Bulk::new(Material::Grain, rng.random_range(0.3..0.5));
        stow_cartons(p, bay, spec, rng, |p, inside, _| {
            let r = inside.r;
            let row = r.h() / rows as f32;
            for k in 0..rows {
                let z = r.z0 + k as f32 * row;
                p.block(Rect::new(r.x0 + 0.5, r.x1 - 0.5, z + 0.4, z + row - 0.4), inside.depth * 0.95, food);
            }
        })
    } else {
        // Tinplate cans of food in water or sauce, standing in layers.
        let (can_r, can_h) = (rng.random_range(3.2..4.3), rng.random_range(7.0..12.0));
        let contents = Bulk::new(Material::Water, rng.random_range(0.95..1.1));
        stow_cartons(p, bay, spec, rng, |p, inside, _| {
            let r = inside.r;
            let (nx, nz) = ((r.w() / (2.0 * can_r)).floor(), (r.h() / can_h).floor());
            let behind = (inside.depth / (2.0 * can_r)).floor();
            for i in 0..nx as usize {
                let xc = r.x0 + (i as f32 + 0.5) * 2.0 * can_r;
                for j in 0..nz as usize {
                    let z = r.z0 + j as f32 * can_h;
                    p.cylinder(Axis::Z, xc, (z, z + can_h), (can_r, can_r - 0.02), behind, STEEL);
                    p.cylinder(Axis::Z, xc, (z + 0.3, z + can_h - 0.8), (can_r - 0.02, 0.0), behind, contents);
                }
            }
        })
    };
    stowed.cartons
}
