//! Contraband hidden in a loaded hold, with its ground truth.
//!
//! The hold is painted before anything is hidden in it, and the canvas cannot take declared goods
//! away again (it does not know what they were made of). Hidden goods are therefore added on top
//! of the declared goods they sit among or behind: the beam's path through the goods there is
//! overstated by the hidden depth (at most 120 cm of 235), which makes the contrast of a hiding
//! place somewhat higher than in a real load. Masses are computed from the painted volumes, not
//! read back from the canvas, where hidden and declared goods overlap.

use std::f32::consts::TAU;

use rand::Rng;

use super::canvas::{Canvas, Stuff};
use super::cargo::Hold;
use super::cargo::paint::{Bulk, Painter, Point, Pose, Rect, STEEL};
use super::cargo::soft::Case;
use super::cargo::stow::Bay;
use super::materials::Material;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ConcealmentKind {
    DensePackages,
    Weapon,
    FalseWall,
    CigarettesBehindGoods,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ConcealedObject {
    pub kind: ConcealmentKind,
    /// Bounding box in scene cm: x0, x1, z0, z1.
    pub x0: f32,
    pub x1: f32,
    pub z0: f32,
    pub z1: f32,
    pub mass_kg: f64,
    pub description: String,
}

/// Hides contraband in an already loaded hold. `goods_span` is where the declared goods were
/// loaded; for [`ConcealmentKind::FalseWall`] the front part `[hold.x0, goods_span.0)` is empty
/// and the false wall and the compartment behind it are built there. Hidden goods take
/// `host_label` (the declared goods' label), or `tobacco_label` when they are cigarettes.
pub fn conceal(
    canvas: &mut Canvas,
    hold: &Hold,
    goods_span: (f32, f32),
    kind: ConcealmentKind,
    host_label: u8,
    tobacco_label: u8,
    rng: &mut impl Rng,
) -> Vec<ConcealedObject> {
    let span = (goods_span.0.max(hold.x0), goods_span.1.min(hold.x1));
    match kind {
        ConcealmentKind::DensePackages => {
            (0..rng.random_range(1..=2)).map(|_| packages(canvas, hold, span, host_label, rng)).collect()
        }
        ConcealmentKind::Weapon => {
            (0..rng.random_range(1..=3)).map(|_| weapon(canvas, hold, span, host_label, rng)).collect()
        }
        ConcealmentKind::FalseWall => vec![false_wall(canvas, hold, span.0, host_label, tobacco_label, rng)],
        ConcealmentKind::CigarettesBehindGoods => vec![behind_goods(canvas, hold, span, tobacco_label, rng)],
    }
}

fn object(kind: ConcealmentKind, r: Rect, p: &Painter<'_>, description: String) -> ConcealedObject {
    ConcealedObject { kind, x0: r.x0, x1: r.x1, z0: r.z0, z1: r.z1, mass_kg: p.kg(), description }
}

/// A uniform draw from `[a, b)`, or `a` when the range is empty.
fn within<R: Rng>(rng: &mut R, a: f32, b: f32) -> f32 {
    if b > a { rng.random_range(a..b) } else { a }
}

/// Top of the goods over `[x0, x1]`: the highest row where cargo covers most columns.
fn cargo_top(canvas: &Canvas, hold: &Hold, x0: f32, x1: f32) -> f32 {
    let (c0, c1) = canvas.cols(x0, x1);
    let (r0, r1) = canvas.rows(hold.floor_z, hold.ceiling_z);
    (r0..r1)
        .find(|&r| {
            let row = &canvas.cargo_mass[r * canvas.width + c0..r * canvas.width + c1];
            2 * row.iter().filter(|&&m| m > 1.0).count() > row.len()
        })
        .map_or(hold.floor_z, |r| canvas.top_z - r as f32 * canvas.pitch)
}

/// Mean cargo mass along the beam over `r`, g/cm².
fn mean_cargo(canvas: &Canvas, r: Rect) -> f32 {
    let (c0, c1) = canvas.cols(r.x0, r.x1);
    let (r0, r1) = canvas.rows(r.z0, r.z1);
    let n = ((c1 - c0) * (r1 - r0)).max(1);
    (r0..r1)
        .map(|row| canvas.cargo_mass[row * canvas.width + c0..row * canvas.width + c1].iter().sum::<f32>())
        .sum::<f32>()
        / n as f32
}

/// Bricks of compressed powder wrapped in plastic: ≈ 30 × 10 cm face-on, 20 cm along the beam.
const BRICK: (f32, f32, f32) = (30.0, 10.0, 20.0);

/// Stacks `nx × nz` bricks from `at` (lower left), `layers` of them one behind the other along
/// the beam; returns the block.
fn bricks(p: &mut Painter<'_>, at: Point, (nx, nz, layers): (u32, u32, u32), bulk: Bulk) -> Rect {
    for i in 0..nx {
        for j in 0..nz {
            let (x, z) = (at.0 + i as f32 * BRICK.0, at.1 + j as f32 * BRICK.1);
            // Tape and air between the bricks outline each one faintly.
            p.block(Rect::new(x + 0.2, x + BRICK.0 - 0.2, z + 0.2, z + BRICK.1 - 0.2), layers as f32 * BRICK.2, bulk);
        }
    }
    Rect::new(at.0, at.0 + nx as f32 * BRICK.0, at.1, at.1 + nz as f32 * BRICK.1)
}

fn brick_bulk<R: Rng>(rng: &mut R) -> Bulk {
    Bulk::new(Material::Plastic, rng.random_range(1.2..1.5))
}

/// A block of 6–40 bricks, 20–80 cm deep along the beam, inside the goods. The depth is chosen
/// to add 10–60 % to the goods' mass along the beam there: visible, but not at a glance.
fn packages<R: Rng>(canvas: &mut Canvas, hold: &Hold, span: (f32, f32), label: u8, rng: &mut R) -> ConcealedObject {
    let (nx, nz) = (rng.random_range(2..=4), rng.random_range(3..=5));
    let (w, h) = (nx as f32 * BRICK.0, nz as f32 * BRICK.1);
    // Somewhere the goods are (not in a gap between stacks), if a few tries find it.
    let (mut x0, mut z0, mut host) = (span.0, hold.floor_z, 0.0);
    for _ in 0..10 {
        x0 = within(rng, span.0, span.1 - w);
        z0 = within(rng, hold.floor_z, cargo_top(canvas, hold, x0, x0 + w) - h);
        host = mean_cargo(canvas, Rect::new(x0, x0 + w, z0, z0 + h));
        if host > 20.0 {
            break;
        }
    }
    let bulk = brick_bulk(rng);
    let layers = ((rng.random_range(0.1..0.6) * host / (BRICK.2 * bulk.density)).round() as u32)
        .clamp(1, (40 / (nx * nz)).min(4));
    let mut p = Painter::new(canvas, label);
    let r = bricks(&mut p, (x0, z0), (nx, nz, layers), bulk);
    let description = format!(
        "{} plastic-wrapped bricks ({:.2} g/cm³), {} cm deep along the beam",
        nx * nz * layers,
        bulk.density,
        layers as f32 * BRICK.2
    );
    object(ConcealmentKind::DensePackages, r, &p, description)
}

/// A part of a gun: outline in local cm (x along the barrel), depth across it, material.
type GunPart = (Vec<Point>, f32, Bulk);

/// A rifle about a metre long; receiver, barrel and magazine are hollow, hence the fractions.
fn rifle<R: Rng>(rng: &mut R) -> Vec<GunPart> {
    let end = 26.0 + rng.random_range(35.0..55.0);
    let furniture =
        if rng.random_bool(0.5) { Bulk::new(Material::Cellulose, 0.7) } else { Bulk::solid(Material::Plastic) };
    vec![
        (vec![(-38.0, -9.0), (-38.0, 3.0), (0.0, 3.0), (0.0, -2.0)], 4.0, furniture),
        (vec![(0.0, -3.5), (26.0, -3.5), (26.0, 3.5), (0.0, 3.5)], 4.5, STEEL.times(0.3)),
        (vec![(26.0, -0.9), (end, -0.9), (end, 0.9), (26.0, 0.9)], 1.8, STEEL.times(0.65)),
        (vec![(26.0, -2.5), (50.0, -2.5), (50.0, 2.5), (26.0, 2.5)], 5.0, furniture.times(0.6)),
        (vec![(8.0, -3.5), (15.0, -3.5), (19.0, -22.0), (12.0, -23.0)], 2.8, STEEL.times(0.4)),
        (vec![(-1.0, -3.5), (5.0, -3.5), (3.0, -13.0), (-3.0, -12.0)], 3.0, Bulk::solid(Material::Plastic)),
    ]
}

fn pistol() -> Vec<GunPart> {
    vec![
        (vec![(0.0, 0.0), (19.0, 0.0), (19.0, 3.3), (0.0, 3.3)], 2.6, STEEL.times(0.55)),
        (vec![(1.0, 0.0), (6.5, 0.0), (4.5, -11.0), (-1.0, -10.0)], 3.0, Bulk::new(Material::Plastic, 1.2)),
        (vec![(1.5, -1.0), (5.0, -1.0), (3.5, -10.0), (0.0, -9.5)], 2.2, STEEL.times(0.35)),
    ]
}

/// A rifle or pistol at a random angle somewhere among the goods.
fn weapon<R: Rng>(canvas: &mut Canvas, hold: &Hold, span: (f32, f32), label: u8, rng: &mut R) -> ConcealedObject {
    let is_rifle = rng.random_bool(0.6);
    let parts = if is_rifle { rifle(rng) } else { pistol() };
    let length = Rect::around(parts.iter().flat_map(|(outline, _, _)| outline)).w();
    let turned = Pose::new((0.0, 0.0), rng.random_range(0.0..TAU));
    let parts: Vec<GunPart> =
        parts.into_iter().map(|(outline, depth, bulk)| (turned.outline(&outline), depth, bulk)).collect();
    let b = Rect::around(parts.iter().flat_map(|(outline, _, _)| outline));
    let x = within(rng, span.0 - b.x0, span.1 - b.x1);
    let top = cargo_top(canvas, hold, x + b.x0, x + b.x1).min(hold.ceiling_z);
    let z = within(rng, hold.floor_z - b.z0, top - b.z1);
    let placed = Pose::new((x, z), 0.0);
    let mut p = Painter::new(canvas, label);
    for (outline, depth, bulk) in &parts {
        p.polygon(&placed.outline(outline), *depth, *bulk);
    }
    let r = Rect::new(x + b.x0, x + b.x1, z + b.z0, z + b.z1);
    let description = format!("{} ({length:.0} cm long), steel", if is_rifle { "rifle" } else { "pistol" });
    object(ConcealmentKind::Weapon, r, &p, description)
}

/// A partition across the full height a few cm in front of the goods, and in the space behind
/// it cigarettes or bricks. The wall is container structure, not cargo.
fn false_wall<R: Rng>(
    canvas: &mut Canvas,
    hold: &Hold,
    goods_x0: f32,
    host_label: u8,
    tobacco_label: u8,
    rng: &mut R,
) -> ConcealedObject {
    let wall_x = (goods_x0 - rng.random_range(2.0..6.0)).max(hold.x0 + 20.0);
    let (floor, ceiling) = (hold.floor_z, hold.ceiling_z);
    let (wall, behind) = if rng.random_bool(0.5) {
        // Corrugated sheet, 0.2 cm zig-zagging over 3.5 cm along the scan, edge-on to the beam.
        let sheet = Stuff { density: STEEL.density * 0.2 * 1.15 / 3.5, ..Stuff::structure(Material::Steel) };
        canvas.add_box(wall_x - 3.5, wall_x, floor, ceiling, hold.width, sheet);
        ("steel", 3.5)
    } else {
        // Plywood on four timber battens.
        canvas.add_box(wall_x - 1.8, wall_x, floor, ceiling, hold.width, Stuff::structure(Material::Cellulose));
        canvas.add_box(wall_x - 6.8, wall_x - 1.8, floor, ceiling, 4.0 * 5.0, Stuff::structure(Material::Cellulose));
        ("plywood", 6.8)
    };
    let room = Rect::new(hold.x0 + 1.0, wall_x - behind - 1.0, floor, ceiling - 10.0);
    let contents = if rng.random_bool(0.6) {
        let stack = Rect { z1: floor + rng.random_range(0.5..1.0) * room.h(), ..room };
        let mut p = Painter::new(canvas, tobacco_label);
        let cases = Case::random(rng).stow(&mut p, &Bay::region(stack, hold.width - 5.0), None, rng);
        (format!("{cases} master cases of cigarettes"), p.kg())
    } else {
        let size = ((room.w() / BRICK.0) as u32, rng.random_range(2..=10), rng.random_range(2..=6));
        let mut p = Painter::new(canvas, host_label);
        bricks(&mut p, (room.x0, floor), size, brick_bulk(rng));
        (format!("{} plastic-wrapped bricks", size.0 * size.1 * size.2), p.kg())
    };
    ConcealedObject {
        kind: ConcealmentKind::FalseWall,
        x0: hold.x0,
        x1: wall_x,
        z0: floor,
        z1: ceiling,
        mass_kg: contents.1,
        description: format!("{wall} false wall {:.0} cm from the front; behind it {}", wall_x - hold.x0, contents.0),
    }
}

/// Tobacco master cases 60–120 cm deep along the beam, behind the declared goods over 1–3 m.
fn behind_goods<R: Rng>(canvas: &mut Canvas, hold: &Hold, span: (f32, f32), label: u8, rng: &mut R) -> ConcealedObject {
    let len = rng.random_range(100.0..300.0_f32).min(0.8 * (span.1 - span.0));
    let x0 = within(rng, span.0, span.1 - len);
    let top = cargo_top(canvas, hold, x0, x0 + len).clamp(hold.floor_z + 40.0, hold.ceiling_z - 8.0);
    let region =
        Rect::new(x0, x0 + len, hold.floor_z, hold.floor_z + rng.random_range(0.6..1.0) * (top - hold.floor_z));
    let depth = rng.random_range(60.0..120.0);
    let mut p = Painter::new(canvas, label);
    let cases = Case::random(rng).stow(&mut p, &Bay::region(region, depth), None, rng);
    let description = format!("{cases} master cases of cigarettes, {depth:.0} cm deep behind the declared goods");
    object(ConcealmentKind::CigarettesBehindGoods, region, &p, description)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::sim::cargo::{Goods, load, tests::scene};

    const HOST: u8 = 1;
    const TOBACCO: u8 = 8;

    /// A 40 ft hold loaded with `goods` from `front_gap` cm behind its front, and the objects
    /// hidden in it; also returns the cargo mass the concealment added.
    fn hide(
        goods: Goods,
        kind: ConcealmentKind,
        front_gap: f32,
        seed: u64,
    ) -> (Canvas, Hold, Vec<ConcealedObject>, f64) {
        let (mut canvas, hold) = scene(1203.0);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let span = (hold.x0 + front_gap, hold.x1);
        load(&mut canvas, &hold, span.0, span.1, 1.0, goods, HOST, &mut rng);
        let before = canvas.cargo_mass_kg();
        let objects = conceal(&mut canvas, &hold, span, kind, HOST, TOBACCO, &mut rng);
        let added = canvas.cargo_mass_kg() - before;
        (canvas, hold, objects, added)
    }

    #[test]
    fn hidden_objects_lie_in_the_hold_and_weigh_what_they_add() {
        for kind in [
            ConcealmentKind::DensePackages,
            ConcealmentKind::Weapon,
            ConcealmentKind::FalseWall,
            ConcealmentKind::CigarettesBehindGoods,
        ] {
            for seed in 0..4 {
                let front_gap = if kind == ConcealmentKind::FalseWall { 120.0 } else { 0.0 };
                let (_, hold, objects, added) = hide(Goods::Textiles, kind, front_gap, seed);
                assert!(!objects.is_empty(), "{kind:?}");
                for o in &objects {
                    assert_eq!(o.kind, kind);
                    assert!(o.mass_kg > 0.5, "{kind:?} seed {seed}: {o:?}");
                    assert!(
                        o.x0 >= hold.x0 - 0.5 && o.x1 <= hold.x1 + 0.5 && o.x0 < o.x1,
                        "{kind:?} seed {seed}: {o:?}"
                    );
                    assert!(
                        o.z0 >= hold.floor_z - 0.5 && o.z1 <= hold.ceiling_z + 0.5 && o.z0 < o.z1,
                        "{kind:?} seed {seed}: {o:?}"
                    );
                }
                let declared: f64 = objects.iter().map(|o| o.mass_kg).sum();
                assert!(
                    (added - declared).abs() < 0.1 * declared,
                    "{kind:?} seed {seed}: painted {added:.1} kg, objects {declared:.1} kg"
                );
            }
        }
    }

    #[test]
    fn false_wall_compartment_is_in_front_of_the_goods() {
        let (canvas, hold, objects, _) = hide(Goods::Paper, ConcealmentKind::FalseWall, 150.0, 2);
        let o = &objects[0];
        assert!(o.x0 == hold.x0 && o.x1 < hold.x0 + 150.0 && o.x1 > hold.x0 + 100.0, "{o:?}");
        // The wall itself is container structure: attenuation without cargo mass.
        let (c0, c1) = canvas.cols(o.x1 - 1.0, o.x1);
        let row = canvas.rows(hold.ceiling_z - 20.0, hold.ceiling_z - 19.5).0;
        assert!((c0..c1).any(|c| canvas.att_high[row * canvas.width + c] > 1.0));
    }

    #[test]
    fn cigarettes_behind_goods_take_the_tobacco_label() {
        let (canvas, _, objects, _) = hide(Goods::Textiles, ConcealmentKind::CigarettesBehindGoods, 0.0, 1);
        assert!(objects[0].description.contains("master cases"));
        assert!(canvas.labels.contains(&TOBACCO));
    }

    #[test]
    fn dense_packages_raise_attenuation_moderately() {
        let (canvas, _, objects, _) = hide(Goods::Textiles, ConcealmentKind::DensePackages, 0.0, 5);
        let o = &objects[0];
        let (c0, c1) = canvas.cols(o.x0 + 2.0, o.x1 - 2.0);
        let (r0, r1) = canvas.rows(o.z0 + 2.0, o.z1 - 2.0);
        let inside = (r0..r1).flat_map(|r| (c0..c1).map(move |c| (r, c)));
        let mean_inside =
            inside.clone().map(|(r, c)| canvas.att_high[r * canvas.width + c]).sum::<f32>() / inside.count() as f32;
        let (b0, b1) = canvas.cols(o.x1 + 40.0, o.x1 + 80.0);
        let beside = (r0..r1).flat_map(|r| (b0..b1).map(move |c| (r, c)));
        let mean_beside =
            beside.clone().map(|(r, c)| canvas.att_high[r * canvas.width + c]).sum::<f32>() / beside.count() as f32;
        assert!(mean_inside > 1.05 * mean_beside && mean_inside < 4.0 * mean_beside, "{mean_inside} vs {mean_beside}");
    }
}
