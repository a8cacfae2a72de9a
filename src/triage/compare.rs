use std::collections::BTreeSet;

use serde_json::json;

use super::{Lane, Reason, ReasonCode, TriageConfig, Verdict};
use crate::inference::Analysis;
use crate::inference::analysis::CategoryShare;
use crate::ingest::ScanMetadata;
use crate::taxonomy::Taxonomy;

/// Compares what the models saw with the declaration and decides the lane.
pub fn triage(analysis: &Analysis, metadata: &ScanMetadata, taxonomy: &Taxonomy, config: &TriageConfig) -> Verdict {
    let mut reasons = Vec::new();
    let declaration = &metadata.declaration;
    // Each declared category with the container its item names, if it names one.
    let mut declared_items = Vec::new();
    for item in &declaration.items {
        match taxonomy.category_of(&item.hs_code) {
            Some(index) => declared_items.push((taxonomy.categories[index].id.as_str(), item.container.as_ref())),
            None => reasons.push(Reason {
                code: ReasonCode::UnknownHsCode,
                sentence: format!("HS code {} ({}) is not in the goods taxonomy: the image cannot confirm it.", item.hs_code, item.description),
                evidence: json!({ "hs_code": item.hs_code }),
                points: config.points.unknown_hs_code,
            }),
        }
    }
    let declared: BTreeSet<&str> = declared_items.iter().map(|&(category, _)| category).collect();
    // Goods declared for container `index`: the items that name it and those that name none.
    let declared_in = |index: usize| -> BTreeSet<&str> {
        let number = metadata.containers.get(index).map(|c| &c.number);
        declared_items.iter().filter(|(_, container)| container.is_none() || *container == number).map(|&(c, _)| c).collect()
    };
    let seen = seen_goods(analysis, config);
    let loaded = analysis.containers.iter().any(|c| c.loaded_share >= config.loaded_above);

    if declaration.empty && loaded {
        let shares: Vec<_> = analysis.containers.iter().map(|c| c.loaded_share).collect();
        reasons.push(Reason {
            code: ReasonCode::DeclaredEmptyButLoaded,
            sentence: format!("Declared empty, but the image shows a load ({}).", describe(&seen)),
            evidence: json!({ "loaded_share": shares, "composition": analysis.composition }),
            points: config.points.declared_empty_but_loaded,
        });
    } else if !declaration.empty {
        let mut reported = BTreeSet::new();
        let undeclared = seen.iter().filter(|g| match g.container {
            Some(index) => !declared_in(index).contains(g.category()),
            None => !declared.contains(g.category()),
        });
        for goods in undeclared.filter(|g| reported.insert(g.category())) {
            let of_load = match goods.container {
                Some(index) if declared.contains(goods.category()) => {
                    format!("of container {}'s load but are not declared for it", index + 1)
                }
                Some(index) => format!("of container {}'s load but are not declared", index + 1),
                None => "of the load but are not declared".to_owned(),
            };
            reasons.push(Reason {
                code: ReasonCode::UndeclaredGoods,
                sentence: format!(
                    "{} cover {:.0} % {of_load}.",
                    display_name(taxonomy, goods.category()),
                    100.0 * goods.share.share
                ),
                evidence: json!({
                    "category": goods.category(),
                    "share": goods.share.share,
                    "confidence": goods.share.confidence,
                    "container": goods.container,
                }),
                points: config.points.undeclared_goods,
            });
        }
        if loaded {
            for category in &declared {
                let share = analysis.composition.iter().find(|c| c.category == *category).map_or(0.0, |c| c.share);
                if share < config.not_seen_below {
                    reasons.push(Reason {
                        code: ReasonCode::DeclaredGoodsNotSeen,
                        sentence: format!("{} are declared but not seen in the image.", display_name(taxonomy, category)),
                        evidence: json!({ "category": category, "share": share }),
                        points: config.points.declared_goods_not_seen,
                    });
                }
            }
        }
    }
    reasons.extend(weight_mismatch(analysis, metadata, config));
    reasons.extend(concealment(analysis, config));
    for rule in &config.high_risk {
        if let Some(goods) = seen.iter().find(|g| g.category() == rule.category) {
            reasons.push(Reason {
                code: ReasonCode::HighRiskGoods,
                sentence: format!("{} are high-risk goods ({:.0} % of the load).", display_name(taxonomy, &rule.category), 100.0 * goods.share.share),
                evidence: json!({ "category": rule.category, "share": goods.share.share }),
                points: rule.points,
            });
        }
    }
    let risk_score = reasons.iter().map(|r| r.points).sum::<u32>().min(100);
    let lane = if risk_score >= config.red_from {
        Lane::Red
    } else if risk_score >= config.yellow_from {
        Lane::Yellow
    } else {
        Lane::Green
    };
    Verdict { risk_score, lane, reasons }
}

/// The estimated mass against the declared gross weight; a load too dense to see through
/// only gives a lower bound, which can show an overweight load but not an underweight one.
fn weight_mismatch(analysis: &Analysis, metadata: &ScanMetadata, config: &TriageConfig) -> Option<Reason> {
    let declared = metadata.declaration.gross_weight_kg();
    let estimated = analysis.cargo_mass_kg;
    if declared <= 0.0 {
        return None;
    }
    let difference = estimated / declared - 1.0;
    let lower_bound = analysis.containers.iter().any(|c| c.mass.saturated_share > config.saturated_above);
    let mismatch = difference > config.weight_tolerance || (!lower_bound && difference < -config.weight_tolerance);
    mismatch.then(|| Reason {
        code: ReasonCode::WeightMismatch,
        sentence: format!(
            "The image weighs about {:.1} t against {:.1} t declared ({:+.0} %).",
            estimated / 1000.0,
            declared / 1000.0,
            100.0 * difference
        ),
        evidence: json!({ "estimated_kg": estimated.round(), "declared_kg": declared, "tolerance": config.weight_tolerance, "lower_bound": lower_bound }),
        points: config.points.weight_mismatch,
    })
}

/// Something hidden: regions the anomaly model finds unlike ordinary cargo, and walls across a
/// hold, which are what a false wall looks like. One reason for both, as both call for opening
/// the container.
fn concealment(analysis: &Analysis, config: &TriageConfig) -> Option<Reason> {
    let walls: Vec<_> = analysis
        .containers
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.partitions.iter().map(move |p| (i, p)))
        .collect();
    let mut sentences: Vec<String> = walls
        .iter()
        .map(|(i, p)| {
            format!(
                "A wall stands across container {}'s hold {:.2} m from its end: a false wall there would hide a compartment.",
                i + 1,
                p.from_end_mm / 1000.0
            )
        })
        .collect();
    if let Some(top) = analysis.anomaly_regions.first() {
        sentences.push(format!(
            "{} region(s) look unlike ordinary cargo (highest score {:.2}, threshold {:.2}).",
            analysis.anomaly_regions.len(),
            top.score,
            analysis.anomaly_threshold
        ));
    }
    let partitions: Vec<_> = walls.iter().map(|(i, p)| json!({ "container": i, "box": p.bbox, "from_end_mm": p.from_end_mm })).collect();
    (!sentences.is_empty()).then(|| Reason {
        code: ReasonCode::Concealment,
        sentence: sentences.join(" "),
        evidence: json!({ "regions": analysis.anomaly_regions, "threshold": analysis.anomaly_threshold, "partitions": partitions }),
        points: config.points.concealment,
    })
}

fn display_name<'a>(taxonomy: &'a Taxonomy, id: &'a str) -> &'a str {
    taxonomy.index_of(id).map_or(id, |i| taxonomy.categories[i].name.as_str())
}

/// Goods the models saw, and where their share was large enough to count.
struct SeenGoods<'a> {
    share: &'a CategoryShare,
    /// `None` when counted over the whole load, else the container it was counted in.
    container: Option<usize>,
}

impl SeenGoods<'_> {
    fn category(&self) -> &str {
        &self.share.category
    }
}

/// A category counts as seen when it covers `min_share` of the whole load, or of one
/// container's: in a twin load, goods that fill a fifth of one container are a tenth of the
/// scan, and would otherwise pass unseen; and a declaration may say which container holds
/// what. Whole load first, then each container of a twin load.
fn seen_goods<'a>(analysis: &'a Analysis, config: &TriageConfig) -> Vec<SeenGoods<'a>> {
    let counts = |c: &&CategoryShare| c.share >= config.min_share && c.confidence >= config.min_confidence;
    let mut seen: Vec<SeenGoods> =
        analysis.composition.iter().filter(counts).map(|share| SeenGoods { share, container: None }).collect();
    if analysis.containers.len() > 1 {
        for (index, container) in analysis.containers.iter().enumerate() {
            seen.extend(container.composition.iter().filter(counts).map(|share| SeenGoods { share, container: Some(index) }));
        }
    }
    seen
}

fn describe(seen: &[SeenGoods]) -> String {
    if seen.is_empty() {
        return "goods of no clear category".to_owned();
    }
    let mut listed = BTreeSet::new();
    seen.iter()
        .filter(|g| listed.insert(g.category()))
        .map(|g| format!("{} {:.0} %", g.category(), 100.0 * g.share.share))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::mass::MassEstimate;
    use crate::imaging::partition::Partition;
    use crate::inference::analysis::{AnomalyRegion, CategoryShare, ContainerAnalysis, Heatmap, ImageSummary, StageTimings};
    use crate::imaging::PixelBox;

    const META: &str = r#"{"format_version": 1, "station_id": "S1", "station_scan_id": "A-1",
        "captured_at": "2026-05-01T10:00:00Z", "energies_mev": {"high": 6, "low": 4},
        "containers": [{"number": "CSQU3054383", "iso_type": "22G1"}],
        "declaration": {"number": "D1", "declarant": "X", "items": [
            {"hs_code": "610910", "description": "T-shirts", "quantity": 10, "unit": "cartons", "gross_weight_kg": 10000}]}}"#;

    fn metadata() -> ScanMetadata {
        ScanMetadata::from_json(META.as_bytes()).unwrap()
    }

    fn analysis(goods: &[(&str, f32)], mass_kg: f64, saturated_share: f64) -> Analysis {
        let composition: Vec<CategoryShare> =
            goods.iter().map(|&(c, share)| CategoryShare { category: c.into(), share, confidence: 0.9 }).collect();
        let boxed = PixelBox { x0: 0, y0: 0, x1: 10, y1: 10 };
        Analysis {
            schema_version: 1,
            image: ImageSummary { width: 10, height: 10, pixel_pitch_mm: 5.0, dual_energy: true, warnings: vec![] },
            containers: vec![ContainerAnalysis {
                outer: boxed,
                interior: boxed,
                loaded_share: if goods.is_empty() { 0.0 } else { 0.8 },
                composition: composition.clone(),
                mass: MassEstimate { kg: mass_kg, wall_attenuation: 0.08, saturated_share },
                anomaly_score: 0.0,
                partitions: vec![],
            }],
            composition,
            anomaly_score: 0.0,
            anomaly_threshold: 0.5,
            anomaly_regions: vec![],
            cargo_mass_kg: mass_kg,
            models: vec![],
            timings_ms: StageTimings::default(),
            heatmap: Heatmap::default(),
        }
    }

    fn verdict(analysis: &Analysis, metadata: &ScanMetadata) -> Verdict {
        triage(analysis, metadata, &Taxonomy::built_in(), &TriageConfig::default())
    }

    fn codes(v: &Verdict) -> Vec<ReasonCode> {
        v.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn matching_load_is_green() {
        let v = verdict(&analysis(&[("textiles", 1.0)], 10_300.0, 0.0), &metadata());
        assert_eq!((v.lane, v.risk_score), (Lane::Green, 0), "{v:?}");
    }

    #[test]
    fn small_or_unsure_shares_are_not_goods() {
        let mut a = analysis(&[("textiles", 0.96), ("tobacco", 0.04)], 10_000.0, 0.0);
        assert!(codes(&verdict(&a, &metadata())).is_empty());
        a.composition = vec![
            CategoryShare { category: "textiles".into(), share: 0.7, confidence: 0.9 },
            CategoryShare { category: "tobacco".into(), share: 0.3, confidence: 0.4 },
        ];
        assert!(codes(&verdict(&a, &metadata())).is_empty());
    }

    #[test]
    fn undeclared_high_risk_goods_go_red_with_both_reasons() {
        let v = verdict(&analysis(&[("textiles", 0.6), ("tobacco", 0.4)], 10_000.0, 0.0), &metadata());
        assert_eq!(codes(&v), [ReasonCode::UndeclaredGoods, ReasonCode::HighRiskGoods]);
        assert_eq!((v.lane, v.risk_score), (Lane::Red, 70));
        assert!(v.reasons[0].sentence.contains("Cigarettes and tobacco cover 40 %"), "{}", v.reasons[0].sentence);
    }

    #[test]
    fn goods_filling_part_of_one_container_of_a_twin_load_count() {
        let mut a = analysis(&[("textiles", 0.96), ("bottled_liquids", 0.04)], 10_000.0, 0.0);
        let mut second = a.containers[0].clone();
        a.containers[0].composition = vec![CategoryShare { category: "textiles".into(), share: 1.0, confidence: 0.9 }];
        second.composition = vec![
            CategoryShare { category: "textiles".into(), share: 0.92, confidence: 0.9 },
            CategoryShare { category: "bottled_liquids".into(), share: 0.08, confidence: 0.9 },
        ];
        a.containers.push(second);
        let v = verdict(&a, &metadata());
        assert_eq!(codes(&v), [ReasonCode::UndeclaredGoods]);
        assert!(v.reasons[0].sentence.contains("8 % of container 2's load but are not declared."), "{}", v.reasons[0].sentence);
        assert_eq!(v.reasons[0].evidence["container"], 1);
        // One container: its share is the load's, and a small one stays below the bar.
        a.containers.truncate(1);
        a.containers[0].composition = a.composition.clone();
        assert!(codes(&verdict(&a, &metadata())).is_empty());
    }

    #[test]
    fn a_declaration_that_names_containers_is_checked_container_by_container() {
        const TWIN: &str = r#"{"format_version": 1, "station_id": "S1", "station_scan_id": "A-2",
            "captured_at": "2026-05-01T10:00:00Z", "energies_mev": {"high": 6, "low": 4},
            "containers": [{"number": "CSQU3054383", "iso_type": "22G1"}, {"number": "MSKU9070323", "iso_type": "22G1"}],
            "declaration": {"number": "D2", "declarant": "X", "items": [
                {"hs_code": "610910", "description": "T-shirts", "quantity": 10, "unit": "cartons", "gross_weight_kg": 5000},
                {"hs_code": "240120", "description": "Tobacco", "quantity": 10, "unit": "bales", "gross_weight_kg": 5000}]}}"#;
        let twin = ScanMetadata::from_json(TWIN.as_bytes()).unwrap();
        let share = |category: &str, share: f32| CategoryShare { category: category.into(), share, confidence: 0.9 };
        // Tobacco in both containers: a fifth of the first's load, all of the second's.
        let mut a = analysis(&[("tobacco", 0.6), ("textiles", 0.4)], 10_000.0, 0.0);
        let mut second = a.containers[0].clone();
        a.containers[0].composition = vec![share("textiles", 0.8), share("tobacco", 0.2)];
        second.composition = vec![share("tobacco", 1.0)];
        a.containers.push(second);
        // Without container numbers the declaration covers both: only the high-risk note.
        assert_eq!(codes(&verdict(&a, &twin)), [ReasonCode::HighRiskGoods]);

        let mut named = twin.clone();
        named.declaration.items[0].container = Some(named.containers[0].number.clone());
        named.declaration.items[1].container = Some(named.containers[1].number.clone());
        let v = verdict(&a, &named);
        assert_eq!(codes(&v), [ReasonCode::UndeclaredGoods, ReasonCode::HighRiskGoods]);
        assert!(
            v.reasons[0].sentence.contains("cover 20 % of container 1's load but are not declared for it"),
            "{}",
            v.reasons[0].sentence
        );
        assert_eq!(v.reasons[0].evidence["container"], 0);

        // An item that names no container may be in either.
        named.declaration.items[1].container = None;
        assert_eq!(codes(&verdict(&a, &named)), [ReasonCode::HighRiskGoods]);
    }

    #[test]
    fn a_lower_bound_mass_shows_overweight_but_not_underweight() {
        let heavy = verdict(&analysis(&[("textiles", 1.0)], 15_000.0, 0.2), &metadata());
        assert_eq!(codes(&heavy), [ReasonCode::WeightMismatch]);
        let light_but_saturated = verdict(&analysis(&[("textiles", 1.0)], 5_000.0, 0.2), &metadata());
        assert!(codes(&light_but_saturated).is_empty());
        let light = verdict(&analysis(&[("textiles", 1.0)], 5_000.0, 0.0), &metadata());
        assert_eq!(codes(&light), [ReasonCode::WeightMismatch]);
        assert_eq!(light.lane, Lane::Yellow);
    }

    #[test]
    fn a_wall_across_the_hold_or_an_anomaly_region_raises_one_concealment_reason() {
        let mut a = analysis(&[("textiles", 1.0)], 10_300.0, 0.0);
        let wall = PixelBox { x0: 4, y0: 0, x1: 5, y1: 10 };
        a.containers[0].partitions = vec![Partition { bbox: wall, from_end_mm: 1050.0 }];
        let v = verdict(&a, &metadata());
        assert_eq!(codes(&v), [ReasonCode::Concealment]);
        assert_eq!(v.lane, Lane::Red);
        assert!(v.reasons[0].sentence.starts_with("A wall stands across container 1's hold 1.05 m from its end"), "{}", v.reasons[0].sentence);
        assert_eq!(v.reasons[0].evidence["partitions"][0]["from_end_mm"], 1050.0);
        a.anomaly_regions = vec![AnomalyRegion { container: 0, bbox: wall, score: 0.9 }];
        let v = verdict(&a, &metadata());
        assert_eq!((codes(&v), v.risk_score), (vec![ReasonCode::Concealment], 60));
        assert!(v.reasons[0].sentence.ends_with("1 region(s) look unlike ordinary cargo (highest score 0.90, threshold 0.50)."), "{}", v.reasons[0].sentence);
    }

    #[test]
    fn declared_empty_but_loaded_and_unknown_codes() {
        let mut empty = metadata();
        empty.declaration.items.clear();
        empty.declaration.empty = true;
        let v = verdict(&analysis(&[("machinery", 1.0)], 3_000.0, 0.0), &empty);
        assert_eq!(codes(&v), [ReasonCode::DeclaredEmptyButLoaded]);
        assert_eq!(v.lane, Lane::Red);
        assert!(codes(&verdict(&analysis(&[], 50.0, 0.0), &empty)).is_empty());

        let mut unknown = metadata();
        unknown.declaration.items[0].hs_code = crate::ingest::HsCode::parse("970110").unwrap();
        let v = verdict(&analysis(&[("textiles", 1.0)], 10_000.0, 0.0), &unknown);
        assert_eq!(codes(&v), [ReasonCode::UnknownHsCode, ReasonCode::UndeclaredGoods]);
    }
}
