//! Materials and their mass attenuation coefficients at the scanner's two effective energies.
//!
//! A linear accelerator's bremsstrahlung spectrum has a mean energy of roughly a third to a half
//! of its end point, so a 6/4 MeV dual-energy pair is modelled by two effective energies:
//! 3 MeV for the high image and 1.25 MeV for the low one. The coefficients are total mass
//! attenuation coefficients (cm²/g, coherent scattering included) read from NIST XCOM tables at
//! those energies, rounded to three figures; compounds use their mass-fraction mixture. Beam
//! hardening is not modelled: it would bend the ratio with thickness, not change its order.
//! At these energies Compton scattering dominates, so the low/high ratio of attenuation separates
//! materials only by a few percent — organic ≈ 1.59, light inorganic ≈ 1.55, iron ≈ 1.52,
//! copper ≈ 1.48, lead ≈ 1.40 — exactly the small but usable difference real MeV dual-energy
//! scanners classify on.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Material {
    Steel,
    Aluminium,
    Copper,
    Lead,
    Water,
    /// Wood, cotton, cardboard: cellulose.
    Cellulose,
    Paper,
    /// Polyethylene and other common plastics.
    Plastic,
    Rubber,
    Glass,
    /// Stone, ceramic tiles, concrete.
    Stone,
    TobaccoLeaf,
    /// Sugar, rice, grain, flour.
    Grain,
}

impl Material {
    /// Mass attenuation coefficient (cm²/g) at the low and high effective energies.
    pub const fn mass_attenuation(self) -> (f32, f32) {
        match self {
            Self::Steel => (0.0550, 0.0362),
            Self::Aluminium => (0.0550, 0.0354),
            Self::Copper => (0.0530, 0.0359),
            Self::Lead => (0.0588, 0.0420),
            Self::Water => (0.0632, 0.0397),
            Self::Cellulose => (0.0607, 0.0381),
            Self::Paper => (0.0603, 0.0379),
            Self::Plastic => (0.0650, 0.0408),
            Self::Rubber => (0.0630, 0.0396),
            Self::Glass => (0.0569, 0.0366),
            Self::Stone => (0.0566, 0.0364),
            Self::TobaccoLeaf => (0.0612, 0.0385),
            Self::Grain => (0.0606, 0.0381),
        }
    }

    /// Density of the solid material, g/cm³. Packed goods use a lower bulk density.
    pub const fn density(self) -> f32 {
        match self {
            Self::Steel => 7.85,
            Self::Aluminium => 2.70,
            Self::Copper => 8.96,
            Self::Lead => 11.35,
            Self::Water => 1.00,
            Self::Cellulose => 0.60,
            Self::Paper => 0.80,
            Self::Plastic => 0.95,
            Self::Rubber => 1.15,
            Self::Glass => 2.50,
            Self::Stone => 2.60,
            Self::TobaccoLeaf => 0.35,
            Self::Grain => 0.80,
        }
    }

    /// Organic, inorganic or metal, as a dual-energy workstation would colour it.
    pub const fn class(self) -> MaterialClass {
        match self {
            Self::Steel | Self::Copper | Self::Lead => MaterialClass::Metal,
            Self::Aluminium | Self::Glass | Self::Stone => MaterialClass::Inorganic,
            _ => MaterialClass::Organic,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialClass {
    Organic,
    Inorganic,
    Metal,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Material; 13] = [
        Material::Steel,
        Material::Aluminium,
        Material::Copper,
        Material::Lead,
        Material::Water,
        Material::Cellulose,
        Material::Paper,
        Material::Plastic,
        Material::Rubber,
        Material::Glass,
        Material::Stone,
        Material::TobaccoLeaf,
        Material::Grain,
    ];

    fn ratio(m: Material) -> f32 {
        let (low, high) = m.mass_attenuation();
        low / high
    }

    #[test]
    fn low_energy_always_attenuates_more() {
        for m in ALL {
            assert!(ratio(m) > 1.3, "{m:?}");
        }
    }

    #[test]
    fn dual_energy_ratio_falls_with_atomic_number() {
        let organic = ALL.iter().filter(|m| m.class() == MaterialClass::Organic).map(|&m| ratio(m));
        let min_organic = organic.fold(f32::MAX, f32::min);
        let max_metal = ALL.iter().filter(|m| m.class() == MaterialClass::Metal).map(|&m| ratio(m)).fold(0.0, f32::max);
        assert!(min_organic > ratio(Material::Glass));
        assert!(ratio(Material::Aluminium) > ratio(Material::Steel));
        assert!(max_metal < ratio(Material::Glass));
        assert!(ratio(Material::Lead) < ratio(Material::Copper));
    }
}
