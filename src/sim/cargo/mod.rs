//! What is inside a container: every goods category packed with its own geometry and materials,
//! so that an image reader and the goods classifier can tell them apart.
//!
//! Packers work in a [`stow::Bay`] (the span being loaded, the allowed height and a share of the
//! payload) and weigh what they paint analytically, so that weight-limited goods (tiles, paper,
//! coils, scrap, drums, bottles) stop at the payload with lower stacks or gaps while light goods
//! fill the volume.

mod bags;
mod electronics;
mod liquids;
mod machinery;
pub(crate) mod paint;
mod rolls;
mod scrap;
pub(crate) mod soft;
mod stone;
pub(crate) mod stow;
#[cfg(test)]
pub(crate) mod tests;
mod vehicles;
mod wood;

use paint::Painter;
use stow::Bay;

use super::canvas::Canvas;

/// Clearance the forklift and the doors need under the ceiling, cm.
const HEADROOM: f32 = 8.0;

/// The interior of one container in scene cm.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    pub x0: f32,
    pub x1: f32,
    pub floor_z: f32,
    pub ceiling_z: f32,
    pub width: f32,
}

impl Hold {
    /// Maximum payload: a 20 ft box carries more than a 40 ft one, whose tare is higher.
    pub fn payload_kg(&self) -> f64 {
        if self.x1 - self.x0 < 900.0 { 28_000.0 } else { 26_500.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goods {
    Textiles,
    Footwear,
    Electronics,
    Machinery,
    Vehicles,
    Foodstuffs,
    BottledLiquids,
    Tobacco,
    WoodFurniture,
    TyresRubber,
    Paper,
    CeramicsGlassStone,
    ScrapMetal,
    ChemicalsDrums,
}

impl Goods {
    pub const ALL: [Goods; 14] = [
        Self::Textiles,
        Self::Footwear,
        Self::Electronics,
        Self::Machinery,
        Self::Vehicles,
        Self::Foodstuffs,
        Self::BottledLiquids,
        Self::Tobacco,
        Self::WoodFurniture,
        Self::TyresRubber,
        Self::Paper,
        Self::CeramicsGlassStone,
        Self::ScrapMetal,
        Self::ChemicalsDrums,
    ];

    /// The taxonomy id (the ids of `models/goods_categories.toml`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Textiles => "textiles",
            Self::Footwear => "footwear",
            Self::Electronics => "electronics",
            Self::Machinery => "machinery",
            Self::Vehicles => "vehicles",
            Self::Foodstuffs => "foodstuffs",
            Self::BottledLiquids => "bottled_liquids",
            Self::Tobacco => "tobacco",
            Self::WoodFurniture => "wood_furniture",
            Self::TyresRubber => "tyres_rubber",
            Self::Paper => "paper",
            Self::CeramicsGlassStone => "ceramics_glass_stone",
            Self::ScrapMetal => "scrap_metal",
            Self::ChemicalsDrums => "chemicals_drums",
        }
    }

    pub fn from_id(id: &str) -> Option<Goods> {
        Self::ALL.into_iter().find(|g| g.id() == id)
    }

    /// Whether the goods are mostly organic (dense packages can hide in them).
    pub fn is_organic(self) -> bool {
        matches!(
            self,
            Self::Textiles
                | Self::Footwear
                | Self::Foodstuffs
                | Self::Tobacco
                | Self::WoodFurniture
                | Self::TyresRubber
                | Self::Paper
        )
    }
}

/// What a load placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Declared units: cartons, bales, bags, drums, cars, pieces, pallets; kg for scrap.
    pub units: u32,
}

/// Packs `goods` into the span `[from, to]` (scene cm, inside `hold.x0..hold.x1`) of the hold,
/// loading up to roughly `fill` (0..1] of the usable height; weight-limited goods decide their
/// own, lower, fill. Loads are weighed to 85–97 % of the span's share of the payload at most.
#[allow(clippy::too_many_arguments)]
pub fn load(
    canvas: &mut Canvas,
    hold: &Hold,
    from: f32,
    to: f32,
    fill: f32,
    goods: Goods,
    label: u8,
    rng: &mut impl rand::Rng,
) -> Loaded {
    let Some(bay) = bay(hold, from, to, fill, rng) else {
        return Loaded { units: 0 };
    };
    let mut p = Painter::new(canvas, label);
    let units = match goods {
        Goods::Textiles => soft::textiles(&mut p, &bay, rng),
        Goods::Footwear => soft::footwear(&mut p, &bay, rng),
        Goods::Tobacco => soft::tobacco(&mut p, &bay, rng),
        Goods::Electronics => electronics::electronics(&mut p, &bay, rng),
        Goods::Machinery => machinery::machinery(&mut p, &bay, rng),
        Goods::Vehicles => vehicles::vehicles(&mut p, &bay, rng),
        Goods::Foodstuffs => bags::foodstuffs(&mut p, &bay, rng),
        Goods::BottledLiquids => liquids::bottled(&mut p, &bay, rng),
        Goods::ChemicalsDrums => liquids::drums(&mut p, &bay, rng),
        Goods::WoodFurniture => wood::wood_furniture(&mut p, &bay, rng),
        Goods::TyresRubber => rolls::tyres(&mut p, &bay, rng),
        Goods::Paper => rolls::paper(&mut p, &bay, rng),
        Goods::CeramicsGlassStone => stone::ceramics(&mut p, &bay, rng),
        Goods::ScrapMetal => scrap::scrap(&mut p, &bay, rng),
    };
    Loaded { units }
}

/// The bay of a load: the span clipped to the hold, the height `fill` allows, and a share of the
/// payload in proportion to the span's length.
fn bay(hold: &Hold, from: f32, to: f32, fill: f32, rng: &mut impl rand::Rng) -> Option<Bay> {
    let (x0, x1) = (from.max(hold.x0), to.min(hold.x1));
    let ceiling = hold.ceiling_z - HEADROOM;
    let share = f64::from((x1 - x0) / (hold.x1 - hold.x0));
    (x1 > x0).then(|| Bay {
        x0,
        x1,
        floor: hold.floor_z,
        top: hold.floor_z + fill.clamp(0.05, 1.0) * (ceiling - hold.floor_z),
        ceiling,
        width: hold.width,
        budget_kg: hold.payload_kg() * share * rng.random_range(0.85..0.97),
    })
}
