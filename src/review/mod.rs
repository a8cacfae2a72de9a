//! Last step of a scan's journey: officers working the risk queue. Who may do what to a scan
//! is decided here, as a pure function of the scan, the officer and the action
//! ([`plan`]); the store then applies the change only if nobody changed the scan meanwhile.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::queue::{Claim, Decision, Outcome, QueueFilter, ScanRecord, ScanState, Store, StoreError, now_ms};

/// Officers see and work the queue; supervisors also take over or hand out others' claims;
/// admins manage accounts and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Supervisor,
    Admin,
}

impl Role {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [Role::Officer, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not a role: officer, supervisor or admin"))
    }
}

/// The person acting on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    pub name: String,
    pub role: Role,
}

impl Officer {
    fn may_override_claims(&self) -> bool {
        self.role >= Role::Supervisor
    }
}

/// Longest note kept with a decision or outcome.
pub const MAX_NOTES_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Claim { lease: Duration },
    /// A supervisor hands the scan to another officer.
    Assign { officer: String, lease: Duration },
    Release,
    Decide { decision: Decision, notes: String },
    RecordOutcome { outcome: Outcome, notes: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no scan {0}")]
    NotFound(String),
    #[error("the scan is {0}, not waiting in the queue")]
    NotInQueue(ScanState),
    #[error("the scan is claimed by {officer} until {until}")]
    ClaimedByOther { officer: String, until: String },
    #[error("claim the scan before deciding on it or releasing it")]
    NotClaimed,
    #[error("only a supervisor may assign scans to others")]
    NotSupervisor,
    #[error("no active user {0} to assign the scan to")]
    UnknownAssignee(String),
    #[error("an outcome is recorded only for a decided scan; the scan is {0}")]
    NotDecided(ScanState),
    #[error("notes are limited to {MAX_NOTES_CHARS} characters")]
    NotesTooLong,
    #[error("the scan keeps changing under this action; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The review columns of a scan after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFields {
    pub claim: Option<Claim>,
    pub decision: Option<Decision>,
    pub decision_notes: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub outcome: Option<Outcome>,
    pub outcome_notes: Option<String>,
    pub outcome_by: Option<String>,
    pub outcome_at: Option<i64>,
}

impl ReviewFields {
    fn of(scan: &ScanRecord) -> Self {
        Self {
            claim: scan.claim.clone(),
            decision: scan.decision,
            decision_notes: scan.decision_notes.clone(),
            decided_by: scan.decided_by.clone(),
            decided_at: scan.decided_at,
            outcome: scan.outcome,
            outcome_notes: scan.outcome_notes.clone(),
            outcome_by: scan.outcome_by.clone(),
            outcome_at: scan.outcome_at,
        }
    }
}

/// One officer action as the store writes it, with its audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewChange {
    pub actor: String,
    pub action: &'static str,
    pub previous_state: ScanState,
    pub new_state: ScanState,
    pub fields: ReviewFields,
    pub details: serde_json::Value,
}

/// Decides what `action` by `officer` does to `scan` at `now`, or why it may not.
pub fn plan(scan: &ScanRecord, officer: &Officer, action: &Action, now: i64) -> Result<ReviewChange, ReviewError> {
    let mut fields = ReviewFields::of(scan);
    let active_claim = scan.claim.as_ref().filter(|claim| claim.until > now);
    let held_by_other = active_claim.filter(|claim| claim.officer != officer.name);
    let claimed_by_other = |claim: &Claim| ReviewError::ClaimedByOther {
        officer: claim.officer.clone(),
        until: crate::queue::to_rfc3339(claim.until),
    };
    let in_queue = || if scan.state == ScanState::Queued { Ok(()) } else { Err(ReviewError::NotInQueue(scan.state)) };
    let (name, new_state, details) = match action {
        Action::Claim { lease } => {
            in_queue()?;
            if let Some(claim) = held_by_other.filter(|_| !officer.may_override_claims()) {
                return Err(claimed_by_other(claim));
            }
            let until = now + duration_ms(*lease);
            fields.claim = Some(Claim { officer: officer.name.clone(), until });
            let taken_from = held_by_other.map(|claim| claim.officer.clone());
            ("claimed", scan.state, json!({ "until": crate::queue::to_rfc3339(until), "taken_from": taken_from }))
        }
        Action::Assign { officer: assignee, lease } => {
            in_queue()?;
            if !officer.may_override_claims() {
                return Err(ReviewError::NotSupervisor);
            }
            let until = now + duration_ms(*lease);
            fields.claim = Some(Claim { officer: assignee.clone(), until });
            let taken_from = active_claim.map(|claim| claim.officer.clone());
            ("assigned", scan.state, json!({ "to": assignee, "until": crate::queue::to_rfc3339(until), "taken_from": taken_from }))
        }
        Action::Release => {
            in_queue()?;
            require_claim(active_claim, held_by_other, officer, &claimed_by_other)?;
            fields.claim = None;
            ("claim_released", scan.state, json!({ "held_by": active_claim.map(|c| c.officer.clone()) }))
        }
        Action::Decide { decision, notes } => {
            in_queue()?;
            check_notes(notes)?;
            require_claim(active_claim, held_by_other, officer, &claimed_by_other)?;
            fields.claim = None;
            fields.decision = Some(*decision);
            fields.decision_notes = Some(notes.clone()).filter(|n| !n.is_empty());
            fields.decided_by = Some(officer.name.clone());
            fields.decided_at = Some(now);
            ("decided", ScanState::Decided, json!({ "decision": decision, "notes": notes }))
        }
        Action::RecordOutcome { outcome, notes } => {
            if scan.state != ScanState::Decided {
                return Err(ReviewError::NotDecided(scan.state));
            }
            check_notes(notes)?;
            fields.outcome = Some(*outcome);
            fields.outcome_notes = Some(notes.clone()).filter(|n| !n.is_empty());
            fields.outcome_by = Some(officer.name.clone());
            fields.outcome_at = Some(now);
            ("outcome_recorded", ScanState::Closed, json!({ "outcome": outcome, "notes": notes }))
        }
    };
    Ok(ReviewChange {
        actor: officer.name.clone(),
        action: name,
        previous_state: scan.state,
        new_state,
        fields,
        details,
    })
}

/// Deciding or releasing needs the officer's own live claim; supervisors may act on any queued scan.
fn require_claim(
    active: Option<&Claim>,
    held_by_other: Option<&Claim>,
    officer: &Officer,
    claimed_by_other: &dyn Fn(&Claim) -> ReviewError,
) -> Result<(), ReviewError> {
    if officer.may_override_claims() {
        return Ok(());
    }
    match (active, held_by_other) {
        (_, Some(other)) => Err(claimed_by_other(other)),
        (None, None) => Err(ReviewError::NotClaimed),
        (Some(_), None) => Ok(()),
    }
}

fn check_notes(notes: &str) -> Result<(), ReviewError> {
    if notes.chars().count() > MAX_NOTES_CHARS { Err(ReviewError::NotesTooLong) } else { Ok(()) }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Carries out an officer's action on a scan and returns the scan as it is afterwards.
pub async fn act(store: &Store, officer: &Officer, scan_id: &str, action: &Action) -> Result<ScanRecord, ReviewError> {
    // A claim held by a mistyped or disabled name would block the scan until the lease ends.
    if let Action::Assign { officer: assignee, .. } = action
        && officer.may_override_claims()
        && !store.is_active_user(assignee).await?
    {
        return Err(ReviewError::UnknownAssignee(assignee.clone()));
    }
    // Each round re-reads the scan: a lost race means someone else's change must be judged anew.
    for _ in 0..5 {
        let scan = store.scan(scan_id).await?.ok_or_else(|| ReviewError::NotFound(scan_id.to_owned()))?;
        let change = plan(&scan, officer, action, now_ms())?;
        if store.apply_review(scan_id, scan.version, &change).await? {
            return store.scan(scan_id).await?.ok_or_else(|| ReviewError::NotFound(scan_id.to_owned()));
        }
    }
    Err(ReviewError::Contended)
}

/// Claims the next unclaimed scan of the queue (highest risk, then oldest) for the officer.
pub async fn claim_next(
    store: &Store,
    officer: &Officer,
    filter: &QueueFilter,
    lease: Duration,
) -> Result<Option<ScanRecord>, ReviewError> {
    let until = now_ms() + duration_ms(lease);
    let Some(id) = store.claim_next(&officer.name, filter, until).await? else {
        return Ok(None);
    };
    Ok(store.scan(&id).await?)
}

/// Writes outcomes as JSON lines, one decided scan per line, for model feedback.
pub fn write_jsonl(outcomes: &[crate::queue::OutcomeExport], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for outcome in outcomes {
        serde_json::to_writer(&mut *out, outcome)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
