//! The guest's kernel command line: the console, no reboot, and the runs to do
//! (`vethbench.run=<hex of a JSON list of argument lists>`, so no quoting can break it). The
//! VM's own description (`vethbench.vm=`) is added per boot by the session.

use crate::VmError;

/// The key of the runs.
pub const RUNS_KEY: &str = "vethbench.run=";

/// x86's kernel command line holds 2048 bytes; keep room for the VM's description.
const MAX_LEN: usize = 1800;

/// The command line for a guest doing `runs`.
pub fn build(runs: &[Vec<String>]) -> Result<String, VmError> {
    let json = serde_json::to_string(runs).map_err(|e| VmError::Guest(e.to_string()))?;
    let hex: String = json.bytes().map(|b| format!("{b:02x}")).collect();
    let line =
        format!("console=ttyS0 panic=-1 quiet loglevel=3 random.trust_cpu=on {RUNS_KEY}{hex}");
    if line.len() > MAX_LEN {
        return Err(VmError::Usage(model::usage(
            "RUN FLAGS",
            runs.iter()
                .map(|r| r.join(" "))
                .collect::<Vec<_>>()
                .join(" | "),
            format!(
                "too long for a kernel command line ({} of {MAX_LEN} bytes): fewer modes or flags",
                line.len()
            ),
        )));
    }
    Ok(line)
}

/// The runs a guest's command line asks for; `None` when it names none (not one of our guests).
pub fn runs(cmdline: &str) -> Option<Vec<Vec<String>>> {
    let hex = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix(RUNS_KEY))?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    serde_json::from_slice(&bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_survive_the_command_line() {
        let asked = vec![
            vec![
                "--mode".to_string(),
                "throughput".into(),
                "--duration".into(),
                "0.5".into(),
            ],
            vec!["--size".into(), "64, 512 \"quoted\"".into()],
        ];
        let line = build(&asked).unwrap();
        assert!(line.starts_with("console=ttyS0"));
        assert_eq!(
            runs(&format!("{line} vethbench.vm=accel:tcg")),
            Some(asked.clone())
        );
        assert_eq!(runs("console=ttyS0"), None);
        let long = vec![vec!["--size".to_string(); 400]];
        assert!(matches!(build(&long), Err(VmError::Usage(_))));
    }
}
