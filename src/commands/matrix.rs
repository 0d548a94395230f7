//! `vethbench matrix`: every kernel resolved and checked first (downloads, configuration), then
//! one after another booted (or run natively for `host`), its output streamed, its records kept
//! under `<out>/matrix-<name>/<kernel>/` as they come back, and at the end one table: per
//! scenario and metric, each kernel's median and interval and its verdict against the first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use results::matrix::{KernelOutcome, MatrixSummary, SUMMARY_KIND};
use vm::kernel::{GuestKernel, KernelArg};
use vm::qemu::Launch;
use vm::session::{AccelChoice, Ended, Guest};

use crate::cli::{AccelArg, MatrixOptions};
use crate::ui::progress;

/// A kernel ready to run.
struct Column {
    label: String,
    named: String,
    release: String,
    /// `None`: the host, natively.
    guest: Option<GuestKernel>,
}

pub fn run(opts: &MatrixOptions) -> anyhow::Result<ExitCode> {
    let stop = crate::signals::watch()?;
    let qemu = if opts.kernels.iter().any(|k| k.arg != KernelArg::Host) {
        let bin = vm::qemu::find()?;
        if !Path::new(vm::image::BUSYBOX).is_file() {
            return Err(vm::VmError::BusyboxMissing(vm::image::BUSYBOX.into()).into());
        }
        let version = vm::qemu::version(&bin)?;
        Some((bin, version))
    } else {
        None
    };
    let cmdline = vm::cmdline::build(&opts.runs)?;
    vm::stale::sweep(&opts.cache);
    let columns = match prepare(opts, &stop) {
        Ok(c) => c,
        // Interrupted while downloading: the exit status says so.
        Err(e) => match crate::signals::exit_code() {
            Some(code) => {
                eprintln!("vethbench matrix: {e:#}");
                return Ok(code);
            }
            None => return Err(e),
        },
    };
    std::fs::create_dir_all(&opts.dir).with_context(|| opts.dir.display().to_string())?;
    let mut summary = MatrixSummary {
        kind: SUMMARY_KIND.into(),
        name: opts.name.clone(),
        started: results::now_rfc3339(),
        runs: opts.runs.clone(),
        kernels: Vec::new(),
        matrix: None,
    };
    for (i, col) in columns.iter().enumerate() {
        let at = format!("kernel {}/{}", i + 1, columns.len());
        let spec = qemu.as_ref().map(|(bin, version)| GuestSpec {
            qemu: bin,
            qemu_version: version,
            cmdline: &cmdline,
        });
        let outcome = run_kernel(opts, &at, col, spec.as_ref(), &stop)?;
        summary.kernels.push(outcome);
        save_summary(&opts.dir, &summary)?;
    }
    let matrix = tabulate(opts, &columns)?;
    summary.matrix = Some(matrix);
    save_summary(&opts.dir, &summary)?;
    progress!(
        "matrix: {} (`vethbench report {}` draws it)",
        opts.dir.display(),
        opts.dir.display()
    );
    Ok(exit_status(&summary))
}

/// One kernel, natively or in a guest, to its outcome (a failure is the kernel's status, not the
/// matrix's end).
fn run_kernel(
    opts: &MatrixOptions,
    at: &str,
    col: &Column,
    spec: Option<&GuestSpec<'_>>,
    stop: &AtomicBool,
) -> anyhow::Result<KernelOutcome> {
    let start = Instant::now();
    let dir = opts.dir.join(&col.label);
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let mut outcome = KernelOutcome {
        label: col.label.clone(),
        named: col.named.clone(),
        release: col.release.clone(),
        accelerator: None,
        kvm_fallback: None,
        status: "ok".into(),
        records: Vec::new(),
        seconds: 0.0,
    };
    if stop.load(Ordering::SeqCst) {
        outcome.status = "not run: interrupted before it started".into();
        return Ok(outcome);
    }
    progress!("{at}: {} ({})", col.label, col.named);
    let ran = match (&col.guest, spec) {
        (Some(k), Some(spec)) => guest(opts, spec, k, col, &dir, stop, &mut outcome),
        _ => host(opts, col, &dir, stop, &mut outcome),
    };
    if let Err(e) = ran {
        outcome.status = format!("failed: {e:#}");
    }
    progress!("{at}: {}: {}", col.label, outcome.status);
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

/// The matrix of what came back, printed (table or JSON).
fn tabulate(opts: &MatrixOptions, columns: &[Column]) -> anyhow::Result<results::matrix::Matrix> {
    let records: Vec<(String, Option<results::Record>)> = columns
        .iter()
        .map(|c| (c.label.clone(), load_kernel(&opts.dir.join(&c.label))))
        .collect();
    let view: Vec<(String, Option<&results::Record>)> = records
        .iter()
        .map(|(l, r)| (l.clone(), r.as_ref()))
        .collect();
    let matrix = results::matrix::build(&view, &results::noise::NoiseBand::flat(opts.noise));
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&matrix).context("serialise matrix")?
        );
    } else if matrix.rows.is_empty() {
        eprintln!("matrix: no kernel sent a record back (each kernel's status is above)");
    } else {
        print!("{}", results::matrix::render(&matrix));
    }
    Ok(matrix)
}

/// 130/143 after a signal; 2 when a guest's doctor found its kernel unusable; 1 when a kernel did
/// not complete; else 0.
fn exit_status(summary: &MatrixSummary) -> ExitCode {
    if let Some(code) = crate::signals::exit_code() {
        return code;
    }
    let failed = summary.kernels.iter().filter(|k| k.status != "ok").count();
    if summary
        .kernels
        .iter()
        .any(|k| k.status.starts_with("doctor failed"))
    {
        eprintln!("error: vethbench matrix: a kernel lacks what vethbench needs (its doctor failed; see above)");
        return ExitCode::from(crate::exit::USAGE);
    }
    if failed > 0 {
        eprintln!("error: vethbench matrix: {failed} kernel(s) did not complete (see above)");
        return ExitCode::from(crate::exit::FAILURE);
    }
    ExitCode::SUCCESS
}

/// Every kernel resolved (downloaded, unpacked, its configuration checked) before anything
/// boots; two kernels of the same release are refused.
fn prepare(opts: &MatrixOptions, stop: &AtomicBool) -> anyhow::Result<Vec<Column>> {
    let mut columns: Vec<Column> = Vec::new();
    for k in &opts.kernels {
        if stop.load(Ordering::SeqCst) {
            anyhow::bail!("interrupted while preparing the kernels");
        }
        let column = match &k.arg {
            KernelArg::Host => {
                let release = host_release();
                Column {
                    label: format!("host-{release}"),
                    named: k.named.clone(),
                    release,
                    guest: None,
                }
            }
            arg => {
                progress!("kernel {}: resolving", k.named);
                let g = vm::kernel::resolve(&k.named, arg, opts.modules.as_deref(), &opts.cache)?;
                Column {
                    label: g.release.clone(),
                    named: k.named.clone(),
                    release: g.release.clone(),
                    guest: Some(g),
                }
            }
        };
        if let Some(other) = columns.iter().find(|c| c.label == column.label) {
            return Err(model::usage(
                "--kernel",
                &k.named,
                format!(
                    "the same kernel ({}) as --kernel {}",
                    column.label, other.named
                ),
            )
            .into());
        }
        columns.push(column);
    }
    Ok(columns)
}

fn host_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// QEMU and what every guest shares.
struct GuestSpec<'a> {
    qemu: &'a Path,
    qemu_version: &'a str,
    cmdline: &'a str,
}

/// One kernel in a VM: image, boot, stream, records back.
fn guest(
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

/// The host natively: each run as a child `vethbench run`, its output streamed.
fn host(
    opts: &MatrixOptions,
    col: &Column,
    dir: &Path,
    stop: &AtomicBool,
    outcome: &mut KernelOutcome,
) -> anyhow::Result<()> {
    let binary = std::env::current_exe().context("own binary")?;
    for (i, args) in opts.runs.iter().enumerate() {
        let out = dir.join(format!("run-{i}"));
        progress!("  [{}] vethbench run {}", col.label, args.join(" "));
        let mut child = Command::new(&binary)
            .arg("run")
            .args(args)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting vethbench run")?;
        let forwarders: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|r| {
            let label = col.label.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    progress!("  [{label}] {line}");
                }
            })
        })
        .collect();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut forwarded = false;
        let status = loop {
            if let Some(s) = child.try_wait().context("waiting for vethbench run")? {
                break s;
            }
            if stop.load(Ordering::SeqCst) && !forwarded {
                forwarded = true;
                // A terminal's Ctrl-C reached the child too; a SIGTERM to us alone is passed on.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        for f in forwarders {
            let _ = f.join();
        }
        for r in results::json_files_under(&out) {
            let top = dir.parent().unwrap_or(dir);
            outcome
                .records
                .push(r.strip_prefix(top).unwrap_or(&r).display().to_string());
        }
        if stop.load(Ordering::SeqCst) {
            outcome.status = "interrupted: records already written are kept".into();
            return Ok(());
        }
        if !status.success() {
            outcome.status = format!(
                "failed: vethbench run exited {}",
                status.code().unwrap_or(1)
            );
            return Ok(());
        }
    }
    Ok(())
}

/// The records under a kernel's directory, merged into one (scenarios of every run).
fn load_kernel(dir: &Path) -> Option<results::Record> {
    let records: Vec<results::Record> = results::json_files_under(dir)
        .iter()
        .filter_map(|p| results::load(p).ok())
        .collect();
    results::matrix::merge(records)
}

fn save_summary(dir: &Path, summary: &MatrixSummary) -> anyhow::Result<()> {
    let path = dir.join("matrix.json");
    let tmp = dir.join("matrix.json.part");
    let text = serde_json::to_string_pretty(summary).context("serialise the matrix")?;
    std::fs::write(&tmp, text).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, &path).with_context(|| path.display().to_string())
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
