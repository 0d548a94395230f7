//! Named network namespaces, visible to `ip netns` (bind mounts under /run/netns), and running code
//! inside one. setns(2) affects only the calling thread, so every entry happens on a scoped thread of
//! its own and the caller's namespace never changes.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::SetupError;

/// Where named namespaces live (the iproute2 convention).
pub const NETNS_DIR: &str = "/run/netns";

/// Path of a named namespace.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Whether a namespace of that name exists.
pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Whether the named file is a mounted namespace (an `unshare` + bind mount finished), not an
/// empty placeholder left by a process killed halfway through [`create`].
pub fn is_mounted(name: &str) -> bool {
    nix::sys::statfs::statfs(&path(name))
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}

/// Names of all named namespaces on the host (ours and others'), sorted.
pub fn list() -> Result<Vec<String>, SetupError> {
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SetupError::io(NETNS_DIR, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Makes /run/netns a shared mount point (once per process), so namespaces created here are seen
/// from every mount namespace — what `ip netns add` does.
fn prepare_dir() -> Result<(), SetupError> {
    static PREPARED: Mutex<bool> = Mutex::new(false);
    let mut prepared = PREPARED.lock().unwrap_or_else(|p| p.into_inner());
    if *prepared {
        return Ok(());
    }
    std::fs::create_dir_all(NETNS_DIR).map_err(|e| SetupError::io(NETNS_DIR, e))?;
    let shared = || {
        mount(
            None::<&str>,
            NETNS_DIR,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    if let Err(nix::Error::EINVAL) = shared() {
        // Not a mount point yet: bind it onto itself, then make it shared.
        mount(
            Some(NETNS_DIR),
            NETNS_DIR,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| SetupError::sys(format!("bind-mount {NETNS_DIR}"), e))?;
        shared().map_err(|e| SetupError::sys(format!("make {NETNS_DIR} shared"), e))?;
    }
    *prepared = true;
    Ok(())
}

/// Creates a named network namespace. Fails with [`SetupError::IdInUse`] if the name exists;
/// on any failure nothing is left behind.
pub fn create(name: &str) -> Result<(), SetupError> {
    prepare_dir()?;
    let target = path(name);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(&target)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => SetupError::IdInUse {
                id: crate::RunId::parse_namespace(name)
                    .map(|(id, _)| id.to_string())
                    .unwrap_or_else(|| name.to_string()),
                what: format!("namespace {name} exists"),
            },
            _ => SetupError::io(&target, e),
        })?;
    let bound = on_thread(|| {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| SetupError::sys(format!("unshare a network namespace for {name}"), e))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| SetupError::sys(format!("bind-mount namespace onto {}", target.display()), e))
    });
    if bound.is_err() {
        let _ = std::fs::remove_file(&target);
    }
    bound
}

/// Removes a named namespace (unmount + unlink). Returns whether it existed. The kernel frees the
/// namespace, and destroys the veth ends still in it, once nothing holds it any more.
pub fn delete(name: &str) -> Result<bool, SetupError> {
    let target = path(name);
    if !target.exists() {
        return Ok(false);
    }
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(SetupError::sys(format!("unmount {}", target.display()), e)),
    }
    match std::fs::remove_file(&target) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(SetupError::io(&target, e)),
    }
}

/// An open handle on a named namespace (keeps it alive while open).
#[derive(Debug)]
pub struct NetnsFile(File);

impl NetnsFile {
    /// Opens a named namespace.
    pub fn open(name: &str) -> Result<Self, SetupError> {
        let p = path(name);
        File::open(&p).map(NetnsFile).map_err(|e| match e.kind() {
            ErrorKind::NotFound => SetupError::Gone(format!("namespace {name}")),
            _ => SetupError::io(&p, e),
        })
    }

    /// The file, e.g. for `IFLA_NET_NS_FD`.
    pub fn file(&self) -> &File {
        &self.0
    }

    /// Moves the calling thread into this namespace. Only for threads that exist for this purpose.
    pub fn enter(&self) -> Result<(), SetupError> {
        setns(self.0.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|e| SetupError::sys("setns into a network namespace", e))
    }
}

/// Runs `f` on a fresh thread that has entered the named namespace; sockets it opens (netlink,
/// UDP, AF_XDP) stay in that namespace for their whole life, whichever thread uses them later.
pub fn run_in<T: Send>(
    name: &str,
    f: impl FnOnce() -> Result<T, SetupError> + Send,
) -> Result<T, SetupError> {
    let ns = NetnsFile::open(name)?;
    on_thread(move || {
        ns.enter()?;
        f()
    })
}

/// Runs `f` on a scoped thread of its own and returns its result; a panic becomes an error.
pub(crate) fn on_thread<T: Send>(
    f: impl FnOnce() -> Result<T, SetupError> + Send,
) -> Result<T, SetupError> {
    std::thread::scope(|s| {
        s.spawn(f).join().unwrap_or_else(|_| {
            Err(SetupError::Thread(
                "a namespace worker thread panicked".into(),
            ))
        })
    })
}
