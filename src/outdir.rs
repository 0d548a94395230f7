//! The results directory: checked before anything is built (a creatable, writable directory), and
//! a sink that never drops a record — if saving into the directory fails at the end of a long run,
//! the record goes to a temporary file whose path is printed.

use std::path::{Path, PathBuf};

use model::UsageError;
use results::{save, Record};

/// Where records go unless `--out` says otherwise (git-ignored).
pub const DEFAULT_OUT: &str = "results/records";

/// Makes sure `dir` is (or can be made) a directory this process can write a file into; the
/// error names `flag` and says what is wrong.
pub fn check(dir: &Path, flag: &'static str) -> Result<(), UsageError> {
    let bad = |reason: String| UsageError {
        flag,
        value: dir.display().to_string(),
        reason,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(bad("exists and is not a directory".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create the directory: {e}")))?;
    let probe = dir.join(format!(".vethbench-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| bad(format!("cannot write a record into it: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Saves a record after every trial: into its place while that works, else into a temporary
/// file (said once on stderr), so nothing measured is lost.
pub struct Sink {
    /// Where the record belongs.
    path: PathBuf,
    /// Where it went instead, once saving to `path` failed.
    fallback: Option<PathBuf>,
}

impl Sink {
    /// A sink for the record that belongs at `path`.
    pub fn new(path: PathBuf) -> Sink {
        Sink {
            path,
            fallback: None,
        }
    }

    /// Where the record is now.
    pub fn path(&self) -> &Path {
        self.fallback.as_deref().unwrap_or(&self.path)
    }

    /// Saves `record`; fails only if neither its place nor a temporary file takes it.
    pub fn save(&mut self, record: &Record) -> anyhow::Result<()> {
        if self.fallback.is_none() {
            match save(&self.path, record) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let name = self.path.file_name().map(PathBuf::from).unwrap_or_else(|| {
                        PathBuf::from(format!("vethbench-{}.json", record.run_id))
                    });
                    let tmp = std::env::temp_dir().join(name);
                    eprintln!(
                        "warning: could not save the record ({e}); saving it to {} instead",
                        tmp.display()
                    );
                    self.fallback = Some(tmp);
                }
            }
        }
        let tmp = self.path().to_path_buf();
        save(&tmp, record)
            .map_err(|e| anyhow::anyhow!("saving the record to {}: {e}", tmp.display()))
    }
}
