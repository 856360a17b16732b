//! Offline label verification as a use case: one verifier set up from the roots, CRLs
//! and revocation lists, then any number of labels, each judged against the same
//! firmware and report when given. The caller decides how each verdict is shown.

use crate::files;
use anyhow::{bail, Result};
use iotcert_label::{
    FirmwareCheck, Rejection, ReportCheck, VerifiedLabel, Verifier, VerifyOptions,
};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What to verify, and against what.
pub struct Request<'a> {
    pub labels: &'a [PathBuf],
    pub roots: &'a Path,
    pub firmware: Option<&'a Path>,
    pub report: Option<&'a Path>,
    pub crls: &'a [PathBuf],
    pub revocation_lists: &'a [PathBuf],
    pub at: OffsetDateTime,
}

/// One label's outcome.
pub enum Outcome {
    /// The label file could not be read (missing, too large, not a file).
    Unreadable(anyhow::Error),
    /// The verifier's verdict.
    Judged(Box<Result<VerifiedLabel, Rejection>>),
}

/// Verify every label of `request` in order, handing each outcome to `each` as it is
/// decided. Inputs other than the labels (roots, CRLs, lists, firmware, report) that
/// cannot be used are an error before any label is judged.
pub fn verify_labels(
    request: &Request<'_>,
    mut each: impl FnMut(&Path, Outcome) -> Result<()>,
) -> Result<()> {
    let read = |path: &Path, what: &str| files::read_capped(path, files::DOCUMENT_CAP, what);
    let roots = read(request.roots, "roots")?;
    let crls = request
        .crls
        .iter()
        .map(|p| read(p, "CRL"))
        .collect::<Result<Vec<_>>>()?;
    let lists = request
        .revocation_lists
        .iter()
        .map(|p| read(p, "revocation list"))
        .collect::<Result<Vec<_>>>()?;
    let verifier = Verifier::new(
        &roots,
        &crls.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &lists.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    )?;
    if request.report.is_some() && request.labels.len() > 1 {
        bail!("--report names the report of one label: verify that label alone");
    }
    let firmware_digest = request
        .firmware
        .map(|path| files::sha256_of_file(path).map(hex::encode))
        .transpose()?;
    let report = request
        .report
        .map(|path| read(path, "report"))
        .transpose()?;
    for path in request.labels {
        let outcome = match read(path, "label") {
            Err(error) => Outcome::Unreadable(error),
            Ok(bytes) => Outcome::Judged(Box::new(verifier.verify_with(
                &bytes,
                request.at,
                VerifyOptions {
                    firmware: firmware_digest.as_deref().map(FirmwareCheck::Sha256),
                    report: report.as_deref().map(ReportCheck::Bytes),
                },
            ))),
        };
        each(path, outcome)?;
    }
    Ok(())
}
