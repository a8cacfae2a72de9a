//! What the store keeps and returns: database rows as plain values, separate from any HTTP view.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};

use crate::inference::analysis::Heatmap;
use crate::triage::Lane;

/// Where a scan is on its way. Green scans end `released`; yellow and red ones are `queued`
/// for officers until `decided`, then `closed` once the inspection outcome is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Received,
    Analysing,
    Analysed,
    Queued,
    Released,
    Decided,
    Closed,
    Failed,
}

/// An officer's decision on a queued scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Cleared,
    DocumentsRequested,
    PhysicalInspectionOrdered,
    Seizure,
    FalseAlarm,
}

/// What a physical inspection found, recorded after the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NothingFound,
    Irregularity,
    Seizure,
}

/// Text forms as stored, identical to the JSON ones.
macro_rules! stored_names {
    ($type:ty, $what:literal, $($variant:ident = $name:literal),+ $(,)?) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl FromStr for $type {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}; expected one of: {}"), other, [$($name),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_names!(ScanState, "state",
    Received = "received", Analysing = "analysing", Analysed = "analysed", Queued = "queued",
    Released = "released", Decided = "decided", Closed = "closed", Failed = "failed");
stored_names!(Decision, "decision",
    Cleared = "cleared", DocumentsRequested = "documents_requested",
    PhysicalInspectionOrdered = "physical_inspection_ordered", Seizure = "seizure", FalseAlarm = "false_alarm");
stored_names!(Outcome, "outcome", NothingFound = "nothing_found", Irregularity = "irregularity", Seizure = "seizure");

/// A scan as the intake hands it to the store: images already on disk.
#[derive(Debug, Clone)]
pub struct NewScan {
    pub id: String,
    pub station_id: String,
    pub station_scan_id: String,
    /// sha256 over the metadata and both images: a retry must carry the same.
    pub content_digest: String,
    pub metadata: String,
    pub high_image: String,
    pub low_image: Option<String>,
    pub containers: String,
    pub declared_goods: String,
    /// The declaration's number, upper case: what officers search by.
    pub declaration_number: String,
}

/// What inserting a scan did. Uploads are idempotent on (station, station scan id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    New { id: String },
    /// The same upload again: the original scan.
    Duplicate { id: String },
    /// The station scan id is taken by an upload with different content.
    Conflict { id: String },
}

/// A scan claimed for analysis by one worker; `attempt` fences out a worker whose lease lapsed.
#[derive(Debug, Clone)]
pub struct PendingAnalysis {
    pub scan_id: String,
    pub attempt: i64,
    pub metadata: String,
    pub high_image: String,
    pub low_image: Option<String>,
    pub received_at: i64,
}

/// An analysis as stored for one scan.
#[derive(Debug, Clone)]
pub struct StoredAnalysis {
    pub analysis: serde_json::Value,
    /// None once the retention policy deleted its cells.
    pub heatmap: Option<Heatmap>,
    pub models: serde_json::Value,
}

/// An officer's hold on a scan until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Claim {
    pub officer: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub until: i64,
}

/// Everything about one scan but its analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanRecord {
    pub id: String,
    pub station_id: String,
    pub station_scan_id: String,
    pub state: ScanState,
    pub failure: Option<String>,
    pub attempts: i64,
    pub risk_score: Option<i64>,
    pub lane: Option<Lane>,
    #[schema(value_type = Option<crate::triage::Verdict>)]
    pub verdict: Option<serde_json::Value>,
    pub containers: String,
    pub declared_goods: String,
    pub claim: Option<Claim>,
    pub decision: Option<Decision>,
    pub decision_notes: Option<String>,
    pub decided_by: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<i64>,
    pub outcome: Option<Outcome>,
    pub outcome_notes: Option<String>,
    pub outcome_by: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub outcome_at: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: i64,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    /// The metadata as uploaded (docs/scan-format.md).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    #[serde(skip)]
    pub high_image: String,
    #[serde(skip)]
    pub low_image: Option<String>,
    /// When retention deleted the scan's images and heatmap (docs/operations.md); the verdict,
    /// decision and audit log stay.
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub images_purged_at: Option<i64>,
    /// Bumped by every change; see [`super::Store::apply_review`].
    #[serde(skip)]
    pub version: i64,
}

/// One line of the risk queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueEntry {
    pub id: String,
    pub station_id: String,
    pub state: ScanState,
    pub lane: Option<Lane>,
    pub risk_score: Option<i64>,
    pub containers: String,
    pub declared_goods: String,
    pub reasons: Vec<String>,
    pub claim: Option<Claim>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: i64,
}

/// Which scans a queue listing shows; by default those waiting for an officer.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    pub lane: Option<Lane>,
    pub station: Option<String>,
    pub state: Option<ScanState>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl QueueFilter {
    pub const MAX_LIMIT: u32 = 500;

    pub fn limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(100).clamp(1, Self::MAX_LIMIT))
    }
}

/// Counts for supervisors: by state; by lane and state; by station and lane; by day and lane;
/// inspection outcomes by triage reason.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QueueStats {
    pub by_state: std::collections::BTreeMap<String, i64>,
    pub by_lane: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    pub by_station: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    pub by_day: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    /// Scans with an outcome recorded, by each reason of their verdict (`none`: no reason) and
    /// outcome: the hit rate of each rule, and with `random_selection` of what the rules miss.
    pub outcomes_by_reason: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
}

/// One audit log line: who did what to a scan, when, and from which state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub scan_id: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub previous_state: Option<ScanState>,
    pub new_state: Option<ScanState>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One decided scan for model feedback: what was flagged, by which models, and what was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeExport {
    pub scan_id: String,
    pub station_id: String,
    pub station_scan_id: String,
    pub containers: String,
    pub lane: Option<Lane>,
    pub risk_score: Option<i64>,
    pub reasons: Vec<String>,
    #[schema(value_type = Vec<crate::inference::analysis::ModelVersion>)]
    pub models: serde_json::Value,
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<i64>,
    pub outcome: Option<Outcome>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub outcome_at: Option<i64>,
}

/// A stored time as RFC 3339 UTC with milliseconds.
pub fn to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn rfc3339<S: Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_rfc3339(*ms))
}

fn rfc3339_opt<S: Serializer>(ms: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, serializer),
        None => serializer.serialize_none(),
    }
}
