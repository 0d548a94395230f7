//! `vethbench`: measures the Linux veth data plane with kernel bypass (AF_XDP) next to the kernel
//! stack, in namespaces it builds and removes itself.

mod cli;
mod commands;
mod doctor;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Bad input exits like a usage error (2, as clap does); everything else with 1.
            match e.downcast_ref::<setup::SetupError>() {
                Some(setup::SetupError::InvalidInput { .. }) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Up(args) => commands::up::run(&args.try_into()?),
        cli::Command::Run(args) => commands::run::run(&(*args).try_into()?),
        cli::Command::Compare(args) => commands::compare::run(&args),
        cli::Command::Export(args) => commands::export::run(&args),
        cli::Command::Check(args) => commands::check::run(&args.try_into()?),
        cli::Command::Down(args) => commands::down::run(&args.try_into()?),
        cli::Command::Cleanup(args) => commands::cleanup::run(&args),
        cli::Command::Doctor(args) => commands::doctor::run(&args),
    }
}
