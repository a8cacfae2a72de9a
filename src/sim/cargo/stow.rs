//! Stowage shared by the categories: the bay a load fills, unit loads spread within the payload,
//! pallets and the walls of cartons and crates.

use rand::Rng;

use super::paint::{Bulk, CARDBOARD, Painter, Rect, WOOD};

/// The part of a hold one load fills, and what it may weigh.
#[derive(Debug, Clone, Copy)]
pub struct Bay {
    pub x0: f32,
    pub x1: f32,
    pub floor: f32,
    /// Top of the load the requested fill allows.
    pub top: f32,
    /// Highest any goods can reach: the ceiling less handling clearance.
    pub ceiling: f32,
    /// Extent along the beam.
    pub width: f32,
    pub budget_kg: f64,
}

impl Bay {
    /// A region packed to the top with `depth` cm of goods along the beam, whatever they weigh.
    pub fn region(r: Rect, depth: f32) -> Self {
        Self { x0: r.x0, x1: r.x1, floor: r.z0, top: r.z1, ceiling: r.z1, width: depth, budget_kg: f64::INFINITY }
    }

    pub fn len(&self) -> f32 {
        self.x1 - self.x0
    }

    pub fn height(&self) -> f32 {
        self.top - self.floor
    }

    pub fn headroom(&self) -> f32 {
        self.ceiling - self.floor
    }
}

/// Places unit loads of `w × h` (pallet loads, crates, drums, reels) in columns along the bay,
/// bottom-up in tiers to the bay's top (at least one tier if it fits under the ceiling), with at
/// least `gap` between columns. Weight-limited loads get only as many units as the budget allows
/// and spread them evenly, as stevedores do to keep the weight distributed.
fn slots<R: Rng>(bay: &Bay, w: f32, h: f32, gap: f32, unit_kg: f64, rng: &mut R) -> Vec<Rect> {
    let cols = ((bay.len() + gap) / (w + gap)).floor().max(0.0) as usize;
    let tiers = ((bay.height() / h).floor() as usize).max(usize::from(h <= bay.headroom()));
    let affordable = (bay.budget_kg / unit_kg.max(1e-9)).floor() as usize;
    let n = (cols * tiers).min(affordable);
    if n == 0 {
        return Vec::new();
    }
    let used = cols.min(n);
    let slack = bay.len() - used as f32 * w - (used - 1) as f32 * gap;
    // The slack goes to random gaps: spread evenly when the payload limits the load, mostly to the
    // door end when the load fills the bay.
    let door_end = if used < cols { 0.5 } else { 2.0 * used as f32 };
    let shares: Vec<f32> = (0..=used)
        .map(|i| {
            rng.random_range(0.3..1.0)
                * match i {
                    0 => 0.5,
                    i if i == used => door_end,
                    _ => 1.0,
                }
        })
        .collect();
    let total: f32 = shares.iter().sum();
    let (full, extra) = (n / used, n % used);
    let mut x = bay.x0;
    let mut out = Vec::with_capacity(n);
    for (c, share) in shares[..used].iter().enumerate() {
        x += slack * share / total + if c > 0 { gap } else { 0.0 };
        // The extra units of a partial top tier go to evenly spread columns.
        let stack = full + usize::from((c + 1) * extra / used > c * extra / used);
        out.extend((0..stack).map(|t| Rect::new(x, x + w, bay.floor + t as f32 * h, bay.floor + (t + 1) as f32 * h)));
        x += w;
    }
    out
}

/// Carton layers per pallet load so that tiers of loads 1.2–1.8 m high fill the bay's height.
pub fn pallet_layers<R: Rng>(bay: &Bay, carton_h: f32, rng: &mut R) -> u32 {
    let tiers = (bay.height() / rng.random_range(120.0..180.0)).ceil();
    (((bay.height() / tiers - PALLET_H) / carton_h).floor() as u32).max(1)
}

/// Height of a wooden pallet.
pub const PALLET_H: f32 = 14.4;

/// Wooden pallets under a unit load, `across` cm of them along the beam; returns the deck top.
pub fn pallet(p: &mut Painter<'_>, x0: f32, x1: f32, z: f32, across: f32) -> f32 {
    // Bottom boards, three rows of blocks and the top deck, at the wood fractions of a EUR pallet.
    p.block(Rect::new(x0, x1, z, z + 2.2), across * 0.45, WOOD);
    let block = 14.0_f32.min((x1 - x0) / 3.0);
    for i in 0..3 {
        let bx = x0 + (x1 - x0 - block) * i as f32 / 2.0;
        p.block(Rect::new(bx, bx + block, z + 2.2, z + 10.0), across * 0.45, WOOD);
    }
    p.block(Rect::new(x0, x1, z + 10.0, z + PALLET_H), across * 0.55, WOOD);
    z + PALLET_H
}

/// The walls of boxes, crates or frames: `t` cm of `bulk`; `faced` boxes are closed on the two
/// sides the beam crosses, frames only have the edges.
#[derive(Debug, Clone, Copy)]
pub struct Wall {
    pub t: f32,
    pub bulk: Bulk,
    pub faced: bool,
}

const CARTON: Wall = Wall { t: 0.5, bulk: CARDBOARD, faced: true };

/// The inside of `n` like boxes one behind the other along the beam, `depth` cm of goods in all.
#[derive(Debug, Clone, Copy)]
pub struct Inside {
    pub r: Rect,
    pub depth: f32,
    pub n: f32,
}

/// Paints the walls of `n` boxes one behind the other filling `r` with `depth` cm along the
/// beam: the walls along the beam are seen edge-on as the outline, those across it cover the
/// face. Returns the inside.
pub fn walls(p: &mut Painter<'_>, r: Rect, depth: f32, n: f32, wall: Wall) -> Inside {
    let inner = r.inset(wall.t);
    p.block(Rect { z1: inner.z0, ..r }, depth, wall.bulk);
    p.block(Rect { z0: inner.z1, ..r }, depth, wall.bulk);
    p.block(Rect { x0: r.x0, x1: inner.x0, ..inner }, depth, wall.bulk);
    p.block(Rect { x0: inner.x1, x1: r.x1, ..inner }, depth, wall.bulk);
    let faces = if wall.faced { 2.0 * n * wall.t } else { 0.0 };
    p.block(inner, faces, wall.bulk);
    Inside { r: inner, depth: depth - faces, n }
}

/// Cartons `w × h` in the image and `d` deep, as many one behind the other as the bay's width
/// takes; floor-loaded in columns, or as pallet loads of `pallet.0` along x × `pallet.1` layers.
#[derive(Debug, Clone, Copy)]
pub struct Cartons {
    pub w: f32,
    pub h: f32,
    pub d: f32,
    pub pallet: Option<(u32, u32)>,
    pub gap: f32,
}

/// What a carton stowage placed.
#[derive(Debug, Clone, Copy)]
pub struct Stowed {
    pub cartons: u32,
    /// Pallets (across the beam included), or stacks of cartons when floor-loaded.
    pub loads: u32,
}

/// Stows cartons in the bay; `contents` fills the inside of each.
pub fn stow_cartons<R: Rng>(
    p: &mut Painter<'_>,
    bay: &Bay,
    spec: Cartons,
    rng: &mut R,
    mut contents: impl FnMut(&mut Painter<'_>, Inside, &mut R),
) -> Stowed {
    let n = (bay.width / spec.d).floor().max(1.0);
    let depth = n * spec.d;
    // A pallet load narrower than usual where the bay is short.
    let (nx, nz) = spec.pallet.map_or((1, 1), |(nx, nz)| (nx.min((bay.len() / spec.w) as u32).max(1), nz));
    let lift = if spec.pallet.is_some() { PALLET_H } else { 0.0 };
    let size = (spec.w * nx as f32, spec.h * nz as f32 + lift);
    let loads = stow_units(p, bay, size, spec.gap, rng, |p, u, rng| {
        let z = if spec.pallet.is_some() { pallet(p, u.x0, u.x1, u.z0, depth) } else { u.z0 };
        for i in 0..nx {
            for j in 0..nz {
                let (x, zj) = (u.x0 + i as f32 * spec.w, z + j as f32 * spec.h);
                let inside = walls(p, Rect::new(x, x + spec.w, zj, zj + spec.h), depth, n, CARTON);
                contents(p, inside, rng);
            }
        }
    });
    let pallets_across = if spec.pallet.is_some() { (depth / 110.0).round().max(1.0) as u32 } else { 1 };
    Stowed { cartons: loads * nx * nz * n as u32, loads: loads * pallets_across }
}

/// Stows unit loads of `w × h` painted by `unit` into [`slots`], weighing one first; returns
/// how many were placed. Units that vary at random may outweigh the one weighed, so painting
/// also stops where the next unit would exceed the budget.
pub fn stow_units<R: Rng>(
    p: &mut Painter<'_>,
    bay: &Bay,
    (w, h): (f32, f32),
    gap: f32,
    rng: &mut R,
    mut unit: impl FnMut(&mut Painter<'_>, Rect, &mut R),
) -> u32 {
    let mut one = Painter::dry();
    unit(&mut one, Rect::new(bay.x0, bay.x0 + w, bay.floor, bay.floor + h), rng);
    let unit_kg = one.kg();
    let mut placed = 0;
    for u in slots(bay, w, h, gap, unit_kg, rng) {
        if p.kg() + unit_kg > bay.budget_kg {
            break;
        }
        unit(p, u, rng);
        placed += 1;
    }
    placed
}
