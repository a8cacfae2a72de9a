use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::taxonomy::Taxonomy;

const LABEL: u8 = 3;

/// An empty hold of `length` cm (239 cm high for a 20 ft, a 270 cm high cube otherwise) on a
/// canvas with some margin around it.
pub(crate) fn scene(length: f32) -> (Canvas, Hold) {
    let height = if length < 900.0 { 237.0 } else { 268.0 };
    let hold = Hold { x0: 60.0, x1: 60.0 + length, floor_z: 130.0, ceiling_z: 130.0 + height, width: 235.2 };
    (Canvas::new(((length + 120.0) / 0.5) as usize, 640, 0.5, 420.0), hold)
}

fn loaded(goods: Goods, length: f32, seed: u64) -> (Canvas, Hold, Loaded) {
    let (mut canvas, hold) = scene(length);
    let loaded = load(&mut canvas, &hold, hold.x0, hold.x1, 1.0, goods, LABEL, &mut ChaCha8Rng::seed_from_u64(seed));
    (canvas, hold, loaded)
}

/// Mean attenuation at both energies over the pixels holding cargo.
fn mean_attenuation(canvas: &Canvas) -> (f64, f64) {
    let loaded: Vec<usize> = (0..canvas.cargo_mass.len()).filter(|&i| canvas.cargo_mass[i] > 0.0).collect();
    let mean = |att: &[f32]| loaded.iter().map(|&i| f64::from(att[i])).sum::<f64>() / loaded.len() as f64;
    (mean(&canvas.att_low), mean(&canvas.att_high))
}

#[test]
fn every_category_loads_inside_the_hold_within_the_payload() {
    for length in [590.0, 1203.0] {
        for goods in Goods::ALL {
            for seed in 0..3 {
                let (canvas, hold, loaded) = loaded(goods, length, seed);
                let kg = canvas.cargo_mass_kg();
                assert!(kg > 500.0 && kg <= hold.payload_kg(), "{goods:?} {length} seed {seed}: {kg:.0} kg");
                assert!(loaded.units > 0, "{goods:?} {length} seed {seed}");
                let pitch = canvas.pitch;
                for (i, _) in canvas.cargo_mass.iter().enumerate().filter(|(_, m)| **m > 0.0) {
                    let x = ((i % canvas.width) as f32 + 0.5) * pitch;
                    let z = canvas.top_z - ((i / canvas.width) as f32 + 0.5) * pitch;
                    assert!(
                        (hold.x0 - pitch..hold.x1 + pitch).contains(&x)
                            && (hold.floor_z - pitch..hold.ceiling_z + pitch).contains(&z),
                        "{goods:?} {length} seed {seed}: cargo at ({x}, {z})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_fixed_seed_gives_the_same_load() {
    for goods in Goods::ALL {
        let (a, _, units_a) = loaded(goods, 1203.0, 7);
        let (b, _, units_b) = loaded(goods, 1203.0, 7);
        assert_eq!(units_a, units_b);
        assert!(a.att_low == b.att_low && a.labels == b.labels, "{goods:?}");
    }
}

#[test]
fn short_spans_take_some_of_every_category_and_stay_inside() {
    for goods in Goods::ALL {
        for (span, seed) in [(120.0, 1), (120.0, 2), (30.0, 3)] {
            let (mut canvas, hold) = scene(590.0);
            let from = hold.x0 + 200.0;
            load(&mut canvas, &hold, from, from + span, 1.0, goods, LABEL, &mut ChaCha8Rng::seed_from_u64(seed));
            let inside = canvas.cargo_mass_in_kg(from, from + span, 0.0, 420.0);
            let outside = canvas.cargo_mass_kg() - inside;
            assert!(outside <= 1e-6 * inside, "{goods:?} {span} seed {seed}: {outside} kg outside the span");
            assert!(span < 100.0 || inside > 10.0, "{goods:?} {span} seed {seed}: {inside:.0} kg");
        }
    }
}

#[test]
fn partial_spans_and_low_fill_stay_inside_them() {
    let (mut canvas, hold) = scene(1203.0);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    load(&mut canvas, &hold, 400.0, 700.0, 0.4, Goods::Textiles, LABEL, &mut rng);
    assert!(canvas.cargo_mass_kg() > 100.0);
    assert_eq!(canvas.cargo_mass_in_kg(0.0, 399.5, 0.0, 420.0), 0.0);
    assert_eq!(canvas.cargo_mass_in_kg(700.5, canvas.width_cm(), 0.0, 420.0), 0.0);
    assert_eq!(canvas.cargo_mass_in_kg(0.0, canvas.width_cm(), hold.floor_z + 0.45 * 229.0, 420.0), 0.0);
}

#[test]
fn steel_coils_and_scrap_attenuate_far_more_than_textiles() {
    let textiles = (0..3).map(|seed| mean_attenuation(&loaded(Goods::Textiles, 1203.0, seed).0).1).fold(0.0, f64::max);
    let scrap = mean_attenuation(&loaded(Goods::ScrapMetal, 1203.0, 0).0).1;
    let (mut canvas, hold) = scene(590.0);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let bay = bay(&hold, hold.x0, hold.x1, 1.0, &mut rng).unwrap();
    machinery::coils(&mut Painter::new(&mut canvas, LABEL), &bay, &mut rng);
    let coils = mean_attenuation(&canvas).1;
    assert!(
        scrap > 1.5 * textiles && coils > 5.0 * textiles,
        "textiles {textiles:.2}, scrap {scrap:.2}, coils {coils:.2}"
    );
}

#[test]
fn organic_loads_have_a_higher_dual_energy_ratio_than_scrap() {
    let ratio = |goods| {
        let (low, high) = mean_attenuation(&loaded(goods, 1203.0, 5).0);
        low / high
    };
    let scrap = ratio(Goods::ScrapMetal);
    for goods in [Goods::Textiles, Goods::Foodstuffs, Goods::Tobacco] {
        assert!(ratio(goods) > scrap + 0.03, "{goods:?} {:.3} vs scrap {scrap:.3}", ratio(goods));
    }
}

#[test]
fn goods_ids_are_taxonomy_categories() {
    let taxonomy = Taxonomy::built_in();
    for goods in Goods::ALL {
        assert!(taxonomy.index_of(goods.id()).is_some(), "{}", goods.id());
        assert_eq!(Goods::from_id(goods.id()), Some(goods));
        assert_eq!(serde_json::to_string(&goods).unwrap(), format!("\"{}\"", goods.id()));
    }
    assert_eq!(Goods::from_id("empty"), None);
}
