//! One live owner per topology: whoever measures on a topology (or holds it up) holds an exclusive
//! flock on `/run/vethbench/<id>.lock`, with its pid written inside. The kernel drops the lock when
//! the process exits, however it exits, so a crashed owner never blocks anyone.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::state::STATE_DIR;
use crate::{RunId, SetupError};

/// The lock file of run `id`.
pub(crate) fn lock_path(id: &RunId) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{id}.lock"))
}

/// Exclusive use of a topology, until dropped (or the process ends).
#[derive(Debug)]
pub struct Lease {
    id: RunId,
    /// Held open: closing it releases the lock.
    _file: File,
}

/// What trying the lock found.
enum Attempt {
    Got(File),
    /// Another live process holds it (its pid, if it wrote one).
    Held(Option<u32>),
}

fn try_lock(id: &RunId) -> Result<Attempt, SetupError> {
    std::fs::create_dir_all(STATE_DIR).map_err(|e| SetupError::io(STATE_DIR, e))?;
    let path = lock_path(id);
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| SetupError::io(&path, e))?;
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::WouldBlock {
                return Err(SetupError::io(&path, e));
            }
            return Ok(Attempt::Held(holder_pid(&mut file)));
        }
        // The previous holder may have removed the file between our open and our lock: then we
        // locked an orphan, and must lock the file that is there now.
        let same = match (file.metadata(), std::fs::metadata(&path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if same {
            return Ok(Attempt::Got(file));
        }
    }
}

/// The pid a held lock file names. The holder writes it right after taking the lock, so a reader
/// in between finds the previous holder's pid (a process that has ended) or nothing: it waits a
/// moment for the new one, and never names a process that has ended.
fn holder_pid(file: &mut File) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        let pid = read.ok().and_then(|_| text.trim().parse::<u32>().ok());
        match pid {
            Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => return Some(pid),
            _ if Instant::now() >= deadline => return None,
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

impl Lease {
    /// Takes the topology `id` for this process; refuses, naming the holder's pid, if a live
    /// process has it.
    pub fn acquire(id: &RunId) -> Result<Lease, SetupError> {
        match try_lock(id)? {
            Attempt::Got(mut file) => {
                let path = lock_path(id);
                let pid = std::process::id().to_string();
                file.set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(|e| SetupError::io(&path, e))?;
                Ok(Lease {
                    id: id.clone(),
                    _file: file,
                })
            }
            Attempt::Held(pid) => Err(SetupError::Busy {
                id: id.to_string(),
                pid: pid.unwrap_or(0),
            }),
        }
    }

    /// Like [`Lease::acquire`], retrying until `deadline` passes.
    pub fn acquire_within(id: &RunId, deadline: Duration) -> Result<Lease, SetupError> {
        let start = Instant::now();
        loop {
            match Lease::acquire(id) {
                Err(SetupError::Busy { .. }) if start.elapsed() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                other => return other,
            }
        }
    }

    /// The pid of the live process that holds topology `id`, if one does (0 if it wrote none).
    pub fn holder(id: &RunId) -> Option<u32> {
        if !lock_path(id).exists() {
            return None;
        }
        match try_lock(id) {
            Ok(Attempt::Held(pid)) => Some(pid.unwrap_or(0)),
            _ => None,
        }
    }

    /// The run id held.
    pub fn id(&self) -> &RunId {
        &self.id
    }

    /// Removes the lock file (the topology is gone); the lock itself goes when `self` is dropped.
    pub fn remove_file(&self) -> Result<(), SetupError> {
        remove_lock_file(&self.id)
    }
}

/// Removes the lock file of run `id`; a missing one is fine.
pub(crate) fn remove_lock_file(id: &RunId) -> Result<(), SetupError> {
    let p = lock_path(id);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SetupError::io(p, e)),
    }
}

/// Ids of every lock file on the host.
pub(crate) fn lock_ids() -> Vec<RunId> {
    crate::state::ids_of_files(".lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lease_is_refused_naming_the_holder_and_free_after_drop() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped a_second_lease_is_refused_naming_the_holder_and_free_after_drop: needs root (/run/vethbench)");
            return;
        }
        let id = RunId::new(&format!("tl{}", &RunId::generate().as_str()[..8])).unwrap();
        let first = Lease::acquire(&id).unwrap();
        match Lease::acquire(&id) {
            Err(SetupError::Busy { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("second lease: {other:?}"),
        }
        assert_eq!(Lease::holder(&id), Some(std::process::id()));
        first.remove_file().unwrap();
        drop(first);
        assert_eq!(Lease::holder(&id), None);
        let again = Lease::acquire(&id).unwrap();
        again.remove_file().unwrap();
    }

    #[test]
    fn a_holder_that_has_not_written_its_pid_yet_is_never_named_by_the_previous_one() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped a_holder_that_has_not_written_its_pid_yet_is_never_named_by_the_previous_one: needs root (/run/vethbench)");
            return;
        }
        let id = RunId::new(&format!("tl{}", &RunId::generate().as_str()[..8])).unwrap();
        // The lock taken, the file still naming an ended process (above any pid the kernel gives).
        let path = lock_path(&id);
        std::fs::create_dir_all(STATE_DIR).unwrap();
        std::fs::write(&path, "4294967295").unwrap();
        let held = File::open(&path).unwrap();
        // SAFETY: flock on a valid, owned descriptor.
        assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
        assert_eq!(
            Lease::holder(&id),
            Some(0),
            "held, by a process not named yet"
        );
        std::fs::write(&path, std::process::id().to_string()).unwrap();
        assert_eq!(Lease::holder(&id), Some(std::process::id()));
        drop(held);
        remove_lock_file(&id).unwrap();
    }
}
