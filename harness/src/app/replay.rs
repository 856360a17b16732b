//! `iotcert replay`: send a protocol-fuzzing finding again.
//!
//! A manufacturer who gets a FAIL from the fuzzing suite needs to see it happen on the
//! bench, and later to check that a fix holds. Each such finding carries a reproducer
//! (see `iotcert_suite_protofuzz::reproducer`); this sends it once more, through the
//! scope guard and pacer of the profile it was found under (or of a profile given), and
//! says whether the failure replays.

use crate::app::campaign::load_profile;
use crate::files;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use iotcert_suite::{EventSink, EvidenceKind, Profile, RunContext};
use iotcert_suite_protofuzz::{replay, ReplayOutcome, Reproducer};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Longest a replay of one reproducer may take, probes and recovery included.
const REPLAY_DEADLINE: Duration = Duration::from_secs(120);

/// Where the reproducers come from.
pub enum Finding<'a> {
    /// The reproducers stored with a check's results in a campaign, optionally of one
    /// unit; the campaign's own profile sets scope, pacing and credentials.
    Stored {
        store: &'a Store,
        campaign: &'a str,
        check: &'a str,
        unit: Option<&'a str>,
    },
    /// A reproducer file (evidence exported from a report), under a given profile.
    File {
        reproducer: &'a Path,
        profile: &'a Path,
    },
}

/// The largest reproducer file read (they hold one case and its framing).
const REPRODUCER_CAP: u64 = 4 * 1024 * 1024;

/// What the replays showed, for the exit code: `Some(true)` when at least one failure
/// replayed, `Some(false)` when none did, `None` when one could not be judged. Each
/// step and transcript line is handed to `say` as it happens.
pub async fn run(
    finding: Finding<'_>,
    say: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<Option<bool>> {
    let (profile, reproducers) = match finding {
        Finding::Stored {
            store,
            campaign,
            check,
            unit,
        } => stored(store, campaign, check, unit)?,
        Finding::File {
            reproducer,
            profile,
        } => {
            let (_, profile) = load_profile(profile)?;
            let bytes = files::read_capped(reproducer, REPRODUCER_CAP, "reproducer")?;
            let parsed: Reproducer = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a reproducer", reproducer.display()))?;
            (profile, vec![(reproducer.display().to_string(), parsed)])
        }
    };
    let ctx = context(profile);
    let mut replayed = Some(false);
    for (name, reproducer) in &reproducers {
        say(&format!(
            "{name}: {} case {} ({}) to {}:{}/{}",
            reproducer.protocol,
            reproducer.case_index,
            reproducer.kind,
            reproducer.address,
            reproducer.port,
            reproducer.transport
        ))?;
        match replay(&ctx, reproducer).await {
            ReplayOutcome::Reproduced { dead, transcript } => {
                say(&format!("  REPRODUCED: {}", dead.join("; ")))?;
                say_transcript(transcript, say)?;
                replayed = replayed.map(|_| true);
            }
            ReplayOutcome::NotReproduced { transcript } => {
                say("  not reproduced: every watched service still answers")?;
                say_transcript(transcript, say)?;
            }
            ReplayOutcome::NotAlive(why) => {
                say(&format!("  not judged: before sending anything, {why}"))?;
                replayed = None;
            }
            ReplayOutcome::Invalid(why) => {
                say(&format!("  not sent: {why}"))?;
                replayed = None;
            }
        }
    }
    Ok(replayed)
}

/// The campaign's profile and every reproducer stored with `check`'s results.
fn stored(
    store: &Store,
    campaign: &str,
    check: &str,
    unit: Option<&str>,
) -> Result<(Profile, Vec<(String, Reproducer)>)> {
    let record = store.campaign(campaign)?;
    let profile = Profile::from_toml_str(&record.profile_toml)
        .map_err(|e| anyhow::anyhow!("the profile stored with {campaign}: {e}"))?;
    let mut reproducers = Vec::new();
    let mut results_seen = 0;
    for result in store.results(campaign)? {
        if result.check != check || unit.is_some_and(|unit| result.unit.as_deref() != Some(unit)) {
            continue;
        }
        results_seen += 1;
        for evidence in result
            .evidence
            .iter()
            .filter(|e| e.kind == EvidenceKind::Reproducer)
        {
            let Some(bytes) = store.evidence(&evidence.sha256)? else {
                bail!("the store lacks the evidence {}", evidence.sha256);
            };
            let parsed: Reproducer = serde_json::from_slice(&bytes)
                .with_context(|| format!("stored reproducer {} does not parse", evidence.label))?;
            reproducers.push((evidence.label.clone(), parsed));
        }
    }
    if results_seen == 0 {
        bail!(
            "campaign {campaign} has no result for {check}{}",
            unit.map(|u| format!(" on {u}")).unwrap_or_default()
        );
    }
    if reproducers.is_empty() {
        bail!(
            "no reproducer is stored with {check} in campaign {campaign}: only a FAIL of the protocol-fuzzing suite has one"
        );
    }
    Ok((profile, reproducers))
}

/// A run context for replays: the profile's units, scope and pacing, no results.
fn context(profile: Profile) -> RunContext {
    // Replays emit no results; the receiver is dropped and sends are ignored.
    let (sender, _) = tokio::sync::mpsc::channel(1);
    RunContext::new(
        Arc::new(profile),
        Arc::new(BTreeMap::new()),
        tokio::time::Instant::now() + REPLAY_DEADLINE,
        CancellationToken::new(),
        BTreeSet::new(),
        EventSink::new("replay", sender),
    )
}

fn say_transcript(
    transcript: iotcert_suite::Transcript,
    say: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let evidence = transcript.into_evidence("replay");
    for line in String::from_utf8_lossy(&evidence.data).lines() {
        say(&format!("    {line}"))?;
    }
    Ok(())
}
