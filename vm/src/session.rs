//! One guest from boot to power-off: start QEMU, pin the vCPUs, watch the console for the guest's
//! init within the boot deadline, stream the guest's lines, enforce the run's deadline, honour the
//! user's interrupt, and read back what came over the record channel. With `Accel::Kvm` a guest
//! that fails before its init (QEMU aborting, "KVM internal error") is tried again under TCG, and
//! the reason is returned.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use results::vm::VmInfo;

use crate::channel::{self, Received};
use crate::qemu::{Accel, Launch, Qemu};
use crate::{qmp, VmError};

/// The line `/init` prints once the guest's userland runs.
pub const INIT_MARK: &str = "vethbench-guest: init";

/// The line typed on a running guest's console to stop it gracefully: its run in progress ends
/// its trial as interrupted and the records come back before it powers off.
pub const STOP_LINE: &str = "vethbench-stop";

/// How long a guest asked to stop may take to send its records and power off.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// One guest to run.
#[derive(Clone, Debug)]
pub struct Guest {
    /// QEMU's command line, less the accelerator's part of the kernel command line.
    pub launch: Launch,
    /// QEMU's version, for the record.
    pub qemu_version: String,
    /// Host cores to pin vCPU i to (empty: not pinned), per accelerator.
    pub pin_kvm: Vec<usize>,
    /// As `pin_kvm`, under TCG.
    pub pin_tcg: Vec<usize>,
    /// Which accelerators to use.
    pub accel: AccelChoice,
    /// Deadline from start to the guest's init.
    pub boot_deadline: Duration,
    /// Deadline from start to power-off.
    pub deadline: Duration,
}

/// The accelerators a guest may run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccelChoice {
    /// KVM only: a guest KVM cannot boot fails.
    Kvm,
    /// TCG only.
    Tcg,
    /// KVM, and TCG when KVM cannot boot the guest.
    KvmThenTcg,
}

/// How a guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It powered off (its `vethbench guest` finished).
    PoweredOff,
    /// QEMU ended before the guest's init ran: its error output.
    BootFailed(String),
    /// No init within the boot deadline.
    BootTimeout(Duration),
    /// Still running at the deadline; killed.
    Timeout(Duration),
    /// The user interrupted: the guest was asked to stop (and sent what it measured), or killed
    /// (while booting, or when it did not stop in time).
    Interrupted,
}

/// What a guest left.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub ended: Ended,
    /// The accelerator it ran under.
    pub accel: Accel,
    /// Why KVM was not used, when it was tried and failed.
    pub kvm_fallback: Option<String>,
    /// The VM as recorded in the guest's fingerprint.
    pub vm: VmInfo,
    /// Everything the console printed, boot included.
    pub console: Vec<String>,
    /// What came over the record channel.
    pub received: Received,
}

/// Runs the guest; `on_line` gets every console line after the guest's init; `stop` is the user's
/// interrupt.
pub fn run(
    guest: &Guest,
    stop: &AtomicBool,
    on_line: &mut dyn FnMut(&str),
) -> Result<Outcome, VmError> {
    match guest.accel {
        AccelChoice::Tcg => boot(guest, Accel::Tcg, stop, on_line),
        AccelChoice::Kvm => boot(guest, Accel::Kvm, stop, on_line),
        AccelChoice::KvmThenTcg => {
            let first = boot(guest, Accel::Kvm, stop, on_line)?;
            let why = match &first.ended {
                Ended::BootFailed(reason) => reason.clone(),
                Ended::BootTimeout(t) => format!("no init within {:.0} s", t.as_secs_f64()),
                _ => return Ok(first),
            };
            let reason = format!("KVM cannot run this kernel here ({why}); using TCG");
            on_line(&format!("vethbench: {reason}"));
            let mut again = boot(guest, Accel::Tcg, stop, on_line)?;
            again.kvm_fallback = Some(reason);
            Ok(again)
        }
    }
}

fn boot(
    guest: &Guest,
    accel: Accel,
    stop: &AtomicBool,
    on_line: &mut dyn FnMut(&str),
) -> Result<Outcome, VmError> {
    let pin = match accel {
        Accel::Kvm => &guest.pin_kvm,
        Accel::Tcg => &guest.pin_tcg,
    };
    let vm = VmInfo {
        accelerator: accel.name().into(),
        qemu_version: guest.qemu_version.clone(),
        vcpus: guest.launch.vcpus,
        vcpu_pinning: pin.clone(),
        memory_mib: guest.launch.memory_mib,
    };
    let mut launch = guest.launch.clone();
    launch.accel = accel;
    launch.cmdline = format!("{} {}", launch.cmdline, vm.to_cmdline());
    for f in [&launch.channel, &launch.qmp] {
        let _ = std::fs::remove_file(f);
    }
    let mut qemu = Qemu::start(&launch)?;
    let start = Instant::now();
    if !pin.is_empty() {
        if let Err(e) = pin_vcpus(&launch.qmp, pin) {
            // QEMU that ended by itself (KVM refusing the guest) failed to boot; else pinning
            // itself failed.
            std::thread::sleep(Duration::from_millis(300));
            let exited = qemu.exited().is_some();
            let why = last_line(&qemu.stderr());
            qemu.kill();
            if exited {
                return Ok(outcome(
                    Ended::BootFailed(why),
                    accel,
                    vm,
                    Vec::new(),
                    &launch,
                ));
            }
            return Err(VmError::Guest(format!("pinning the vCPUs: {e}")));
        }
    }
    let mut console = Vec::new();
    let mut booted = false;
    let mut asked: Option<Instant> = None;
    let ended = loop {
        // Interrupted: a booting guest is killed at once; a running one is asked to stop (its
        // run keeps what it measured, marked interrupted) and killed if it takes too long.
        if stop.load(Ordering::SeqCst) && asked.is_none() {
            if booted && qemu.type_line(STOP_LINE) {
                on_line("vethbench: interrupted: asking the guest to stop and send its records");
                asked = Some(Instant::now());
            } else {
                qemu.kill();
                break Ended::Interrupted;
            }
        }
        if asked.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            qemu.kill();
            break Ended::Interrupted;
        }
        // The deadlines below are checked after every line too: a guest that never stops
        // printing still ends.
        match qemu.console.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => keep_line(line, &mut booted, &mut console, on_line),
            Err(RecvTimeoutError::Disconnected) => {
                // QEMU closed its console: it is ending.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let kvm_error =
            accel == Accel::Kvm && !booted && qemu.stderr().contains("KVM internal error");
        if kvm_error {
            qemu.kill();
            break Ended::BootFailed(last_line(&qemu.stderr()));
        }
        if qemu.exited().is_some() {
            // The console's last lines (the reader ends at QEMU's end of output).
            while let Ok(line) = qemu.console.recv_timeout(Duration::from_millis(500)) {
                keep_line(line, &mut booted, &mut console, on_line);
            }
            break if asked.is_some() {
                Ended::Interrupted
            } else if booted {
                Ended::PoweredOff
            } else {
                Ended::BootFailed(last_line(&qemu.stderr()))
            };
        }
        let waited = start.elapsed();
        if !booted && waited > guest.boot_deadline {
            qemu.kill();
            break Ended::BootTimeout(guest.boot_deadline);
        }
        if waited > guest.deadline {
            qemu.kill();
            break Ended::Timeout(guest.deadline);
        }
    };
    drop(qemu);
    Ok(outcome(ended, accel, vm, console, &launch))
}

/// Console lines kept for `console.log` (a guest that floods its console keeps its last ones).
const CONSOLE_LINES: usize = 100_000;

/// Notes the guest's init, passes lines after it on, and keeps every line.
fn keep_line(
    line: String,
    booted: &mut bool,
    console: &mut Vec<String>,
    on_line: &mut dyn FnMut(&str),
) {
    if !*booted && line.contains(INIT_MARK) {
        *booted = true;
    }
    if *booted {
        on_line(&line);
    }
    if console.len() >= CONSOLE_LINES {
        console.drain(..CONSOLE_LINES / 2);
    }
    console.push(line);
}

/// The outcome of a boot, with what came over the channel (whose file is then removed).
fn outcome(
    ended: Ended,
    accel: Accel,
    vm: VmInfo,
    console: Vec<String>,
    launch: &Launch,
) -> Outcome {
    let bytes = std::fs::read(&launch.channel).unwrap_or_default();
    for f in [&launch.channel, &launch.qmp] {
        let _ = std::fs::remove_file(f);
    }
    Outcome {
        ended,
        accel,
        kvm_fallback: None,
        vm,
        console,
        received: channel::read(&bytes),
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("QEMU ended without a message")
        .trim()
        .to_string()
}

/// Pins vCPU i's thread to `cores[i]` and reads the affinity back.
fn pin_vcpus(qmp_socket: &Path, cores: &[usize]) -> Result<(), String> {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let threads = qmp::vcpu_threads(qmp_socket, Duration::from_secs(10))?;
    if threads.len() != cores.len() {
        return Err(format!(
            "QEMU has {} vCPU threads, {} cores given",
            threads.len(),
            cores.len()
        ));
    }
    for (&tid, &core) in threads.iter().zip(cores) {
        let mut set = CpuSet::new();
        set.set(core).map_err(|e| format!("core {core}: {e}"))?;
        let pid = Pid::from_raw(tid);
        sched_setaffinity(pid, &set)
            .map_err(|e| format!("vCPU thread {tid} to core {core}: {e}"))?;
        let got = sched_getaffinity(pid).map_err(|e| format!("reading back thread {tid}: {e}"))?;
        let on: Vec<usize> = (0..CpuSet::count())
            .filter(|&c| got.is_set(c).unwrap_or(false))
            .collect();
        if on != [core] {
            return Err(format!("vCPU thread {tid} runs on {on:?}, not core {core}"));
        }
    }
    Ok(())
}
