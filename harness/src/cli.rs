//! The `iotcert` command line: argument parsing and one function per subcommand.
//!
//! `main` stays thin (see `main.rs`); every subcommand returns the exit code it wants,
//! and every error is reported once, on standard error, with exit code 2.

use crate::diff;
use crate::engine::{self, Observer};
use crate::exit::{self, FailOn};
use crate::labels;
use crate::model::CampaignRecord;
use crate::registry;
use crate::render::{self, Format};
use crate::report::Report;
use crate::store::Store;
use crate::terminal::{self, TerminalObserver, Verbosity};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use iotcert_suite::Profile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// iotcert: certify connected devices against EN 303 645 / TS 103 701.
#[derive(Debug, Parser)]
#[command(name = "iotcert", version, about, long_about = None)]
pub struct Cli {
    /// Where campaigns, results and evidence are stored.
    #[arg(long, global = true, default_value = "./iotcert-data")]
    pub data_dir: PathBuf,
    /// Print nothing but errors and the requested output.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a campaign against the device a profile describes (or resume one).
    Run {
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
        /// Directory of templates overriding the embedded ones.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// What makes the exit code 1.
        #[arg(long, value_enum, default_value = "shall")]
        fail_on: FailOn,
    },
    /// Start a secure and an insecure virtual device and run every suite against each.
    Demo {
        /// Where to write the reports.
        #[arg(long, default_value = "./iotcert-out")]
        out: PathBuf,
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Second octet of the loopback block the virtual devices use (127.B.0.0/16),
        /// so that demos running side by side do not collide.
        #[arg(long, value_name = "B", default_value_t = crate::demo::DEFAULT_BLOCK,
              value_parser = clap::value_parser!(u8).range(1..=254))]
        loopback_block: u8,
    },
    /// List the suites, their checks and the provisions they serve.
    Suites {
        #[arg(long)]
        json: bool,
    },
    /// List stored campaigns.
    Campaigns {
        #[arg(long)]
        json: bool,
    },
    /// Show a campaign's results.
    Show {
        campaign: String,
        #[arg(long)]
        json: bool,
    },
    /// Render a stored campaign's report.
    Report {
        campaign: String,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// The policy the report's outcome is judged by.
        #[arg(long, value_enum, default_value = "shall")]
        fail_on: FailOn,
    },
    /// Export one stored evidence item whole (reports show only a preview).
    Evidence {
        campaign: String,
        /// The item's sha256, as the report lists it.
        sha256: String,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Trust labels: issue, list (the retest queue), revoke.
    #[command(subcommand)]
    Label(LabelCommand),
    /// Verify a label offline: exit 0 valid, 1 invalid (with a reason code), 2 misuse.
    Verify {
        /// The label file (label.json).
        label: PathBuf,
        /// The scheme's root certificate(s), PEM.
        #[arg(long, value_name = "PEM")]
        roots: PathBuf,
        /// The firmware image the label should be about.
        #[arg(long, value_name = "IMAGE")]
        firmware: Option<PathBuf>,
        /// X.509 CRL(s) of the lab CA (DER or PEM).
        #[arg(long, value_name = "FILE")]
        crl: Vec<PathBuf>,
        /// Signed label revocation list(s) of the lab.
        #[arg(long, value_name = "FILE")]
        revoked: Vec<PathBuf>,
        /// Verify as of this time (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Rerun a label's stored profile and issue its successor.
    Retest {
        /// The label id (or a unique prefix).
        label: String,
        #[command(flatten)]
        signing: Signing,
        /// Where to write label.json and label.svg.
        #[arg(long, short, default_value = ".")]
        out: PathBuf,
    },
    /// Make a development PKI (scheme root, lab CA, label signer, CRL): development only.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Send a protocol-fuzzing finding's reproducer again: exit 1 when the failure
    /// replays, 0 when every watched service still answers, 2 when it cannot be judged.
    Replay {
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
    },
    /// Compare two campaigns (two firmware versions); exit 1 on a regression.
    Diff {
        before: String,
        after: String,
        #[arg(long)]
        json: bool,
    },
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
        campaign: String,
        #[command(flatten)]
        signing: Signing,
        /// The level to issue; default the highest the campaign meets.
        #[arg(long)]
        level: Option<u8>,
        /// Where to write label.json and label.svg.
        #[arg(long, short, default_value = ".")]
        out: PathBuf,
    },
    /// List issued labels; with --due, only those to retest within DAYS.
    List {
        #[arg(long, value_name = "DAYS")]
        due: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a label: adds it to the lab's signed revocation list.
    Revoke {
        label: String,
        /// superseded, issued-in-error, vulnerability-disclosed, key-compromise, withdrawn.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signing: Signing,
        /// Where to write the signed revocation list.
        #[arg(long, short, default_value = "revoked.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Generate the development PKI into DIR.
    Init {
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
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::HARNESS_FAILURE)
        }
    }
}

/// Run one subcommand; the returned number is the process exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    match cli.command {
        Command::Run {
            profile,
            resume,
            out,
            format,
            templates,
            fail_on,
        } => {
            let store_dir = cli.data_dir;
            let report = match (profile, resume) {
                (Some(path), None) => run_profile(&path, &store_dir, verbosity, fail_on).await?,
                (None, Some(id)) => resume_campaign(&id, &store_dir, verbosity, fail_on).await?,
                _ => bail!("give a profile or --resume CAMPAIGN"),
            };
            if let Some(dir) = &out {
                write_reports(&report, dir, templates.as_deref())?;
            }
            match format {
                Some(format) => {
                    print!("{}", render::render(&report, format, templates.as_deref())?)
                }
                None if verbosity == Verbosity::Normal => {
                    let device = report.device.model.clone();
                    print!("{}", terminal::summary_table(&[(&device, &report)]));
                }
                None => {}
            }
            Ok(report.summary.exit_code)
        }
        Command::Demo {
            out,
            templates,
            loopback_block,
        } => {
            crate::demo::run(
                &cli.data_dir,
                &out,
                templates.as_deref(),
                verbosity,
                loopback_block,
            )
            .await
        }
        Command::Suites { json } => {
            let descriptors: Vec<_> = registry::builtin_suites(Path::new("."))
                .iter()
                .map(|s| s.descriptor())
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&descriptors)?);
            } else {
                for suite in descriptors {
                    println!("{} {}: {}", suite.id, suite.version, suite.title);
                    for check in suite.checks {
                        println!(
                            "  {:<36} {:<6} EN {:<10} TS {:<10} {}",
                            check.id,
                            format!("{:?}", check.modal).to_lowercase(),
                            check.standards.en_303_645.join(","),
                            check.standards.ts_103_701.join(","),
                            check.title
                        );
                        println!("  {:<36} PASS needs: {}", "", check.positive_control);
                    }
                }
            }
            Ok(exit::SUCCESS)
        }
        Command::Campaigns { json } => {
            let store = open_existing_store(&cli.data_dir)?;
            let campaigns = store.campaigns()?;
            if json {
                let rows: Vec<_> = campaigns
                    .iter()
                    .map(|c| serde_json::json!({"id": c.id, "status": c.status, "started_at": c.started_at.to_string(), "profile": c.profile_path}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for campaign in campaigns {
                    let decided = store.results(&campaign.id)?.len();
                    println!(
                        "{}  {:<11}  {}/{} decided  {}",
                        campaign.id,
                        format!("{:?}", campaign.status).to_lowercase(),
                        decided,
                        campaign.plan.len(),
                        campaign.profile_path
                    );
                }
            }
            Ok(exit::SUCCESS)
        }
        Command::Show { campaign, json } => {
            let store = open_existing_store(&cli.data_dir)?;
            let report = Report::build(&store, &store.campaign(&campaign)?, FailOn::default())?;
            if json {
                print!("{}", render::render(&report, Format::Json, None)?);
            } else {
                print!(
                    "{}",
                    terminal::summary_table(&[(&report.device.model, &report)])
                );
            }
            Ok(exit::SUCCESS)
        }
        Command::Report {
            campaign,
            format,
            output,
            templates,
            fail_on,
        } => {
            let store = open_existing_store(&cli.data_dir)?;
            let report = Report::build(&store, &store.campaign(&campaign)?, fail_on)?;
            let text = render::render(&report, format, templates.as_deref())?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(exit::SUCCESS)
        }
        Command::Evidence {
            campaign,
            sha256,
            output,
        } => {
            let store = open_existing_store(&cli.data_dir)?;
            let bytes = store.campaign_evidence(&campaign, &sha256)?;
            match output {
                Some(path) => std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
            }
            Ok(exit::SUCCESS)
        }
        Command::Label(command) => label_command(command, &cli.data_dir),
        Command::Verify {
            label,
            roots,
            firmware,
            crl,
            revoked,
            at,
            json,
        } => verify(
            &label,
            &roots,
            firmware.as_deref(),
            &crl,
            &revoked,
            at.as_deref(),
            json,
        ),
        Command::Retest {
            label,
            signing,
            out,
        } => {
            let store = open_existing_store(&cli.data_dir)?;
            let previous = store.label(&label)?;
            let campaign = store.campaign(&previous.campaign)?;
            let profile = Profile::from_toml_str(&campaign.profile_toml)?;
            let base = Path::new(&campaign.profile_path)
                .parent()
                .unwrap_or(Path::new("."))
                .to_owned();
            let suites = registry::suites_for(&profile, &base).await?;
            engine::check_scope(&profile)?;
            let record = engine::plan_campaign(
                &campaign.profile_path,
                &campaign.profile_toml,
                &profile,
                &suites,
            );
            if verbosity == Verbosity::Normal {
                eprintln!("retest of label {}: campaign {}", previous.id, record.id);
            }
            let report = execute_with_terminal(
                &store,
                record,
                &suites,
                verbosity,
                &profile.device.model,
                FailOn::default(),
            )
            .await?;
            let finished = store.campaign(&report.campaign.id)?;
            let issuer =
                labels::Issuer::load(&signing.key, &signing.cert, signing.scheme.as_deref())?;
            let supersedes = uuid::Uuid::parse_str(&previous.id)?;
            let issued = labels::issue_for_campaign(
                &store,
                &finished,
                &issuer,
                Some(previous.level),
                Some(supersedes),
                time::OffsetDateTime::now_utc(),
            )?;
            Ok(report_issue(issued, &out))
        }
        Command::Pki {
            command: PkiCommand::Init { dir, force },
        } => {
            let existing = if force {
                iotcert_label::pki::Existing::Replace
            } else {
                iotcert_label::pki::Existing::Refuse
            };
            let files = iotcert_label::pki::init(&dir, existing)?;
            println!(
                "development PKI written to {} (for development only: these keys mean nothing)",
                dir.display()
            );
            println!("  scheme root:      {}", files.root_certificate.display());
            println!(
                "  signer key/chain: {} {}",
                files.signer_key.display(),
                files.signer_chain.display()
            );
            println!("  lab CA CRL:       {}", files.lab_ca_crl.display());
            Ok(exit::SUCCESS)
        }
        Command::Replay {
            campaign,
            check,
            unit,
            reproducer,
            profile,
        } => {
            let store;
            let finding = match (&reproducer, &profile, &campaign, &check) {
                (Some(reproducer), Some(profile), _, _) => crate::replay::Finding::File {
                    reproducer,
                    profile,
                },
                (_, _, Some(campaign), Some(check)) => {
                    store = open_existing_store(&cli.data_dir)?;
                    crate::replay::Finding::Stored {
                        store: &store,
                        campaign,
                        check,
                        unit: unit.as_deref(),
                    }
                }
                _ => bail!("give a campaign and a check, or --reproducer FILE --profile PROFILE"),
            };
            Ok(match crate::replay::run(finding).await? {
                Some(true) => exit::FINDINGS,
                Some(false) => exit::SUCCESS,
                None => exit::HARNESS_FAILURE,
            })
        }
        Command::Diff {
            before,
            after,
            json,
        } => {
            let store = open_existing_store(&cli.data_dir)?;
            let before = Report::build(&store, &store.campaign(&before)?, FailOn::default())?;
            let after = Report::build(&store, &store.campaign(&after)?, FailOn::default())?;
            let diff = diff::compare(&before, &after);
            if json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                print!("{}", diff::to_text(&diff));
            }
            Ok(if diff.regressions() > 0 {
                exit::FINDINGS
            } else {
                exit::SUCCESS
            })
        }
    }
}

fn label_command(command: LabelCommand, data_dir: &Path) -> Result<u8> {
    let store = open_existing_store(data_dir)?;
    let now = time::OffsetDateTime::now_utc();
    match command {
        LabelCommand::Issue {
            campaign,
            signing,
            level,
            out,
        } => {
            let issuer =
                labels::Issuer::load(&signing.key, &signing.cert, signing.scheme.as_deref())?;
            let campaign = store.campaign(&campaign)?;
            let issued = labels::issue_for_campaign(&store, &campaign, &issuer, level, None, now)?;
            Ok(report_issue(issued, &out))
        }
        LabelCommand::List { due, json } => {
            let rows: Vec<(crate::model::LabelRecord, &str)> = match due {
                Some(days) => labels::due(&store, days, now)?,
                None => store.labels()?.into_iter().map(|l| (l, "")).collect(),
            };
            if json {
                let value: Vec<_> = rows
                    .iter()
                    .map(|(l, why)| serde_json::json!({"id": l.id, "campaign": l.campaign, "level": l.level, "device": l.device, "issued_at": l.issued_at.to_string(), "expires_at": l.expires_at.to_string(), "signer_valid_until": l.signer_valid_until.to_string(), "supersedes": l.supersedes, "due": why}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                for (label, why) in rows {
                    println!(
                        "{}  level {} {:<10}  expires {}  {}{}",
                        label.id,
                        label.level,
                        label.level_name,
                        label.expires_at.date(),
                        label.device,
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!("  (due: {why})")
                        }
                    );
                }
            }
            Ok(exit::SUCCESS)
        }
        LabelCommand::Revoke {
            label,
            reason,
            signing,
            out,
        } => {
            let reason: iotcert_label::RevocationReason =
                reason.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let issuer =
                labels::Issuer::load(&signing.key, &signing.cert, signing.scheme.as_deref())?;
            let signed = labels::revoke(&store, &label, reason, &issuer.signer, now)?;
            std::fs::write(&out, signed).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "label {label} revoked ({}); signed revocation list written to {}",
                reason.as_str(),
                out.display()
            );
            Ok(exit::SUCCESS)
        }
    }
}

/// Say what an issue attempt did; exit 0 for a label, 1 for a refusal.
fn report_issue(issued: labels::Issued, out: &Path) -> u8 {
    match issued {
        labels::Issued::Label(issued) => {
            let (record, _) = *issued;
            match labels::write_label(&record, out) {
                Ok((json, svg)) => {
                    println!(
                        "label {} issued: level {} ({}), valid until {}; {} and {}",
                        record.id,
                        record.level,
                        record.level_name,
                        record.expires_at,
                        json.display(),
                        svg.display()
                    );
                    exit::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: the label was issued and recorded but could not be written: {error:#}");
                    exit::HARNESS_FAILURE
                }
            }
        }
        labels::Issued::Refused(refusal) => {
            eprintln!("no label: level {} is not met because", refusal.level);
            for blocker in refusal.blockers {
                eprintln!("  - {blocker}");
            }
            exit::FINDINGS
        }
    }
}

/// `iotcert verify`: offline, ordered checks of the label crate; exit 0 valid, 1
/// invalid with its reason code, 2 when the inputs themselves are unusable.
fn verify(
    label: &Path,
    roots: &Path,
    firmware: Option<&Path>,
    crls: &[PathBuf],
    revoked: &[PathBuf],
    at: Option<&str>,
    json: bool,
) -> Result<u8> {
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let roots = read(roots)?;
    let crls = crls.iter().map(|p| read(p)).collect::<Result<Vec<_>>>()?;
    let lists = revoked
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>>>()?;
    let verifier = iotcert_label::Verifier::new(
        &roots,
        &crls.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &lists.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    )?;
    let at = match at {
        Some(text) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("--at {text:?} is not an RFC 3339 time"))?
        }
        None => time::OffsetDateTime::now_utc(),
    };
    let image = firmware.map(read).transpose()?;
    let label_bytes = read(label)?;
    let outcome = verifier.verify(
        &label_bytes,
        at,
        image.as_deref().map(iotcert_label::FirmwareCheck::Image),
    );
    match outcome {
        Ok(verified) => {
            let predicate = &verified.statement.predicate;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"valid": true, "label": verified})
                    )?
                );
            } else {
                println!(
                    "VALID: label {} level {} ({}) for {} {} firmware {} (sha256 {}), issued by {} on {}, expires {}{}",
                    predicate.label_id,
                    predicate.level.number,
                    predicate.level.name,
                    predicate.device.manufacturer,
                    predicate.device.model,
                    predicate.device.firmware_version,
                    verified.statement.firmware.sha256.as_str(),
                    predicate.lab.name,
                    predicate.issued_at,
                    predicate.expires_at,
                    if verified.firmware_checked { "; firmware image matches" } else { "; firmware image not checked (give --firmware)" }
                );
            }
            Ok(exit::SUCCESS)
        }
        Err(rejection) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"valid": false, "code": rejection.code.as_str(), "detail": rejection.detail})
                    )?
                );
            } else {
                println!(
                    "INVALID ({}): {}",
                    rejection.code.as_str(),
                    rejection.detail
                );
            }
            Ok(exit::FINDINGS)
        }
    }
}

/// Parse and check a profile before anything is written or sent.
pub fn load_profile(path: &Path) -> Result<(String, Profile)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read profile {}", path.display()))?;
    let profile =
        Profile::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    engine::check_scope(&profile).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((text, profile))
}

async fn run_profile(
    path: &Path,
    data_dir: &Path,
    verbosity: Verbosity,
    fail_on: FailOn,
) -> Result<Report> {
    let (text, profile) = load_profile(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let suites = registry::suites_for(&profile, base).await?;
    let store = Store::open(data_dir)?;
    let record = engine::plan_campaign(&path.display().to_string(), &text, &profile, &suites);
    if verbosity == Verbosity::Normal {
        eprintln!(
            "campaign {} ({} planned checks)",
            record.id,
            record.plan.len()
        );
    }
    execute_with_terminal(
        &store,
        record,
        &suites,
        verbosity,
        &profile.device.model,
        fail_on,
    )
    .await
}

async fn resume_campaign(
    id: &str,
    data_dir: &Path,
    verbosity: Verbosity,
    fail_on: FailOn,
) -> Result<Report> {
    let store = open_existing_store(data_dir)?;
    let record = store.campaign(id)?;
    let profile = Profile::from_toml_str(&record.profile_toml)?;
    let base = Path::new(&record.profile_path)
        .parent()
        .unwrap_or(Path::new("."))
        .to_owned();
    let suites = registry::suites_for(&profile, &base).await?;
    if verbosity == Verbosity::Normal {
        let decided = store.results(id)?.len();
        eprintln!(
            "resuming campaign {id}: {decided}/{} already decided",
            record.plan.len()
        );
    }
    execute_with_terminal(
        &store,
        record,
        &suites,
        verbosity,
        &profile.device.model,
        fail_on,
    )
    .await
}

/// Execute with progress on the terminal; Ctrl-C cancels cleanly.
pub async fn execute_with_terminal(
    store: &Store,
    record: CampaignRecord,
    suites: &[std::sync::Arc<dyn iotcert_suite::Suite>],
    verbosity: Verbosity,
    device: &str,
    fail_on: FailOn,
) -> Result<Report> {
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let mut observer = TerminalObserver::new(verbosity, device);
    let finished = engine::execute(
        store,
        record,
        suites,
        &mut observer as &mut dyn Observer,
        cancel.clone(),
    )
    .await;
    watcher.abort();
    let finished = finished?;
    if cancel.is_cancelled() {
        bail!(
            "interrupted; what was decided is stored. Finish with: iotcert run --resume {}",
            finished.id
        );
    }
    Ok(Report::build(store, &finished, fail_on)?)
}

fn open_existing_store(dir: &Path) -> Result<Store> {
    if !dir.exists() {
        bail!(
            "no data directory at {} (run a campaign first, or pass --data-dir)",
            dir.display()
        );
    }
    Ok(Store::open(dir)?)
}

/// Write every rendering of `report` into `dir`: report.json, .md, .html, .sarif and
/// .junit.xml.
pub fn write_reports(report: &Report, dir: &Path, templates: Option<&Path>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for format in [
        Format::Json,
        Format::Md,
        Format::Html,
        Format::Sarif,
        Format::Junit,
    ] {
        let path = dir.join(format!("report.{}", format.extension()));
        let text = render::render(report, format, templates)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
