//! The load generator: scanner stations uploading scans to a service (scantriage or the Python
//! baseline), open-loop at a fixed arrival rate or closed-loop at a fixed concurrency, timing
//! each upload from the first byte sent to the verdict.

mod metrics;
mod plot;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::Mutex;

pub use metrics::StageBreakdown;
pub use report::{Report, Sample as RequestSample, comparison_table, write_outputs};

/// How requests arrive.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// A new upload every 1/rate seconds, whether or not earlier ones finished.
    Rate(f64),
    /// This many uploads in flight at all times.
    Concurrency(usize),
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub url: String,
    pub load: Load,
    pub duration: Duration,
    /// Station ids with their API keys (`None`: no credentials, for the baseline).
    pub stations: Vec<(String, Option<String>)>,
    /// `?wait=` seconds: the latency measured is to the verdict.
    pub wait_seconds: u64,
    /// Uploads allowed in flight in open-loop mode; beyond it arrivals are counted as dropped.
    pub max_in_flight: usize,
    /// Name of the system under test, for the report.
    pub label: String,
}

/// A scan to upload: metadata to rewrite per upload, images shared by all uploads.
#[derive(Debug, Clone)]
pub struct ScanTemplate {
    pub name: String,
    pub metadata: Value,
    pub high: Bytes,
    pub low: Option<Bytes>,
}

/// Reads every scan folder (meta.json, high.png, optional low.png) under `dir`.
pub fn load_scans(dir: &Path) -> anyhow::Result<Vec<ScanTemplate>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("meta.json").is_file() && path.join("high.png").is_file())
        .collect();
    folders.sort();
    anyhow::ensure!(!folders.is_empty(), "no scan folders (meta.json + high.png) in {}", dir.display());
    folders
        .into_iter()
        .map(|folder| {
            let read = |name: &str| std::fs::read(folder.join(name)).with_context(|| format!("cannot read {}/{name}", folder.display()));
            Ok(ScanTemplate {
                name: folder.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                metadata: serde_json::from_slice(&read("meta.json")?)?,
                high: Bytes::from(read("high.png")?),
                low: folder.join("low.png").is_file().then(|| read("low.png")).transpose()?.map(Bytes::from),
            })
        })
        .collect()
}

/// The PNG with a `tEXt` comment chunk after its header: other bytes, the same pixels. Other
/// formats are returned as they are.
fn with_comment(image: &Bytes, comment: &str) -> Bytes {
    const SIGNATURE_AND_HEADER: usize = 8 + 25;
    if !image.starts_with(b"\x89PNG\r\n\x1a\n") || image.len() < SIGNATURE_AND_HEADER {
        return image.clone();
    }
    let body = [&b"tEXtComment\0"[..], comment.as_bytes()].concat();
    let mut png = Vec::with_capacity(image.len() + body.len() + 8);
    png.extend_from_slice(&image[..SIGNATURE_AND_HEADER]);
    png.extend_from_slice(&(body.len() as u32 - 4).to_be_bytes());
    png.extend_from_slice(&body);
    png.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    png.extend_from_slice(&image[SIGNATURE_AND_HEADER..]);
    png.into()
}

struct Shared {
    config: LoadConfig,
    scans: Vec<ScanTemplate>,
    client: reqwest::Client,
    run_id: String,
    started: Instant,
    samples: Mutex<Vec<RequestSample>>,
}

/// Runs the load and returns every request's outcome, with the service's per-stage figures
/// when it exposes scantriage's metrics.
pub async fn run(config: LoadConfig, scans: Vec<ScanTemplate>) -> anyhow::Result<Report> {
    anyhow::ensure!(!config.stations.is_empty(), "at least one station is needed");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.wait_seconds + 60))
        .pool_max_idle_per_host(256)
        .build()?;
    let metrics_key = config.stations.iter().find_map(|(_, key)| key.clone());
    let before = metrics::scrape(&client, &config.url, metrics_key.as_deref()).await;
    let shared = Arc::new(Shared {
        run_id: uuid::Uuid::now_v7().simple().to_string()[20..].to_owned(),
        started: Instant::now(),
        samples: Mutex::new(Vec::new()),
        config,
        scans,
        client,
    });
    let dropped = match shared.config.load {
        Load::Rate(rate) => open_loop(&shared, rate).await,
        Load::Concurrency(concurrency) => {
            closed_loop(&shared, concurrency).await;
            0
        }
    };
    let elapsed = shared.started.elapsed();
    let after = metrics::scrape(&shared.client, &shared.config.url, metrics_key.as_deref()).await;
    let stages = match (before, after) {
        (Some(before), Some(after)) => Some(metrics::breakdown(&before, &after)),
        _ => None,
    };
    let samples = std::mem::take(&mut *shared.samples.lock().await);
    Ok(Report::new(&shared.config, samples, dropped, elapsed, stages))
}

async fn open_loop(shared: &Arc<Shared>, rate: f64) -> usize {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(shared.config.max_in_flight));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let (mut sent, mut dropped) = (0usize, 0usize);
    while shared.started.elapsed() < shared.config.duration {
        ticker.tick().await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            dropped += 1;
            continue;
        };
        let (shared, n) = (shared.clone(), sent);
        tasks.spawn(async move {
            upload(&shared, n).await;
            drop(permit);
        });
        sent += 1;
    }
    while tasks.join_next().await.is_some() {}
    dropped
}

async fn closed_loop(shared: &Arc<Shared>, concurrency: usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (shared, next) = (shared.clone(), next.clone());
        tasks.spawn(async move {
            while shared.started.elapsed() < shared.config.duration {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                upload(&shared, n).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Upload `n`: scan `n mod scans` from station `n mod stations`, under a station scan id of
/// its own so that every upload is a new scan, with images of their own too (a comment
/// added to each PNG): a service that stores images by content must store every upload's,
/// as it would for real scans.
async fn upload(shared: &Shared, n: usize) {
    let scan = &shared.scans[n % shared.scans.len()];
    let (station, key) = &shared.config.stations[n % shared.config.stations.len()];
    let station_scan_id = format!("lg-{}-{n:07}", shared.run_id);
    let mut metadata = scan.metadata.clone();
    metadata["station_id"] = Value::from(station.as_str());
    metadata["station_scan_id"] = Value::from(station_scan_id.as_str());
    let part = |bytes: Bytes, mime: &str| {
        let length = bytes.len() as u64;
        reqwest::multipart::Part::stream_with_length(reqwest::Body::from(bytes), length).mime_str(mime)
    };
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes, mime) in [
        ("metadata", Some(Bytes::from(metadata.to_string())), "application/json"),
        ("high", Some(with_comment(&scan.high, &station_scan_id)), "image/png"),
        ("low", scan.low.as_ref().map(|low| with_comment(low, &station_scan_id)), "image/png"),
    ] {
        if let Some(bytes) = bytes {
            form = form.part(name, part(bytes, mime).expect("static MIME types are valid"));
        }
    }
    let mut request = shared
        .client
        .post(format!("{}/api/v1/scans?wait={}", shared.config.url, shared.config.wait_seconds))
        .multipart(form);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let sent_at = shared.started.elapsed();
    let started = Instant::now();
    let (outcome, analysis_ms) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let settled = status == 200 && body.get("analysis").is_some_and(|a| !a.is_null());
            let analysis_ms = body["analysis"]["timings_ms"]["total"].as_f64();
            if settled {
                (Ok(status), analysis_ms)
            } else {
                (Err(format!("{status} {}", body["error"]["code"].as_str().unwrap_or("without verdict"))), None)
            }
        }
        Err(error) if error.is_timeout() => (Err("timeout".to_owned()), None),
        Err(_) => (Err("connection".to_owned()), None),
    };
    let sample = RequestSample { sent_at, latency: started.elapsed(), outcome, analysis_ms };
    shared.samples.lock().await.push(sample);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::decode::{Limits, decode, inspect};

    #[test]
    fn a_comment_changes_the_bytes_not_the_pixels() {
        let image = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(40, 8, |x, y| image::Luma([(x * 1500 + y) as u16]));
        let mut png = std::io::Cursor::new(Vec::new());
        image.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let png = Bytes::from(png.into_inner());

        let commented = with_comment(&png, "lg-run-0000001");
        assert_ne!(commented, png);
        assert_ne!(commented, with_comment(&png, "lg-run-0000002"));
        inspect(&commented, &Limits::default()).expect("the chunks still walk to IEND");
        assert_eq!(decode(&commented, &Limits::default()).unwrap().pixels, decode(&png, &Limits::default()).unwrap().pixels);
        assert_eq!(with_comment(&Bytes::from_static(b"II*\0tiff"), "x"), Bytes::from_static(b"II*\0tiff"));
    }
}
