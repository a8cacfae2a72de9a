use super::*;

const NOW: i64 = 1_800_000_000_000;
const LEASE: Duration = Duration::from_secs(600);

fn officer(name: &str) -> Officer {
    Officer { name: name.into(), role: Role::Officer }
}

fn supervisor(name: &str) -> Officer {
    Officer { name: name.into(), role: Role::Supervisor }
}

fn queued_scan() -> ScanRecord {
    ScanRecord {
        id: "scan-1".into(),
        station_id: "GATE-1".into(),
        station_scan_id: "0001".into(),
        state: ScanState::Queued,
        failure: None,
        attempts: 1,
        risk_score: Some(70),
        lane: Some(crate::triage::Lane::Red),
        verdict: None,
        containers: "MSCU1234565".into(),
        declared_goods: "toys".into(),
        claim: None,
        decision: None,
        decision_notes: None,
        decided_by: None,
        decided_at: None,
        outcome: None,
        outcome_notes: None,
        outcome_by: None,
        outcome_at: None,
        received_at: NOW - 60_000,
        updated_at: NOW - 60_000,
        metadata: serde_json::Value::Null,
        high_image: "h".into(),
        low_image: None,
        images_purged_at: None,
        version: 3,
    }
}

fn claimed_by(name: &str, until: i64) -> ScanRecord {
    ScanRecord { claim: Some(Claim { officer: name.into(), until }), ..queued_scan() }
}

fn decide() -> Action {
    Action::Decide { decision: Decision::PhysicalInspectionOrdered, notes: "dense block behind the cartons".into() }
}

#[test]
fn claim_sets_a_lease_and_keeps_the_scan_queued() {
    let change = plan(&queued_scan(), &officer("ana"), &Action::Claim { lease: LEASE }, NOW).unwrap();
    assert_eq!(change.action, "claimed");
    assert_eq!(change.new_state, ScanState::Queued);
    assert_eq!(change.fields.claim, Some(Claim { officer: "ana".into(), until: NOW + 600_000 }));
}

#[test]
fn a_live_claim_of_someone_else_blocks_officers_but_not_supervisors() {
    let scan = claimed_by("ana", NOW + 1000);
    let err = plan(&scan, &officer("ben"), &Action::Claim { lease: LEASE }, NOW).unwrap_err();
    assert!(matches!(err, ReviewError::ClaimedByOther { ref officer, .. } if officer == "ana"), "{err}");
    assert!(matches!(plan(&scan, &officer("ben"), &decide(), NOW), Err(ReviewError::ClaimedByOther { .. })));
    let change = plan(&scan, &supervisor("sue"), &Action::Claim { lease: LEASE }, NOW).unwrap();
    assert_eq!(change.details["taken_from"], "ana");
}

#[test]
fn a_lapsed_claim_is_free_for_anyone() {
    let scan = claimed_by("ana", NOW - 1);
    let change = plan(&scan, &officer("ben"), &Action::Claim { lease: LEASE }, NOW).unwrap();
    assert_eq!(change.fields.claim.unwrap().officer, "ben");
    assert!(matches!(plan(&scan, &officer("ana"), &decide(), NOW), Err(ReviewError::NotClaimed)));
}

#[test]
fn deciding_needs_the_officers_own_claim_and_moves_the_scan_to_decided() {
    assert!(matches!(plan(&queued_scan(), &officer("ana"), &decide(), NOW), Err(ReviewError::NotClaimed)));
    let change = plan(&claimed_by("ana", NOW + 1000), &officer("ana"), &decide(), NOW).unwrap();
    assert_eq!(change.new_state, ScanState::Decided);
    assert_eq!(change.fields.claim, None);
    assert_eq!(change.fields.decision, Some(Decision::PhysicalInspectionOrdered));
    assert_eq!(change.fields.decided_by.as_deref(), Some("ana"));
    assert_eq!(change.fields.decided_at, Some(NOW));
    assert_eq!(change.details["decision"], "physical_inspection_ordered");
}

#[test]
fn only_queued_scans_are_claimed_or_decided() {
    for state in [ScanState::Released, ScanState::Received, ScanState::Decided, ScanState::Failed] {
        let scan = ScanRecord { state, ..claimed_by("ana", NOW + 1000) };
        assert!(matches!(plan(&scan, &officer("ana"), &decide(), NOW), Err(ReviewError::NotInQueue(s)) if s == state));
        let claim = plan(&scan, &supervisor("sue"), &Action::Claim { lease: LEASE }, NOW);
        assert!(matches!(claim, Err(ReviewError::NotInQueue(_))));
    }
}

#[test]
fn outcomes_follow_decisions_and_close_the_scan() {
    let outcome = Action::RecordOutcome { outcome: Outcome::Seizure, notes: "cigarettes".into() };
    assert!(matches!(plan(&queued_scan(), &officer("ana"), &outcome, NOW), Err(ReviewError::NotDecided(ScanState::Queued))));
    let decided = ScanRecord { state: ScanState::Decided, decision: Some(Decision::PhysicalInspectionOrdered), ..queued_scan() };
    let change = plan(&decided, &officer("ben"), &outcome, NOW).unwrap();
    assert_eq!(change.new_state, ScanState::Closed);
    assert_eq!(change.fields.outcome, Some(Outcome::Seizure));
    assert_eq!(change.fields.decision, Some(Decision::PhysicalInspectionOrdered), "the decision is kept");
}

#[test]
fn only_supervisors_assign_and_releasing_drops_the_claim() {
    let assign = Action::Assign { officer: "ben".into(), lease: LEASE };
    assert!(matches!(plan(&queued_scan(), &officer("ana"), &assign, NOW), Err(ReviewError::NotSupervisor)));
    let change = plan(&claimed_by("ana", NOW + 1000), &supervisor("sue"), &assign, NOW).unwrap();
    assert_eq!(change.fields.claim.as_ref().unwrap().officer, "ben");
    assert_eq!(change.details["taken_from"], "ana");
    let released = plan(&claimed_by("ana", NOW + 1000), &officer("ana"), &Action::Release, NOW).unwrap();
    assert_eq!(released.fields.claim, None);
}

#[test]
fn notes_are_bounded() {
    let long = Action::Decide { decision: Decision::Cleared, notes: "x".repeat(MAX_NOTES_CHARS + 1) };
    assert!(matches!(plan(&claimed_by("ana", NOW + 1000), &officer("ana"), &long, NOW), Err(ReviewError::NotesTooLong)));
}

#[test]
fn roles_read_back_as_written_and_unknown_ones_are_refused() {
    for role in [Role::Officer, Role::Supervisor, Role::Admin] {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        assert_eq!(serde_json::to_value(role).unwrap(), role.as_str(), "stored and JSON names agree");
    }
    assert!("root".parse::<Role>().unwrap_err().contains("officer, supervisor or admin"));
}
