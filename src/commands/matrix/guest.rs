//! One kernel in a QEMU guest: its image, the boot, the guest's lines streamed, and what comes
//! back over the record channel kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use results::matrix::KernelOutcome;
use vm::kernel::GuestKernel;
use vm::qemu::Launch;
use vm::session::{AccelChoice, Ended, Guest};

use super::Column;
use crate::cli::{AccelArg, MatrixOptions};
use crate::ui::progress;

/// QEMU and what every guest shares.
pub(super) struct GuestSpec<'a> {
    pub qemu: &'a Path,
    pub qemu_version: &'a str,
    pub cmdline: &'a str,
}

/// One kernel in a VM: image, boot, stream, records back.
pub(super) fn guest(
    opts: &MatrixOptions,
    spec: &GuestSpec<'_>,
    kernel: &GuestKernel,
    col: &Column,
    dir: &Path,
    stop: &AtomicBool,
    outcome: &mut KernelOutcome,
) -> anyhow::Result<()> {
    progress!("  [{}] guest image", col.label);
    let binary = std::env::current_exe().context("own binary")?;
    let image = vm::image::build(kernel, &binary, &opts.cache)?;
    let work = Workdir::new()?;
    let accel = match opts.accel {
        AccelArg::Tcg => AccelChoice::Tcg,
        AccelArg::Kvm => AccelChoice::Kvm,
        AccelArg::Auto => match vm::qemu::kvm_unavailable() {
            None => AccelChoice::KvmThenTcg,
            Some(why) => {
                progress!("  [{}] KVM not usable ({why}): TCG emulation", col.label);
                AccelChoice::Tcg
            }
        },
    };
    let default_pin: Vec<usize> = (0..opts.vcpus as usize).collect();
    let guest = Guest {
        launch: Launch {
            binary: spec.qemu.into(),
            accel: vm::qemu::Accel::Tcg,
            vcpus: opts.vcpus,
            memory_mib: opts.memory_mib,
            kernel: kernel.vmlinuz.clone(),
            initrd: image,
            cmdline: spec.cmdline.into(),
            channel: work.0.join("channel"),
            qmp: work.0.join("qmp.sock"),
        },
        qemu_version: spec.qemu_version.into(),
        pin_kvm: opts.vm_cores.clone().unwrap_or(default_pin),
        pin_tcg: opts.vm_cores.clone().unwrap_or_default(),
        accel,
        boot_deadline: opts.boot_timeout,
        deadline: opts.timeout,
    };
    progress!(
        "  [{}] booting ({} vCPUs, {} MiB)",
        col.label,
        opts.vcpus,
        opts.memory_mib
    );
    let label = col.label.clone();
    let run = vm::session::run(&guest, stop, &mut |line| progress!("  [{label}] {line}"));
    let result = run?;
    outcome.accelerator = Some(result.accel.name().into());
    outcome.kvm_fallback = result.kvm_fallback.clone();
    std::fs::write(dir.join("console.log"), result.console.join("\n") + "\n")
        .with_context(|| dir.join("console.log").display().to_string())?;
    let mut end = None;
    for frame in result.received.frames {
        match frame {
            vm::channel::Frame::Record { name, bytes } => {
                let kept = keep_record(dir, &name, &bytes, &col.release)?;
                outcome.records.push(kept);
            }
            vm::channel::Frame::DoctorFailed(text) => {
                outcome.status = format!(
                    "doctor failed: kernel {} cannot run vethbench: {}",
                    col.release,
                    text.replace('\n', "; ")
                );
            }
            vm::channel::Frame::End(code) => end = Some(code),
        }
    }
    if outcome.status != "ok" {
        return Ok(());
    }
    outcome.status = match (&result.ended, end) {
        (Ended::PoweredOff, Some(0)) => "ok".into(),
        (Ended::PoweredOff, Some(code)) => format!("failed: a run in the guest exited {code}"),
        (Ended::PoweredOff, None) => format!(
            "failed: the guest ended without finishing{}",
            result
                .received
                .broken
                .map(|b| format!(" ({b})"))
                .unwrap_or_default()
        ),
        (Ended::BootFailed(why), _) => format!("failed: did not boot: {why}"),
        (Ended::BootTimeout(t), _) => format!(
            "failed: did not boot within {:.0} s (--boot-timeout); its console is in console.log",
            t.as_secs_f64()
        ),
        (Ended::Timeout(t), _) => format!(
            "failed: still running after {:.0} s (--timeout); killed",
            t.as_secs_f64()
        ),
        (Ended::Interrupted, _) => {
            "interrupted: the VM was stopped; the records that came back are kept".into()
        }
    };
    Ok(())
}

/// A guest's record, checked (it parses, and comes from the kernel it should), stored atomically
/// under `dir`; returns its path relative to the matrix directory.
fn keep_record(dir: &Path, name: &str, bytes: &[u8], release: &str) -> anyhow::Result<String> {
    let rel: PathBuf = Path::new(name)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    let path = dir.join(&rel);
    let record = results::parse(&path, bytes)?;
    if record.fingerprint.kernel_release != release {
        anyhow::bail!(
            "{name} was measured on kernel {}, not {release}",
            record.fingerprint.kernel_release
        );
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let tmp = path.with_extension("json.part");
    std::fs::write(&tmp, bytes).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, &path).with_context(|| path.display().to_string())?;
    let top = dir.parent().unwrap_or(dir);
    Ok(path
        .strip_prefix(top)
        .unwrap_or(&path)
        .display()
        .to_string())
}

/// A private directory for one guest's channel file and QMP socket, removed on drop.
struct Workdir(PathBuf);

impl Workdir {
    fn new() -> anyhow::Result<Workdir> {
        let dir = std::env::temp_dir().join(format!("vethbench-matrix.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
        Ok(Workdir(dir))
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
