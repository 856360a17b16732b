//! External suites: any executable that speaks the JSON Lines protocol of
//! [`iotcert_suite::event`], adapted to the [`Suite`] trait.
//!
//! A lab adds a check in any language without rebuilding iotcert. The program is
//! untrusted in the sense that it may be buggy: lines are capped, malformed output and
//! results for unknown checks are reported, not obeyed, and the program is killed at the
//! deadline. Whatever it leaves undecided becomes ERROR through the engine.

use iotcert_suite::event::{ExternalRunRequest, LogLevel};
use iotcert_suite::profile::ExternalSuite;
use iotcert_suite::{
    Applicability, CheckResult, CheckSpec, PlanKey, Profile, RunContext, Suite, SuiteDescriptor,
    SuiteError, SuiteEvent, Verdict,
};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The longest line an external suite may write.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// How long `describe` may take.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A suite implemented by an external program.
pub struct ExternalProgramSuite {
    program: PathBuf,
    args: Vec<String>,
    descriptor: SuiteDescriptor,
}

impl ExternalProgramSuite {
    /// Run `PROGRAM ARGS describe` and adopt the suite it describes. Relative program
    /// paths are taken relative to `base` (the profile's directory) when such a file
    /// exists there, and looked up on `PATH` otherwise.
    pub async fn load(spec: &ExternalSuite, base: &Path) -> Result<Self, SuiteError> {
        let candidate = base.join(&spec.program);
        let program = if spec.program.is_relative() && candidate.exists() {
            candidate
        } else {
            spec.program.clone()
        };
        let mut command = Command::new(&program);
        command
            .args(&spec.args)
            .arg("describe")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            SuiteError(format!(
                "cannot start external suite {}: {e}",
                program.display()
            ))
        })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| SuiteError("external suite has no standard output".into()))?;
        let mut lines = CappedLines::new(stdout);
        let line = tokio::time::timeout(DESCRIBE_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| {
                SuiteError(format!(
                    "{} describe: no answer within {DESCRIBE_TIMEOUT:?}",
                    program.display()
                ))
            })?
            .map_err(|e| SuiteError(format!("{} describe: {e}", program.display())))?
            .ok_or_else(|| SuiteError(format!("{} describe printed nothing", program.display())))?;
        let _ = child.kill().await;
        let descriptor: SuiteDescriptor = serde_json::from_str(&line).map_err(|e| {
            SuiteError(format!(
                "{} describe: not a suite descriptor: {e}",
                program.display()
            ))
        })?;
        if descriptor.id.is_empty() || descriptor.checks.iter().any(|c| c.id.is_empty()) {
            return Err(SuiteError(format!(
                "{} describe: empty suite or check id",
                program.display()
            )));
        }
        Ok(ExternalProgramSuite {
            program,
            args: spec.args.clone(),
            descriptor,
        })
    }

    fn knows(&self, check: &str) -> bool {
        self.descriptor.checks.iter().any(|c| c.id == check)
    }

    /// Every check and unit (and the device as a whole) still undecided in this run.
    fn pending_keys(&self, ctx: &RunContext) -> Vec<PlanKey> {
        self.descriptor
            .checks
            .iter()
            .flat_map(|check| {
                let mut keys: Vec<Option<&str>> =
                    ctx.units.iter().map(|u| Some(u.id.as_str())).collect();
                keys.push(None);
                keys.into_iter()
                    .filter(|unit| ctx.is_pending(&check.id, *unit))
                    .map(|unit| PlanKey::new(&check.id, unit))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Start the program with `run` and hand it the run request on its standard input.
    async fn start(&self, ctx: &RunContext, pending: Vec<PlanKey>) -> Result<Child, SuiteError> {
        let request = ExternalRunRequest {
            units: ctx.units.clone(),
            profile: (*ctx.profile).clone(),
            pending,
            seconds_left: ctx.time_left().as_secs(),
        };
        let request = serde_json::to_vec(&request).map_err(|e| SuiteError(e.to_string()))?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg("run")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SuiteError(format!("cannot start {}: {e}", self.program.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that does not read its input must not block us: bounded write.
            let written = tokio::time::timeout(Duration::from_secs(10), async {
                stdin.write_all(&request).await?;
                stdin.shutdown().await
            })
            .await;
            if !matches!(written, Ok(Ok(()))) {
                ctx.log(
                    LogLevel::Warn,
                    "the external suite did not read its run request",
                )
                .await;
            }
        }
        Ok(child)
    }

    /// Pass on the events the program writes, one JSON line each, until it closes its
    /// output, the deadline passes or the run is cancelled. A line that is not an event,
    /// or a result of a check the program did not declare, is logged and skipped.
    async fn relay_events(&self, ctx: &RunContext, stdout: impl AsyncRead + Unpin) {
        let mut lines = CappedLines::new(stdout);
        let mut line_number = 0u64;
        loop {
            let next = tokio::select! {
                _ = ctx.cancel.cancelled() => break,
                _ = tokio::time::sleep_until(ctx.deadline) => break,
                next = lines.next_line() => next,
            };
            line_number += 1;
            let line = match next {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(error) => {
                    ctx.log(
                        LogLevel::Warn,
                        format!("external suite output line {line_number}: {error}"),
                    )
                    .await;
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<SuiteEvent>(&line) {
                Ok(SuiteEvent::Result(result)) if !self.knows(&result.check) => {
                    ctx.log(
                        LogLevel::Warn,
                        format!("external suite line {line_number}: result for undeclared check {:?} ignored", result.check),
                    )
                    .await;
                }
                Ok(SuiteEvent::Result(result)) => ctx.emit(result).await,
                Ok(SuiteEvent::Started { check, unit }) => {
                    ctx.started(&check, unit.as_deref()).await
                }
                Ok(SuiteEvent::Progress {
                    done,
                    total,
                    message,
                }) => ctx.progress(done, total, message.unwrap_or_default()).await,
                Ok(SuiteEvent::Log { level, message }) => ctx.log(level, message).await,
                Err(error) => {
                    ctx.log(
                        LogLevel::Warn,
                        format!("external suite line {line_number} is not an event: {error}"),
                    )
                    .await;
                }
            }
        }
    }

    /// ERROR, for `reason`, on every check the program left undecided.
    async fn decide_pending_as_errors(&self, ctx: &RunContext, reason: &str) {
        for check in &self.descriptor.checks {
            for unit in ctx.units.iter().map(|u| Some(u.id.as_str())).chain([None]) {
                if ctx.is_pending(&check.id, unit) {
                    ctx.emit(CheckResult::new(
                        check.id.clone(),
                        unit,
                        Verdict::Error,
                        reason.to_owned(),
                    ))
                    .await;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Suite for ExternalProgramSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        self.descriptor.clone()
    }

    fn applicability(&self, _check: &CheckSpec, _profile: &Profile) -> Applicability {
        // The protocol has no applicability step: a program that finds a check does not
        // apply reports NOT_APPLICABLE with its reason when it runs.
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        let pending = self.pending_keys(&ctx);
        if pending.is_empty() {
            return Ok(());
        }
        let mut child = self.start(&ctx, pending).await?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| SuiteError("external suite has no standard output".into()))?;
        self.relay_events(&ctx, stdout).await;
        let _ = child.start_kill();
        let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        match status {
            Ok(Ok(status)) if status.success() || ctx.should_stop() => Ok(()),
            Ok(Ok(status)) => {
                // Decided results stand; what is left becomes ERROR with this reason.
                let reason = format!(
                    "external suite {} exited with {status}",
                    self.program.display()
                );
                self.decide_pending_as_errors(&ctx, &reason).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Lines of at most [`MAX_LINE_BYTES`]; a longer line is skipped and reported once.
struct CappedLines<R> {
    reader: BufReader<R>,
}

impl<R: AsyncRead + Unpin> CappedLines<R> {
    fn new(reader: R) -> Self {
        CappedLines {
            reader: BufReader::new(reader),
        }
    }

    /// The next line without its newline; `Ok(None)` at end of output.
    async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buffer = self.reader.fill_buf().await?;
            if buffer.is_empty() {
                if line.is_empty() && !too_long {
                    return Ok(None);
                }
                break;
            }
            let (chunk, found_newline) = match buffer.iter().position(|&b| b == b'\n') {
                Some(index) => (buffer.get(..index).unwrap_or_default(), true),
                None => (buffer, false),
            };
            let consumed = chunk.len() + usize::from(found_newline);
            if !too_long {
                if line.len() + chunk.len() > MAX_LINE_BYTES {
                    too_long = true;
                    line.clear();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            self.reader.consume(consumed);
            if found_newline {
                break;
            }
        }
        if too_long {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line longer than {MAX_LINE_BYTES} bytes skipped"),
            ));
        }
        String::from_utf8(line)
            .map(Some)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "line is not UTF-8"))
    }
}
