//! Records on disk: written atomically (temporary file + rename) under a results directory, never
//! overwriting another run's file; named baselines under `<dir>/baselines/`; read back with errors
//! that name the file.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::record::{Record, SCHEMA_VERSION};

/// Why a record cannot be written or read; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// File system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or not a record.
    #[error("{}: not a vethbench record: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said (with line and column).
        message: String,
    },
    /// Written by a version of vethbench with another format.
    #[error("{}: record format version {found}, this vethbench reads version {expected}", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u64,
        /// Version this build reads.
        expected: u32,
    },
}

/// Where a record of a run goes: `<dir>/<started>-<run id>.json` (colons removed for portability).
pub fn record_path(dir: &Path, record: &Record) -> PathBuf {
    let stamp: String = record
        .started
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect();
    dir.join(format!("{stamp}-{}.json", record.run_id))
}

/// Where the named baseline `name` lives: `<dir>/baselines/<name>.json`.
pub fn baseline_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("baselines").join(format!("{name}.json"))
}

/// Stores a record as the named baseline `name` under `dir`, replacing the previous baseline of
/// that name (a name points at the latest record saved under it); atomic like [`save`].
pub fn save_baseline(dir: &Path, name: &str, record: &Record) -> Result<PathBuf, RecordError> {
    let path = baseline_path(dir, name);
    write_atomically(&path, record)?;
    Ok(path)
}

/// Writes (or rewrites, for the same run) a record atomically; refuses to replace a file that
/// belongs to another run.
pub fn save(path: &Path, record: &Record) -> Result<(), RecordError> {
    if path.exists() {
        match load(path) {
            Ok(existing)
                if existing.run_id == record.run_id && existing.started == record.started => {}
            _ => {
                return Err(RecordError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        ErrorKind::AlreadyExists,
                        "exists and belongs to another run",
                    ),
                })
            }
        }
    }
    write_atomically(path, record)
}

/// Writes a record to a temporary file beside `path` and renames it into place.
fn write_atomically(path: &Path, record: &Record) -> Result<(), RecordError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| RecordError::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(record).map_err(|e| RecordError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::write(&tmp, json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Reads a record, checking its format version first.
pub fn load(path: &Path) -> Result<Record, RecordError> {
    let bytes = std::fs::read(path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
}

/// Parses the bytes of a record read from `path` (named in errors); never panics, whatever the
/// bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Record, RecordError> {
    let malformed = |message: String| RecordError::Malformed {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| malformed("no schema_version".into()))?;
    if found != u64::from(SCHEMA_VERSION) {
        return Err(RecordError::Version {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
}
