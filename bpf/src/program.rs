//! Loading a program (options through rodata), attaching it to an interface inside a namespace, and
//! detaching it again — on drop, so a panicking benchmark leaves nothing attached.

use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject, ProgramInput, Xdp, XdpFlags};

use crate::skel::{reflect, sink, xsk_redirect};
use crate::Counters;
pub use model::{Program, XdpMode};

/// The attach flags of a mode.
fn flags(mode: XdpMode) -> XdpFlags {
    match mode {
        XdpMode::Skb => XdpFlags::SKB_MODE,
        XdpMode::Drv => XdpFlags::DRV_MODE,
    }
}

/// Errors of the bpf crate; messages name the program, interface and namespace.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    /// Opening or loading into the kernel failed.
    #[error("loading XDP program {program}: {source}")]
    Load {
        /// The program.
        program: Program,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// Attaching failed.
    #[error("attaching XDP program {program} ({mode} mode) to {interface} in {namespace}: {source}{hint}")]
    Attach {
        /// The program.
        program: Program,
        /// The mode asked for.
        mode: XdpMode,
        /// The interface.
        interface: String,
        /// Its namespace.
        namespace: String,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
        /// What usually causes this error.
        hint: &'static str,
    },
    /// A map operation failed.
    #[error("XDP program {program}: {what}: {source}")]
    Map {
        /// The program.
        program: Program,
        /// What was attempted.
        what: String,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// The operation does not exist for this program.
    #[error("XDP program {program} has no {what}")]
    Unsupported {
        /// The program.
        program: Program,
        /// What was asked for.
        what: &'static str,
    },
    /// Entering the namespace failed.
    #[error(transparent)]
    Setup(#[from] setup::SetupError),
}

enum Skel {
    XskRedirect(xsk_redirect::XskRedirectSkel<'static>),
    Reflect(reflect::ReflectSkel<'static>),
    Sink(sink::SinkSkel<'static>),
}

/// Storage for libbpf's open object. A skeleton borrows it for its whole life; it is leaked (a few
/// hundred bytes per load) so the skeleton can live in a plain struct that is `Send`.
fn object_storage() -> &'static mut MaybeUninit<OpenObject> {
    Box::leak(Box::new(MaybeUninit::uninit()))
}

/// A loaded, not yet attached program.
pub struct XdpProgram {
    program: Program,
    skel: Skel,
}

impl XdpProgram {
    /// Opens `program`, sets its options (UDP port of our frames; 0 = every UDP frame) and loads it.
    pub fn load(program: Program, udp_port: u16) -> Result<XdpProgram, BpfError> {
        let err = |source| BpfError::Load { program, source };
        let no_rodata = || {
            err(libbpf_rs::Error::from(std::io::Error::other(
                "skeleton has no rodata section",
            )))
        };
        // Opens a skeleton and sets the UDP port of our frames (every program has it).
        macro_rules! open {
            ($builder:ty) => {{
                let mut open = <$builder>::default().open(object_storage()).map_err(err)?;
                let rodata = open.maps.rodata_data.as_deref_mut().ok_or_else(no_rodata)?;
                rodata.cfg_udp_port = udp_port;
                open
            }};
        }
        let skel = match program {
            Program::XskRedirect => Skel::XskRedirect(
                open!(xsk_redirect::XskRedirectSkelBuilder)
                    .load()
                    .map_err(err)?,
            ),
            Program::Reflect => {
                Skel::Reflect(open!(reflect::ReflectSkelBuilder).load().map_err(err)?)
            }
            Program::Sink { pass } => {
                let mut open = open!(sink::SinkSkelBuilder);
                open.maps
                    .rodata_data
                    .as_deref_mut()
                    .ok_or_else(no_rodata)?
                    .cfg_pass = u8::from(pass);
                Skel::Sink(open.load().map_err(err)?)
            }
        };
        Ok(XdpProgram { program, skel })
    }

    /// Which program this is.
    pub fn program(&self) -> Program {
        self.program
    }

    fn prog_fd(&self) -> BorrowedFd<'_> {
        match &self.skel {
            Skel::XskRedirect(s) => s.progs.xsk_redirect.as_fd(),
            Skel::Reflect(s) => s.progs.reflect.as_fd(),
            Skel::Sink(s) => s.progs.sink.as_fd(),
        }
    }

    fn counters_map(&self) -> &dyn MapCore {
        match &self.skel {
            Skel::XskRedirect(s) => &s.maps.counters,
            Skel::Reflect(s) => &s.maps.counters,
            Skel::Sink(s) => &s.maps.counters,
        }
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> Result<Counters, BpfError> {
        let per_cpu = self
            .counters_map()
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| BpfError::Map {
                program: self.program,
                what: "read counters".into(),
                source,
            })?;
        Ok(per_cpu.map(|v| Counters::sum(&v)).unwrap_or_default())
    }

    /// Puts an AF_XDP socket into the XSKMAP slot of `queue` (xsk_redirect only).
    pub fn register_xsk(&self, queue: u32, xsk_fd: RawFd) -> Result<(), BpfError> {
        let Skel::XskRedirect(s) = &self.skel else {
            return Err(BpfError::Unsupported {
                program: self.program,
                what: "XSKMAP",
            });
        };
        s.maps
            .xsks
            .update(
                &queue.to_ne_bytes(),
                &(xsk_fd as u32).to_ne_bytes(),
                MapFlags::ANY,
            )
            .map_err(|source| BpfError::Map {
                program: self.program,
                what: format!("insert AF_XDP socket for queue {queue} into the XSKMAP"),
                source,
            })
    }

    /// Runs the program once on `frame` (BPF_PROG_RUN) and returns its action and the frame as
    /// the program left it. For tests and for the in-kernel ceilings.
    pub fn test_run(&self, frame: &[u8]) -> Result<(u32, Vec<u8>), BpfError> {
        let mut out = vec![0u8; frame.len() + 256];
        let prog = match &self.skel {
            Skel::XskRedirect(s) => &s.progs.xsk_redirect,
            Skel::Reflect(s) => &s.progs.reflect,
            Skel::Sink(s) => &s.progs.sink,
        };
        let input = ProgramInput {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ..ProgramInput::default()
        };
        let output = prog.test_run(input).map_err(|source| BpfError::Map {
            program: self.program,
            what: "BPF_PROG_RUN".into(),
            source,
        })?;
        let action = output.return_value;
        let len = output.data.map(|d| d.len()).unwrap_or(0);
        out.truncate(len);
        Ok((action, out))
    }

    /// Attaches the program to `ifindex` inside `namespace`. The returned guard detaches it.
    pub fn attach(
        self,
        namespace: &str,
        interface: &str,
        ifindex: u32,
        mode: XdpMode,
    ) -> Result<Attached, BpfError> {
        let fd = self.prog_fd().as_raw_fd();
        let attached = setup::netns::run_in(namespace, || {
            // SAFETY: the program (and so the descriptor) outlives this call: `self` is borrowed.
            let prog = unsafe { BorrowedFd::borrow_raw(fd) };
            Ok(Xdp::new(prog).attach(ifindex as i32, flags(mode)))
        })?;
        attached.map_err(|source| {
            let hint = match os_error(&source) {
                Some(libc::ENOSPC) => {
                    " (native XDP on veth needs at least as many rx queues as the peer has tx queues)"
                }
                Some(libc::EBUSY) | Some(libc::EEXIST) => {
                    " (another XDP program is attached; `vethbench cleanup` removes ours)"
                }
                Some(libc::EINVAL) | Some(libc::ERANGE) => {
                    " (native XDP on veth caps the MTU near 3.5 KB without multi-buffer: lower --mtu or use --xdp-mode skb)"
                }
                _ => "",
            };
            BpfError::Attach {
                program: self.program,
                mode,
                interface: interface.to_string(),
                namespace: namespace.to_string(),
                source,
                hint,
            }
        })?;
        Ok(Attached {
            program: self,
            namespace: namespace.to_string(),
            ifindex,
            mode,
            armed: true,
        })
    }
}

/// The errno behind a libbpf error, if there is one.
fn os_error(e: &libbpf_rs::Error) -> Option<i32> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(code) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return Some(code);
        }
        source = err.source();
    }
    // Fall back to the text: libbpf-rs renders io errors as "... (os error N)".
    let text = e.to_string();
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].split(')').next()?.parse().ok()
}

/// A program attached to an interface; detaches on drop.
pub struct Attached {
    program: XdpProgram,
    namespace: String,
    ifindex: u32,
    mode: XdpMode,
    armed: bool,
}

impl Attached {
    /// The loaded program (counters, XSKMAP).
    pub fn program(&self) -> &XdpProgram {
        &self.program
    }

    /// The mode it is attached in.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Detaches now, reporting errors (drop can only ignore them).
    pub fn detach(mut self) -> Result<(), BpfError> {
        self.armed = false;
        self.detach_inner()
    }

    fn detach_inner(&self) -> Result<(), BpfError> {
        let (ifindex, flags) = (self.ifindex as i32, flags(self.mode));
        let fd = self.program.prog_fd().as_raw_fd();
        let result = setup::netns::run_in(&self.namespace, || {
            // SAFETY: the program outlives this call.
            let prog = unsafe { BorrowedFd::borrow_raw(fd) };
            Ok(Xdp::new(prog).detach(ifindex, flags))
        });
        match result {
            // The namespace (and the interface with it) is gone already: nothing is attached.
            Err(setup::SetupError::Gone(_)) => Ok(()),
            Err(e) => Err(e.into()),
            Ok(r) => r.map_err(|source| BpfError::Map {
                program: self.program.program,
                what: format!("detach from ifindex {ifindex} in {}", self.namespace),
                source,
            }),
        }
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.detach_inner() {
                eprintln!("vethbench: {e}");
            }
        }
    }
}
