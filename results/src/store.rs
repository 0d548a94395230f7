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
    /// Too large to be a record, or not a regular file (a device, a pipe, a directory).
    #[error("{}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// A histogram of a trial is not HdrHistogram V2 in base64.
    #[error("{}: scenario {scenario}, trial {trial}: histogram '{name}' is corrupt (not HdrHistogram V2 in base64)", path.display())]
    Histogram {
        /// The file.
        path: PathBuf,
        /// The scenario key.
        scenario: String,
        /// The trial, from 1.
        trial: usize,
        /// The histogram's name.
        name: String,
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

/// The `.json` files under `dir`, at any depth, sorted (none when `dir` cannot be read).
pub fn json_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
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

/// The largest file read as a record (a 3-trial suite record is about half a MiB).
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

impl RecordError {
    /// Whether the error is about the input (a file that is missing, too large or not a
    /// record), not about the machine.
    pub fn is_input(&self) -> bool {
        match self {
            RecordError::Io { source, .. } => source.kind() == ErrorKind::NotFound,
            _ => true,
        }
    }
}

/// Reads a record, checking its size, its format version and its histograms; refuses anything
/// that is not a regular file of at most [`MAX_RECORD_BYTES`] before reading it.
pub fn load(path: &Path) -> Result<Record, RecordError> {
    use std::io::Read;
    let io = |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let unreadable = |reason: String| RecordError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(unreadable(
            "not a regular file (records are JSON files written by vethbench)".into(),
        ));
    }
    if meta.len() > MAX_RECORD_BYTES {
        return Err(unreadable(format!(
            "{} bytes is larger than any record ({} MiB at most)",
            meta.len(),
            MAX_RECORD_BYTES >> 20
        )));
    }
    let mut bytes = Vec::new();
    // The limit holds even if the file grows while it is read.
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(unreadable(format!(
            "larger than any record ({} MiB at most)",
            MAX_RECORD_BYTES >> 20
        )));
    }
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
    let found = match value.get("schema_version") {
        None => return Err(malformed("no schema_version".into())),
        Some(v) => v.as_u64().ok_or_else(|| {
            malformed(format!(
                "schema_version is {v}, not a whole number (this vethbench reads version {SCHEMA_VERSION})"
            ))
        })?,
    };
    if found != u64::from(SCHEMA_VERSION) {
        return Err(RecordError::Version {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    let record: Record = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
    check_histograms(path, &record)?;
    Ok(record)
}

/// Refuses a record with a histogram that does not decode, the run's or a flow's, naming
/// scenario, trial and histogram (`flow 1 rtt` for a flow's).
fn check_histograms(path: &Path, record: &Record) -> Result<(), RecordError> {
    for s in &record.scenarios {
        for (i, t) in s.trials.iter().enumerate() {
            let flows = t.per_flow.iter().flat_map(|f| {
                f.histograms
                    .iter()
                    .map(move |(n, h)| (format!("flow {} {n}", f.flow), h))
            });
            let all = t
                .histograms
                .iter()
                .map(|(n, h)| (n.clone(), h))
                .chain(flows);
            for (name, text) in all {
                // An empty text is a histogram that could not be serialised when it was written.
                if !text.is_empty() && model::outcome::histogram_from_v2_base64(text).is_none() {
                    return Err(RecordError::Histogram {
                        path: path.to_path_buf(),
                        scenario: s.key.clone(),
                        trial: i + 1,
                        name,
                    });
                }
            }
        }
    }
    Ok(())
}
