//! The environment a run was measured in, so records can be compared months later and across
//! kernels: kernel, boot command line, CPU, frequency scaling, the host's relevant sysctls, and the
//! topology as read back from the kernel (veth settings and the sysctls we set).

use std::collections::BTreeMap;

use model::TopologyInfo;
use serde::{Deserialize, Serialize};

/// Host sysctls we do not set but that change the figures.
const HOST_SYSCTLS: [&str; 7] = [
    "net.core.busy_poll",
    "net.core.busy_read",
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.core.bpf_jit_enable",
];

/// Where and with what a run was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fingerprint {
    /// `uname -r`.
    pub kernel_release: String,
    /// `uname -v` (build number and date).
    pub kernel_version: String,
    /// /proc/cmdline.
    pub cmdline: String,
    /// CPU model name (/proc/cpuinfo).
    pub cpu_model: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// cpufreq governors in use (empty where the kernel exposes none, e.g. many VMs).
    pub cpufreq_governors: Vec<String>,
    /// Host sysctls that matter and that vethbench does not set, key → value.
    pub host_sysctls: BTreeMap<String, String>,
    /// The topology as the kernel reported it: veth queues, MTU, offloads, NAPI, sysctls set.
    pub topology: TopologyInfo,
    /// The virtual machine it ran in, when booted by `vethbench matrix` (from the kernel command
    /// line); absent on a host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<crate::vm::VmInfo>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl Fingerprint {
    /// Reads the fingerprint of this host for a topology.
    pub fn take(topology: &TopologyInfo) -> Fingerprint {
        let uname = nix::sys::utsname::uname().ok();
        let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uname
                .as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let mut governors: Vec<String> = std::fs::read_dir("/sys/devices/system/cpu")
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| read(&format!("{}/cpufreq/scaling_governor", e.path().display())))
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        governors.sort();
        governors.dedup();
        let cmdline = read("/proc/cmdline");
        Fingerprint {
            vm: crate::vm::VmInfo::from_cmdline(&cmdline),
            kernel_release: field(|u| u.release()),
            kernel_version: field(|u| u.version()),
            cmdline,
            cpu_model,
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpufreq_governors: governors,
            host_sysctls: HOST_SYSCTLS
                .iter()
                .map(|k| {
                    (
                        k.to_string(),
                        read(&format!("/proc/sys/{}", k.replace('.', "/"))),
                    )
                })
                .collect(),
            topology: topology.clone(),
        }
    }

    /// What differs between two fingerprints, as "field: a -> b" lines (how kernels get compared).
    pub fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let (a, b) = (self.comparable(), other.comparable());
        let mut out = Vec::new();
        diff("", &a, &b, &mut out);
        out
    }

    /// The fingerprint without what differs between any two runs by construction: the run id and
    /// the names derived from it (namespaces, interfaces, ifindexes), with per-interface sysctl
    /// keys written as `<veth>`.
    fn comparable(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(spec) = v
            .pointer_mut("/topology/spec")
            .and_then(|s| s.as_object_mut())
        {
            spec.remove("id");
        }
        if let Some(ends) = v
            .pointer_mut("/topology/endpoints")
            .and_then(|e| e.as_array_mut())
        {
            for end in ends.iter_mut().filter_map(|e| e.as_object_mut()) {
                let dev = end
                    .get("interface")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string();
                for field in ["namespace", "interface", "ifindex"] {
                    end.remove(field);
                }
                if let Some(serde_json::Value::Object(sysctls)) = end.remove("sysctls") {
                    let renamed = sysctls
                        .into_iter()
                        .map(|(k, val)| {
                            (
                                if dev.is_empty() {
                                    k
                                } else {
                                    k.replace(&dev, "<veth>")
                                },
                                val,
                            )
                        })
                        .collect();
                    end.insert("sysctls".into(), serde_json::Value::Object(renamed));
                }
            }
        }
        v
    }
}

/// Appends "path: a -> b" for every leaf where `a` and `b` differ.
pub(crate) fn diff(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}
