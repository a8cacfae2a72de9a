//! A real scantriage service on an ephemeral loopback port, in its own runtime thread, with
//! SQLite and images in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use scantriage::accounts::Accounts;
use scantriage::config::ConfigFile;
use scantriage::queue::Store;
use scantriage::review::Role;
use scantriage::service::{Service, Storage};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestServer {
    pub url: String,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// On SQLite in a temporary directory.
    pub fn start(config: ConfigFile) -> Self {
        Self::start_on(config, None)
    }

    /// On the database `database_url` names, or SQLite; images in a temporary directory.
    pub fn start_on(config: ConfigFile, database_url: Option<String>) -> Self {
        Self::start_in(config, database_url, tempfile::tempdir().unwrap())
    }

    /// Stops the service and starts it again on the same database and images.
    pub fn restart(mut self, config: ConfigFile) -> Self {
        let dir = self.dir.take().expect("a running server has its directory");
        let database_url = self.database_url.clone();
        self.stop_service();
        Self::start_in(config, Some(database_url), dir)
    }

    /// The data directory: `scantriage.db` (unless on PostgreSQL) and `images/`.
    pub fn data_dir(&self) -> &Path {
        self.dir.as_ref().expect("a running server has its directory").path()
    }

    pub fn images_dir(&self) -> PathBuf {
        self.data_dir().join("images")
    }

    /// On the data directory `dir` (its database unless `database_url` names one).
    pub fn start_in(config: ConfigFile, database_url: Option<String>, dir: tempfile::TempDir) -> Self {
        let storage = Storage {
            database_url: database_url
                .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("scantriage.db").display())),
            images_dir: dir.path().join("images"),
        };
        let database_url = storage.database_url.clone();
        let (ready, started) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let service = Service::start(&config, &storage).await.expect("the service starts");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
                service.serve(listener, async move { stopped.await.ok(); }).await.unwrap();
            });
        });
        let url = started.recv_timeout(std::time::Duration::from_secs(120)).expect("the service listens");
        Self { url, database_url, stop: Some(stop), thread: Some(thread), dir: Some(dir) }
    }

    pub async fn accounts(&self) -> Accounts {
        Accounts::new(Store::open(&self.database_url).await.unwrap())
    }

    pub async fn station_key(&self, station: &str) -> String {
        self.accounts().await.create_station_key(station).await.unwrap().1
    }

    /// A signed-in user's session token.
    pub async fn sign_in(&self, name: &str, role: Role) -> String {
        self.accounts().await.add_user(name, role, PASSWORD).await.unwrap();
        let response = client()
            .post(format!("{}/api/v1/session", self.url))
            .json(&serde_json::json!({ "name": name, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }
}

impl TestServer {
    fn stop_service(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop_service();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(90)).build().unwrap()
}

pub fn sample_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name)
}

/// A sample's upload parts: metadata (as JSON, to edit), high and optional low image.
pub fn sample_parts(name: &str) -> (serde_json::Value, Vec<u8>, Option<Vec<u8>>) {
    let dir = sample_dir(name);
    let metadata = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let low = std::fs::read(dir.join("low.png")).ok();
    (metadata, std::fs::read(dir.join("high.png")).unwrap(), low)
}

/// An upload with `query` (e.g. `?wait=30`): the status and the JSON answer (null if none).
pub async fn upload(
    server: &TestServer,
    key: &str,
    metadata: &serde_json::Value,
    high: &[u8],
    low: Option<&[u8]>,
    query: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let response = client()
        .post(format!("{}/api/v1/scans{query}", server.url))
        .bearer_auth(key)
        .multipart(form(metadata, high, low))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

pub fn form(metadata: &serde_json::Value, high: &[u8], low: Option<&[u8]>) -> reqwest::multipart::Form {
    let part = |bytes: &[u8], mime: &str| reqwest::multipart::Part::bytes(bytes.to_vec()).mime_str(mime).unwrap();
    let mut form = reqwest::multipart::Form::new()
        .part("metadata", part(metadata.to_string().as_bytes(), "application/json"))
        .part("high", part(high, "image/png"));
    if let Some(low) = low {
        form = form.part("low", part(low, "image/png"));
    }
    form
}
