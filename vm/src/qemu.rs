//! One QEMU process: its command line, its console lines, and its end. The process runs in its
//! own process group and dies with vethbench (PR_SET_PDEATHSIG), so no QEMU outlives the run,
//! however vethbench ends; dropping a [`Qemu`] kills it.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};

use crate::VmError;

/// The QEMU binary for x86-64 guests.
pub const BINARY: &str = "qemu-system-x86_64";

/// QEMU's accelerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation: figures mean something when the vCPUs are pinned.
    Kvm,
    /// Emulation: function is real, figures are not.
    Tcg,
}

impl Accel {
    /// `kvm` or `tcg`, as records and QEMU name it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The QEMU binary on PATH.
pub fn find() -> Result<PathBuf, VmError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(BINARY))
        .find(|p| p.is_file())
        .ok_or(VmError::QemuMissing)
}

/// QEMU's version (`10.0.2`).
pub fn version(binary: &Path) -> Result<String, VmError> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| VmError::Tool {
            tool: format!("{} --version", binary.display()),
            detail: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| VmError::Tool {
            tool: format!("{} --version", binary.display()),
            detail: format!("unexpected output {:?}", text.trim()),
        })
}

/// Why KVM cannot be tried at all (no /dev/kvm, or no access), if it cannot.
pub fn kvm_unavailable() -> Option<String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => None,
        Err(e) => Some(format!("/dev/kvm: {e}")),
    }
}

/// What one boot needs.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The QEMU binary.
    pub binary: PathBuf,
    /// The accelerator.
    pub accel: Accel,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Guest memory, MiB.
    pub memory_mib: u64,
    /// The bzImage.
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// The kernel command line.
    pub cmdline: String,
    /// The file the guest's second serial port writes to (the record channel).
    pub channel: PathBuf,
    /// The QMP socket.
    pub qmp: PathBuf,
}

impl Launch {
    /// QEMU's arguments: no default devices, the console on standard output, the record channel
    /// on a file, QMP on a socket, no reboot (the guest's power-off or panic ends QEMU).
    pub fn args(&self) -> Vec<String> {
        let accel = match self.accel {
            Accel::Kvm => ["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => ["-accel", "tcg,thread=multi", "-cpu", "max"],
        };
        let mut args: Vec<String> = accel.iter().map(|s| s.to_string()).collect();
        args.extend(
            [
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-no-reboot",
                "-smp",
                &self.vcpus.to_string(),
                "-m",
                &format!("{}M", self.memory_mib),
                "-kernel",
                &self.kernel.to_string_lossy(),
                "-initrd",
                &self.initrd.to_string_lossy(),
                "-append",
                &self.cmdline,
                "-serial",
                "stdio",
                "-serial",
                &format!("file:{}", self.channel.display()),
                "-qmp",
                &format!("unix:{},server=on,wait=off", self.qmp.display()),
            ]
            .map(String::from),
        );
        args
    }
}

/// A running QEMU.
pub struct Qemu {
    child: Child,
    /// The guest console, line by line.
    pub console: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    status: Option<ExitStatus>,
    /// The guest console's input (QEMU's standard input).
    input: Option<std::process::ChildStdin>,
}

impl Qemu {
    /// Starts QEMU.
    pub fn start(launch: &Launch) -> Result<Qemu, VmError> {
        let mut cmd = Command::new(&launch.binary);
        cmd.args(launch.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Ctrl-C reaches vethbench only; it stops QEMU itself.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it only sets this child's parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| VmError::Tool {
            tool: launch.binary.display().to_string(),
            detail: e.to_string(),
        })?;
        let (tx, console) = channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(out);
                let mut buf = Vec::new();
                while r.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\r', '\n']).to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                    buf.clear();
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = err.read(&mut chunk) {
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    }
                }
            });
        }
        let input = child.stdin.take();
        Ok(Qemu {
            child,
            console,
            stderr,
            status: None,
            input,
        })
    }

    /// QEMU's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, once QEMU has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// What QEMU wrote on its standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Types a line on the guest's console; false when the console is gone.
    pub fn type_line(&mut self, line: &str) -> bool {
        use std::io::Write;
        self.input
            .as_mut()
            .is_some_and(|i| writeln!(i, "{line}").and_then(|_| i.flush()).is_ok())
    }

    /// Kills QEMU (and anything in its process group) and reaps it.
    pub fn kill(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        self.status = self.child.wait().ok();
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_has_the_console_and_channel() {
        let l = Launch {
            binary: "qemu".into(),
            accel: Accel::Tcg,
            vcpus: 2,
            memory_mib: 2048,
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: "console=ttyS0".into(),
            channel: "/tmp/c".into(),
            qmp: "/tmp/q".into(),
        };
        let a = l.args().join(" ");
        assert!(a.starts_with("-accel tcg,thread=multi -cpu max"), "{a}");
        assert!(a.contains("-smp 2 -m 2048M"), "{a}");
        assert!(a.contains("-serial stdio -serial file:/tmp/c"), "{a}");
    }
}
