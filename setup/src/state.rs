//! Run records under /run/vethbench: who owns a topology. `cleanup` leaves alone topologies whose
//! owner is still running; everything else with our names is a leftover. /run is a tmpfs, like
//! /run/netns, so records and namespaces vanish together at reboot.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{RunId, SetupError, TopologyInfo};

/// Where run records live.
pub const STATE_DIR: &str = "/run/vethbench";

/// Who created a topology, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// The run id.
    pub id: RunId,
    /// Process id of the owner.
    pub pid: u32,
    /// Start time of the owner (clock ticks since boot, /proc/<pid>/stat field 22), so a reused pid
    /// is not mistaken for the owner.
    pub pid_start: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix: u64,
    /// Namespaces the topology consists of.
    pub namespaces: Vec<String>,
    /// Whether the owner keeps the topology up on purpose after it exits (`vethbench up`).
    pub detached: bool,
    /// What was built, once it is complete.
    pub topology: Option<TopologyInfo>,
}

fn path(id: &RunId) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{id}.json"))
}

/// Start time of a process, `None` if it does not exist.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (comm) may contain spaces and parentheses: count from the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

impl RunRecord {
    /// A record owned by the calling process.
    pub fn for_this_process(id: &RunId, namespaces: Vec<String>) -> Self {
        let pid = std::process::id();
        RunRecord {
            id: id.clone(),
            pid,
            pid_start: process_start(pid).unwrap_or(0),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            namespaces,
            detached: false,
            topology: None,
        }
    }

    /// Whether the owner process is still running (the calling process included).
    pub fn owner_alive(&self) -> bool {
        process_start(self.pid) == Some(self.pid_start)
    }

    /// Writes the record atomically (temporary file + rename).
    pub fn save(&self) -> Result<(), SetupError> {
        std::fs::create_dir_all(STATE_DIR).map_err(|e| SetupError::io(STATE_DIR, e))?;
        let final_path = path(&self.id);
        let tmp = final_path.with_extension(format!("json.{}.tmp", std::process::id()));
        let json = serde_json::to_vec_pretty(self).map_err(|e| SetupError::Io {
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(&tmp, json).map_err(|e| SetupError::io(&tmp, e))?;
        std::fs::rename(&tmp, &final_path).map_err(|e| SetupError::io(&final_path, e))
    }

    /// Claims a run id for the calling process: creates its record exclusively, so of two
    /// processes racing for one id exactly one wins. A record whose owner is gone is replaced.
    pub fn claim(id: &RunId, namespaces: Vec<String>) -> Result<Self, SetupError> {
        std::fs::create_dir_all(STATE_DIR).map_err(|e| SetupError::io(STATE_DIR, e))?;
        let record = RunRecord::for_this_process(id, namespaces);
        let p = path(id);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(file) => {
                    serde_json::to_writer_pretty(file, &record)
                        .map_err(|e| SetupError::io(&p, std::io::Error::other(e)))?;
                    return Ok(record);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => match RunRecord::load(id) {
                    Some(other) if other.owner_alive() => {
                        return Err(SetupError::Busy {
                            id: id.to_string(),
                            pid: other.pid,
                        })
                    }
                    _ => RunRecord::remove(id)?,
                },
                Err(e) => return Err(SetupError::io(&p, e)),
            }
        }
        Err(SetupError::IdInUse {
            id: id.to_string(),
            what: "another process keeps claiming it".into(),
        })
    }

    /// Whether the calling process owns this record.
    pub fn is_mine(&self) -> bool {
        self.pid == std::process::id() && self.owner_alive()
    }

    /// Reads the record of a run; `None` when there is none or it is unreadable (a leftover).
    pub fn load(id: &RunId) -> Option<Self> {
        let bytes = std::fs::read(path(id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Removes the record of a run; a missing one is fine.
    pub fn remove(id: &RunId) -> Result<(), SetupError> {
        let p = path(id);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SetupError::io(p, e)),
        }
    }

    /// Ids of all records on the host.
    pub fn ids() -> Vec<RunId> {
        ids_of_files(".json")
    }
}

/// Run ids of the files in [`STATE_DIR`] named `<id><suffix>`.
pub(crate) fn ids_of_files(suffix: &str) -> Vec<RunId> {
    let Ok(entries) = std::fs::read_dir(STATE_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            RunId::new(name.strip_suffix(suffix)?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_start_time_and_dead_pids_do_not() {
        assert!(process_start(std::process::id()).is_some());
        let r = RunRecord {
            pid: u32::MAX - 1,
            ..RunRecord::for_this_process(&RunId::new("x").unwrap(), vec![])
        };
        assert!(!r.owner_alive());
    }
}
