//! Fifth step of a scan's journey: the durable record of every scan and the officers' risk
//! queue. A scan moves through explicit [`ScanState`]s, every change is written to an
//! append-only audit log, and analysis workers pick up whatever a crash left unfinished.
//!
//! One [`Store`] runs the same SQL on SQLite (embedded default) and PostgreSQL (several
//! instances sharing one queue); what differs between the two lives behind [`Backend`].

mod backend;
pub mod backup;
pub mod early;
mod postgres;
mod records;
pub mod retention;
mod sqlite;
mod store;
pub mod worker;

pub use backend::Backend;
pub use records::{
    AuditEntry, Claim, Decision, Inserted, NewScan, Outcome, OutcomeExport, PendingAnalysis, QueueEntry, QueueFilter,
    QueueStats, ScanRecord, ScanState, StoredAnalysis,
};
pub use records::to_rfc3339;
pub use store::{ExpiredScan, SYSTEM_ACTOR, Store, StoreError};

/// Milliseconds since the Unix epoch, as stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
