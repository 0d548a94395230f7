//! `vethbench`: measures the Linux veth data plane with kernel bypass (AF_XDP) next to the kernel
//! stack, in namespaces it builds and removes itself.

mod cli;
mod commands;
mod doctor;
mod exit;
mod outdir;
mod preflight;
mod privileges;
mod signals;
mod sweep;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_broken_pipe();
    let outcome = match std::panic::catch_unwind(run) {
        Ok(outcome) => outcome,
        // A reader that went away (`vethbench up | head -1`): print! panicked, guards have torn
        // down what was built while the panic unwound; exit as a killed-by-SIGPIPE tool would.
        Err(p) if is_broken_pipe(p.as_ref()) => return ExitCode::from(exit::BROKEN_PIPE),
        Err(p) => std::panic::resume_unwind(p),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            let code = exit::for_error(&e);
            // Nobody reads stdout any more: exit quietly, as a tool killed by SIGPIPE would.
            if code != exit::BROKEN_PIPE {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(code)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    ui::init(cli.quiet, cli.verbose);
    if let Some(name) = cli.command.needs_privileges() {
        privileges::require(name)?;
    }
    match cli.command {
        cli::Command::Up(args) => commands::up::run(&args.try_into()?),
        cli::Command::Run(args) => commands::run::run(&(*args).try_into()?),
        cli::Command::Compare(args) => commands::compare::run(&args),
        cli::Command::Sweep(args) => commands::sweep::run(&args),
        cli::Command::Report(args) => commands::report::run(&args),
        cli::Command::Matrix(args) => commands::matrix::run(&args.try_into()?),
        cli::Command::Guest => commands::guest::run(),
        cli::Command::Export(args) => commands::export::run(&args),
        cli::Command::Noise(args) => commands::noise::run(&args),
        cli::Command::Check(args) => commands::check::run(&args.try_into()?),
        cli::Command::Down(args) => commands::down::run(&args.try_into()?),
        cli::Command::Cleanup(args) => commands::cleanup::run(&args),
        cli::Command::Doctor(args) => commands::doctor::run(&args),
        cli::Command::Completions(args) => commands::docs::completions(&args),
        cli::Command::Man => commands::docs::man(),
    }
}

/// Whether a panic payload is print!'s "failed printing to stdout: Broken pipe".
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.contains("Broken pipe")
}

/// Keeps the panic message of a broken stdout pipe off the terminal; other panics print as usual.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default(info);
        }
    }));
}
