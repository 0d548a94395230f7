//! Records measured inside a virtual machine say so: `vethbench matrix` boots each guest kernel
//! with `vethbench.vm=...` on its command line, and the guest's fingerprint carries what it says.
//! Figures under emulation (QEMU's TCG) mean nothing for performance, and figures of different
//! accelerators do not compare: `compare` refuses to judge them.

use serde::{Deserialize, Serialize};

/// The kernel command-line parameter a guest is booted with:
/// `vethbench.vm=accel:tcg/qemu:8.2.2/vcpus:2/mem:2048/pin:0+1`.
pub const CMDLINE_KEY: &str = "vethbench.vm=";

/// The virtual machine a record was measured in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VmInfo {
    /// QEMU's accelerator: `kvm` or `tcg` (emulation).
    pub accelerator: String,
    /// QEMU's version.
    pub qemu_version: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Host cores the vCPU threads were pinned to, in vCPU order (empty: not pinned).
    pub vcpu_pinning: Vec<usize>,
    /// Guest memory, MiB.
    pub memory_mib: u64,
}

impl VmInfo {
    /// The value of [`CMDLINE_KEY`] describing this VM.
    pub fn to_cmdline(&self) -> String {
        let pin: Vec<String> = self.vcpu_pinning.iter().map(|c| c.to_string()).collect();
        format!(
            "{CMDLINE_KEY}accel:{}/qemu:{}/vcpus:{}/mem:{}/pin:{}",
            self.accelerator,
            self.qemu_version,
            self.vcpus,
            self.memory_mib,
            pin.join("+")
        )
    }

    /// The VM a kernel command line describes; `None` without [`CMDLINE_KEY`] (not one of our
    /// guests) or when its value does not parse.
    pub fn from_cmdline(cmdline: &str) -> Option<VmInfo> {
        let value = cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix(CMDLINE_KEY))?;
        let mut vm = VmInfo {
            accelerator: String::new(),
            qemu_version: String::new(),
            vcpus: 0,
            vcpu_pinning: Vec::new(),
            memory_mib: 0,
        };
        for field in value.split('/') {
            let (k, v) = field.split_once(':')?;
            match k {
                "accel" => vm.accelerator = v.to_string(),
                "qemu" => vm.qemu_version = v.to_string(),
                "vcpus" => vm.vcpus = v.parse().ok()?,
                "mem" => vm.memory_mib = v.parse().ok()?,
                "pin" if v.is_empty() => {}
                "pin" => {
                    vm.vcpu_pinning = v
                        .split('+')
                        .map(|c| c.parse().ok())
                        .collect::<Option<_>>()?
                }
                _ => {}
            }
        }
        (!vm.accelerator.is_empty()).then_some(vm)
    }
}

/// Why the performance figures of two records cannot be judged against each other, if they
/// cannot: either was emulated (TCG), or they ran under different accelerators (a VM against the
/// host, or KVM against another).
pub fn not_comparable(a: Option<&VmInfo>, b: Option<&VmInfo>) -> Option<String> {
    fn accel(v: Option<&VmInfo>) -> &str {
        v.map_or("the host", |v| v.accelerator.as_str())
    }
    if [a, b].iter().flatten().any(|v| v.accelerator == "tcg") {
        return Some("not comparable: TCG emulation".into());
    }
    (accel(a) != accel(b)).then(|| {
        format!(
            "not comparable: measured under {} and under {}",
            accel(a),
            accel(b)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(accel: &str) -> VmInfo {
        VmInfo {
            accelerator: accel.into(),
            qemu_version: "8.2.2".into(),
            vcpus: 2,
            vcpu_pinning: vec![0, 1],
            memory_mib: 2048,
        }
    }

    #[test]
    fn the_command_line_round_trips() {
        let v = vm("kvm");
        let line = format!("console=ttyS0 {} panic=-1", v.to_cmdline());
        assert_eq!(VmInfo::from_cmdline(&line), Some(v));
        let mut unpinned = vm("tcg");
        unpinned.vcpu_pinning.clear();
        assert_eq!(VmInfo::from_cmdline(&unpinned.to_cmdline()), Some(unpinned));
        assert_eq!(VmInfo::from_cmdline("console=ttyS0 quiet"), None);
        assert_eq!(VmInfo::from_cmdline("vethbench.vm=accel:tcg/vcpus:x"), None);
    }

    #[test]
    fn emulation_and_mixed_accelerators_are_not_judged() {
        let (tcg, kvm) = (vm("tcg"), vm("kvm"));
        assert_eq!(
            not_comparable(Some(&tcg), Some(&tcg)).as_deref(),
            Some("not comparable: TCG emulation")
        );
        assert!(not_comparable(None, Some(&tcg)).is_some());
        assert_eq!(
            not_comparable(None, Some(&kvm)).as_deref(),
            Some("not comparable: measured under the host and under kvm")
        );
        assert_eq!(not_comparable(Some(&kvm), Some(&kvm)), None);
        assert_eq!(not_comparable(None, None), None);
    }
}
