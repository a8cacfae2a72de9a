//! The station side: what runs next to a scanner and uploads its scans to the service.
//!
//! [`client`] makes one upload attempt and says what the answer means for the scan (done,
//! rejected for good, or retry); [`retry`] says when to try again. [`upload_with_retries`]
//! uploads one folder; [`agent`] watches the folder a scanner exports to, moving each complete
//! scan through a [`spool`] on disk so that nothing is lost or sent twice.
//! docs/station-agent.md describes it for the people who run a station.

pub mod agent;
pub mod client;
pub mod folder;
pub mod retry;
pub mod spool;
pub mod watch;

use std::path::Path;

use client::{Outcome, StationClient};
use retry::{Backoff, RetryPolicy};

/// Uploads the scan in `folder`, trying up to `max_attempts` times in all while the failures
/// are transient. Returns the last outcome and the attempts it took.
pub async fn upload_with_retries(
    client: &StationClient,
    folder: &Path,
    wait: Option<u64>,
    policy: RetryPolicy,
    max_attempts: u32,
) -> (Outcome, u32) {
    let mut backoff = Backoff::new(policy);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = client.send(folder, wait).await;
        let Outcome::Retry(transient) = &outcome else { return (outcome, attempts) };
        if attempts >= max_attempts || transient.needs_operator {
            return (outcome, attempts);
        }
        let delay = backoff.next_delay(transient.retry_after);
        tracing::warn!(scan = %folder.display(), attempt = attempts, reason = %transient.reason, retry_in = ?delay, "upload failed; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// An error and its causes on one line: reqwest's own message leaves out the cause, such as
/// "connection refused", that a station operator needs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source()).map(ToString::to_string).collect::<Vec<_>>().join(": ")
}
