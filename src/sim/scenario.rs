//! What a simulated scan is about: the load as it really is and the declaration as it was made.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use super::cargo::Goods;
use super::concealment::ConcealmentKind;

/// The story of one scan, each with its ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// The declaration matches the load (an empty container declared empty included).
    Honest,
    /// An extra category of goods is hidden among the declared ones.
    Undeclared,
    /// The load is of another category than declared.
    Misdeclared,
    DeclaredEmptyButLoaded,
    /// The goods are as declared, their gross weight far from it.
    WeightMisdeclared,
    /// Contraband concealed in or behind the declared goods.
    Concealment,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Self::Honest,
        Self::Undeclared,
        Self::Misdeclared,
        Self::DeclaredEmptyButLoaded,
        Self::WeightMisdeclared,
        Self::Concealment,
    ];

    /// A scenario drawn with rough real-world emphasis: most traffic is honest.
    pub fn random(rng: &mut impl Rng) -> Self {
        const WEIGHTS: [(Scenario, u32); 6] = [
            (Scenario::Honest, 40),
            (Scenario::Undeclared, 12),
            (Scenario::Misdeclared, 12),
            (Scenario::DeclaredEmptyButLoaded, 8),
            (Scenario::WeightMisdeclared, 8),
            (Scenario::Concealment, 20),
        ];
        WEIGHTS.choose_weighted(rng, |(_, w)| *w).map(|(s, _)| *s).unwrap_or(Self::Honest)
    }

    /// The mismatch codes an ideal triage would raise for this scenario.
    pub fn expected_findings(self) -> &'static [&'static str] {
        match self {
            Self::Honest => &[],
            Self::Undeclared => &["undeclared_goods"],
            Self::Misdeclared => &["undeclared_goods", "declared_goods_not_seen"],
            Self::DeclaredEmptyButLoaded => &["declared_empty_but_loaded"],
            Self::WeightMisdeclared => &["weight_mismatch"],
            Self::Concealment => &["concealment"],
        }
    }
}

pub const CONCEALMENT_KINDS: [ConcealmentKind; 4] = [
    ConcealmentKind::DensePackages,
    ConcealmentKind::Weapon,
    ConcealmentKind::FalseWall,
    ConcealmentKind::CigarettesBehindGoods,
];

/// One stretch of a container's length loaded with one kind of goods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub goods: Goods,
    /// Start and end as fractions of the usable hold length.
    pub span: (f32, f32),
    pub declared: bool,
}

/// The truth and the declaration for one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerPlan {
    pub loads: Vec<Load>,
    /// Goods declared but not loaded (misdeclaration).
    pub declared_not_loaded: Vec<Goods>,
    pub declared_empty: bool,
    /// Factor between declared and true gross weight, 1 for an honest declaration.
    pub weight_factor: f64,
    pub concealment: Option<ConcealmentKind>,
    /// Free length left at the front of the hold, cm (a false wall's compartment).
    pub front_gap: f32,
    /// Share of the usable height the goods may fill.
    pub fill: f32,
}

impl ContainerPlan {
    /// Plans one container; `goods` forces the main goods (and rules out an empty container).
    pub fn new(scenario: Scenario, concealment: Option<ConcealmentKind>, goods: Option<Goods>, rng: &mut impl Rng) -> Self {
        let main = goods.unwrap_or_else(|| random_goods(rng, |_| true));
        let mut plan = Self::honest(main, rng);
        match scenario {
            Scenario::Honest => {
                if goods.is_none() && rng.random_bool(0.1) {
                    plan = Self::empty();
                }
            }
            Scenario::Undeclared => {
                let extra = random_goods(rng, |g| g != main);
                let length = rng.random_range(0.15..0.35);
                let start = rng.random_range(0.0..plan.end() - length);
                plan.loads = vec![
                    Load { goods: main, span: (0.0, start), declared: true },
                    Load { goods: extra, span: (start, start + length), declared: false },
                    Load { goods: main, span: (start + length, plan.end()), declared: true },
                ];
                plan.loads.retain(|l| l.span.1 - l.span.0 > 0.02);
            }
            Scenario::Misdeclared => {
                plan.loads.iter_mut().for_each(|l| l.declared = false);
                let loaded: Vec<Goods> = plan.loads.iter().map(|l| l.goods).collect();
                plan.declared_not_loaded = vec![random_goods(rng, |g| !loaded.contains(&g))];
            }
            Scenario::DeclaredEmptyButLoaded => {
                plan.loads.iter_mut().for_each(|l| l.declared = false);
                plan.declared_empty = true;
            }
            Scenario::WeightMisdeclared => {
                plan.weight_factor =
                    if rng.random_bool(0.5) { rng.random_range(0.3..0.6) } else { rng.random_range(1.6..2.5) };
            }
            Scenario::Concealment => {
                let kind = concealment.unwrap_or_else(|| *CONCEALMENT_KINDS.choose(rng).unwrap_or(&ConcealmentKind::Weapon));
                let host = match kind {
                    ConcealmentKind::DensePackages if !main.is_organic() => random_goods(rng, |g| g.is_organic()),
                    ConcealmentKind::CigarettesBehindGoods if main == Goods::Tobacco => random_goods(rng, |g| g != Goods::Tobacco),
                    _ => main,
                };
                plan = Self::honest(host, rng);
                plan.loads.truncate(1);
                plan.loads[0].span.0 = 0.0;
                if kind == ConcealmentKind::FalseWall {
                    plan.front_gap = rng.random_range(80.0..160.0);
                }
                plan.concealment = Some(kind);
            }
        }
        plan
    }

    /// An empty container, declared empty.
    pub fn empty() -> Self {
        Self {
            loads: Vec::new(),
            declared_not_loaded: Vec::new(),
            declared_empty: true,
            weight_factor: 1.0,
            concealment: None,
            front_gap: 0.0,
            fill: 0.0,
        }
    }

    /// A truthful load: one category or a mix of two, sometimes filling only part of the hold.
    fn honest(main: Goods, rng: &mut impl Rng) -> Self {
        let end = if rng.random_bool(0.2) { rng.random_range(0.4..0.8) } else { 1.0 };
        let loads = if rng.random_bool(0.25) {
            let second = random_goods(rng, |g| g != main);
            let split = end * rng.random_range(0.4..0.7);
            vec![
                Load { goods: main, span: (0.0, split), declared: true },
                Load { goods: second, span: (split, end), declared: true },
            ]
        } else {
            vec![Load { goods: main, span: (0.0, end), declared: true }]
        };
        Self {
            loads,
            declared_not_loaded: Vec::new(),
            declared_empty: false,
            weight_factor: 1.0,
            concealment: None,
            front_gap: 0.0,
            fill: rng.random_range(0.75..1.0),
        }
    }

    fn end(&self) -> f32 {
        self.loads.iter().map(|l| l.span.1).fold(0.0, f32::max)
    }

    /// Whether the declaration matches the load.
    pub fn is_honest(&self) -> bool {
        self.loads.iter().all(|l| l.declared) && self.declared_not_loaded.is_empty() && self.weight_factor == 1.0
            && self.concealment.is_none() && (self.declared_empty == self.loads.is_empty())
    }
}

pub(super) fn random_goods(rng: &mut impl Rng, allowed: impl Fn(Goods) -> bool) -> Goods {
    let choices: Vec<Goods> = Goods::ALL.into_iter().filter(|&g| allowed(g)).collect();
    *choices.choose(rng).unwrap_or(&Goods::Textiles)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn every_scenario_makes_a_consistent_plan() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..50 {
            for scenario in Scenario::ALL {
                let plan = ContainerPlan::new(scenario, None, None, &mut rng);
                assert_eq!(plan.is_honest(), scenario == Scenario::Honest, "{scenario:?} {plan:?}");
                for load in &plan.loads {
                    assert!(0.0 <= load.span.0 && load.span.0 < load.span.1 && load.span.1 <= 1.0, "{plan:?}");
                }
                if scenario == Scenario::Concealment {
                    assert!(plan.concealment.is_some());
                }
            }
        }
    }

    #[test]
    fn dense_packages_hide_in_organic_goods() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        for _ in 0..30 {
            let plan = ContainerPlan::new(Scenario::Concealment, Some(ConcealmentKind::DensePackages), None, &mut rng);
            assert!(plan.loads[0].goods.is_organic());
        }
    }
}
