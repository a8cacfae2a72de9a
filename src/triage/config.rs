use serde::Deserialize;

/// The rules' thresholds and weights; every field has a documented default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    /// A category must cover at least this share of the loaded area, of the whole scan or of one
    /// of its containers, to count as seen.
    pub min_share: f32,
    /// ... with at least this mean confidence of its stacks (`inference::composition`). Both
    /// bars were chosen on the calibration sets goods_val, mix_val and val_big (docs/models.md,
    /// "Stacks, not tiles"): the most misdeclarations flagged with at most 3 % of honest
    /// declarations flagged.
    pub min_confidence: f32,
    /// A declared category covering less than this share of the load is "not seen".
    pub not_seen_below: f32,
    /// A container whose tiles are at least this share loaded is not empty: one motorbike in a
    /// 20 ft box is about 8 %; the classifier takes about 1 % of empty tiles for goods.
    pub loaded_above: f32,
    /// Relative difference between estimated and declared mass that is a mismatch; the
    /// estimate's median error on held-out scans is about 7 % (docs/models.md).
    pub weight_tolerance: f64,
    /// Above this share of see-through-proof cargo the mass estimate is only a lower bound.
    pub saturated_above: f64,
    pub high_risk: Vec<HighRiskRule>,
    pub points: Points,
    /// Scores from which a scan goes to the yellow and the red lane.
    pub yellow_from: u32,
    pub red_from: u32,
    /// Share of the scans that would be released (green lane) that go to the red lane instead,
    /// chosen at random: the hit rate of their inspections measures what the checks miss, and
    /// nobody can tell beforehand which scans they will be. 0 (none) unless configured; the
    /// rate is the customs administration's to set.
    pub random_selection: f64,
}

impl TriageConfig {
    /// Values no deployment can mean.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.random_selection) {
            return Err(format!("[triage] random_selection is a share from 0 to 1, not {}", self.random_selection));
        }
        Ok(())
    }
}

/// Goods that draw attention whatever the declaration says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighRiskRule {
    pub category: String,
    pub points: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Points {
    pub undeclared_goods: u32,
    pub declared_goods_not_seen: u32,
    pub declared_empty_but_loaded: u32,
    pub weight_mismatch: u32,
    pub concealment: u32,
    pub unknown_hs_code: u32,
}

impl Default for Points {
    fn default() -> Self {
        Self {
            undeclared_goods: 50,
            declared_goods_not_seen: 35,
            declared_empty_but_loaded: 70,
            weight_mismatch: 35,
            concealment: 60,
            unknown_hs_code: 15,
        }
    }
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            min_share: 0.05,
            min_confidence: 0.45,
            not_seen_below: 0.05,
            loaded_above: 0.04,
            weight_tolerance: 0.30,
            saturated_above: 0.02,
            high_risk: vec![
                HighRiskRule { category: "tobacco".into(), points: 20 },
                HighRiskRule { category: "vehicles".into(), points: 15 },
            ],
            points: Points::default(),
            yellow_from: 30,
            red_from: 60,
            random_selection: 0.0,
        }
    }
}
