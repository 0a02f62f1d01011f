//! `load` and `ceiling`: the benchmark harness.

use std::process::ExitCode;

use anyhow::Context;

use super::CeilingCommand;

pub async fn load_command(args: xray_load::LoadArgs) -> anyhow::Result<ExitCode> {
    let report = xray_load::run_load(&args).await?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{report}");
    Ok(if report.succeeded > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn ceiling_command(command: CeilingCommand) -> anyhow::Result<ExitCode> {
    let ceiling = xray_load::measure_ceiling(&command.args, command.model.as_deref(), |p| {
        println!(
            "batch {:>2}: {:>8.2} images/s ({:.1} ms a batch, {} runs)",
            p.batch_size, p.images_per_second, p.batch_ms, p.runs
        )
    })?;
    if let Some(best) = ceiling.best() {
        println!(
            "ceiling of {} on {}: {:.2} images/s at batch {}",
            ceiling.model, ceiling.provider, best.images_per_second, best.batch_size
        );
    }
    if let Some(path) = &command.json {
        std::fs::write(path, serde_json::to_string_pretty(&ceiling)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
