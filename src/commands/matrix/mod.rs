//! `vethbench matrix`: every kernel resolved and checked first (downloads, configuration), then
//! one after another booted (or run natively for `host`), its output streamed, its records kept
//! under `<out>/matrix-<name>/<kernel>/` as they come back, and at the end one table: per
//! scenario and metric, each kernel's median and interval and its verdict against the first.

mod guest;
mod host;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use results::matrix::{KernelOutcome, MatrixSummary, SUMMARY_KIND};
use vm::kernel::{GuestKernel, KernelArg};

use crate::cli::MatrixOptions;
use crate::ui::progress;
use guest::{guest, GuestSpec};
use host::host;

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
