//! Wood: packages of sawn timber lying along the container, or flat-pack furniture cartons.

use rand::Rng;

use super::paint::{Bulk, FOAM, Painter, Rect, STEEL};
use super::stow::{Bay, Cartons, stow_cartons, stow_units};
use crate::sim::materials::Material;

pub fn wood_furniture<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.55) { timber(p, bay, rng) } else { flat_pack(p, bay, rng) }
}

/// Packages of boards along x, two side by side across the width, on bearers: layers of boards
/// seen end-on as dark bands, with stickers (spacers for drying) as dots in the gaps between.
fn timber<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    const BEARER: f32 = 8.0;
    const STICKER: f32 = 2.5;
    let wood = Bulk::new(Material::Cellulose, rng.random_range(0.42..0.7));
    let board = [2.5, 3.2, 3.8, 5.0, 7.5][rng.random_range(0..5)];
    let stickered = rng.random_bool(0.6);
    // Packages of about equal length fill the bay end to end, in two or three tiers.
    let along = (bay.len() / 600.0).ceil();
    let len = (bay.len() - 10.0 * along) / along;
    let height = rng.random_range(55.0..110.0_f32).min(bay.headroom());
    let across = 2.0 * rng.random_range(100.0..115.0_f32).min(bay.width / 2.0);
    let bundles = stow_units(p, bay, (len, height), 8.0, rng, |p, u, rng| {
        for f in [0.05, 0.5, 0.95] {
            let x = u.x0 + f * (u.w() - BEARER);
            p.block(Rect::new(x, x + BEARER, u.z0, u.z0 + BEARER), across, wood);
        }
        let count = ((u.w() / 80.0) as usize).max(2);
        let spacing = (u.w() - 10.0 - STICKER) / (count - 1) as f32;
        let stickers: Vec<f32> = (0..count).map(|i| u.x0 + 5.0 + i as f32 * spacing).collect();
        let mut z = u.z0 + BEARER;
        while z + board <= u.z1 {
            // Board ends are ragged, every layer a few cm shorter or longer, and boards of a layer
            // differ a little in thickness: faint lines between the layers.
            let (a, b) = (u.x0 + rng.random_range(0.0..4.0), u.x1 - rng.random_range(0.0..4.0));
            p.block(Rect::new(a, b, z, z + board - 0.3), across * 0.96, wood);
            z += board;
            if stickered && z + STICKER + board <= u.z1 {
                for &x in &stickers {
                    p.block(Rect::new(x, x + STICKER, z, z + STICKER), across, wood);
                }
                z += STICKER;
            }
        }
    });
    bundles * 2
}

/// Long flat cartons of particle-board panels with foam between, and a bag of fittings.
fn flat_pack<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let panel = Bulk::new(Material::Cellulose, rng.random_range(0.6..0.72));
    let thick = rng.random_range(1.5..2.0);
    let spec = Cartons {
        w: rng.random_range(80.0..200.0_f32).min(bay.len()),
        h: rng.random_range(10.0..25.0),
        d: rng.random_range(40.0..80.0),
        pallet: None,
        gap: rng.random_range(1.0..4.0),
    };
    let fittings = rng.random_range(0.1..0.9);
    let stowed = stow_cartons(p, bay, spec, rng, |p, inside, _| {
        let r = inside.r;
        p.block(r, inside.depth, FOAM);
        let step = thick + 0.8;
        let panels = ((r.h() - 0.5) / step).floor().clamp(1.0, 6.0) as usize;
        for k in 0..panels {
            let z = r.z0 + 0.5 + k as f32 * step;
            p.block(Rect::new(r.x0 + 1.0, r.x1 - 1.0, z, z + thick), inside.depth * 0.95, panel);
        }
        let x = r.x0 + fittings * (r.w() - 10.0);
        p.block(Rect::new(x, x + 10.0, r.z1 - 2.5, r.z1 - 0.5), 12.0 * inside.n, STEEL.times(0.3));
    });
    stowed.cartons
}
