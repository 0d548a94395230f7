//! `vethbench guest`: the last step of a `matrix` guest's init. Runs the doctor, then each run
//! the kernel command line asks for (as a child `vethbench run`, its output on the console the
//! host streams), and sends every record back over the second serial port, then the worst exit
//! status. A failing doctor is sent back instead of measuring.

use std::fs::OpenOptions;
use std::io::BufRead;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::Context;
use vm::channel::{self, Frame};

use crate::doctor::{run_all, Status};

/// The record channel: QEMU's second serial port.
const CHANNEL: &str = "/dev/ttyS1";
/// Where the guest's runs write their records.
const OUT: &str = "/out";

pub fn run() -> anyhow::Result<ExitCode> {
    let cmdline = std::fs::read_to_string("/proc/cmdline").context("/proc/cmdline")?;
    let runs = vm::cmdline::runs(&cmdline)
        .context("not in a vethbench matrix guest: the kernel command line names no runs")?;
    let mut port = open_channel()?;
    listen_for_stop();
    println!("vethbench-guest: doctor");
    let checks = run_all();
    super::doctor::print_table(&checks);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {} ({})", c.name, c.detail, c.fix))
        .collect();
    if !failed.is_empty() {
        send(&mut port, &Frame::DoctorFailed(failed.join("\n")))?;
        send(&mut port, &Frame::End(crate::exit::USAGE.into()))?;
        return Ok(ExitCode::from(crate::exit::USAGE));
    }
    let mut worst = 0;
    for (i, args) in runs.iter().enumerate() {
        println!(
            "vethbench-guest: run {}/{}: vethbench run {}",
            i + 1,
            runs.len(),
            args.join(" ")
        );
        let out = Path::new(OUT).join(format!("run-{i}"));
        let mut child = Command::new(std::env::current_exe().context("own binary")?)
            .arg("run")
            .args(args)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .spawn()
            .context("starting vethbench run")?;
        RUN_PID.store(child.id() as i32, Ordering::SeqCst);
        if STOPPING.load(Ordering::SeqCst) {
            interrupt_run();
        }
        let status = child.wait().context("waiting for vethbench run")?;
        RUN_PID.store(0, Ordering::SeqCst);
        let code = status.code().unwrap_or(1);
        println!("vethbench-guest: run {} exited {code}", i + 1);
        worst = worst.max(code);
        for record in results::json_files_under(&out) {
            let bytes = std::fs::read(&record).with_context(|| record.display().to_string())?;
            let name = record
                .strip_prefix(OUT)
                .unwrap_or(&record)
                .display()
                .to_string();
            send(&mut port, &Frame::Record { name, bytes })?;
        }
        if STOPPING.load(Ordering::SeqCst) {
            println!("vethbench-guest: stopped by the host");
            break;
        }
    }
    send(&mut port, &Frame::End(worst))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a frame and waits until the port has sent it: the guest may power off right after.
fn send(port: &mut std::fs::File, frame: &Frame) -> anyhow::Result<()> {
    channel::write(port, frame).context("writing to the record channel")?;
    nix::sys::termios::tcdrain(port.as_fd()).context("draining the record channel")
}

/// The pid of the `vethbench run` in progress (0: none).
static RUN_PID: AtomicI32 = AtomicI32::new(0);
/// The host asked the guest to stop.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Watches the console for the host's stop line: the run in progress gets SIGINT (it ends its
/// trial as interrupted and stores its record), and no further run starts.
fn listen_for_stop() {
    std::thread::spawn(|| {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if line.trim() == vm::session::STOP_LINE {
                STOPPING.store(true, Ordering::SeqCst);
                interrupt_run();
            }
        }
    });
}

fn interrupt_run() {
    let pid = RUN_PID.load(Ordering::SeqCst);
    if pid > 0 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGINT,
        );
    }
}

/// The serial port, raw (no newline translation: frames carry exact byte counts).
fn open_channel() -> anyhow::Result<std::fs::File> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let port = OpenOptions::new()
        .write(true)
        .open(CHANNEL)
        .with_context(|| format!("{CHANNEL}: the record channel"))?;
    let mut t = tcgetattr(port.as_fd()).context("tcgetattr on the record channel")?;
    cfmakeraw(&mut t);
    tcsetattr(port.as_fd(), SetArg::TCSANOW, &t).context("tcsetattr on the record channel")?;
    Ok(port)
}
