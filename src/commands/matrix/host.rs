//! `--kernel host`: the doctor, then each run, as a child vethbench on this host, their output
//! streamed with the kernel's label.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use results::matrix::KernelOutcome;

use super::Column;
use crate::cli::MatrixOptions;
use crate::ui::progress;

/// The host natively: `vethbench doctor`, then each run as a child `vethbench run`.
pub(super) fn host(
    opts: &MatrixOptions,
    col: &Column,
    dir: &Path,
    stop: &AtomicBool,
    outcome: &mut KernelOutcome,
) -> anyhow::Result<()> {
    let doctor = streamed(&["doctor".to_string()], &col.label, stop)?;
    if !doctor.success() && !stop.load(Ordering::SeqCst) {
        outcome.status = format!(
            "doctor failed: this host's kernel {} cannot run vethbench (see its doctor above)",
            col.release
        );
        return Ok(());
    }
    for (i, args) in opts.runs.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let out = dir.join(format!("run-{i}"));
        let mut argv = vec!["run".to_string()];
        argv.extend(args.iter().cloned());
        argv.extend(["--out".to_string(), out.display().to_string()]);
        let status = streamed(&argv, &col.label, stop)?;
        let top = dir.parent().unwrap_or(dir);
        for r in results::json_files_under(&out) {
            outcome
                .records
                .push(r.strip_prefix(top).unwrap_or(&r).display().to_string());
        }
        if !status.success() && !stop.load(Ordering::SeqCst) {
            outcome.status = format!(
                "failed: vethbench run exited {}",
                status.code().unwrap_or(1)
            );
            return Ok(());
        }
    }
    if stop.load(Ordering::SeqCst) {
        outcome.status = "interrupted: the records written are kept".into();
    }
    Ok(())
}

/// Runs this vethbench with `args`, its output lines prefixed with `label`; a SIGTERM to us alone
/// is passed on (a terminal's Ctrl-C reaches the child by itself).
fn streamed(args: &[String], label: &str, stop: &AtomicBool) -> anyhow::Result<ExitStatus> {
    let binary = std::env::current_exe().context("own binary")?;
    progress!("  [{label}] vethbench {}", args.join(" "));
    let mut child = Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting vethbench {}", args.join(" ")))?;
    let outputs: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    let forwarders: Vec<_> = outputs
        .into_iter()
        .flatten()
        .map(|r| {
            let label = label.to_string();
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
        if let Some(s) = child.try_wait().context("waiting for vethbench")? {
            break s;
        }
        if stop.load(Ordering::SeqCst) && !forwarded {
            forwarded = true;
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for f in forwarders {
        let _ = f.join();
    }
    Ok(status)
}
