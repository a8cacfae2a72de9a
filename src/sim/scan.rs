//! Composes one simulated scan: truck, container(s), cargo, concealment, detector; then the
//! metadata a station would send and the ground truth.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::canvas::Canvas;
use super::cargo::{self, Goods, Hold};
use super::concealment::{self, ConcealmentKind};
use super::container;
use super::detector::{Detector, Dose, gaussian};
use super::scenario::{ContainerPlan, Scenario, random_goods};
use super::truck;
use super::truth::{ConcealedTruth, ContainerTruth, ContentTruth, GroundTruth};
use crate::imaging::PixelBox;
use crate::ingest::{
    ContainerInfo, ContainerLength, ContainerNumber, Declaration, DeclaredItem, Energies, IsoTypeCode,
    ScanMetadata, FORMAT_VERSION, MAX_GROSS_KG_PER_CONTAINER,
};
use crate::taxonomy::Taxonomy;

/// Bumped whenever the same seed would produce different scans.
pub const SIMULATOR_VERSION: u32 = 1;
pub const PIXEL_PITCH_MM: f64 = 5.0;
const PITCH_CM: f32 = (PIXEL_PITCH_MM / 10.0) as f32;
/// The detector column sees from 35 cm above the ground to 425 cm: 780 rows.
const DETECTOR_BOTTOM_Z: f32 = 35.0;
const DETECTOR_TOP_Z: f32 = 425.0;
/// Gap between two 20 ft containers on one chassis, cm.
const TWIN_GAP: f32 = 7.6;

/// Which containers the truck carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    #[value(name = "20")]
    Twenty,
    #[value(name = "40")]
    Forty,
    /// Two 20 ft containers on one 40 ft chassis.
    #[value(name = "2x20")]
    TwinTwenty,
}

/// What to simulate; `None` fields are drawn at random for each scan.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    pub seed: u64,
    pub scenario: Option<Scenario>,
    pub concealment: Option<ConcealmentKind>,
    /// Main goods of the first container.
    pub goods: Option<Goods>,
    /// An honest scan of an empty container declared empty (with the honest scenario).
    pub empty: bool,
    pub layout: Option<Layout>,
    pub dose: Option<Dose>,
    pub single_energy: bool,
}

/// One simulated scan: the images a station would upload, its metadata and the ground truth.
pub struct SimulatedScan {
    pub width: usize,
    pub height: usize,
    pub high: Vec<u16>,
    pub low: Option<Vec<u16>>,
    /// Per-pixel goods label (taxonomy index, 255 outside containers).
    pub labels: Vec<u8>,
    pub metadata: ScanMetadata,
    pub truth: GroundTruth,
}

const STATIONS: [&str; 4] = ["PORT-A-GATE1", "PORT-A-GATE2", "PORT-B-RAIL1", "BORDER-C-LANE3"];
const DECLARANTS: [&str; 5] = [
    "Harbourline Forwarding Ltd",
    "Meridian Customs Brokers",
    "Eastgate Trading Co.",
    "Nordic Freight Services AS",
    "Sunrise Import Export",
];
/// Fictitious owner codes (ISO 6346 owner code + `U` for freight containers).
const OWNERS: [&str; 5] = ["SIMU", "XSCU", "TRXU", "DMYU", "OCNU"];

/// Simulates scan number `index` of the set generated with `options.seed`: the same pair
/// always gives the same scan.
pub fn simulate(options: &SimOptions, index: u64, taxonomy: &Taxonomy) -> SimulatedScan {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    rng.set_stream(index);
    let scenario = options.scenario.unwrap_or_else(|| Scenario::random(&mut rng));
    let layout = options.layout.unwrap_or_else(|| {
        *[Layout::Forty, Layout::Forty, Layout::Twenty, Layout::TwinTwenty].choose(&mut rng).unwrap_or(&Layout::Forty)
    });
    let dose = options.dose.unwrap_or(if rng.random_bool(0.3) { Dose::Low } else { Dose::Normal });
    let with_cab = rng.random_bool(0.3);
    let lengths: Vec<ContainerLength> = match layout {
        Layout::Twenty => vec![ContainerLength::Twenty],
        Layout::Forty => vec![ContainerLength::Forty],
        Layout::TwinTwenty => vec![ContainerLength::Twenty; 2],
    };
    let types: Vec<IsoTypeCode> = lengths
        .iter()
        .map(|&l| {
            let code = match l {
                ContainerLength::Twenty => "22G1",
                _ if rng.random_bool(0.5) => "45G1",
                _ => "42G1",
            };
            IsoTypeCode::parse(code).expect("valid built-in type codes")
        })
        .collect();

    // Lay the scene out along the scan: air, cab, containers on their trailer, air.
    let front_margin = rng.random_range(30.0..70.0);
    let containers_x0 = front_margin + if with_cab { 330.0 } else { 0.0 };
    let container_lengths: Vec<f32> = lengths.iter().map(|l| (l.external_length_mm() / 10.0) as f32).collect();
    let trailer_length = container_lengths.iter().sum::<f32>() + TWIN_GAP * (lengths.len() - 1) as f32;
    let scene_width = containers_x0 + trailer_length + 25.0 + rng.random_range(30.0..70.0);
    let width = (scene_width / PITCH_CM).ceil() as usize;
    let height = ((DETECTOR_TOP_Z - DETECTOR_BOTTOM_Z) / PITCH_CM).round() as usize;
    let mut canvas = Canvas::new(width, height, PITCH_CM, DETECTOR_TOP_Z);
    let deck_z = rng.random_range(115.0..135.0);

    let trailer_x1 = containers_x0 + trailer_length + 25.0;
    truck::trailer(&mut canvas, containers_x0, trailer_x1, deck_z, if layout == Layout::Twenty { 2 } else { 3 });
    truck::tractor(&mut canvas, containers_x0, deck_z, with_cab);

    let empty_label = label(taxonomy, "empty");
    let tobacco_label = label(taxonomy, Goods::Tobacco.id());
    let mut x = containers_x0;
    let mut containers = Vec::new();
    let mut concealed = Vec::new();
    let mut infos = Vec::new();
    let mut items = Vec::new();
    let mut declared_empty = true;
    for (i, (length, iso_type)) in lengths.iter().zip(types).enumerate() {
        // The scenario concerns the first container. A twin travels honestly beside it, empty
        // when the scan's one declaration says "empty".
        let plan = if i == 0 && options.empty && scenario == Scenario::Honest {
            ContainerPlan::empty()
        } else if i == 0 {
            ContainerPlan::new(scenario, options.concealment, options.goods, &mut rng)
        } else if scenario == Scenario::DeclaredEmptyButLoaded {
            ContainerPlan::empty()
        } else {
            ContainerPlan::new(Scenario::Honest, None, None, &mut rng)
        };
        let outer_length = container_lengths[i];
        let height_cm = (iso_type.external_height_mm() / 10.0) as f32;
        let hold = container::paint(&mut canvas, x, outer_length, deck_z, height_cm);
        canvas.label_interior(hold.x0, hold.x1, hold.floor_z, hold.ceiling_z, empty_label);
        let number = ContainerNumber::from_parts(OWNERS.choose(&mut rng).unwrap_or(&OWNERS[0]), rng.random())
            .expect("built-in owner codes are valid");

        let (contents, objects) = load_container(&mut canvas, &hold, &plan, taxonomy, tobacco_label, &mut rng);
        let cargo_mass_kg = canvas.cargo_mass_in_kg(hold.x0 - 1.0, hold.x1 + 1.0, hold.floor_z - 1.0, hold.ceiling_z + 1.0);
        // A twin load's declaration says which container each item travels in.
        let container = (lengths.len() > 1).then_some(&number);
        items.extend(declared_items(&plan, &contents, container, taxonomy, &mut rng));
        declared_empty &= plan.declared_empty;
        concealed.extend(objects.into_iter().map(|o| ConcealedTruth {
            kind: o.kind,
            container: i,
            bbox: pixel_box(&canvas, o.x0, o.x1, o.z0, o.z1),
            mass_kg: o.mass_kg,
            description: o.description,
        }));
        containers.push(ContainerTruth {
            number: number.to_string(),
            length: *length,
            outer: pixel_box(&canvas, x, x + outer_length, deck_z, deck_z + height_cm),
            interior: pixel_box(&canvas, hold.x0, hold.x1, hold.floor_z, hold.ceiling_z),
            contents,
            cargo_mass_kg,
            declared_empty: plan.declared_empty,
            declared_not_loaded: plan.declared_not_loaded.clone(),
        });
        infos.push(ContainerInfo { number, iso_type });
        x += outer_length + TWIN_GAP;
    }

    let detector = Detector::random(width, height, &mut rng);
    let (air_high, air_low) = dose.air_counts();
    let high = detector.expose(&canvas.att_high, width, air_high, 0, &mut rng);
    let low = (!options.single_energy).then(|| detector.expose(&canvas.att_low, width, air_low, 1, &mut rng));

    let station = STATIONS[(index as usize) % STATIONS.len()];
    let declaration = Declaration {
        number: format!("2026/{}/{:06}", &station[..6], index),
        declarant: DECLARANTS.choose(&mut rng).unwrap_or(&DECLARANTS[0]).to_string(),
        empty: declared_empty && items.is_empty(),
        items,
    };
    let metadata = ScanMetadata {
        format_version: FORMAT_VERSION,
        station_id: station.to_owned(),
        station_scan_id: format!("SIM-{:x}-{index:06}", options.seed),
        captured_at: capture_time(options.seed, index),
        pixel_pitch_mm: PIXEL_PITCH_MM,
        energies_mev: Energies { high: 6.0, low: (!options.single_energy).then_some(4.0) },
        containers: infos,
        declaration,
    };
    let truth = GroundTruth {
        simulator_version: SIMULATOR_VERSION,
        seed: options.seed,
        index,
        scenario,
        dose,
        expected_findings: scenario.expected_findings().iter().map(|s| s.to_string()).collect(),
        cargo_mass_kg: containers.iter().map(|c| c.cargo_mass_kg).sum(),
        declared_gross_weight_kg: metadata.declaration.gross_weight_kg(),
        containers,
        concealed_objects: concealed,
        label_map: "labels.png".to_owned(),
        labels: taxonomy.labels().map(str::to_owned).collect(),
    };
    SimulatedScan { width, height, high, low, labels: canvas.labels, metadata, truth }
}

/// Loads the plan's goods along the hold, then hides its contraband.
fn load_container(
    canvas: &mut Canvas,
    hold: &Hold,
    plan: &ContainerPlan,
    taxonomy: &Taxonomy,
    tobacco_label: u8,
    rng: &mut ChaCha8Rng,
) -> (Vec<ContentTruth>, Vec<concealment::ConcealedObject>) {
    let start = hold.x0 + plan.front_gap;
    let usable = hold.x1 - start;
    let mut contents = Vec::new();
    let declared: Vec<Goods> = plan.loads.iter().filter(|l| l.declared).map(|l| l.goods).collect();
    for load in &plan.loads {
        let (from, to) = (start + usable * load.span.0, start + usable * load.span.1);
        let before = canvas.cargo_mass_kg();
        let mut goods = load.goods;
        let mut loaded = cargo::load(canvas, hold, from, to, plan.fill, goods, label(taxonomy, goods.id()), rng);
        // A stretch of undeclared goods too short or too light for one unit of them (a car in
        // 90 cm) would stay empty while the scan claims undeclared goods: other goods go there.
        let mut tried = vec![goods];
        while !load.declared && loaded.units == 0 && tried.len() < Goods::ALL.len() {
            goods = random_goods(rng, |g| !tried.contains(&g) && !declared.contains(&g));
            tried.push(goods);
            loaded = cargo::load(canvas, hold, from, to, plan.fill, goods, label(taxonomy, goods.id()), rng);
        }
        let (x0, x1) = canvas.cols(from, to);
        contents.push(ContentTruth {
            goods,
            declared: load.declared,
            mass_kg: canvas.cargo_mass_kg() - before,
            units: loaded.units,
            x0: x0 as u32,
            x1: x1 as u32,
        });
    }
    let objects = match (plan.concealment, plan.loads.first()) {
        (Some(kind), Some(host)) => {
            let span = (start + usable * host.span.0, start + usable * host.span.1);
            concealment::conceal(canvas, hold, span, kind, label(taxonomy, host.goods.id()), tobacco_label, rng)
        }
        _ => Vec::new(),
    };
    (contents, objects)
}

/// The declaration lines a declarant would write for this plan.
fn declared_items(
    plan: &ContainerPlan,
    contents: &[ContentTruth],
    container: Option<&ContainerNumber>,
    taxonomy: &Taxonomy,
    rng: &mut ChaCha8Rng,
) -> Vec<DeclaredItem> {
    if plan.declared_empty {
        return Vec::new();
    }
    let true_mass: f64 = contents.iter().map(|c| c.mass_kg).sum();
    // Overstating a heavy load would declare more than the container can carry, which intake
    // refuses as invalid metadata; such a declarant understates it by as much instead.
    let weight_factor = if true_mass * plan.weight_factor * 1.1 > MAX_GROSS_KG_PER_CONTAINER {
        1.0 / plan.weight_factor
    } else {
        plan.weight_factor
    };
    let declared = contents.iter().filter(|c| c.declared).map(|c| (c.goods, c.mass_kg, c.units));
    // A misdeclaration names other goods with the weight and count of what was loaded.
    let substitutes = plan.declared_not_loaded.iter().map(|&g| (g, true_mass, contents.iter().map(|c| c.units).sum()));
    declared
        .chain(substitutes)
        .filter_map(|(goods, mass, units)| {
            let category = &taxonomy.categories[taxonomy.index_of(goods.id())?];
            let example = category.examples.choose(rng)?;
            // Honest gross weights carry packaging and weighbridge error of a few percent.
            let weight = (mass * weight_factor * (1.0 + 0.03 * f64::from(gaussian(rng)))).round().max(1.0);
            let quantity = if example.unit == "kg" { weight } else { f64::from(units.max(1)) };
            Some(DeclaredItem {
                hs_code: example.hs_code.clone(),
                description: example.description.clone(),
                quantity,
                unit: example.unit.clone(),
                gross_weight_kg: weight,
                container: container.cloned(),
            })
        })
        .collect()
}

fn label(taxonomy: &Taxonomy, id: &str) -> u8 {
    taxonomy.index_of(id).and_then(|i| u8::try_from(i).ok()).expect("simulated goods are in the taxonomy")
}

fn pixel_box(canvas: &Canvas, x0: f32, x1: f32, z0: f32, z1: f32) -> PixelBox {
    let (c0, c1) = canvas.cols(x0, x1);
    let (r0, r1) = canvas.rows(z0, z1);
    PixelBox { x0: c0 as u32, y0: r0 as u32, x1: c1 as u32, y1: r1 as u32 }
}

/// Scans of one set are spread over the year before the simulator's epoch, a few minutes apart.
fn capture_time(seed: u64, index: u64) -> DateTime<FixedOffset> {
    let epoch = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).single().unwrap_or_default();
    let offset_minutes = (seed % 1000) as i64 * 60 + index as i64 * 4;
    (epoch + Duration::minutes(offset_minutes % (300 * 24 * 60))).fixed_offset()
}
