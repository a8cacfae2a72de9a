//! Triage of the committed samples through the real pipeline and models: each scenario raises
//! its reason, honest scans raise no mismatch.

use std::fs;
use std::path::Path;

use scantriage::imaging::decode::Limits;
use scantriage::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::{HsCode, ScanMetadata};
use scantriage::triage::{Lane, ReasonCode, TriageConfig, Verdict, triage};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn engine() -> Engine {
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let registry = ModelRegistry::load(&root().join("models/manifest.toml")).unwrap();
    Engine::new(InferencePool::start(&runtime, registry, PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap(), Limits::default())
}

fn verdict(engine: &Engine, sample: &str, edit: impl FnOnce(&mut ScanMetadata)) -> Verdict {
    let dir = root().join("samples").join(sample);
    let mut metadata = ScanMetadata::from_json(&fs::read(dir.join("meta.json")).unwrap()).unwrap();
    edit(&mut metadata);
    let high = fs::read(dir.join("high.png")).unwrap();
    let low = fs::read(dir.join("low.png")).ok();
    let analysis = engine.analyse(&high, low.as_deref(), &metadata).unwrap();
    triage(&analysis, &metadata, engine.pool().registry().taxonomy(), &TriageConfig::default())
}

fn codes(verdict: &Verdict) -> Vec<ReasonCode> {
    verdict.reasons.iter().map(|r| r.code).collect()
}

const MISMATCHES: [ReasonCode; 4] = [
    ReasonCode::UndeclaredGoods,
    ReasonCode::DeclaredGoodsNotSeen,
    ReasonCode::DeclaredEmptyButLoaded,
    ReasonCode::WeightMismatch,
];

#[test]
fn each_declaration_scenario_raises_its_reason() {
    let engine = engine();
    let honest = verdict(&engine, "SIM-65-000000", |_| {});
    assert!(codes(&honest).iter().all(|c| !MISMATCHES.contains(c)), "honest textiles: {honest:?}");

    let empty = verdict(&engine, "SIM-6b-000006", |_| {});
    assert!(codes(&empty).contains(&ReasonCode::DeclaredEmptyButLoaded), "{empty:?}");
    assert_eq!(empty.lane, Lane::Red);

    let misdeclared = verdict(&engine, "SIM-6a-000005", |_| {});
    let found = codes(&misdeclared);
    assert!(found.contains(&ReasonCode::UndeclaredGoods) && found.contains(&ReasonCode::DeclaredGoodsNotSeen), "{misdeclared:?}");

    let undeclared = verdict(&engine, "SIM-69-000004", |_| {});
    let reason = undeclared.reasons.iter().find(|r| r.code == ReasonCode::UndeclaredGoods).expect("undeclared ceramics");
    assert_eq!(reason.evidence["category"], "ceramics_glass_stone", "{undeclared:?}");

    let weight = verdict(&engine, "SIM-6c-000007", |_| {});
    assert!(codes(&weight).contains(&ReasonCode::WeightMismatch), "{weight:?}");
}

#[test]
fn the_same_honest_scan_is_flagged_when_its_declaration_lies() {
    let engine = engine();
    // Textiles declared as tyres: undeclared textiles, tyres not seen.
    let lie = verdict(&engine, "SIM-65-000000", |m| m.declaration.items[0].hs_code = HsCode::parse("401110").unwrap());
    let found = codes(&lie);
    assert!(found.contains(&ReasonCode::UndeclaredGoods) && found.contains(&ReasonCode::DeclaredGoodsNotSeen), "{lie:?}");
    assert_ne!(lie.lane, Lane::Green);
    // An HS code the taxonomy does not cover is a reason of its own, not a failure.
    let unknown = verdict(&engine, "SIM-65-000000", |m| m.declaration.items[0].hs_code = HsCode::parse("970110").unwrap());
    assert!(codes(&unknown).contains(&ReasonCode::UnknownHsCode), "{unknown:?}");
    // Half the weight declared.
    let light = verdict(&engine, "SIM-65-000000", |m| m.declaration.items[0].gross_weight_kg /= 2.0);
    assert!(codes(&light).contains(&ReasonCode::WeightMismatch), "{light:?}");
    let reason = light.reasons.iter().find(|r| r.code == ReasonCode::WeightMismatch).unwrap();
    assert!(reason.sentence.contains("declared"), "{}", reason.sentence);
}
