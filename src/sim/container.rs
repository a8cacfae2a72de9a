//! The steel box every scan shows, whatever the cargo: corrugated side walls, roof, floor and
//! its cross members, corner posts and castings, the front wall and the door end.

use super::canvas::{Axis, Canvas, Stuff};
use super::cargo::Hold;
use super::materials::Material;

const STEEL: Stuff = Stuff::structure(Material::Steel);
/// Interior width, cm: the beam's path through the cargo.
pub const INTERIOR_WIDTH: f32 = 235.2;
const EXTERIOR_WIDTH: f32 = 243.8;
const WALL_SHEET: f32 = 0.16;
const CORRUGATION_PITCH: f32 = 27.8;
const FLOOR_THICKNESS: f32 = 2.8;
const CROSS_MEMBER_HEIGHT: f32 = 12.2;
const CROSS_MEMBER_PITCH: f32 = 29.5;
const BOTTOM_RAIL_HEIGHT: f32 = 15.8;
const CORNER_POST: f32 = 15.0;
const DOOR_END: f32 = 7.0;
/// Distance from the outside of an end to the interior (12 192 mm outside, 12 032 inside).
const END_WALL_DEPTH: f32 = 8.0;

/// Paints the structure of a container whose outside spans `[x0, x0 + length]` ×
/// `[z0, z0 + height]`, doors at the rear (right, higher x), and returns its interior.
pub fn paint(canvas: &mut Canvas, x0: f32, length: f32, z0: f32, height: f32) -> Hold {
    let x1 = x0 + length;
    let z1 = z0 + height;
    let floor_z = z0 + BOTTOM_RAIL_HEIGHT;
    let ceiling_z = z1 - 6.0;

    side_walls(canvas, x0, x1, z0, z1);
    // The beam runs in the plane of the roof sheet, across the whole width.
    canvas.add_box(x0, x1, z1 - 0.2, z1, INTERIOR_WIDTH, STEEL);
    side_rails(canvas, x0, x1, z1 - 6.0, 6.0, 0.4);
    side_rails(canvas, x0, x1, z0, BOTTOM_RAIL_HEIGHT, 0.45);
    canvas.add_box(x0, x1, floor_z - FLOOR_THICKNESS, floor_z, INTERIOR_WIDTH, Stuff::structure(Material::Cellulose));
    let mut x = x0 + CORNER_POST + 10.0;
    while x < x1 - CORNER_POST - 10.0 {
        // A C-section spanning the width: the web (0.4 cm) and the flanges (4.5 cm wide).
        canvas.add_box(x, x + 0.4, floor_z - FLOOR_THICKNESS - CROSS_MEMBER_HEIGHT, floor_z - FLOOR_THICKNESS, INTERIOR_WIDTH, STEEL);
        canvas.add_box(x, x + 4.5, floor_z - FLOOR_THICKNESS - CROSS_MEMBER_HEIGHT, floor_z - FLOOR_THICKNESS - CROSS_MEMBER_HEIGHT + 0.45, INTERIOR_WIDTH, STEEL);
        x += CROSS_MEMBER_PITCH;
    }

    corner_posts(canvas, x0, z0, z1);
    corner_posts(canvas, x1 - CORNER_POST, z0, z1);
    front_wall(canvas, x0 + 1.0, floor_z, ceiling_z);
    door_end(canvas, x1 - DOOR_END, z0, z1);

    Hold { x0: x0 + END_WALL_DEPTH, x1: x1 - END_WALL_DEPTH, floor_z, ceiling_z, width: INTERIOR_WIDTH }
}

/// Two corrugated sheets; where the trapezoidal profile slopes, the beam crosses the sheet at
/// an angle and sees about twice its thickness: faint vertical ribs every corrugation pitch.
fn side_walls(canvas: &mut Canvas, x0: f32, x1: f32, z0: f32, z1: f32) {
    canvas.add_box(x0, x1, z0, z1, 2.0 * WALL_SHEET, STEEL);
    let mut x = x0 + CORNER_POST;
    while x + CORRUGATION_PITCH < x1 - CORNER_POST {
        for slope_at in [x + 7.0, x + CORRUGATION_PITCH / 2.0 + 7.0] {
            canvas.add_box(slope_at, slope_at + 3.6, z0 + BOTTOM_RAIL_HEIGHT, z1 - 6.0, 2.0 * WALL_SHEET, STEEL);
        }
        x += CORRUGATION_PITCH;
    }
}

/// A pair of longitudinal rails (one each side, one behind the other along the beam) with a
/// hollow section `size` cm tall: the beam crosses both webs, but runs along the flanges.
fn side_rails(canvas: &mut Canvas, x0: f32, x1: f32, z: f32, size: f32, wall: f32) {
    canvas.add_box(x0, x1, z, z + size, 2.0 * 2.0 * wall, STEEL);
    for flange_z in [z, z + size - wall] {
        canvas.add_box(x0, x1, flange_z, flange_z + wall, 2.0 * size, STEEL);
    }
}

/// Two hollow square posts (front and back of the box, one behind the other along the beam)
/// with corner castings at top and bottom.
fn corner_posts(canvas: &mut Canvas, x: f32, z0: f32, z1: f32) {
    canvas.add_box(x, x + CORNER_POST, z0, z1, 2.0 * 2.0 * 0.6, STEEL);
    canvas.add_box(x, x + 0.6, z0, z1, 2.0 * CORNER_POST, STEEL);
    canvas.add_box(x + CORNER_POST - 0.6, x + CORNER_POST, z0, z1, 2.0 * CORNER_POST, STEEL);
    for z in [z0, z1 - 11.8] {
        canvas.add_box(x, x + 17.8, z, z + 11.8, 2.0 * 16.2 * 0.55, STEEL);
    }
}

/// The corrugated front wall lies in the beam's plane: a thin, nearly opaque vertical line.
fn front_wall(canvas: &mut Canvas, x: f32, z0: f32, z1: f32) {
    canvas.add_box(x, x + 0.2, z0, z1, EXTERIOR_WIDTH - 2.0 * CORNER_POST, STEEL);
    canvas.add_box(x + 4.5, x + 4.7, z0, z1, (EXTERIOR_WIDTH - 2.0 * CORNER_POST) * 0.3, STEEL);
}

/// Door panels, header and sill across the width, and the four vertical locking bars.
fn door_end(canvas: &mut Canvas, x: f32, z0: f32, z1: f32) {
    canvas.add_box(x, x + 0.2, z0 + BOTTOM_RAIL_HEIGHT, z1 - 6.0, EXTERIOR_WIDTH - 2.0 * CORNER_POST, STEEL);
    // Header and sill: box sections spanning the width, a third of them steel along the beam.
    for z in [z0, z1 - 20.0] {
        canvas.add_box(x, x + 4.0, z, z + 20.0, EXTERIOR_WIDTH / 3.0, STEEL);
    }
    canvas.add_cylinder(Axis::Z, x + 4.5, z0 + 10.0, z1 - 10.0, 1.35, 0.0, 4.0, STEEL);
}
