//! Arguments of `vethbench matrix`, and their check before anything is downloaded or booted.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};
use model::{usage, UsageError};
use vm::kernel::KernelArg;

use super::run::{parse_cores, CoreList};
use super::{parse_noise, Cli, Command, RunOptions};

/// Which accelerator guests run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AccelArg {
    /// KVM when /dev/kvm is usable and the guest kernel boots under it, else TCG (the reason is
    /// printed).
    Auto,
    /// KVM only (a guest KVM cannot run fails).
    Kvm,
    /// TCG emulation only: function is real, performance figures are not.
    Tcg,
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// A kernel to measure on (repeat for each; the first is the reference the others are
    /// judged against): `host` (the running kernel, natively), a vmlinuz file (with --modules),
    /// a Debian linux-image .deb, or a package for `apt-get download`
    /// (`linux-image-cloud-amd64`, `linux-image-cloud-amd64/bookworm-backports`).
    #[arg(long = "kernel", value_name = "KERNEL", required = true)]
    pub kernels: Vec<String>,
    /// Modules of the vmlinuz kernels: a lib/modules directory (holding <release>/), or one
    /// release's directory (default: /lib/modules/<release> when the host has it).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// The accelerator.
    #[arg(long, value_enum, default_value_t = AccelArg::Auto)]
    pub accel: AccelArg,
    /// Virtual CPUs per guest.
    #[arg(long, default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub vcpus: u32,
    /// Guest memory, MiB (at least 512, and no more than the host has available).
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub memory: u64,
    /// Host cores to pin vCPU i to, one per vCPU (default: 0.. under KVM, not pinned under TCG).
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    pub vm_cores: Option<CoreList>,
    /// Seconds from a guest's start to its init before it counts as not booting and is killed.
    #[arg(long, value_name = "S", default_value_t = 120.0)]
    pub boot_timeout: f64,
    /// Seconds a guest may take in all (boot, doctor, runs) before it is killed.
    #[arg(long, value_name = "S", default_value_t = 3600.0)]
    pub timeout: f64,
    /// Results directory: the matrix goes to <out>/matrix-<name>/<kernel>/.
    #[arg(long, value_name = "DIR", default_value = "results/records")]
    pub out: PathBuf,
    /// The matrix's name (default: its start time, e.g. 20261203-120501).
    #[arg(long)]
    pub name: Option<String>,
    /// Downloaded packages, unpacked kernels and guest images, reused between runs.
    #[arg(long, value_name = "DIR", default_value = "/var/cache/vethbench")]
    pub cache: PathBuf,
    /// Noise band of the verdicts against the first kernel.
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = parse_noise)]
    pub noise: f64,
    /// Print the matrix as JSON.
    #[arg(long)]
    pub json: bool,
    /// Flags for `vethbench run` in each guest, after `--`; each --mode there is one run
    /// (`-- --mode throughput --mode latency --duration 0.5`); without --mode, the suite.
    #[arg(last = true, value_name = "RUN FLAGS")]
    pub run: Vec<String>,
}

/// One kernel of the matrix, as named.
#[derive(Clone, Debug)]
pub struct KernelChoice {
    /// The value of `--kernel`.
    pub named: String,
    /// What it names.
    pub arg: KernelArg,
}

/// `vethbench matrix`, checked.
#[derive(Debug)]
pub struct MatrixOptions {
    /// The kernels, in order.
    pub kernels: Vec<KernelChoice>,
    /// `--modules`.
    pub modules: Option<PathBuf>,
    /// `--accel`.
    pub accel: AccelArg,
    /// `--vcpus`.
    pub vcpus: u32,
    /// `--memory`, MiB.
    pub memory_mib: u64,
    /// `--vm-cores`.
    pub vm_cores: Option<Vec<usize>>,
    /// `--boot-timeout`.
    pub boot_timeout: std::time::Duration,
    /// `--timeout`.
    pub timeout: std::time::Duration,
    /// `--name` (or the start time).
    pub name: String,
    /// `<out>/matrix-<name>`.
    pub dir: PathBuf,
    /// `--cache`.
    pub cache: PathBuf,
    /// `--noise`.
    pub noise: f64,
    /// `--json`.
    pub json: bool,
    /// The `run` invocations, each a list of flags.
    pub runs: Vec<Vec<String>>,
}

/// Run flags the matrix sets itself.
const OWN_FLAGS: [&str; 5] = ["--out", "--on", "--id", "--save-baseline", "--baseline"];

/// The smallest guest that holds the image and a benchmark's buffers.
const MIN_MEMORY_MIB: u64 = 512;

impl TryFrom<MatrixArgs> for MatrixOptions {
    type Error = anyhow::Error;
    fn try_from(a: MatrixArgs) -> anyhow::Result<Self> {
        let kernels: Vec<KernelChoice> = a
            .kernels
            .iter()
            .map(|k| KernelChoice {
                named: k.clone(),
                arg: KernelArg::parse(k),
            })
            .collect();
        for (i, k) in kernels.iter().enumerate() {
            if kernels[..i].iter().any(|o| o.arg == k.arg) {
                return Err(usage("--kernel", &k.named, "given twice").into());
            }
        }
        if let Some(m) = &a.modules {
            if !m.is_dir() {
                return Err(usage("--modules", m.display(), "not a directory").into());
            }
        }
        check_memory(a.memory)?;
        let vm_cores = match a.vm_cores {
            Some(CoreList(cores)) => Some(check_vm_cores(cores, a.vcpus)?),
            None => None,
        };
        if !(a.boot_timeout > 0.0 && a.boot_timeout.is_finite()) {
            return Err(usage(
                "--boot-timeout",
                a.boot_timeout,
                "a positive number of seconds",
            )
            .into());
        }
        if !(a.timeout > a.boot_timeout && a.timeout.is_finite()) {
            return Err(usage("--timeout", a.timeout, "seconds, more than --boot-timeout").into());
        }
        let name = match a.name {
            Some(n) => check_name(n)?,
            None => results::now_rfc3339()
                .trim_end_matches('Z')
                .replace(['-', ':'], "")
                .replace('T', "-"),
        };
        crate::outdir::check(&a.out, "--out")?;
        let dir = a.out.join(format!("matrix-{name}"));
        if dir.exists() {
            return Err(usage(
                "--name",
                &name,
                format!("{} exists: choose another name", dir.display()),
            )
            .into());
        }
        let runs = split_runs(&a.run);
        let vcpus: Vec<usize> = (0..a.vcpus as usize).collect();
        for run in &runs {
            check_run(run, &a.out, &vcpus)?;
        }
        Ok(MatrixOptions {
            kernels,
            modules: a.modules,
            accel: a.accel,
            vcpus: a.vcpus,
            memory_mib: a.memory,
            vm_cores,
            boot_timeout: std::time::Duration::from_secs_f64(a.boot_timeout),
            timeout: std::time::Duration::from_secs_f64(a.timeout),
            name,
            dir,
            cache: a.cache,
            noise: a.noise,
            json: a.json,
            runs,
        })
    }
}

fn check_memory(mib: u64) -> Result<(), UsageError> {
    if mib < MIN_MEMORY_MIB {
        return Err(usage(
            "--memory",
            mib,
            format!("at least {MIN_MEMORY_MIB} MiB"),
        ));
    }
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    });
    match available {
        Some(kib) if mib > kib / 1024 => Err(usage(
            "--memory",
            mib,
            format!("the host has {} MiB available", kib / 1024),
        )),
        _ => Ok(()),
    }
}

fn check_vm_cores(cores: Vec<usize>, vcpus: u32) -> Result<Vec<usize>, UsageError> {
    let text = || {
        cores
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    if cores.len() != vcpus as usize {
        return Err(usage(
            "--vm-cores",
            text(),
            format!("one core per vCPU: --vcpus is {vcpus}"),
        ));
    }
    let available = bench::scenario::available_cores();
    if let Some(c) = cores.iter().find(|c| !available.contains(c)) {
        return Err(usage(
            "--vm-cores",
            text(),
            format!("core {c} is not one this process may use ({available:?})"),
        ));
    }
    Ok(cores)
}

fn check_name(name: String) -> Result<String, UsageError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(name)
    } else {
        Err(usage(
            "--name",
            name,
            "1 to 64 letters, digits, '.', '_' or '-', not starting with '.'",
        ))
    }
}

/// The run flags split into one run per `--mode` (a comma list counts as several).
pub fn split_runs(flags: &[String]) -> Vec<Vec<String>> {
    let mut modes = Vec::new();
    let mut rest = Vec::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "--mode" {
            if let Some(v) = it.next() {
                modes.extend(v.split(',').map(str::to_string));
            }
        } else if let Some(v) = f.strip_prefix("--mode=") {
            modes.extend(v.split(',').map(str::to_string));
        } else {
            rest.push(f.clone());
        }
    }
    if modes.is_empty() {
        return vec![rest];
    }
    modes
        .into_iter()
        .map(|m| {
            let mut run = vec!["--mode".to_string(), m];
            run.extend(rest.iter().cloned());
            run
        })
        .collect()
}

/// Checks one run's flags as `vethbench run` would in a guest with `vcpus` CPUs.
fn check_run(run: &[String], out: &std::path::Path, vcpus: &[usize]) -> anyhow::Result<()> {
    if let Some(own) = run.iter().find(|f| {
        OWN_FLAGS
            .iter()
            .any(|o| *f == o || f.starts_with(&format!("{o}=")))
    }) {
        return Err(usage(
            "RUN FLAGS",
            own,
            "the matrix sets this itself (--out is the matrix's --out)",
        )
        .into());
    }
    let argv = ["vethbench", "run"]
        .into_iter()
        .map(String::from)
        .chain(run.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        usage(
            "RUN FLAGS",
            run.join(" "),
            e.to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: "),
        )
    })?;
    let Command::Run(mut args) = cli.command else {
        unreachable!("parsed as `vethbench run`");
    };
    args.out = out.into();
    RunOptions::checked(*args, vcpus)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn each_mode_is_one_run() {
        assert_eq!(split_runs(&[]), vec![Vec::<String>::new()]);
        assert_eq!(
            split_runs(&s(&["--mode", "throughput,latency", "--duration", "0.5"])),
            vec![
                s(&["--mode", "throughput", "--duration", "0.5"]),
                s(&["--mode", "latency", "--duration", "0.5"])
            ]
        );
        assert_eq!(
            split_runs(&s(&["--mode=icmp", "--size", "64", "--mode", "xdp-tx"])),
            vec![
                s(&["--mode", "icmp", "--size", "64"]),
                s(&["--mode", "xdp-tx", "--size", "64"])
            ]
        );
    }
}
