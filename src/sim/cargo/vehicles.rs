//! Vehicles: cars chocked in a row on the floor, or crated motorcycles three abreast.

use rand::Rng;

use super::paint::{ALUMINIUM, Bulk, GLASS, Painter, RUBBER, Rect, STEEL, WOOD};
use super::stow::{Bay, Wall, stow_units, walls};
use crate::sim::canvas::Axis;
use crate::sim::materials::Material;

pub fn vehicles<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let cars = if rng.random_bool(0.75) { cars(p, bay, rng) } else { 0 };
    if cars > 0 { cars } else { motorbikes(p, bay, rng) }
}

/// One car in a 20 ft box, two or three in a 40 ft.
fn cars<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    let mut x = bay.x0 + rng.random_range(10.0..40.0);
    let mut n = 0;
    loop {
        let car = Car::random(bay.headroom(), rng);
        if x + car.len > bay.x1 - 5.0 || !p.paint_within(bay.budget_kg, |p| car.paint(p, x, bay.floor)) {
            return n;
        }
        n += 1;
        x += car.len + rng.random_range(25.0..60.0);
    }
}

struct Car {
    len: f32,
    height: f32,
    /// Width across the beam.
    width: f32,
    /// Where the roof ends and the rear glass meets the body, as fractions of the length from
    /// the rear: a saloon's boot, a hatchback's or an SUV's near-vertical tail.
    roof_end: f32,
    glass_end: f32,
    /// Average steel through both sides of the body: skins, inner panels, reinforcements.
    body_t: f32,
    engine: Bulk,
    wheel: f32,
    rims: Bulk,
}

impl Car {
    fn random<R: Rng>(headroom: f32, rng: &mut R) -> Self {
        let (len, height, roof_end, glass_end) = match rng.random_range(0..3) {
            0 => (rng.random_range(420.0..490.0), rng.random_range(138.0..150.0_f32), 0.3, 0.17),
            1 => (rng.random_range(360.0..420.0), rng.random_range(142.0..155.0), 0.12, 0.03),
            _ => (rng.random_range(430.0..480.0), rng.random_range(160.0..180.0), 0.08, 0.02),
        };
        Self {
            len,
            height: height.min(headroom - 5.0),
            width: rng.random_range(170.0..190.0),
            roof_end,
            glass_end,
            body_t: rng.random_range(1.8..2.3),
            engine: if rng.random_bool(0.5) {
                STEEL.times(rng.random_range(0.1..0.13))
            } else {
                ALUMINIUM.times(rng.random_range(0.18..0.24))
            },
            wheel: rng.random_range(29.0..35.0),
            rims: if rng.random_bool(0.5) { STEEL } else { ALUMINIUM },
        }
    }

    /// Paints the car with its rear at `x0`, wheels on `floor`.
    fn paint(&self, p: &mut Painter<'_>, x0: f32, floor: f32) {
        let (l, h, cw) = (self.len, self.height, self.width);
        let at = |fx: f32, z: f32| (x0 + fx * l, floor + z);
        let span = |a: f32, b: f32, z0: f32, z1: f32| Rect::new(x0 + a * l, x0 + b * l, floor + z0, floor + z1);
        let (sill, belt) = (20.0, 0.6 * h);
        p.polygon(
            &[
                at(0.0, sill + 10.0),
                at(0.01, sill),
                at(0.99, sill),
                at(1.0, sill + 12.0),
                at(1.0, belt - 0.1 * h),
                at(0.75, belt),
                at(0.0, belt - 0.03 * h),
            ],
            self.body_t,
            STEEL,
        );
        // Glasshouse: side windows, then the windscreen and rear window edge-on, and pillars.
        let (screen, roof_front, roof_back, tail) =
            (at(0.73, belt), at(0.55, h), at(self.roof_end, h), at(self.glass_end, belt));
        p.polygon(&[screen, roof_front, roof_back, tail], 0.9, GLASS);
        p.bar(screen, roof_front, 0.5, cw * 0.85, GLASS);
        p.bar(roof_back, tail, 0.45, cw * 0.85, GLASS);
        p.bar(screen, roof_front, 6.0, 1.2, STEEL);
        p.bar(tail, roof_back, 8.0, 1.2, STEEL);
        p.bar(at(0.47, belt), at(0.46, h), 8.0, 1.2, STEEL);
        // Roof, floor pan and bonnet sheets edge-on.
        p.block(span(self.roof_end, 0.55, h - 0.15, h), cw * 0.85, STEEL);
        p.block(span(0.03, 0.97, sill, sill + 0.15), cw * 0.9, STEEL);
        p.bar(at(0.75, belt), at(1.0, belt - 0.1 * h), 0.12, cw * 0.85, STEEL);
        // Engine and gearbox at the front: the densest part.
        p.block(span(0.8, 0.95, sill + 5.0, belt - 8.0), 55.0, self.engine);
        p.block(span(0.72, 0.8, sill + 3.0, sill + 30.0), 35.0, STEEL.times(0.12));
        // Seats (foam on steel frames) and the dashboard.
        for (a, b, across) in [(0.47, 0.58, 104.0), (0.22, 0.36, 130.0)] {
            p.block(span(a, b, sill + 10.0, belt + 5.0), across, Bulk::new(Material::Plastic, 0.05));
            p.block(span(a, b, sill + 12.0, sill + 13.0), across, STEEL.times(0.1));
        }
        p.block(span(0.62, 0.72, belt - 18.0, belt + 2.0), cw * 0.8, Bulk::new(Material::Plastic, 0.12));
        p.cylinder(Axis::X, floor + sill - 4.0, (x0 + 0.05 * l, x0 + 0.75 * l), (3.0, 2.8), 1.0, STEEL);
        // Wheels of both sides one behind the other, suspension, and the chocks they are held by.
        let r = self.wheel;
        for fx in [0.2, 0.8] {
            let c = at(fx, r);
            p.ring(c, (r, r * 0.6), 9.0, RUBBER);
            p.ring(c, (r * 0.6, 5.0), 2.4, self.rims);
            p.ring(c, (14.0, 6.0), 5.0, STEEL);
            p.block(Rect::new(c.0 - 30.0, c.0 + 30.0, floor + sill, floor + sill + 10.0), cw * 0.6, STEEL.times(0.03));
            for side in [-1.0, 1.0] {
                let toe = c.0 + side * 0.62 * r;
                p.polygon(&[(toe, floor), (toe + side * 20.0, floor), (toe, floor + 0.3 * r)], 30.0, WOOD);
            }
        }
    }
}

fn motorbikes<R: Rng>(p: &mut Painter<'_>, bay: &Bay, rng: &mut R) -> u32 {
    // Motorcycles, or scooters and pit bikes where the span is short.
    let len = rng.random_range(190.0..220.0_f32).min(bay.len() - 15.0);
    if len < 100.0 {
        return 0;
    }
    let bike = Bike {
        len,
        height: rng.random_range(105.0..125.0_f32).min(0.6 * len),
        wheel: rng.random_range(28.0..32.0_f32).min(0.15 * len),
        engine: ALUMINIUM.times(rng.random_range(0.3..0.45)),
    };
    let n = (bay.width / 75.0).floor();
    let size = (bike.len + 15.0, bike.height + 10.0);
    stow_units(p, bay, size, rng.random_range(3.0..15.0), rng, |p, c, _| bike.paint(p, c, n)) * n as u32
}

struct Bike {
    len: f32,
    height: f32,
    wheel: f32,
    engine: Bulk,
}

impl Bike {
    /// Paints `n` bikes one behind the other in their steel-tube crates filling `c`.
    fn paint(&self, p: &mut Painter<'_>, c: Rect, n: f32) {
        // Two tubes (near and far side) along every edge, ≈ 0.6 cm of steel each.
        walls(p, c, 1.2 * n, n, Wall { t: 2.5, bulk: STEEL, faced: false });
        p.block(Rect { z1: c.z0 + 2.0, ..c }, 60.0 * n, WOOD);
        let (r, base) = (self.wheel, c.z0 + 4.0);
        let (rear, front) = (c.x0 + 8.0 + r, c.x1 - 8.0 - r);
        let zc = base + r;
        let wb = front - rear;
        let at = |f: f32, z: f32| (rear + f * wb, base + z * self.height);
        for x in [rear, front] {
            p.ring((x, zc), (r, r - 8.0), 3.0 * n, RUBBER);
            p.ring((x, zc), (r, r - 1.5), 9.0 * n, RUBBER);
            p.ring((x, zc), (r - 8.0, r - 10.0), 2.0 * n, ALUMINIUM);
            p.ring((x, zc), (6.0, 0.0), 12.0 * n, ALUMINIUM.times(0.45));
            p.ring((x, zc), (14.0, 8.0), 0.5 * n, STEEL);
        }
        // Frame, forks and swingarm as tubes; tank shell, seat, handlebar end-on.
        let (head, pivot, saddle) = (at(0.8, 0.85), (rear + 0.35 * wb, zc + 5.0), at(0.35, 0.6));
        p.bar(head, (front, zc), 4.0, 3.0 * n, ALUMINIUM);
        p.bar(pivot, (rear, zc), 5.0, 1.2 * n, STEEL);
        p.bar(head, saddle, 4.0, 1.0 * n, STEEL);
        p.bar(head, (rear + 0.5 * wb, zc - 5.0), 3.5, 0.8 * n, STEEL);
        p.bar(saddle, at(0.05, 0.62), 2.5, 0.8 * n, STEEL);
        p.bar((rear + 0.5 * wb, zc - 8.0), (rear - 5.0, zc + 10.0), 7.0, 0.4 * n, STEEL);
        p.block(Rect::new(rear + 0.38 * wb, rear + 0.68 * wb, zc - 12.0, zc + 22.0), 30.0 * n, self.engine);
        p.polygon(&[at(0.45, 0.62), at(0.78, 0.78), at(0.7, 0.9), at(0.48, 0.75)], 0.2 * n, STEEL);
        p.block(
            Rect::new(rear + 0.15 * wb, rear + 0.48 * wb, base + 0.62 * self.height, base + 0.7 * self.height),
            28.0 * n,
            Bulk::new(Material::Plastic, 0.06),
        );
        p.block(Rect::new(head.0 - 1.1, head.0 + 1.1, head.1 + 4.0, head.1 + 6.2), 70.0 * n, STEEL.times(0.25));
    }
}
