//! The `iotcert-demo` binary: arguments, a runtime, and the demo of `lib.rs`.

use clap::Parser;
use iotcert::exit;
use iotcert::output::{self, ColorChoice};
use iotcert::terminal::Verbosity;
use std::path::PathBuf;
use std::process::ExitCode;

/// Start a secure and an insecure virtual device and run every suite against each.
#[derive(Debug, Parser)]
#[command(name = "iotcert-demo", version, about, long_about = None)]
struct Args {
    /// Where to write the reports, labels and the profiles the demo declared.
    #[arg(long, default_value = "./iotcert-out")]
    out: PathBuf,
    /// Directory of templates (report.md.j2, report.html.j2) overriding the embedded ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Second octet of the loopback block the virtual devices use (127.B.0.0/16), so
    /// that demos running side by side do not collide.
    #[arg(long, value_name = "B", default_value_t = iotcert_demo::DEFAULT_BLOCK,
          value_parser = clap::value_parser!(u8).range(1..=254))]
    loopback_block: u8,
    /// Where campaigns, results, evidence and labels are stored (a sled database).
    #[arg(
        long,
        value_name = "DIR",
        env = "IOTCERT_DATA_DIR",
        default_value = "./iotcert-data"
    )]
    data_dir: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Colour verdicts: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorChoice,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::HARNESS_FAILURE);
        }
    };
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let demo = iotcert_demo::run(
        &args.data_dir,
        &args.out,
        args.templates.as_deref(),
        verbosity,
        args.color,
        args.loopback_block,
    );
    match runtime.block_on(demo) {
        Ok(code) => ExitCode::from(code),
        Err(error) if output::is_broken_pipe(&error) => ExitCode::from(exit::SUCCESS),
        Err(error) => {
            eprintln!("error: {}", output::printable(&format!("{error:#}")));
            ExitCode::from(exit::HARNESS_FAILURE)
        }
    }
}
