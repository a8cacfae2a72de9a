//! Fourth step of a scan's journey: what the models saw against what was declared. Every
//! mismatch becomes a [`Reason`] with a stable code, a sentence for the officer and its
//! evidence; the reasons add up to a risk score and a lane. A share of the scans it would
//! release can be sent to inspection at random ([`select_at_random`]).

mod compare;
mod config;
mod random_selection;

pub use compare::triage;
pub use config::{HighRiskRule, TriageConfig};
pub use random_selection::select_at_random;

use serde::{Deserialize, Serialize};

/// Why a scan was flagged. The codes are stable: they are stored, exported and matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    UndeclaredGoods,
    DeclaredGoodsNotSeen,
    DeclaredEmptyButLoaded,
    WeightMismatch,
    Concealment,
    HighRiskGoods,
    UnknownHsCode,
    /// Nothing against the declaration: chosen at random for inspection (`random_selection`).
    RandomSelection,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    pub code: ReasonCode,
    /// Plain words for the officer.
    pub sentence: String,
    /// What the reason rests on: shares, masses, scores, boxes.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// Contribution to the risk score.
    pub points: u32,
}

/// Green: release. Yellow: document check. Red: physical inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Green,
    Yellow,
    Red,
}

impl Lane {
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Green => "green",
            Lane::Yellow => "yellow",
            Lane::Red => "red",
        }
    }
}

impl std::str::FromStr for Lane {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [Lane::Green, Lane::Yellow, Lane::Red]
            .into_iter()
            .find(|lane| lane.as_str() == text)
            .ok_or_else(|| format!("unknown lane {text:?}; expected green, yellow or red"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    /// 0 to 100.
    pub risk_score: u32,
    pub lane: Lane,
    pub reasons: Vec<Reason>,
}
