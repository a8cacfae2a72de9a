//! Accepting an upload: the metadata checked against the contract, the images' headers against
//! the limits, the images made durable, then the record committed. Only then is the scan
//! acknowledged; a retry of the same upload returns the original scan.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use bytes::Bytes;

use super::images::{ImageStore, ImageStoreError, hex, image_key};
use super::{ContractError, ScanMetadata};
use crate::imaging::decode::{DecodeError, Energy, Limits, inspect};
use crate::imaging::on_both_images;
use crate::queue::early::EarlyAnalyses;
use crate::queue::{Inserted, NewScan, Store, StoreError};

/// One upload as it arrived: the metadata JSON and the encoded images.
#[derive(Debug, Clone)]
pub struct Upload {
    pub metadata: Bytes,
    pub high: Bytes,
    pub low: Option<Bytes>,
}

#[derive(Debug, Clone, Copy)]
pub struct IntakeConfig {
    pub limits: Limits,
    /// Scans accepted but not yet analysed beyond which uploads are refused for a while.
    pub max_backlog: i64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self { limits: Limits::default(), max_backlog: 64 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    New { scan_id: String },
    /// The station sent this upload before; this is the original scan.
    Duplicate { scan_id: String },
}

impl Accepted {
    pub fn scan_id(&self) -> &str {
        match self {
            Accepted::New { scan_id } | Accepted::Duplicate { scan_id } => scan_id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error("this station is {authenticated} but the metadata says station_id {declared:?}")]
    WrongStation { authenticated: String, declared: String },
    #[error("the metadata declares a {declared} scan but {given}")]
    EnergyMismatch { declared: &'static str, given: &'static str },
    #[error(transparent)]
    Image(#[from] DecodeError),
    #[error("station scan id {station_scan_id:?} was already used for different content (scan {scan_id})")]
    Conflict { scan_id: String, station_scan_id: String },
    #[error("{backlog} scans are waiting for analysis; try again shortly")]
    Busy { backlog: i64 },
    #[error(transparent)]
    ImageStore(#[from] ImageStoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The door every scan comes in through.
pub struct Intake {
    store: Store,
    images: Arc<dyn ImageStore>,
    config: IntakeConfig,
    arrivals: Arc<Notify>,
    analyses: Option<Arc<EarlyAnalyses>>,
}

impl Intake {
    /// `arrivals` is notified after each new scan, to wake an analysis worker; `analyses`,
    /// when given, starts analysing a scan while it is being made durable.
    pub fn new(
        store: Store,
        images: Arc<dyn ImageStore>,
        config: IntakeConfig,
        arrivals: Arc<Notify>,
        analyses: Option<Arc<EarlyAnalyses>>,
    ) -> Self {
        Self { store, images, config, arrivals, analyses }
    }

    pub fn config(&self) -> &IntakeConfig {
        &self.config
    }

    /// Accepts an upload from `station` (the authenticated station, when the caller knows it).
    pub async fn accept(&self, station: Option<&str>, upload: &Upload) -> Result<Accepted, IntakeError> {
        let metadata = ScanMetadata::from_json(&upload.metadata)?;
        metadata.validate(chrono::Utc::now())?;
        if let Some(station) = station
            && station != metadata.station_id
        {
            return Err(IntakeError::WrongStation { authenticated: station.into(), declared: metadata.station_id });
        }
        self.check_images(&metadata, upload)?;
        let canonical = serde_json::to_string(&metadata).expect("metadata serialises");
        let (high, low) = (upload.high.clone(), upload.low.clone());
        // Megabytes of hashing: not on the async runtime's threads.
        let (high_image, low_image) = crate::on_blocking_thread(move || {
            Ok::<_, IntakeError>(on_both_images(&high[..], low.as_deref(), image_key))
        })
        .await?;
        let digest = content_digest(&canonical, &high_image, low_image.as_deref());

        // A retry is answered even when the service is busy: the scan was accepted before.
        if let Some((scan_id, stored)) = self.store.find_station_scan(&metadata.station_id, &metadata.station_scan_id).await? {
            return if stored == digest {
                Ok(Accepted::Duplicate { scan_id })
            } else {
                Err(IntakeError::Conflict { scan_id, station_scan_id: metadata.station_scan_id })
            };
        }
        let backlog = self.store.backlog().await?;
        if backlog >= self.config.max_backlog {
            return Err(IntakeError::Busy { backlog });
        }

        let id = uuid::Uuid::now_v7().to_string();
        if let Some(analyses) = &self.analyses {
            analyses.start(&id, upload.high.clone(), upload.low.clone(), metadata.clone());
        }
        // Both images at once: each waits for its own fsyncs.
        let store_low = async {
            match (&low_image, &upload.low) {
                (Some(key), Some(bytes)) => self.images.put(key, bytes.clone()).await,
                _ => Ok(()),
            }
        };
        tokio::try_join!(self.images.put(&high_image, upload.high.clone()), store_low)?;
        let scan = NewScan {
            id,
            station_id: metadata.station_id.clone(),
            station_scan_id: metadata.station_scan_id.clone(),
            content_digest: digest,
            containers: metadata.containers.iter().map(|c| c.number.to_string()).collect::<Vec<_>>().join(", "),
            declared_goods: declared_goods(&metadata),
            declaration_number: metadata.declaration.number.to_uppercase(),
            metadata: canonical,
            high_image,
            low_image,
        };
        match self.store.insert_scan(&scan).await? {
            Inserted::New { id } => {
                tracing::info!(scan_id = %id, station = %scan.station_id, station_scan_id = %scan.station_scan_id, "scan received");
                self.arrivals.notify_one();
                Ok(Accepted::New { scan_id: id })
            }
            Inserted::Duplicate { id } => Ok(Accepted::Duplicate { scan_id: id }),
            Inserted::Conflict { id } => {
                Err(IntakeError::Conflict { scan_id: id, station_scan_id: scan.station_scan_id })
            }
        }
    }

    /// Headers only: the full decode happens in analysis, off the request path.
    fn check_images(&self, metadata: &ScanMetadata, upload: &Upload) -> Result<(), IntakeError> {
        match (metadata.is_dual_energy(), upload.low.is_some()) {
            (true, false) => {
                return Err(IntakeError::EnergyMismatch { declared: "dual-energy", given: "no low image was sent" });
            }
            (false, true) => {
                return Err(IntakeError::EnergyMismatch { declared: "single-energy", given: "a low image was sent" });
            }
            _ => {}
        }
        let limits = &self.config.limits;
        let high = inspect(&upload.high, limits).map_err(|e| e.in_image(Energy::High))?;
        if let Some(low) = &upload.low {
            let low = inspect(low, limits).map_err(|e| e.in_image(Energy::Low))?;
            if (low.width, low.height) != (high.width, high.height) {
                return Err(DecodeError::SizeMismatch { high: (high.width, high.height), low: (low.width, low.height) }.into());
            }
        }
        Ok(())
    }
}

/// What makes two uploads the same: the metadata as parsed (not its formatting) and both images.
fn content_digest(canonical_metadata: &str, high_image: &str, low_image: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(canonical_metadata.as_bytes());
    hasher.update(high_image.as_bytes());
    if let Some(low) = low_image {
        hasher.update(low.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The declared goods in a few words for the queue listing.
fn declared_goods(metadata: &ScanMetadata) -> String {
    const MAX_CHARS: usize = 160;
    if metadata.declaration.empty {
        return "declared empty".into();
    }
    let all = metadata
        .declaration
        .items
        .iter()
        .map(|item| format!("{} ({})", item.description, item.hs_code))
        .collect::<Vec<_>>()
        .join("; ");
    if all.chars().count() <= MAX_CHARS { all } else { all.chars().take(MAX_CHARS - 1).chain(['…']).collect() }
}
