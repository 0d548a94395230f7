//! `vethbench noise`: this machine's run-to-run variation, from records of identical runs.

use std::process::ExitCode;

use anyhow::Context;
use results::load;

use crate::cli::NoiseArgs;

pub fn run(args: &NoiseArgs) -> anyhow::Result<ExitCode> {
    let mut records = Vec::new();
    for path in &args.records {
        records.push(load(path).context("vethbench noise")?);
    }
    let Some(profile) = results::noise::profile(&records) else {
        anyhow::bail!("vethbench noise: give three or more records of identical runs");
    };
    let rows: Vec<Vec<String>> = profile
        .bands_pct
        .iter()
        .map(|(m, b)| vec![m.clone(), format!("±{b:.1} %")])
        .collect();
    println!(
        "run-to-run variation over {} records (two runs differ by less than this 95 % of the time from it alone):",
        profile.records
    );
    print!("{}", results::text_table(&["metric", "noise band"], &rows));
    if let Some(path) = &args.save {
        let json = serde_json::to_vec_pretty(&profile).context("serialise the profile")?;
        std::fs::write(path, json).with_context(|| format!("--save {}", path.display()))?;
        println!("saved: {} (use it with --noise-from)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
