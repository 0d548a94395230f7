//! Helpers for root tests (feature `testing`): skipping without root, a host-wide lock so tests that
//! compare the host's state before and after are not confused by tests running beside them, and
//! snapshots of the host's namespaces and links.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::{netlink, netns, RunId};

/// True (after printing why) when the test cannot run: not root.
pub fn skip_without_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    eprintln!("skipped {test}: needs root (namespaces, veth, XDP)");
    true
}

/// A host-wide lock across test threads and test processes: topology tests hold it shared, tests
/// that compare the whole host before and after hold it exclusively.
pub struct HostLock {
    /// Held open: closing it releases the lock.
    _file: File,
}

impl HostLock {
    fn take(op: libc::c_int) -> HostLock {
        let file = File::create("/run/lock/vethbench-tests.lock")
            .or_else(|_| File::create("/tmp/vethbench-tests.lock"))
            .expect("create the test lock file");
        // SAFETY: flock on a valid, owned descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        HostLock { _file: file }
    }

    /// For tests that create topologies.
    pub fn shared() -> HostLock {
        Self::take(libc::LOCK_SH)
    }

    /// For tests that compare the host's state before and after.
    pub fn exclusive() -> HostLock {
        Self::take(libc::LOCK_EX)
    }
}

/// The host's namespaces and the links of the caller's namespace.
#[derive(Debug, PartialEq, Eq)]
pub struct HostSnapshot {
    /// `ip netns list`.
    pub namespaces: Vec<String>,
    /// `ip link` names.
    pub links: Vec<String>,
}

/// Takes a [`HostSnapshot`].
pub fn snapshot() -> HostSnapshot {
    let links = netns::on_thread(|| {
        netlink::block_on(async {
            let handle = netlink::connect()?;
            let mut names: Vec<String> = netlink::links(&handle)
                .await?
                .iter()
                .map(|l| netlink::link_state(l).name)
                .collect();
            names.sort();
            Ok(names)
        })
    })
    .expect("list the host's links");
    HostSnapshot {
        namespaces: netns::list().expect("list namespaces"),
        links,
    }
}

/// Namespaces of one run id still on the host.
pub fn namespaces_of(id: &RunId) -> Vec<String> {
    netns::list()
        .expect("list namespaces")
        .into_iter()
        .filter(|n| RunId::parse_namespace(n).is_some_and(|(owner, _)| &owner == id))
        .collect()
}

/// A unique run id for a test: a short tag and random characters, 12 at most.
pub fn test_id(tag: &str) -> RunId {
    let tag: String = tag.chars().take(4).collect();
    let random = RunId::generate();
    RunId::new(&format!("t{tag}{}", &random.as_str()[..7])).expect("valid test id")
}

thread_local! {
    static FAIL_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Makes the next [`crate::Topology::create`] on this thread fail at the named stage
/// (`namespaces`, `veth`, `configured`), to prove that a failure halfway rolls back.
pub fn fail_next_create_at(stage: &'static str) {
    FAIL_AT.with(|f| f.set(Some(stage)));
}

pub(crate) fn fail_point(stage: &'static str) -> Result<(), crate::SetupError> {
    if FAIL_AT.with(|f| f.get()) == Some(stage) {
        FAIL_AT.with(|f| f.set(None));
        return Err(crate::SetupError::Thread(format!(
            "injected failure after stage '{stage}'"
        )));
    }
    Ok(())
}
