//! The `iotcert` command line: argument parsing, and printing what the use cases of
//! [`crate::app`] return.
//!
//! `main` stays thin (see `main.rs`); every subcommand returns the exit code it wants,
//! and every error is reported once, on standard error, with exit code 2.

use crate::app::{campaign, labels, replay, verify};
use crate::diff;
use crate::exit::{self, FailOn};
use crate::output::{self, ColorChoice};
use crate::registry;
use crate::render::{self, Format};
use crate::report::Report;
use crate::store::Store;
use crate::terminal::{self, TerminalObserver, Verbosity};
use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// iotcert: certify connected devices against EN 303 645 / TS 103 701.
#[derive(Debug, Parser)]
#[command(name = "iotcert", version, about, long_about = None)]
pub struct Cli {
    /// Print nothing but errors and the requested output.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Colour verdicts: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

/// The data directory, for the commands that use one.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Where campaigns, results, evidence and labels are stored (a sled database).
    #[arg(
        long = "data-dir",
        value_name = "DIR",
        env = "IOTCERT_DATA_DIR",
        default_value = "./iotcert-data"
    )]
    pub path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a campaign against the device a profile describes (or resume one).
    Run(RunArgs),
    /// Start a secure and an insecure virtual device and run every suite against each:
    /// runs the `iotcert-demo` program installed beside this one (in a source tree:
    /// `cargo run --release -p iotcert-demo`), with these arguments.
    Demo(DemoArgs),
    /// List the suites, their checks and the provisions they serve.
    Suites(SuitesArgs),
    /// List stored campaigns.
    Campaigns(CampaignsArgs),
    /// Show a campaign's results.
    Show(ShowArgs),
    /// Render a stored campaign's report.
    Report(ReportArgs),
    /// Export one stored evidence item whole (reports show only a preview).
    Evidence(EvidenceArgs),
    /// Trust labels: issue, list (the retest queue), revoke.
    #[command(subcommand)]
    Label(LabelCommand),
    /// Verify labels offline: exit 0 when every label is valid, 1 when one is invalid
    /// (with a reason code), 2 on misuse or an unreadable input.
    Verify(VerifyArgs),
    /// Rerun a label's stored profile and issue its successor.
    Retest(RetestArgs),
    /// Make a development PKI (scheme root, lab CA, label signer, CRL): development only.
    Pki(PkiArgs),
    /// Send a protocol-fuzzing finding's reproducer again: exit 1 when the failure
    /// replays, 0 when every watched service still answers, 2 when it cannot be judged.
    Replay(ReplayArgs),
    /// Compare two campaigns (two firmware versions); exit 1 on a regression.
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff; `iotcert man | man -l -`).
    Man,
}

/// Arguments of `iotcert run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The device profile (TOML).
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    profile: Option<PathBuf>,
    /// Finish an interrupted campaign without re-running decided checks.
    #[arg(long, value_name = "CAMPAIGN")]
    resume: Option<String>,
    /// Write report.json, .md, .html, .sarif and .junit.xml into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the report in this format on standard output instead of the table.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Directory of templates (report.md.j2, report.html.j2) overriding the embedded ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// What makes the exit code 1.
    #[arg(long, value_enum, default_value = "shall")]
    fail_on: FailOn,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Arguments for `iotcert-demo` (`--out DIR`, `--loopback-block B`, `--templates
    /// DIR`, `--data-dir DIR`; `iotcert-demo --help` lists them).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<std::ffi::OsString>,
}

/// Arguments of `iotcert suites`.
#[derive(Debug, clap::Args)]
pub struct SuitesArgs {
    /// Print the suites' descriptors as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `iotcert campaigns`.
#[derive(Debug, clap::Args)]
pub struct CampaignsArgs {
    /// Print JSON (times in RFC 3339).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The campaign id.
    campaign: String,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The campaign id.
    campaign: String,
    /// The output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Directory of templates (report.md.j2, report.html.j2) overriding the embedded ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// The policy the report's outcome is judged by.
    #[arg(long, value_enum, default_value = "shall")]
    fail_on: FailOn,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert evidence`.
#[derive(Debug, clap::Args)]
pub struct EvidenceArgs {
    /// The campaign whose result refers to the item.
    campaign: String,
    /// The item's sha256, as the report lists it.
    sha256: String,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The label file(s) (label.json); with several, one line (or JSON object) each.
    #[arg(required = true, num_args = 1..)]
    labels: Vec<PathBuf>,
    /// The scheme's root certificate(s), PEM.
    #[arg(long, value_name = "PEM")]
    roots: PathBuf,
    /// The firmware image the label should be about (hashed as a stream).
    #[arg(long, value_name = "IMAGE")]
    firmware: Option<PathBuf>,
    /// The report file issued with the label (label-report.json) to check against it.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// X.509 CRL(s) of the lab CA (DER or PEM).
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Signed label revocation list(s) of the lab.
    #[arg(long, value_name = "FILE")]
    revoked: Vec<PathBuf>,
    /// Verify as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Print one JSON object per label, one per line (JSON Lines).
    #[arg(long)]
    json: bool,
}

/// Arguments of `iotcert retest`.
#[derive(Debug, clap::Args)]
pub struct RetestArgs {
    /// The label id (the whole UUID).
    label: String,
    #[command(flatten)]
    signing: Signing,
    /// Where to write label.json, label.svg and label-report.json.
    #[arg(long, short, default_value = ".")]
    out: PathBuf,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert pki`.
#[derive(Debug, clap::Args)]
pub struct PkiArgs {
    #[command(subcommand)]
    command: PkiCommand,
}

/// Arguments of `iotcert replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The campaign that found it.
    #[arg(required_unless_present = "reproducer")]
    campaign: Option<String>,
    /// The check that failed, such as `protofuzz.mqtt`.
    #[arg(required_unless_present = "reproducer")]
    check: Option<String>,
    /// Only the finding on this unit.
    #[arg(long)]
    unit: Option<String>,
    /// A reproducer file instead of a stored finding (needs `--profile`).
    #[arg(long, value_name = "FILE", requires = "profile", conflicts_with_all = ["campaign", "check", "unit"])]
    reproducer: Option<PathBuf>,
    /// The profile that sets scope, pacing and credentials for `--reproducer`.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<PathBuf>,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier campaign.
    before: String,
    /// The later campaign.
    after: String,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataDir,
}

/// Arguments of `iotcert completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// The lab's signing material and the scheme it signs under.
#[derive(Debug, clap::Args)]
pub struct Signing {
    /// The lab's label-signing private key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The signer's certificate chain (PEM, leaf first).
    #[arg(long, value_name = "CHAIN")]
    pub cert: PathBuf,
    /// Scheme policy file (default: the built-in iotcert scheme).
    #[arg(long, value_name = "FILE")]
    pub scheme: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Issue a label for a completed campaign, or say which checks block it.
    Issue {
        /// The completed campaign.
        campaign: String,
        #[command(flatten)]
        signing: Signing,
        /// The level to issue; default the highest the campaign meets.
        #[arg(long)]
        level: Option<u8>,
        /// Where to write label.json, label.svg and label-report.json.
        #[arg(long, short, default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// List issued labels; with --due, only those to retest within DAYS.
    List {
        /// Only labels whose label or signer certificate expires within DAYS (0–36500).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..=36_500))]
        due: Option<i64>,
        /// Print JSON (times in RFC 3339; `due` is null when not due).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Revoke a label: adds it to the lab's signed revocation list.
    Revoke {
        /// The label id (the whole UUID).
        label: String,
        /// superseded, issued-in-error, vulnerability-disclosed, key-compromise, withdrawn.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signing: Signing,
        /// Where to write the signed revocation list.
        #[arg(long, short, default_value = "revoked.json")]
        out: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Generate the development PKI into DIR.
    Init {
        /// The directory to write the keys, certificates and CRL into.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
    },
}

/// Parse arguments, run, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        // The reader of our output went away (`| head`): nothing is wrong with us.
        Err(error) if output::is_broken_pipe(&error) => ExitCode::from(exit::SUCCESS),
        Err(error) => {
            eprintln!("error: {}", output::printable(&format!("{error:#}")));
            ExitCode::from(exit::HARNESS_FAILURE)
        }
    }
}

/// How the person at the terminal asked to be spoken to.
#[derive(Clone, Copy, Debug)]
pub struct Display {
    pub verbosity: Verbosity,
    pub colour: ColorChoice,
}

impl Display {
    fn says(self) -> bool {
        self.verbosity == Verbosity::Normal
    }
}

/// Run one subcommand; the returned number is the process exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    let display = Display {
        verbosity: if cli.quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        },
        colour: cli.color,
    };
    match cli.command {
        Command::Run(args) => run_campaign(args, display).await,
        Command::Demo(args) => demo(&args.args, display),
        Command::Suites(args) => suites(args.json),
        Command::Campaigns(args) => campaigns(&args.data.path, args.json),
        Command::Show(args) => show(args, display),
        Command::Report(args) => report(args),
        Command::Evidence(args) => evidence(args),
        Command::Label(command) => label_command(command),
        Command::Verify(args) => verify_labels(args),
        Command::Retest(args) => retest(args, display).await,
        Command::Pki(PkiArgs {
            command: PkiCommand::Init { dir, force },
        }) => pki_init(&dir, force),
        Command::Replay(args) => replay_finding(args).await,
        Command::Diff(args) => diff_campaigns(args),
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "iotcert", &mut script);
            output::write(script)?;
            Ok(exit::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            output::write(page)?;
            Ok(exit::SUCCESS)
        }
    }
}

/// `iotcert run`: a new campaign of a profile, or the rest of an interrupted one; the
/// summary table (or the report in `--format`) on stdout.
async fn run_campaign(args: RunArgs, display: Display) -> Result<u8> {
    let report = match (args.profile, args.resume) {
        (Some(path), None) => {
            let planned = campaign::plan(&path).await?;
            let store = campaign::open_for_writing(
                &args.data.path,
                &format!("campaign {}", planned.record.id),
            )?;
            if display.says() {
                eprintln!(
                    "campaign {} ({} planned checks)",
                    planned.record.id,
                    planned.record.plan.len()
                );
            }
            execute(&store, planned, display, args.fail_on).await?
        }
        (None, Some(id)) => {
            let store =
                campaign::open_for_writing(&args.data.path, &format!("campaign {id} (resumed)"))?;
            let planned = campaign::plan_resume(&store, &id).await?;
            if display.says() {
                eprintln!(
                    "resuming campaign {id}: {}/{} already decided",
                    store.results(&id)?.len(),
                    planned.record.plan.len()
                );
            }
            execute(&store, planned, display, args.fail_on).await?
        }
        _ => bail!("give a profile or --resume CAMPAIGN"),
    };
    let templates = args.templates.as_deref();
    if let Some(dir) = &args.out {
        campaign::write_reports(&report, dir, templates)?;
    }
    match args.format {
        Some(format) => output::write(render::render(&report, format, templates)?)?,
        None if display.says() => output::write(terminal::summary_table_with(
            &[(&report.device.model, &report)],
            display.colour,
        ))?,
        None => {}
    }
    Ok(report.summary.exit_code)
}

/// `iotcert show`: a stored campaign's table, or its report as JSON.
fn show(args: ShowArgs, display: Display) -> Result<u8> {
    let store = campaign::open_for_reading(&args.data.path)?;
    let report = Report::build(&store, &store.campaign(&args.campaign)?, FailOn::default())?;
    if args.json {
        output::write(render::render(&report, Format::Json, None)?)?;
    } else {
        output::write(terminal::summary_table_with(
            &[(&report.device.model, &report)],
            display.colour,
        ))?;
    }
    Ok(exit::SUCCESS)
}

/// `iotcert report`: a stored campaign rendered in one format.
fn report(args: ReportArgs) -> Result<u8> {
    let store = campaign::open_for_reading(&args.data.path)?;
    let report = Report::build(&store, &store.campaign(&args.campaign)?, args.fail_on)?;
    let text = render::render(&report, args.format, args.templates.as_deref())?;
    write_or_print(args.output.as_deref(), text.as_bytes())?;
    Ok(exit::SUCCESS)
}

/// `iotcert evidence`: one stored evidence item of a campaign, whole.
fn evidence(args: EvidenceArgs) -> Result<u8> {
    let store = campaign::open_for_reading(&args.data.path)?;
    let bytes = store.campaign_evidence(&args.campaign, &args.sha256)?;
    write_or_print(args.output.as_deref(), &bytes)?;
    Ok(exit::SUCCESS)
}

/// `iotcert verify`: the request, then one verdict per label.
fn verify_labels(args: VerifyArgs) -> Result<u8> {
    let at = match args.at.as_deref() {
        Some(text) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("--at {text:?} is not an RFC 3339 time"))?
        }
        None => time::OffsetDateTime::now_utc(),
    };
    let request = verify::Request {
        labels: &args.labels,
        roots: &args.roots,
        firmware: args.firmware.as_deref(),
        report: args.report.as_deref(),
        crls: &args.crl,
        revocation_lists: &args.revoked,
        at,
    };
    print_verdicts(&request, args.json)
}

/// `iotcert retest`: rerun a label's stored profile and issue its successor.
async fn retest(args: RetestArgs, display: Display) -> Result<u8> {
    let label = &args.label;
    let store =
        campaign::open_for_writing(&args.data.path, &format!("the retest of label {label}"))?;
    let previous = store.label(label)?;
    let planned = campaign::plan_again(&store.campaign(&previous.campaign)?).await?;
    if display.says() {
        eprintln!(
            "retest of label {}: campaign {}",
            previous.id, planned.record.id
        );
    }
    store.announce(&format!("campaign {} (retest)", planned.record.id));
    let report = execute(&store, planned, display, FailOn::default()).await?;
    let issuer = load_issuer(&args.signing)?;
    let issued = labels::issue_for_campaign(
        &store,
        &store.campaign(&report.campaign.id)?,
        &issuer,
        Some(previous.level),
        Some(uuid::Uuid::parse_str(&previous.id)?),
        time::OffsetDateTime::now_utc(),
    )?;
    report_issue(issued, &args.out)
}

/// `iotcert pki init`: a development PKI.
fn pki_init(dir: &Path, force: bool) -> Result<u8> {
    let existing = if force {
        iotcert_label::pki::Existing::Replace
    } else {
        iotcert_label::pki::Existing::Refuse
    };
    let files = iotcert_label::pki::init(dir, existing)?;
    output::write(format!(
        "development PKI written to {} (for development only: these keys mean nothing)\n  scheme root:      {}\n  signer key/chain: {} {}\n  lab CA CRL:       {}\n",
        dir.display(),
        files.root_certificate.display(),
        files.signer_key.display(),
        files.signer_chain.display(),
        files.lab_ca_crl.display()
    ))?;
    Ok(exit::SUCCESS)
}

/// `iotcert replay`: a stored finding or a reproducer file, sent again.
async fn replay_finding(args: ReplayArgs) -> Result<u8> {
    let store;
    let finding = match (&args.reproducer, &args.profile, &args.campaign, &args.check) {
        (Some(reproducer), Some(profile), _, _) => replay::Finding::File {
            reproducer,
            profile,
        },
        (_, _, Some(id), Some(check)) => {
            store = campaign::open_for_reading(&args.data.path)?;
            replay::Finding::Stored {
                store: &store,
                campaign: id,
                check,
                unit: args.unit.as_deref(),
            }
        }
        _ => bail!("give a campaign and a check, or --reproducer FILE --profile PROFILE"),
    };
    let mut say = |line: &str| output::line(output::printable(line));
    Ok(match replay::run(finding, &mut say).await? {
        Some(true) => exit::FINDINGS,
        Some(false) => exit::SUCCESS,
        None => exit::HARNESS_FAILURE,
    })
}

/// `iotcert diff`: what changed between two campaigns; exit 1 on a regression.
fn diff_campaigns(args: DiffArgs) -> Result<u8> {
    let store = campaign::open_for_reading(&args.data.path)?;
    let before = Report::build(&store, &store.campaign(&args.before)?, FailOn::default())?;
    let after = Report::build(&store, &store.campaign(&args.after)?, FailOn::default())?;
    let diff = diff::compare(&before, &after);
    if args.json {
        output::line(serde_json::to_string_pretty(&diff)?)?;
    } else {
        output::write(output::printable(&diff::to_text(&diff)))?;
    }
    Ok(if diff.regressions() > 0 {
        exit::FINDINGS
    } else {
        exit::SUCCESS
    })
}

/// Execute a planned campaign with progress on the terminal; Ctrl-C cancels cleanly.
pub async fn execute(
    store: &Store,
    planned: campaign::Planned,
    display: Display,
    fail_on: FailOn,
) -> Result<Report> {
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let mut observer =
        TerminalObserver::new(display.verbosity, &planned.model).with_color(display.colour);
    let report = campaign::execute(store, planned, &mut observer, cancel, fail_on).await;
    watcher.abort();
    report
}

/// `iotcert demo`: the demo is a program of its own (it carries deliberately vulnerable
/// virtual devices, which this binary never links); run the one installed beside us.
fn demo(args: &[std::ffi::OsString], display: Display) -> Result<u8> {
    let name = format!("iotcert-demo{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|path| path.is_file());
    let Some(program) = beside else {
        bail!(
            "the demo is a separate program, not installed beside this one: in a source tree run `cargo run --release -p iotcert-demo`"
        );
    };
    let mut command = std::process::Command::new(program);
    if display.verbosity == Verbosity::Quiet {
        command.arg("--quiet");
    }
    let colour = match display.colour {
        ColorChoice::Auto => "auto",
        ColorChoice::Always => "always",
        ColorChoice::Never => "never",
    };
    let status = command
        .arg("--color")
        .arg(colour)
        .args(args)
        .status()
        .context("cannot start iotcert-demo")?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .unwrap_or(exit::HARNESS_FAILURE))
}

fn write_or_print(file: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match file {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
        }
        None => Ok(output::write(bytes)?),
    }
}

/// `iotcert suites`: every compiled-in suite, its checks and what a PASS needs.
fn suites(json: bool) -> Result<u8> {
    let descriptors: Vec<_> = registry::builtin_suites(Path::new("."))
        .iter()
        .map(|s| s.descriptor())
        .collect();
    if json {
        output::line(serde_json::to_string_pretty(&descriptors)?)?;
        return Ok(exit::SUCCESS);
    }
    let mut text = String::new();
    for suite in descriptors {
        text += &format!("{} {}: {}\n", suite.id, suite.version, suite.title);
        for check in suite.checks {
            text += &format!(
                "  {:<36} {:<6} EN {:<10} TS {:<10} {}\n",
                check.id,
                format!("{:?}", check.modal).to_lowercase(),
                check.standards.en_303_645.join(","),
                check.standards.ts_103_701.join(","),
                check.title
            );
            text += &format!("  {:<36} PASS needs: {}\n", "", check.positive_control);
        }
    }
    output::write(output::printable(&text))?;
    Ok(exit::SUCCESS)
}

/// `iotcert campaigns`: what the store holds and how far each campaign got.
fn campaigns(data_dir: &Path, json: bool) -> Result<u8> {
    let store = campaign::open_for_reading(data_dir)?;
    let campaigns = store.campaigns()?;
    if json {
        let rows: Vec<_> = campaigns
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "status": c.status, "started_at": output::timestamp(c.started_at), "profile": c.profile_path}))
            .collect();
        output::line(serde_json::to_string_pretty(&rows)?)?;
        return Ok(exit::SUCCESS);
    }
    let mut text = String::new();
    for campaign in campaigns {
        let decided = store.results(&campaign.id)?.len();
        text += &format!(
            "{}  {:<11}  {}/{} decided  {}\n",
            campaign.id,
            format!("{:?}", campaign.status).to_lowercase(),
            decided,
            campaign.plan.len(),
            campaign.profile_path
        );
    }
    output::write(output::printable(&text))?;
    Ok(exit::SUCCESS)
}

fn load_issuer(signing: &Signing) -> Result<labels::Issuer> {
    labels::Issuer::load(&signing.key, &signing.cert, signing.scheme.as_deref())
}

fn label_command(command: LabelCommand) -> Result<u8> {
    let now = time::OffsetDateTime::now_utc();
    match command {
        LabelCommand::Issue {
            campaign: id,
            signing,
            level,
            out,
            data,
        } => {
            let store = campaign::open_for_writing(&data.path, &format!("a label issue for {id}"))?;
            let issuer = load_issuer(&signing)?;
            let record = store.campaign(&id)?;
            let issued = labels::issue_for_campaign(&store, &record, &issuer, level, None, now)?;
            report_issue(issued, &out)
        }
        LabelCommand::List { due, json, data } => {
            let store = campaign::open_for_reading(&data.path)?;
            let rows: Vec<(crate::model::LabelRecord, Option<&str>)> = match due {
                Some(days) => labels::due(&store, days, now)?
                    .into_iter()
                    .map(|(label, why)| (label, Some(why)))
                    .collect(),
                None => store.labels()?.into_iter().map(|l| (l, None)).collect(),
            };
            if json {
                let value: Vec<_> = rows
                    .iter()
                    .map(|(l, why)| serde_json::json!({"id": l.id, "campaign": l.campaign, "level": l.level, "device": l.device, "issued_at": output::timestamp(l.issued_at), "expires_at": output::timestamp(l.expires_at), "signer_valid_until": output::timestamp(l.signer_valid_until), "supersedes": l.supersedes, "due": why}))
                    .collect();
                output::line(serde_json::to_string_pretty(&value)?)?;
            } else {
                let mut text = String::new();
                for (label, why) in rows {
                    text += &format!(
                        "{}  level {} {:<10}  expires {}  {}{}\n",
                        label.id,
                        label.level,
                        label.level_name,
                        label.expires_at.date(),
                        label.device,
                        why.map(|why| format!("  (due: {why})")).unwrap_or_default()
                    );
                }
                output::write(output::printable(&text))?;
            }
            Ok(exit::SUCCESS)
        }
        LabelCommand::Revoke {
            label,
            reason,
            signing,
            out,
            data,
        } => {
            let reason: iotcert_label::RevocationReason =
                reason.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let store =
                campaign::open_for_writing(&data.path, &format!("the revocation of {label}"))?;
            let issuer = load_issuer(&signing)?;
            let (revoked, signed) = labels::revoke(&store, &label, reason, &issuer.signer, now)?;
            std::fs::write(&out, signed).with_context(|| format!("writing {}", out.display()))?;
            output::line(format!(
                "label {revoked} revoked ({}); signed revocation list written to {}",
                reason.as_str(),
                out.display()
            ))?;
            Ok(exit::SUCCESS)
        }
    }
}

/// Say what an issue attempt did; exit 0 for a label, 1 for a refusal.
fn report_issue(issued: labels::Issued, out: &Path) -> Result<u8> {
    match issued {
        labels::Issued::Label(issued) => {
            let (record, _) = *issued;
            match labels::write_label(&record, out) {
                Ok(files) => {
                    output::line(format!(
                        "label {} issued: level {} ({}), valid until {}; {}, {} and {} (the report the label binds)",
                        record.id,
                        record.level,
                        record.level_name,
                        output::timestamp(record.expires_at),
                        files.label.display(),
                        files.svg.display(),
                        files.report.display()
                    ))?;
                    Ok(exit::SUCCESS)
                }
                Err(error) => {
                    eprintln!("error: the label was issued and recorded but could not be written: {error:#}");
                    Ok(exit::HARNESS_FAILURE)
                }
            }
        }
        labels::Issued::Refused(refusal) => {
            eprintln!("no label: level {} is not met because", refusal.level);
            for blocker in refusal.blockers {
                eprintln!("  - {}", output::printable(&blocker));
            }
            Ok(exit::FINDINGS)
        }
    }
}

/// `iotcert verify`: one line (or JSON object) per label; exit 0 when all are valid,
/// 1 when one is invalid (with its reason code), 2 when an input itself is unusable.
fn print_verdicts(request: &verify::Request<'_>, json: bool) -> Result<u8> {
    let many = request.labels.len() > 1;
    let mut exit_code = exit::SUCCESS;
    verify::verify_labels(request, |path, outcome| {
        let name = path.display().to_string();
        let prefix = if many {
            format!("{name}: ")
        } else {
            String::new()
        };
        let outcome = match outcome {
            verify::Outcome::Judged(outcome) => *outcome,
            verify::Outcome::Unreadable(error) if many => {
                exit_code = exit::HARNESS_FAILURE;
                let detail = format!("{error:#}");
                let line = if json {
                    serde_json::to_string(
                        &serde_json::json!({"file": name, "valid": false, "code": "unreadable", "detail": detail}),
                    )?
                } else {
                    output::printable(&format!("{prefix}UNREADABLE: {detail}"))
                };
                return Ok(output::line(line)?);
            }
            verify::Outcome::Unreadable(error) => return Err(error),
        };
        if outcome.is_err() {
            exit_code = exit_code.max(exit::FINDINGS);
        }
        if json {
            let record = iotcert_label::VerdictRecord::new(many.then_some(name.as_str()), &outcome);
            return Ok(output::line(serde_json::to_string(&record)?)?);
        }
        let line = match &outcome {
            Ok(verified) => valid_text(verified),
            Err(rejection) => format!(
                "INVALID ({}): {}",
                rejection.code.as_str(),
                rejection.detail
            ),
        };
        Ok(output::line(output::printable(&format!("{prefix}{line}")))?)
    })?;
    Ok(exit_code)
}

/// The one line a person reads for a valid label: what, for which firmware, by whom,
/// until when, and what was not checked.
fn valid_text(verified: &iotcert_label::VerifiedLabel) -> String {
    let predicate = &verified.statement.predicate;
    let mut notes = vec![if verified.firmware_checked {
        "firmware image matches"
    } else {
        "firmware image not checked (give --firmware)"
    }];
    if verified.revocation == iotcert_label::RevocationCheck::NotChecked {
        notes.push("revocation not checked (give the lab's --revoked list and its CA's --crl)");
    }
    if verified.report_checked {
        notes.push("report matches");
    }
    format!(
        "VALID: label {} level {} ({}) for {} {} firmware {} (sha256 {}), issued by {} on {}, expires {}; {}",
        predicate.label_id,
        predicate.level.number,
        predicate.level.name,
        predicate.device.manufacturer,
        predicate.device.model,
        predicate.device.firmware_version,
        verified.statement.firmware.sha256.as_str(),
        predicate.lab.name,
        output::timestamp(predicate.issued_at),
        output::timestamp(predicate.expires_at),
        notes.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command says what it is for in `--help`.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for argument in command.get_arguments() {
                let id = argument.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if argument.get_help().is_none() && argument.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "iotcert", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
