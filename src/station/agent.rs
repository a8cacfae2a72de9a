//! The station agent: watches the folder a scanner exports to and uploads each complete scan
//! through the spool, retrying while the service or the network is down, until shut down.
//!
//! One loop, one upload at a time: every poll interval it moves the folders that have settled
//! into `pending/`, then uploads what is pending unless it is backing off after a transient
//! failure. A scan that failed goes to the back of the line, so one the service keeps failing
//! on cannot hold up the others.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use super::client::{Outcome, StationClient};
use super::retry::{Backoff, RetryPolicy};
use super::spool::Spool;
use super::watch::{Settler, look};

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The folder the scanner exports scan folders to.
    pub watch: PathBuf,
    /// Where scans wait and end up; on the same filesystem as `watch`.
    pub spool: PathBuf,
    /// How often the watched folder is looked at.
    pub poll_interval: Duration,
    /// How long a scan folder must stay unchanged to count as complete.
    pub settle: Duration,
    pub retry: RetryPolicy,
}

impl AgentConfig {
    /// The defaults: the spool in `<watch>/.scantriage`, a look every second, two seconds to
    /// settle, retries from 1 s doubling to 60 s.
    pub fn new(watch: impl Into<PathBuf>) -> Self {
        let watch = watch.into();
        Self {
            spool: watch.join(".scantriage"),
            watch,
            poll_interval: Duration::from_secs(1),
            settle: Duration::from_secs(2),
            retry: RetryPolicy::default(),
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Scans the service took as new.
    pub uploaded: usize,
    /// Scans the service already had (sent before a crash or by hand).
    pub duplicates: usize,
    pub rejected: usize,
    /// Attempts that failed transiently and were retried or left for the next run.
    pub failed_attempts: usize,
}

/// Runs the agent until `shutdown` completes. An upload in progress is finished first; scans
/// not yet uploaded stay in `pending/` for the next run. Errors only when it cannot start.
pub async fn run(client: &StationClient, config: &AgentConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<Summary> {
    let mut agent = Agent::start(client, config).await?;
    let mut stop = Stop::new(shutdown);
    loop {
        agent.admit_complete_folders().await;
        while Instant::now() >= agent.retry_at
            && !stop.requested()
            && let Some(scan) = agent.queue.pop_front()
        {
            agent.upload(scan).await;
        }
        // Look again after the poll interval, or sooner when a retry falls due.
        let until_retry = agent.retry_at.saturating_duration_since(Instant::now());
        let pause = if until_retry.is_zero() { config.poll_interval } else { config.poll_interval.min(until_retry) };
        if stop.sleep(pause).await {
            break;
        }
    }
    tracing::info!(summary = ?agent.summary, still_pending = agent.queue.len(), "station agent stopped");
    Ok(agent.summary)
}

struct Agent<'a> {
    client: &'a StationClient,
    spool: Spool,
    watch: PathBuf,
    spool_root: PathBuf,
    settler: Settler,
    /// The scans in `pending/`, next first.
    queue: VecDeque<PathBuf>,
    backoff: Backoff,
    /// No upload before this, after a transient failure.
    retry_at: Instant,
    summary: Summary,
}

impl<'a> Agent<'a> {
    async fn start(client: &'a StationClient, config: &AgentConfig) -> anyhow::Result<Self> {
        let (root, source) = (config.spool.clone(), config.watch.clone());
        let spool = crate::on_blocking_thread(move || Spool::open(&root, &source)).await?;
        // `look` recognises the spool inside the watched folder by path: both spelled canonically.
        let canonical = |path: &Path| path.canonicalize().with_context(|| format!("cannot open {}", path.display()));
        let (watch, spool_root) = (canonical(&config.watch)?, canonical(&config.spool)?);
        let queue: VecDeque<PathBuf> = spool.pending().await.context("cannot list the spool")?.into();
        tracing::info!(watch = %watch.display(), spool = %spool_root.display(), left_pending = queue.len(), "station agent started");
        Ok(Self {
            client,
            spool,
            watch,
            spool_root,
            settler: Settler::new(config.settle),
            queue,
            backoff: Backoff::new(config.retry),
            retry_at: Instant::now(),
            summary: Summary::default(),
        })
    }

    /// Moves the scan folders that have settled into `pending/`, at the back of the queue.
    async fn admit_complete_folders(&mut self) {
        let (dir, skip) = (self.watch.clone(), self.spool_root.clone());
        let folders = match crate::on_blocking_thread(move || look(&dir, &skip)).await {
            Ok(folders) => folders,
            Err(error) => {
                tracing::warn!(watch = %self.watch.display(), %error, "cannot read the watched folder");
                return;
            }
        };
        for folder in self.settler.complete(folders, std::time::Instant::now()) {
            match self.spool.admit(&folder).await {
                Ok(pending) => self.queue.push_back(pending),
                Err(error) => tracing::warn!(scan = %folder.display(), %error, "cannot move the scan into the spool"),
            }
        }
    }

    /// One attempt at one pending scan, and where the scan goes next.
    async fn upload(&mut self, scan: PathBuf) {
        match self.client.send(&scan, None).await {
            Outcome::Done(receipt) => {
                self.backoff.reset();
                let duplicate = receipt.duplicate == Some(true);
                if duplicate {
                    self.summary.duplicates += 1;
                } else {
                    self.summary.uploaded += 1;
                }
                tracing::info!(scan = %name(&scan), scan_id = %receipt.scan_id, duplicate, "uploaded");
                settle_in_spool(&scan, self.spool.finish(&scan).await);
            }
            Outcome::Rejected(rejection) => {
                self.backoff.reset();
                self.summary.rejected += 1;
                tracing::warn!(scan = %name(&scan), error = %rejection.summary(), "rejected; moved to rejected/ with error.json");
                settle_in_spool(&scan, self.spool.reject(&scan, &rejection.error).await);
            }
            Outcome::Retry(transient) => {
                self.summary.failed_attempts += 1;
                let delay = self.backoff.next_delay(transient.retry_after);
                self.retry_at = Instant::now() + delay;
                if transient.needs_operator {
                    tracing::error!(scan = %name(&scan), reason = %transient.reason, retry_in = ?delay, "upload refused; will retry");
                } else {
                    tracing::warn!(scan = %name(&scan), reason = %transient.reason, retry_in = ?delay, "upload failed; will retry");
                }
                self.queue.push_back(scan);
            }
        }
    }
}

/// A failed move out of `pending/` leaves the scan there: the next run sends it again and the
/// service answers with the original scan, so this is logged, not fatal.
fn settle_in_spool(scan: &Path, moved: std::io::Result<PathBuf>) {
    if let Err(error) = moved {
        tracing::error!(scan = %scan.display(), %error, "cannot move the scan out of pending/; the next run sends it again");
    }
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The shutdown request: checked between uploads without waiting, and raced against pauses.
struct Stop<F> {
    signal: Pin<Box<F>>,
    requested: bool,
}

impl<F: Future<Output = ()>> Stop<F> {
    fn new(signal: F) -> Self {
        Self { signal: Box::pin(signal), requested: false }
    }

    fn requested(&mut self) -> bool {
        if !self.requested {
            self.requested = self.signal.as_mut().poll(&mut Context::from_waker(Waker::noop())) == Poll::Ready(());
        }
        self.requested
    }

    /// Pauses for `duration`; true if shutdown was requested meanwhile.
    async fn sleep(&mut self, duration: Duration) -> bool {
        if !self.requested {
            tokio::select! {
                () = self.signal.as_mut() => self.requested = true,
                () = tokio::time::sleep(duration) => {}
            }
        }
        self.requested
    }
}
