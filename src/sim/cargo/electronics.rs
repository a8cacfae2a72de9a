//! Electronics: cartons of one product each, dense parts held in foam, or flat panels on edge.

use rand::Rng;

use super::paint::{ALUMINIUM, Bulk, FOAM, GLASS, Painter, Rect, STEEL};
use super::stow::{Bay, Cartons, Inside, Wall, pallet_layers, stow_cartons, walls};
use crate::sim::materials::Material;

pub fn electronics<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    if rng.random_bool(0.35) { panels(p, bay, rng) } else { devices(p, bay, rng) }
}

/// TVs and monitors stand on edge across the beam, so every panel is seen edge-on: a thin dark
/// line every carton, with the boards as a denser spot at its foot.
fn panels<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let diagonal = rng.random_range(80.0..140.0);
    let thick = rng.random_range(12.0..18.0);
    let spec = Cartons {
        w: thick,
        h: 0.49 * diagonal + 16.0,
        d: 0.87 * diagonal + 14.0,
        pallet: rng.random_bool(0.5).then(|| ((110.0 / thick) as u32, 1)),
        gap: rng.random_range(0.5..3.0),
    };
    let stowed = stow_cartons(p, bay, spec, rng, |p, inside, _| {
        let r = inside.r;
        p.block(r, inside.depth, FOAM);
        let (x, z0, z1) = (r.x0 + 0.45 * r.w(), r.z0 + 6.0, r.z1 - 6.0);
        // The panel is narrower than its carton: glass, steel back plate, plastic back cover.
        let across = inside.depth * 0.85;
        p.block(Rect::new(x, x + 0.25, z0, z1), across, GLASS);
        p.block(Rect::new(x + 0.25, x + 0.35, z0, z1), across, STEEL);
        p.block(Rect::new(x + 0.35, x + 1.5, z0, z1), across, Bulk::new(Material::Plastic, 0.25));
        p.block(Rect::new(x + 1.5, x + 4.0, z0 + 2.0, z0 + 14.0), across * 0.3, Bulk::new(Material::Aluminium, 0.6));
        // The stand, packed flat under the set.
        p.block(Rect::new(r.x0 + 1.0, r.x1 - 1.0, r.z0 + 1.0, r.z0 + 3.0), inside.n * 25.0, STEEL.times(0.4));
    });
    stowed.cartons
}

fn devices<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let (w, h) = (rng.random_range(35.0..60.0), rng.random_range(25.0..50.0));
    let spec = Cartons {
        w,
        h,
        d: rng.random_range(35.0..55.0),
        pallet: rng.random_bool(0.5).then(|| (((115.0 / w) as u32).max(1), pallet_layers(bay, h, rng))),
        gap: rng.random_range(0.5..3.0),
    };
    // Every carton holds the same product, so one random design repeats through the load.
    let device = Device::random(rng);
    stow_cartons(p, bay, spec, rng, |p, inside, _| device.paint(p, inside)).cartons
}

/// An appliance or computer: a thin metal chassis in foam, with a circuit board, a transformer
/// or power supply (copper and steel, the densest spot), a heat sink and perhaps a motor.
struct Device {
    margin: f32,
    shell: Bulk,
    board: f32,
    core: [f32; 4],
    core_bulk: Bulk,
    core_depth: f32,
    sink: [f32; 4],
    motor: Option<(f32, f32, f32)>,
}

impl Device {
    fn random<R: Rng>(rng: &mut R) -> Self {
        let mut part = |max_w: f32, max_h: f32| {
            let (fx, fz) = (rng.random_range(0.05..0.95 - max_w), rng.random_range(0.05..0.95 - max_h));
            [fx, fx + rng.random_range(0.1..max_w), fz, fz + rng.random_range(0.1..max_h)]
        };
        let (core, sink) = (part(0.35, 0.4), part(0.3, 0.25));
        Self {
            margin: rng.random_range(3.0..6.0),
            shell: if rng.random_bool(0.6) { STEEL } else { ALUMINIUM },
            board: rng.random_range(0.05..0.4),
            core,
            core_bulk: if rng.random_bool(0.5) {
                Bulk::new(Material::Copper, rng.random_range(2.5..4.0))
            } else {
                STEEL.times(rng.random_range(0.3..0.5))
            },
            core_depth: rng.random_range(6.0..14.0),
            sink,
            motor: rng
                .random_bool(0.4)
                .then(|| (rng.random_range(0.3..0.7), rng.random_range(0.3..0.7), rng.random_range(0.1..0.2))),
        }
    }

    fn paint(&self, p: &mut Painter<'_>, inside: Inside) {
        p.block(inside.r, inside.depth, FOAM);
        let depth = inside.depth - 2.0 * self.margin * inside.n;
        let body =
            walls(p, inside.r.inset(self.margin), depth, inside.n, Wall { t: 0.1, bulk: self.shell, faced: true });
        let (r, n) = (body.r, body.n);
        // Glass-fibre board edge-on, its components in a looser layer on top.
        let zb = r.z0 + self.board * r.h();
        p.block(Rect::new(r.x0 + 1.0, r.x1 - 1.0, zb, zb + 0.16), body.depth * 0.8, Bulk::new(Material::Glass, 1.85));
        p.block(
            Rect::new(r.x0 + 1.0, r.x1 - 1.0, zb + 0.16, zb + 1.5),
            body.depth * 0.5,
            Bulk::new(Material::Plastic, 0.3),
        );
        p.block(r.part(self.core), self.core_depth * n, self.core_bulk);
        p.block(r.part(self.sink), 8.0 * n, ALUMINIUM.times(0.45));
        if let Some((fx, fz, fr)) = self.motor {
            p.ring(r.at(fx, fz), (fr * r.w().min(r.h()), 0.0), 6.0 * n, STEEL.times(0.6));
        }
    }
}
