//! Round goods: tyres (stacked flat or standing in rows) and paper (reels on end, or reams).

use rand::Rng;

use super::paint::{BOARD, Bulk, Painter, RUBBER, Rect};
use super::stow::{Bay, Cartons, Inside, stow_cartons, stow_units};
use crate::sim::canvas::Axis;
use crate::sim::materials::Material;

pub fn tyres<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    // Car and van tyres, or now and then truck tyres.
    let tyre = if rng.random_bool(0.8) {
        let r = rng.random_range(28.0..38.0_f32).min(bay.len() / 2.0);
        Tyre { r, bead: r * rng.random_range(0.58..0.68), w: rng.random_range(16.0..28.0) }
    } else {
        let r = rng.random_range(48.0..55.0_f32).min(bay.len() / 2.0);
        Tyre { r, bead: r * rng.random_range(0.5..0.58), w: rng.random_range(28.0..32.0) }
    };
    let gap = rng.random_range(1.0..6.0);
    if rng.random_bool(0.6) {
        // Stacks of tyres lying flat, as many stacks across the width as fit.
        let n = (bay.width / (2.0 * tyre.r + 2.0)).floor();
        stow_units(p, bay, (2.0 * tyre.r, tyre.w), gap, rng, |p, u, _| tyre.flat(p, u, n)) * n as u32
    } else {
        // Standing in rows across the width, rows stacked on one another.
        let n = (bay.width / (tyre.w + 1.0)).floor();
        let size = (2.0 * tyre.r, 2.0 * tyre.r);
        stow_units(p, bay, size, gap, rng, |p, u, _| tyre.standing(p, u, n)) * n as u32
    }
}

/// A tyre: outer and bead radii and section width, cm.
struct Tyre {
    r: f32,
    bead: f32,
    w: f32,
}

impl Tyre {
    /// Tread rubber thickness and steel belt (two plies of cord, ≈ 0.1 cm of steel spread over
    /// 0.5 cm so that the rasterised ring keeps its mass).
    const TREAD: f32 = 1.2;
    const BELT: Bulk = Bulk::new(Material::Steel, 7.85 * 0.2);
    /// Bead wire bundles.
    const BEADS: Bulk = Bulk::new(Material::Steel, 7.85 * 0.5);

    /// `n` tyres lying flat one behind the other in `u`: the tread is a thin vertical band round
    /// the outside, the sidewalls are annuli at top and bottom.
    fn flat(&self, p: &mut Painter<'_>, u: Rect, n: f32) {
        let (xc, r, b, t) = (u.x0 + self.r, self.r, self.bead, Self::TREAD);
        let (z0, z1) = (u.z0, u.z1);
        p.cylinder(Axis::Z, xc, (z0 + t, z1 - t), (r, r - t), n, RUBBER);
        p.cylinder(Axis::Z, xc, (z0 + 2.0, z1 - 2.0), (r - t, r - t - 0.5), n, Self::BELT);
        for z in [z0, z1 - t] {
            p.cylinder(Axis::Z, xc, (z, z + t), (r, b), n, RUBBER.times(0.8));
        }
        for z in [z0 + t, z1 - t - 1.5] {
            p.cylinder(Axis::Z, xc, (z, z + 1.5), (b + 1.0, b), n, Self::BEADS);
        }
    }

    /// `n` tyres standing one behind the other in `u`, seen face-on: sidewalls as a ring, the
    /// tread and belt as an outer ring as deep as the section, bead wires at the rim seat.
    fn standing(&self, p: &mut Painter<'_>, u: Rect, n: f32) {
        let (c, r, b, t) = ((u.x0 + self.r, u.z0 + self.r), self.r, self.bead, Self::TREAD);
        p.ring(c, (r, b), 2.0 * t * 0.8 * n, RUBBER);
        p.ring(c, (r, r - t), (self.w - 2.0 * t) * n, RUBBER);
        p.ring(c, (r - t, r - t - 0.5), (self.w - 4.0) * n, Self::BELT);
        p.ring(c, (b + 1.0, b), 3.0 * n, Self::BEADS);
    }
}

pub fn paper<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.6) { reels(p, bay, rng) } else { reams(p, bay, rng) }
}

/// Reels standing on end, two or three across the width, one or two high: dense rounded columns.
fn reels<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let r = rng.random_range(40.0..65.0_f32).min(bay.len() / 2.0);
    let h = rng.random_range(70.0..160.0_f32).min(bay.headroom());
    let core = if rng.random_bool(0.6) { 3.8 } else { 7.6 };
    let n = (bay.width / (2.0 * r + 2.0)).floor().max(1.0);
    let paper = Bulk::new(Material::Paper, rng.random_range(0.7..0.8));
    let reels = stow_units(p, bay, (2.0 * r, h), rng.random_range(2.0..10.0), rng, |p, u, _| {
        // A reel stacked on another leaves a thin gap at the wrapped edges.
        let (xc, span) = (u.x0 + r, (u.z0, u.z1 - 1.0));
        p.cylinder(Axis::Z, xc, span, (r, core + 1.2), n, paper);
        p.cylinder(Axis::Z, xc, span, (core + 1.2, core), n, BOARD);
    });
    reels * n as u32
}

/// Boxes of five reams of copy paper on pallets; the ream wrappers make faint lines.
fn reams<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    const REAM: f32 = 5.0;
    let (w, d) = if rng.random_bool(0.5) { (30.5, 22.0) } else { (22.0, 30.5) };
    let h = 5.0 * REAM + 1.5;
    let spec = Cartons {
        w,
        h,
        d,
        pallet: Some(((110.0 / w) as u32, (rng.random_range(90.0..130.0) / h) as u32)),
        gap: rng.random_range(5.0..25.0),
    };
    let sheets = Bulk::new(Material::Paper, rng.random_range(0.76..0.82));
    let stowed = stow_cartons(p, bay, spec, rng, |p, inside: Inside, _| {
        let r = inside.r;
        for k in 0..5 {
            let z = r.z0 + k as f32 * REAM;
            p.block(Rect { z0: z, z1: z + REAM - 0.2, ..r }, inside.depth, sheets);
        }
    });
    stowed.loads
}
