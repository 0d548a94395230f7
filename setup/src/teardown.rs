//! Removing topologies: one run by id (`down`, the guard), or every leftover of ours (`cleanup`).
//! "Ours" means named by the scheme in [`crate::RunId`]; nothing else is ever touched.

use std::collections::BTreeMap;

use serde::Serialize;

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::state::STATE_DIR;
use crate::{netlink, netns, Lease, RunId, RunRecord, SetupError};

/// What was removed for one run id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The run id.
    pub id: Option<RunId>,
    /// Namespaces removed.
    pub namespaces: Vec<String>,
    /// Links deleted (before their namespaces went).
    pub links: Vec<String>,
    /// State records of the run removed from /run/vethbench.
    pub state_files: Vec<String>,
    /// The live owner stopped first (`--force`), if there was one.
    pub stopped_owner: Option<u32>,
}

impl Removed {
    /// Whether anything at all was removed or stopped.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.links.is_empty()
            && self.state_files.is_empty()
            && self.stopped_owner.is_none()
    }
}

/// A topology `cleanup` left alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The run id.
    pub id: RunId,
    /// The live process that owns it.
    pub pid: u32,
}

/// Result of `cleanup`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cleanup {
    /// Runs removed.
    pub removed: Vec<Removed>,
    /// Links of ours found in the caller's namespace and deleted.
    pub stray_links: Vec<String>,
    /// Runs whose owner is alive, left alone.
    pub skipped: Vec<Skipped>,
    /// Runs that could not be removed (fully), with why.
    pub errors: Vec<String>,
}

/// Our namespaces on the host, grouped by run id.
fn our_namespaces() -> Result<BTreeMap<RunId, Vec<String>>, SetupError> {
    let mut by_id: BTreeMap<RunId, Vec<String>> = BTreeMap::new();
    for name in netns::list()? {
        if let Some((id, _)) = RunId::parse_namespace(&name) {
            by_id.entry(id).or_default().push(name);
        }
    }
    Ok(by_id)
}

/// Deletes the links of the calling thread's namespace that `doomed` picks; returns their names.
fn delete_links_here(
    doomed: impl Fn(&netlink::LinkState) -> bool,
) -> Result<Vec<String>, SetupError> {
    netlink::block_on(async {
        let handle = netlink::connect()?;
        let mut deleted = Vec::new();
        for link in netlink::links(&handle).await? {
            let state = netlink::link_state(&link);
            if !doomed(&state) {
                continue;
            }
            match netlink::delete_link(&handle, state.index, &state.name).await {
                Ok(()) => deleted.push(state.name),
                // The peer of a veth deleted a moment ago goes with it.
                Err(_) if matches!(netlink::link_by_name(&handle, &state.name).await, Ok(None)) => {
                }
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    })
}

/// Whether a link is named as one of run `id`'s.
fn of_run(id: &RunId) -> impl Fn(&netlink::LinkState) -> bool + '_ {
    move |link| RunId::parse_link(&link.name).is_some_and(|(owner, _)| &owner == id)
}

/// Removes the given namespaces of run `id`, deleting the run's links inside each first (so they
/// are gone at once, not when the kernel gets round to freeing the namespace).
pub(crate) fn remove_namespaces(id: &RunId, namespaces: &[String]) -> Result<Removed, SetupError> {
    let mut removed = Removed {
        id: Some(id.clone()),
        ..Removed::default()
    };
    let mut first_error = None;
    for ns in namespaces {
        // A placeholder file left by a process killed while creating the namespace holds no
        // links and cannot be entered: it only needs removing.
        if !netns::is_mounted(ns) {
            if netns::delete(ns)? {
                removed.namespaces.push(ns.clone());
            }
            continue;
        }
        match netns::run_in(ns, || delete_links_here(of_run(id))) {
            Ok(links) => removed.links.extend(links),
            Err(SetupError::Gone(_)) => continue,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        // Remove the namespace even if its links could not be deleted: the kernel then destroys them.
        match netns::delete(ns) {
            Ok(true) => removed.namespaces.push(ns.clone()),
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// How long a live owner stopped with `--force` gets to finish its trial, store its record and
/// tear down.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Stops the live process `pid` that uses or holds run `id` (SIGTERM: a run ends its trial, keeps
/// its record marked interrupted, and tears down what it built; `up --hold` tears down) and waits
/// until it has exited, then takes the run's lock.
fn stop_owner(id: &RunId, pid: u32) -> Result<Lease, SetupError> {
    let target = i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| SetupError::Busy {
            id: id.to_string(),
            pid,
        })?;
    match kill(Pid::from_raw(target), Signal::SIGTERM) {
        Ok(()) | Err(nix::Error::ESRCH) => {}
        Err(e) => return Err(SetupError::sys(format!("stop process {pid} (SIGTERM)"), e)),
    }
    let start = std::time::Instant::now();
    while running(pid) {
        if start.elapsed() > STOP_GRACE {
            return Err(SetupError::Busy {
                id: id.to_string(),
                pid,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Lease::acquire_within(id, Duration::from_secs(5))
}

/// Whether process `pid` still runs (a zombie waiting for its parent does not).
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}

/// Removes everything of run `id` found on the host, its record and its lock file. The caller
/// holds the run's lease, so nobody starts using the topology meanwhile.
fn remove_run(id: &RunId, _lease: &Lease) -> Result<Removed, SetupError> {
    let namespaces = our_namespaces()?.remove(id).unwrap_or_default();
    let mut removed = remove_namespaces(id, &namespaces)?;
    let record = Path::new(STATE_DIR).join(format!("{id}.json"));
    if record.exists() {
        RunRecord::remove(id)?;
        removed.state_files.push(record.display().to_string());
    }
    crate::lease::remove_lock_file(id)?;
    Ok(removed)
}

/// Takes run `id` for removal: at once if nobody uses it; a live owner is refused
/// ([`SetupError::Busy`]) unless `force`, which stops it first.
fn take_for_removal(id: &RunId, force: bool) -> Result<(Lease, Option<u32>), SetupError> {
    // A live process holding the topology up (`up --hold`, or a run that built it) owns it as
    // much as one measuring on it.
    let holder = RunRecord::load(id)
        .filter(|r| r.owner_alive() && !r.detached && !r.is_mine())
        .map(|r| r.pid);
    let owner = match (holder, Lease::acquire(id)) {
        (None, Ok(lease)) => return Ok((lease, None)),
        (Some(pid), Ok(_)) => pid,
        (_, Err(SetupError::Busy { pid, .. })) => pid,
        (_, Err(e)) => return Err(e),
    };
    if !force {
        return Err(SetupError::Busy {
            id: id.to_string(),
            pid: owner,
        });
    }
    Ok((stop_owner(id, owner)?, Some(owner)))
}

/// `vethbench down`: removes the topology of one run id; an error if there is none. A topology a
/// live process measures on (or holds) is refused with [`SetupError::Busy`], unless `force`: then
/// that process is stopped first.
pub fn down(id: &RunId, force: bool) -> Result<Removed, SetupError> {
    let exists = our_namespaces()?.contains_key(id);
    if !exists && RunRecord::load(id).is_none() && Lease::holder(id).is_none() {
        return Err(SetupError::NotFound(id.to_string()));
    }
    let (lease, stopped) = take_for_removal(id, force)?;
    let mut removed = remove_run(id, &lease)?;
    removed.stopped_owner = stopped;
    Ok(removed)
}

/// `vethbench cleanup`: removes every leftover of ours — namespaces named by our scheme whose owner
/// is not running (all of them with `force`), stray links of ours in the caller's namespace, and
/// records without namespaces.
pub fn cleanup(force: bool) -> Result<Cleanup, SetupError> {
    let mut report = Cleanup::default();
    let mut ids: Vec<RunId> = our_namespaces()?.into_keys().collect();
    ids.extend(RunRecord::ids());
    ids.extend(crate::lease::lock_ids());
    ids.sort();
    ids.dedup();
    for id in ids {
        // A run still building its topology has a live record but no lease yet.
        if let Some(record) =
            RunRecord::load(&id).filter(|r| !force && r.owner_alive() && !r.detached)
        {
            report.skipped.push(Skipped {
                id,
                pid: record.pid,
            });
            continue;
        }
        let taken = take_for_removal(&id, force);
        let result = taken.and_then(|(lease, stopped)| {
            let mut removed = remove_run(&id, &lease)?;
            removed.stopped_owner = stopped;
            Ok(removed)
        });
        match result {
            Ok(removed) if !removed.is_empty() => report.removed.push(removed),
            Ok(_) => {}
            Err(SetupError::Busy { pid, .. }) => report.skipped.push(Skipped { id, pid }),
            Err(e) => report.errors.push(format!("run {id}: {e}")),
        }
    }
    // Only veths named by our scheme: we never create links in the caller's namespace, but a crash
    // between creating and moving one could leave it here.
    report.stray_links = netns::on_thread(|| {
        delete_links_here(|l| {
            RunId::parse_link(&l.name).is_some() && l.kind.as_deref() == Some("veth")
        })
    })?;
    Ok(report)
}
