//! The vehicle under and in front of the container: the trailer chassis with its axles and
//! wheels, and the tractor unit, whose cab is sometimes inside the scan window.

use super::canvas::{Canvas, Stuff};
use super::materials::Material;

const STEEL: Stuff = Stuff::structure(Material::Steel);
const WHEEL_RADIUS: f32 = 52.0;
const RIM_RADIUS: f32 = 28.0;
/// Width of the trailer across the beam, cm.
const TRACK_WIDTH: f32 = 250.0;

/// Trailer chassis under a container floor at `deck_z`, spanning `[x0, x1]`; `axles` axles
/// grouped at the rear.
pub fn trailer(canvas: &mut Canvas, x0: f32, x1: f32, deck_z: f32, axles: usize) {
    // Two main I-beams: the beam crosses both webs, but runs along the flanges.
    let beam_bottom = deck_z - 35.0;
    canvas.add_box(x0 + 20.0, x1 - 10.0, beam_bottom, deck_z, 2.0 * 0.6, STEEL);
    for flange in [beam_bottom, deck_z - 1.2] {
        canvas.add_box(x0 + 20.0, x1 - 10.0, flange, flange + 1.2, 2.0 * 12.0, STEEL);
    }
    // Outer side frame and twist-lock cross beams carrying the container corners.
    canvas.add_box(x0, x1, deck_z - 12.0, deck_z, 2.0 * 0.5, STEEL);
    for x in [x0 + 5.0, x1 - 20.0] {
        canvas.add_box(x, x + 15.0, deck_z - 25.0, deck_z, TRACK_WIDTH * 0.15, STEEL);
    }
    // Landing legs behind the kingpin.
    let legs = x0 + 230.0;
    canvas.add_box(legs, legs + 10.0, 45.0, beam_bottom, 2.0 * 2.0 * 0.5, STEEL);
    canvas.add_box(legs, legs + 0.5, 45.0, beam_bottom, 2.0 * 10.0, STEEL);
    // Rear underride bar.
    canvas.add_box(x1 - 15.0, x1 - 5.0, 50.0, 62.0, TRACK_WIDTH * 0.1, STEEL);
    for i in 0..axles {
        let x = x1 - 120.0 - 131.0 * (axles - 1 - i) as f32;
        axle(canvas, x, true);
    }
}

/// The tractor unit at the trailer's front end `trailer_x0`. Its drive axles sit under the
/// trailer's front; the cab, ahead of the trailer, appears only when `with_cab`.
pub fn tractor(canvas: &mut Canvas, trailer_x0: f32, deck_z: f32, with_cab: bool) {
    for x in [trailer_x0 + 40.0, trailer_x0 + 175.0] {
        axle(canvas, x, true);
    }
    // Fifth-wheel plate and the tractor's frame rails.
    canvas.add_box(trailer_x0 + 60.0, trailer_x0 + 160.0, deck_z - 40.0, deck_z - 35.0, TRACK_WIDTH * 0.6, STEEL);
    let frame_start = if with_cab { trailer_x0 - 330.0 } else { trailer_x0 };
    canvas.add_box(frame_start, trailer_x0 + 230.0, deck_z - 75.0, deck_z - 45.0, 2.0 * 1.0, STEEL);
    if with_cab {
        cab(canvas, trailer_x0 - 330.0, deck_z);
    }
}

/// Cab-over tractor cab: a thin steel shell with windows, the engine block below, the front
/// steer axle, fuel tank, and the driver.
fn cab(canvas: &mut Canvas, front_x: f32, deck_z: f32) {
    let (x0, x1) = (front_x, front_x + 230.0);
    let (z0, z1) = (deck_z - 10.0, deck_z + 260.0);
    // Shell: the beam crosses two side panels; roof and floor run along the beam.
    canvas.add_box(x0, x1, z0, z1, 2.0 * 0.1, STEEL);
    canvas.add_box(x0, x1, z1 - 1.0, z1, 230.0 * 0.1, STEEL);
    canvas.add_box(x0, x1, z0, z0 + 1.0, 230.0 * 0.15, STEEL);
    canvas.add_box(x0, x0 + 3.0, z0, z1, 230.0 * 0.03, STEEL);
    canvas.add_box(x0 + 5.0, x0 + 80.0, z1 - 150.0, z1 - 40.0, 2.0 * 0.5, Stuff::structure(Material::Glass));
    // Engine block and gearbox: cast iron, nearly opaque.
    canvas.add_box(x0 + 40.0, x0 + 150.0, deck_z - 80.0, deck_z + 20.0, 80.0, Stuff { material: Material::Steel, density: 3.5, cargo: None });
    canvas.add_box(x0 + 150.0, x0 + 210.0, deck_z - 70.0, deck_z - 20.0, 50.0, Stuff { material: Material::Steel, density: 2.0, cargo: None });
    // Seats and the driver (70 kg of water-equivalent tissue).
    canvas.add_box(x0 + 120.0, x0 + 175.0, deck_z + 30.0, deck_z + 130.0, 2.0 * 50.0, Stuff { material: Material::Plastic, density: 0.08, cargo: None });
    canvas.add_box(x0 + 125.0, x0 + 165.0, deck_z + 40.0, deck_z + 170.0, 30.0, Stuff::structure(Material::Water));
    // Fuel tank: aluminium shell with diesel (organic, close to plastic).
    let tank_z = deck_z - 60.0;
    canvas.add_cylinder(super::canvas::Axis::X, tank_z, x1 + 20.0, x1 + 150.0, 30.0, 29.6, 1.0, Stuff::structure(Material::Aluminium));
    canvas.add_cylinder(super::canvas::Axis::X, tank_z, x1 + 20.0, x1 + 150.0, 29.6, 0.0, 1.0, Stuff { material: Material::Plastic, density: 0.84, cargo: None });
    axle(canvas, x0 + 80.0, false);
}

/// One axle with its wheels as the beam sees them, all wheels one behind the other: the axle
/// beam end-on, rubber tyres, steel rims and brake drums.
fn axle(canvas: &mut Canvas, x: f32, dual_tyres: bool) {
    let z = WHEEL_RADIUS;
    let tyres = if dual_tyres { 4.0 } else { 2.0 };
    canvas.add_ring(x, z, WHEEL_RADIUS, RIM_RADIUS, tyres * 28.0, Stuff { material: Material::Rubber, density: 0.9, cargo: None });
    canvas.add_ring(x, z, RIM_RADIUS, 21.0, tyres * 1.2, STEEL);
    canvas.add_ring(x, z, 21.0, 7.0, 2.0 * 18.0 * 0.15, STEEL);
    canvas.add_ring(x, z, 7.0, 5.5, TRACK_WIDTH, STEEL);
}
