//! Light goods that fill the container to the ceiling: textiles, footwear and tobacco.

use rand::Rng;

use super::paint::{BOARD, Bulk, Painter, Rect};
use super::stow::{Bay, Cartons, Inside, Wall, pallet_layers, stow_cartons, stow_units, walls};
use crate::sim::materials::Material;

pub fn textiles<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let fibre = if rng.random_bool(0.6) { Material::Cellulose } else { Material::Plastic };
    if rng.random_bool(0.5) {
        // Pressed bales (worn clothing, fabric): big and dense enough to be weight-limited.
        let w = rng.random_range(90.0..130.0_f32).min(bay.len());
        let (h, d) = (rng.random_range(50.0..80.0), rng.random_range(50.0..75.0));
        let n = (bay.width / d).floor();
        let bale = Bulk::new(fibre, rng.random_range(0.3..0.5));
        let bales = stow_units(p, bay, (w, h), rng.random_range(0.5..3.0), rng, |p, u, rng| {
            // Bales come out of the press a few cm uneven.
            let r = Rect::new(
                u.x0 + rng.random_range(0.0..2.0),
                u.x1 - rng.random_range(0.0..2.0),
                u.z0,
                u.z1 - rng.random_range(0.0..4.0),
            );
            layers(p, Inside { r, depth: n * d, n }, bale, rng);
        });
        bales * n as u32
    } else {
        // Folded garments in cartons.
        let garments = Bulk::new(fibre, rng.random_range(0.12..0.25));
        let spec = Cartons {
            w: rng.random_range(45.0..65.0),
            h: rng.random_range(30.0..45.0),
            d: rng.random_range(40.0..60.0),
            pallet: None,
            gap: rng.random_range(0.5..3.0),
        };
        stow_cartons(p, bay, spec, rng, |p, inside, rng| layers(p, inside, garments, rng)).cartons
    }
}

/// Soft goods pressed in layers whose packing varies a little: uniform, but not flat.
fn layers<R: Rng>(p: &mut Painter<'_>, inside: Inside, bulk: Bulk, rng: &mut R) {
    let r = inside.r;
    let n = rng.random_range(2..5);
    let mut z = r.z0;
    for i in 0..n {
        let z1 = if i + 1 == n { r.z1 } else { (z + r.h() / n as f32 * rng.random_range(0.7..1.3)).min(r.z1) };
        p.block(Rect { z0: z, z1, ..r }, inside.depth, bulk.times(rng.random_range(0.9..1.1)));
        z = z1;
    }
}

pub fn footwear<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    const SHOE_BOX: Wall = Wall { t: 0.15, bulk: Bulk::new(Material::Paper, 0.35), faced: true };
    // Master cartons of shoe boxes, 2 along x, 3–4 high and 2–3 along the beam.
    let (box_w, box_h, box_d) =
        (rng.random_range(30.0..36.0), rng.random_range(10.0..14.0), rng.random_range(18.0..22.0));
    let (nz, nd) = (rng.random_range(3..=4), rng.random_range(2..=3));
    // Rubber soles, or lighter EVA foam ones.
    let sole =
        if rng.random_bool(0.6) { Bulk::new(Material::Rubber, 0.55) } else { Bulk::new(Material::Plastic, 0.25) };
    let upper_material = if rng.random_bool(0.5) { Material::Cellulose } else { Material::Plastic };
    let upper = Bulk::new(upper_material, rng.random_range(0.04..0.08));
    let (sole_t, heel_h) = (rng.random_range(2.0..3.5), rng.random_range(1.0..4.0));
    let spec = Cartons {
        w: 2.0 * box_w + 1.0,
        h: nz as f32 * box_h + 1.0,
        d: nd as f32 * box_d + 1.0,
        pallet: rng.random_bool(0.3).then(|| (2, pallet_layers(bay, nz as f32 * box_h + 1.0, rng))),
        gap: rng.random_range(0.5..3.0),
    };
    let pair = |p: &mut Painter<'_>, cell: Rect, depth: f32, n: f32| {
        let shoes = walls(p, cell, depth, n, SHOE_BOX);
        let r = shoes.r;
        // Soles along the box bottom with a heel at each end (the shoes lie heel to toe) and the
        // light uppers above: a fine repeating pattern of bands.
        let across = shoes.depth * 0.75;
        p.block(Rect::new(r.x0 + 1.0, r.x1 - 1.0, r.z0, r.z0 + sole_t), across, sole);
        for x in [r.x0 + 1.0, r.x1 - 8.0] {
            p.block(Rect::new(x, x + 7.0, r.z0 + sole_t, r.z0 + sole_t + heel_h), across / 2.0, sole);
        }
        p.block(Rect::new(r.x0 + 1.0, r.x1 - 1.0, r.z0 + sole_t, r.z1 - 0.5), across, upper);
    };
    let stowed = stow_cartons(p, bay, spec, rng, |p, inside, _| {
        for i in 0..2 {
            for j in 0..nz {
                let (x, z) = (inside.r.x0 + i as f32 * box_w, inside.r.z0 + j as f32 * box_h);
                pair(p, Rect::new(x, x + box_w, z, z + box_h), inside.depth, inside.n * nd as f32);
            }
        }
    });
    stowed.cartons
}

pub fn tobacco<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let case = Case::random(rng);
    let pallet =
        rng.random_bool(0.4).then(|| (((110.0 / case.w).round() as u32).max(1), pallet_layers(bay, case.h, rng)));
    case.stow(p, bay, pallet, rng)
}

/// A master case of cigarettes: 50 cartons of 27.5 × 8.8 × 4.4 cm, 2 × 5 × 5.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    w: f32,
    h: f32,
    d: f32,
    nx: u32,
    nz: u32,
    leaf: Bulk,
}

impl Case {
    pub fn random<R: Rng>(rng: &mut R) -> Self {
        const CARTONS: [(f32, u32); 3] = [(27.5, 2), (8.8, 5), (4.4, 5)];
        const ORIENTATIONS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        let [ix, iz, iy] = ORIENTATIONS[rng.random_range(0..6)];
        // Brands differ by a few per cent.
        let scale = rng.random_range(0.95..1.05);
        let side = |i: usize| CARTONS[i].0 * CARTONS[i].1 as f32 * scale;
        Self {
            w: side(ix),
            h: side(iz),
            d: side(iy),
            nx: CARTONS[ix].1,
            nz: CARTONS[iz].1,
            leaf: Bulk::new(Material::TobaccoLeaf, rng.random_range(0.2..0.26)),
        }
    }

    fn fill(&self, p: &mut Painter<'_>, inside: Inside) {
        let r = inside.r;
        p.block(r, inside.depth, self.leaf);
        // The paperboard of neighbouring cartons seen edge-on: the fine regular grid of tobacco.
        for i in 1..self.nx {
            let x = r.x0 + r.w() * i as f32 / self.nx as f32;
            p.block(Rect::new(x - 0.04, x + 0.04, r.z0, r.z1), inside.depth, BOARD);
        }
        for j in 1..self.nz {
            let z = r.z0 + r.h() * j as f32 / self.nz as f32;
            p.block(Rect::new(r.x0, r.x1, z - 0.04, z + 0.04), inside.depth, BOARD);
        }
    }

    /// Stows cases tight in the bay, floor-loaded or on pallets; returns the number of cases.
    pub fn stow<R: Rng>(&self, p: &mut Painter<'_>, bay: &Bay, pallet: Option<(u32, u32)>, rng: &mut R) -> u32 {
        let spec = Cartons { w: self.w, h: self.h, d: self.d, pallet, gap: rng.random_range(0.2..1.0) };
        stow_cartons(p, bay, spec, rng, |p, inside, _| self.fill(p, inside)).cartons
    }
}
