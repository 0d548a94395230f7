//! A kernel's build configuration (`/boot/config-<release>`): what vethbench needs built in or as
//! a module, checked before a guest boots.

/// Options a guest kernel needs, and why.
pub const REQUIRED: [(&str, &str); 8] = [
    ("CONFIG_BPF_SYSCALL", "BPF programs and maps"),
    ("CONFIG_XDP_SOCKETS", "AF_XDP sockets"),
    ("CONFIG_VETH", "veth pairs"),
    ("CONFIG_NET_NS", "network namespaces"),
    ("CONFIG_BLK_DEV_INITRD", "booting from the initramfs"),
    ("CONFIG_RD_GZIP", "the gzip-compressed initramfs"),
    ("CONFIG_DEVTMPFS", "/dev in the guest"),
    (
        "CONFIG_SERIAL_8250_CONSOLE",
        "the console and the record channel",
    ),
];

/// Options that must be built in (`y`): the guest cannot load a module before they work.
const BUILT_IN: [&str; 4] = [
    "CONFIG_BLK_DEV_INITRD",
    "CONFIG_RD_GZIP",
    "CONFIG_DEVTMPFS",
    "CONFIG_SERIAL_8250_CONSOLE",
];

/// A parsed kernel configuration.
#[derive(Clone, Debug, Default)]
pub struct KernelConfig {
    text: String,
}

impl KernelConfig {
    /// The configuration in `text` (the format of `/boot/config-*`).
    pub fn parse(text: &str) -> KernelConfig {
        KernelConfig { text: text.into() }
    }

    /// The value of `option` (`y`, `m`, a string), `None` when not set.
    pub fn get(&self, option: &str) -> Option<&str> {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(option)?.strip_prefix('='))
    }

    /// Whether `option` is a module.
    pub fn is_module(&self, option: &str) -> bool {
        self.get(option) == Some("m")
    }

    /// The required options this kernel lacks, each with why it is needed.
    pub fn missing(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .filter(|(opt, _)| match self.get(opt) {
                Some("y") => false,
                Some("m") => BUILT_IN.contains(opt),
                _ => true,
            })
            .map(|(opt, why)| match self.get(opt) {
                Some("m") => format!("{opt} (a module; it must be built in: {why})"),
                _ => format!("{opt} ({why})"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing() {
        let all: String = REQUIRED.iter().map(|(o, _)| format!("{o}=y\n")).collect();
        assert!(KernelConfig::parse(&all).missing().is_empty());
        let veth_module = all.replace("CONFIG_VETH=y", "CONFIG_VETH=m");
        assert!(KernelConfig::parse(&veth_module).missing().is_empty());
        assert!(KernelConfig::parse(&veth_module).is_module("CONFIG_VETH"));
        let no_xsk = all.replace("CONFIG_XDP_SOCKETS=y", "# CONFIG_XDP_SOCKETS is not set");
        let missing = KernelConfig::parse(&no_xsk).missing();
        assert_eq!(missing.len(), 1);
        assert!(missing[0].starts_with("CONFIG_XDP_SOCKETS"), "{missing:?}");
        let devtmpfs_m = all.replace("CONFIG_DEVTMPFS=y", "CONFIG_DEVTMPFS=m");
        assert!(KernelConfig::parse(&devtmpfs_m).missing()[0].contains("built in"));
        // A prefix of another option is not that option.
        let prefix = all.replace("CONFIG_VETH=y", "CONFIG_VETH_EXTRA=y");
        assert_eq!(KernelConfig::parse(&prefix).missing().len(), 1);
    }
}
