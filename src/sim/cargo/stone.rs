//! Ceramics, glass and stone: low, heavy pallets of tile boxes, or glass sheets and stone slabs
//! leaning on A-frames.

use rand::Rng;

use super::paint::{Bulk, GLASS, Painter, Point, Rect, STEEL};
use super::stow::{Bay, Cartons, stow_cartons};
use crate::sim::materials::Material;

pub fn ceramics<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.6) { tiles(p, bay, rng) } else { a_frames(p, bay, rng) }
}

/// Boxes of tiles lying flat, stacked on pallets so heavy that a few low stacks reach the payload.
fn tiles<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let size = [30.0, 33.0, 45.0, 60.0][rng.random_range(0..4)] + 1.0;
    let per_box = rng.random_range(4..=10);
    let h = per_box as f32 * rng.random_range(0.8..1.0) + 1.0;
    let spec = Cartons {
        w: size,
        h,
        d: size,
        pallet: Some((((115.0 / size).round() as u32).max(1), (rng.random_range(50.0..90.0) / h) as u32)),
        gap: rng.random_range(5.0..15.0),
    };
    let stone = Bulk::new(Material::Stone, rng.random_range(2.0..2.2));
    stow_cartons(p, bay, spec, rng, |p, inside, _| p.block(inside.r, inside.depth, stone)).loads
}

/// Packs of glass sheets or stone slabs, as wide as the container allows along the beam, lean
/// on both sides of steel A-frames: seen edge-on they are inclined, nearly opaque bands. The
/// pack thickness is what the payload allows.
fn a_frames<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let glass = rng.random_bool(0.5);
    // Glass packs are solid; slabs 2–3 cm thick stand on 1 cm spacers.
    let (bulk, slab, spacer) =
        if glass { (GLASS, 0.0, 0.0) } else { (Bulk::new(Material::Stone, 2.7), rng.random_range(2.0..3.0), 1.0) };
    let solid = if glass { 1.0 } else { slab / (slab + spacer) };
    let height = rng.random_range(150.0..220.0_f32).min(bay.headroom() - 20.0);
    let across = rng.random_range(150.0..225.0_f32).min(bay.width - 10.0);
    let lean = rng.random_range(4.0..8.0_f32).to_radians();
    let (hs, hc) = (height * lean.sin(), height * lean.cos());
    let mut frames = (bay.len() / (2.0 * hs + 100.0)).floor();
    let pack_kg = |thick: f32| f64::from(thick * height * across * bulk.density * solid) / 1000.0;
    let mut thick = 0.0;
    while frames >= 1.0 {
        thick = ((bay.budget_kg * 0.9 / f64::from(2.0 * frames) / pack_kg(1.0)) as f32).min(30.0);
        if thick >= 6.0 {
            break;
        }
        frames -= 1.0;
    }
    if frames < 1.0 {
        // Too short a span or too little payload for a frame.
        return tiles(p, bay, rng);
    }
    let mut pieces = 0;
    for i in 0..frames as usize {
        let xc = bay.x0 + bay.len() * (i as f32 + 0.5) / frames;
        let base = bay.floor + 12.0;
        // The frame: a base of channels and several A-trusses across the beam.
        let foot = hs + thick + 15.0;
        p.block(Rect::new(xc - foot, xc + foot, bay.floor, base), 6.0, STEEL);
        for side in [-1.0, 1.0] {
            let (bottom, apex) = ((xc + side * hs, base), (xc, base + hc));
            p.bar(bottom, apex, 6.0, 4.0, STEEL);
            // Packs lean on the leg from outside; slabs are drawn one by one with their spacers.
            let normal = (side * lean.cos(), lean.sin());
            let offset = |pt: Point, o: f32| (pt.0 + normal.0 * o, pt.1 + normal.1 * o);
            if glass {
                let (a, b) = (offset(bottom, 3.0 + thick / 2.0), offset(apex, 3.0 + thick / 2.0));
                p.bar(a, b, thick, across, bulk);
                pieces += 1;
            } else {
                let mut o = 3.0 + slab / 2.0;
                while o + slab / 2.0 <= 3.0 + thick {
                    p.bar(offset(bottom, o), offset(apex, o), slab, across, bulk);
                    o += slab + spacer;
                    pieces += 1;
                }
            }
        }
    }
    if glass { frames as u32 } else { pieces }
}
