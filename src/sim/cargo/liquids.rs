//! Liquids: bottles in cartons on pallets, steel drums, and IBCs in steel cages.

use rand::Rng;

use super::paint::{BOARD, Bulk, GLASS, Painter, Rect, STEEL};
use super::stow::{Bay, Cartons, PALLET_H, Wall, pallet, stow_cartons, stow_units, walls};
use crate::sim::canvas::Axis;
use crate::sim::materials::Material;

/// Cartons of bottles standing in rows, on pallets a few layers high: weight-limited.
pub fn bottled<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let bottle = Bottle::random(rng);
    let (per_x, per_d) = (rng.random_range(3..=4), rng.random_range(3..=4));
    let pitch = 2.0 * bottle.r;
    let w = per_x as f32 * pitch + 1.0;
    let spec = Cartons {
        w,
        h: bottle.h + 2.0,
        d: per_d as f32 * pitch + 1.0,
        pallet: Some((((115.0 / w).floor() as u32).max(1), rng.random_range(3..=5))),
        gap: rng.random_range(3.0..10.0),
    };
    let stowed = stow_cartons(p, bay, spec, rng, |p, inside, _| {
        let r = inside.r;
        let behind = (inside.depth / pitch).floor();
        for i in 0..per_x {
            let x = r.x0 + i as f32 * r.w() / per_x as f32;
            bottle.paint(p, x + 0.5 * r.w() / per_x as f32, r.z0, behind);
            if i > 0 {
                // Cardboard dividers between the bottles.
                p.block(Rect::new(x - 0.05, x + 0.05, r.z0, r.z0 + 0.7 * r.h()), inside.depth, BOARD.times(0.5));
            }
        }
    });
    stowed.cartons
}

struct Bottle {
    r: f32,
    h: f32,
    wall: f32,
    shell: Bulk,
    liquid: Bulk,
    fill: f32,
}

impl Bottle {
    fn random<R: Rng>(rng: &mut R) -> Self {
        let s = rng.random_range(0.95..1.05);
        let wine = Bulk::new(Material::Water, 0.99);
        // Wine, beer, spirits in glass, or water in PET.
        let (r, h, wall, shell, liquid) = match rng.random_range(0..4) {
            0 => (3.7, 30.0, 0.3, GLASS, wine),
            1 => (3.1, 23.0, 0.25, GLASS, Bulk::new(Material::Water, 1.01)),
            2 => (4.0, 28.0, 0.4, GLASS, Bulk::new(Material::Water, 0.95)),
            _ => (4.3, 32.0, 0.03, Bulk::new(Material::Plastic, 1.38), Bulk::new(Material::Water, 1.0)),
        };
        Self { r: r * s, h: h * s, wall, shell, liquid, fill: rng.random_range(0.8..0.9) }
    }

    /// `n` bottles one behind the other, standing at `(xc, z0)`: body, shoulder, neck, liquid.
    fn paint(&self, p: &mut Painter<'_>, xc: f32, z0: f32, n: f32) {
        const BASE: f32 = 0.5;
        let (r, t) = (self.r, self.wall);
        let neck = 1.4_f32.max(0.4 * r);
        let mid = (r + neck) / 2.0;
        let (body, shoulder, top) = (z0 + 0.62 * self.h, z0 + 0.74 * self.h, z0 + self.h);
        // The base is spread over a pixel row so that its rasterised mass stays right.
        p.cylinder(Axis::Z, xc, (z0, z0 + BASE), (r, 0.0), n, self.shell.times(t / BASE));
        p.cylinder(Axis::Z, xc, (z0 + BASE, body), (r, r - t), n, self.shell);
        p.cylinder(Axis::Z, xc, (body, shoulder), (mid, mid - t), n, self.shell);
        p.cylinder(Axis::Z, xc, (shoulder, top), (neck, neck - t), n, self.shell);
        let level = z0 + BASE + self.fill * (shoulder - z0 - BASE);
        p.cylinder(Axis::Z, xc, (z0 + BASE, level.min(body)), (r - t, 0.0), n, self.liquid);
        p.cylinder(Axis::Z, xc, (body, level), (mid - t, 0.0), n, self.liquid);
    }
}

pub fn drums<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    // Aqueous solutions, or oils and solvents.
    let contents = if rng.random_bool(0.5) {
        Bulk::new(Material::Water, rng.random_range(1.0..1.2))
    } else {
        Bulk::new(Material::Plastic, rng.random_range(0.8..0.95))
    };
    let fill = rng.random_range(0.88..0.95);
    if rng.random_bool(0.7) || bay.len() < 125.0 {
        steel_drums(p, bay, contents, fill, rng)
    } else {
        ibcs(p, bay, contents, fill, rng)
    }
}

/// 200 L drums standing four across the width, two per pallet along x (or floor-loaded).
fn steel_drums<R: Rng>(p: &mut Painter<'_>, bay: &Bay, contents: Bulk, fill: f32, rng: &mut R) -> u32 {
    const R: f32 = 29.0;
    const H: f32 = 88.0;
    const WALL: f32 = 0.12;
    let pitch = 2.0 * R + 1.0;
    let n = (bay.width / pitch).floor();
    let palletised = rng.random_bool(0.7) && bay.len() >= 2.0 * pitch;
    let per = if palletised { 2 } else { 1 };
    let size = (per as f32 * pitch, H + 1.0 + if palletised { PALLET_H } else { 0.0 });
    let units = stow_units(p, bay, size, rng.random_range(2.0..10.0), rng, |p, u, _| {
        let z = if palletised { pallet(p, u.x0, u.x1, u.z0, n * pitch) } else { u.z0 };
        for k in 0..per {
            let xc = u.x0 + (k as f32 + 0.5) * pitch;
            p.cylinder(Axis::Z, xc, (z, z + H), (R, R - WALL), n, STEEL);
            // Heads spread over a pixel row, and the two rolling hoops.
            for zh in [z, z + H - 0.5] {
                p.cylinder(Axis::Z, xc, (zh, zh + 0.5), (R - WALL, 0.0), n, STEEL.times(WALL / 0.5));
            }
            for zr in [z + H / 3.0, z + 2.0 * H / 3.0] {
                p.cylinder(Axis::Z, xc, (zr - 0.75, zr + 0.75), (R + 0.5, R), n, STEEL.times(0.3));
            }
            p.cylinder(Axis::Z, xc, (z + 0.5, z + 0.5 + fill * (H - 1.0)), (R - WALL, 0.0), n, contents);
        }
    });
    units * per * n as u32
}

/// 1000 L intermediate bulk containers: a plastic bottle in a galvanised tube cage on a pallet,
/// two across the width.
fn ibcs<R: Rng>(p: &mut Painter<'_>, bay: &Bay, liquid: Bulk, fill: f32, rng: &mut R) -> u32 {
    const BOTTLE: Wall = Wall { t: 0.2, bulk: Bulk::solid(Material::Plastic), faced: true };
    let n = (bay.width / 102.0).floor();
    let units = stow_units(p, bay, (120.0, 116.0), rng.random_range(2.0..8.0), rng, |p, u, _| {
        let cage = Rect { z0: pallet(p, u.x0, u.x1, u.z0, n * 100.0), ..u };
        let tank = walls(p, cage.inset(2.0), n * 96.0, n, BOTTLE);
        p.block(Rect { z1: tank.r.z0 + fill * tank.r.h(), ..tank.r }, tank.depth, liquid);
        // The cage's tubes on the two faces across the beam: a grid over the tank.
        for i in 0..=6 {
            let x = cage.x0 + 1.0 + i as f32 * (cage.w() - 2.0) / 6.0;
            p.cylinder(Axis::Z, x, (cage.z0, cage.z1), (1.0, 0.85), 2.0 * n, STEEL);
        }
        for j in 0..=5 {
            let z = cage.z0 + 1.0 + j as f32 * (cage.h() - 2.0) / 5.0;
            p.cylinder(Axis::X, z, (cage.x0, cage.x1), (1.0, 0.85), 2.0 * n, STEEL);
        }
    });
    units * n as u32
}
