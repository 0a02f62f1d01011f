//! `xray-screen`: the one binary over the workspace's crates, with every subcommand
//! (`serve`, `inspect`, `eval`, `synth`, `synth-pictures`, `load`, `ceiling`).

mod cli;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, run};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
