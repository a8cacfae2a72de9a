//! Finding and loading the ONNX Runtime shared library, once per process.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

/// The ONNX Runtime release `make ort` installs; ort 2.0.0-rc.15 needs its API version 31.
pub const ORT_VERSION: &str = "1.31.1";
/// Where `scripts/fetch-onnxruntime.sh` installs the library, relative to the repository.
pub const INSTALL_PATH: &str = ".cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1";
/// Overrides the search: the path of a `libonnxruntime.so` of version 1.31 or newer.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

const HOW_TO_FIX: &str = "run `make ort` (or scripts/fetch-onnxruntime.sh), or set ORT_DYLIB_PATH";

/// The loaded ONNX Runtime: a cheap handle to the process-wide environment sessions are built in.
#[derive(Clone, Debug)]
pub struct Runtime {
    environment: Environment,
    library: PathBuf,
    version: String,
}

impl Runtime {
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The shared library this process loaded.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// ONNX Runtime's own version string, e.g. "1.31.1".
    pub fn version(&self) -> &str {
        &self.version
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("ONNX Runtime library not found (looked for {looked}): {HOW_TO_FIX}")]
    NotFound { looked: String },
    #[error("cannot load {path} as a shared library ({source}): {HOW_TO_FIX}")]
    NotALibrary { path: PathBuf, source: libloading::Error },
    #[error("{path} is not ONNX Runtime (it has no OrtGetApiBase): {HOW_TO_FIX}")]
    NotOnnxRuntime { path: PathBuf },
    #[error(
        "{path} is ONNX Runtime {found}, which lacks API version {api} that ort needs \
         (ONNX Runtime {ORT_VERSION} is the one tested): {HOW_TO_FIX}"
    )]
    WrongVersion { path: PathBuf, found: String, api: u32 },
    #[error("ONNX Runtime is already loaded from {loaded} in this process; cannot also load {requested}")]
    AlreadyLoaded { loaded: PathBuf, requested: PathBuf },
    #[error("cannot load ONNX Runtime from {path}: {source}")]
    Load { path: PathBuf, source: ort::LoadDynamicError },
    #[error("cannot create the ONNX Runtime environment: {0}")]
    Environment(#[from] ort::Error),
}

/// ort allows one environment per process and keeps the first library it loads, so the
/// runtime is created once and handed out as clones. A mutex rather than a `OnceLock`: a failed
/// attempt must not be cached, and `OnceLock::get_or_try_init` is unstable.
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// The process's ONNX Runtime, loaded on first call from `$ORT_DYLIB_PATH` if set, else from the
/// project's install location (`.cache/onnxruntime/…` under the crate, then under the current
/// directory).
pub fn init_runtime() -> Result<Runtime, RuntimeError> {
    if let Some(runtime) = lock().as_ref() {
        return Ok(runtime.clone());
    }
    init_runtime_from(&locate_library()?)
}

/// Like [`init_runtime`] with an explicit library path. The library is checked before ort sees
/// it, so a wrong path fails here with a clear error and leaves the process free to load
/// another library.
pub fn init_runtime_from(path: &Path) -> Result<Runtime, RuntimeError> {
    if !path.is_file() {
        return Err(RuntimeError::NotFound { looked: path.display().to_string() });
    }
    // Canonical, so that the same library reached by two paths is recognised as loaded.
    let path = path.canonicalize().map_err(|_| RuntimeError::NotFound { looked: path.display().to_string() })?;
    let probe = Probe::open(&path)?;
    let mut current = lock();
    if let Some(runtime) = current.as_ref() {
        return if runtime.library == path {
            Ok(runtime.clone())
        } else {
            Err(RuntimeError::AlreadyLoaded { loaded: runtime.library.clone(), requested: path })
        };
    }
    let environment = ort::init_from(&path)
        .map_err(|source| RuntimeError::Load { path: path.clone(), source })?
        .with_name("scantriage")
        .build()?;
    let runtime = Runtime { environment, library: path, version: probe.version };
    tracing::info!(library = %runtime.library.display(), version = runtime.version, "ONNX Runtime loaded");
    *current = Some(runtime.clone());
    Ok(runtime)
}

fn lock() -> std::sync::MutexGuard<'static, Option<Runtime>> {
    // The guarded value is only ever replaced whole, so a poisoned lock still holds a valid one.
    RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn locate_library() -> Result<PathBuf, RuntimeError> {
    if let Some(path) = std::env::var_os(DYLIB_ENV).filter(|p| !p.is_empty()) {
        // An explicit setting that points nowhere is reported, not silently replaced.
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(RuntimeError::NotFound { looked: format!("{DYLIB_ENV}={}", path.display()) })
        };
    }
    let candidates = [Path::new(env!("CARGO_MANIFEST_DIR")).join(INSTALL_PATH), PathBuf::from(INSTALL_PATH)];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| RuntimeError::NotFound {
        looked: format!(
            "{DYLIB_ENV} (unset), {}, {}",
            candidates[0].display(),
            std::env::current_dir().unwrap_or_default().join(&candidates[1]).display()
        ),
    })
}

/// The library opened on its own and asked for the API version ort needs before ort loads it.
/// ort checks too, but only on the first load of the process (later calls ignore the path), and
/// it judges by the version string; this check gives the same answer whatever was loaded before.
/// Kept open until ort has loaded the same file, so that it is not unloaded and reloaded between.
struct Probe {
    _library: libloading::Library,
    version: String,
}

impl Probe {
    fn open(path: &Path) -> Result<Self, RuntimeError> {
        type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
        // SAFETY: loading runs the library's initialisers; for ONNX Runtime they only set up
        // its globals, exactly as ort's own loading does right after.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|source| RuntimeError::NotALibrary { path: path.to_owned(), source })?;
        let not_ort = || RuntimeError::NotOnnxRuntime { path: path.to_owned() };
        // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
        let get_api_base = unsafe { library.get::<GetApiBase>(b"OrtGetApiBase") }.map_err(|_| not_ort())?;
        // SAFETY: the library stays loaded while the function, the struct it returns and the
        // static version string are used; the string is copied before `library` can be dropped.
        let (version, has_api) = unsafe {
            let base = get_api_base().as_ref().ok_or_else(not_ort)?;
            let version = CStr::from_ptr((base.GetVersionString)()).to_string_lossy().into_owned();
            (version, !(base.GetApi)(ort::MINOR_VERSION).is_null())
        };
        if !has_api {
            return Err(RuntimeError::WrongVersion { path: path.to_owned(), found: version, api: ort::MINOR_VERSION });
        }
        Ok(Self { _library: library, version })
    }
}
