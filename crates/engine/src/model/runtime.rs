//! Finding and loading the ONNX Runtime shared library (ort's `load-dynamic`), so that the
//! binary runs without the user setting anything after `make setup`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use ort::environment::Environment;

use super::ModelError;

/// The loaded ONNX Runtime: one per process (ONNX Runtime allows one environment).
pub struct OrtRuntime {
    pub library: PathBuf,
    pub version: String,
    pub environment: Environment,
}

static RUNTIME: OnceLock<OrtRuntime> = OnceLock::new();
static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl OrtRuntime {
    /// Loads ONNX Runtime once for the process; later calls return the same runtime.
    /// `explicit` is `--ort-lib` (which falls back to `ORT_DYLIB_PATH`).
    pub fn init(explicit: Option<&Path>) -> Result<&'static OrtRuntime, ModelError> {
        let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = RUNTIME.get() {
            return Ok(runtime);
        }
        let library = locate_library(explicit)?;
        let load_err = |reason: String| ModelError::RuntimeLoad {
            path: library.clone(),
            reason,
        };
        let environment = ort::init_from(&library)
            .map_err(|e| load_err(e.to_string()))?
            .with_name("xray-screen")
            .with_telemetry(false)
            .build()
            .map_err(|e| load_err(e.to_string()))?;
        let version = version_of(&library, ort::info());
        tracing::info!(library = %library.display(), %version, "loaded ONNX Runtime");
        Ok(RUNTIME.get_or_init(|| OrtRuntime {
            library,
            version,
            environment,
        }))
    }
}

/// The library's version, from its build info (`git-branch=rel-1.31.1`) or its file name.
fn version_of(library: &Path, build_info: &str) -> String {
    let from_info = build_info
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("git-branch=rel-"));
    let from_name = library
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once(".so."))
        .map(|(_, v)| v);
    from_info.or(from_name).unwrap_or("unknown").to_string()
}

/// Where ONNX Runtime is looked for, in order: `explicit` (`--ort-lib` / `ORT_DYLIB_PATH`),
/// the project's `.ort/` folder (next to the working directory, the executable or the
/// source tree), then an `onnxruntime` package of the system's Python.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(ModelError::RuntimeLoad {
                path: path.to_path_buf(),
                reason: "no such file (from --ort-lib or ORT_DYLIB_PATH)".into(),
            })
        };
    }
    let mut searched = Vec::new();
    for root in project_roots() {
        let capi = root.join(".ort/python/onnxruntime/capi");
        if let Some(lib) = library_in(&capi) {
            return Ok(lib);
        }
        searched.push(capi.display().to_string());
    }
    if let Some(capi) = python_onnxruntime_dir() {
        if let Some(lib) = library_in(&capi) {
            return Ok(lib);
        }
        searched.push(capi.display().to_string());
    } else {
        searched.push("python3's onnxruntime package (not installed)".into());
    }
    Err(ModelError::RuntimeNotFound {
        searched: searched.join(", "),
    })
}

fn project_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/xray-screen, or target/<profile>/deps/<test> under cargo test.
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    // The workspace root, two folders above this crate's manifest.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    roots.push(
        manifest
            .ancestors()
            .nth(2)
            .unwrap_or(manifest)
            .to_path_buf(),
    );
    let mut unique = Vec::new();
    for root in roots {
        if !unique.contains(&root) {
            unique.push(root);
        }
    }
    unique
}

/// `libonnxruntime.so.<version>` (the wheel ships no unversioned name) or `libonnxruntime.so`.
fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "libonnxruntime.so" || n.starts_with("libonnxruntime.so."))
        })
        .collect();
    found.sort();
    found.pop()
}

fn python_onnxruntime_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_build_info_or_file_name() {
        let lib = Path::new("/x/libonnxruntime.so.1.31.1");
        assert_eq!(
            version_of(
                lib,
                "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc"
            ),
            "1.31.1"
        );
        assert_eq!(version_of(lib, "ORT Build Info: nothing"), "1.31.1");
    }

    #[test]
    fn explicit_path_must_exist() {
        let err = locate_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        assert!(err.to_string().contains("--ort-lib"), "{err}");
    }

    #[test]
    fn finds_the_versioned_library_in_a_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("libonnxruntime_providers_shared.so"), b"").expect("write");
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").expect("write");
        assert_eq!(
            library_in(dir.path()),
            Some(dir.path().join("libonnxruntime.so.1.31.1"))
        );
    }
}
