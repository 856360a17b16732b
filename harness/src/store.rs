//! The campaign store: every campaign, result and piece of evidence, on sled.
//!
//! This module is the only code that knows the storage engine, so it could be swapped.
//! A result and its evidence are written in one transaction and flushed to disk before
//! anyone is told about the result, so a `kill -9` at any instant loses nothing that was
//! already reported, and a result key can be written only once, so a resumed campaign
//! never duplicates a result. Evidence is content-addressed by sha256. Issued labels
//! and the lab's revocation list live here too.

use crate::model::{CampaignRecord, EvidenceRef, LabelRecord, StoredResult};
use iotcert_suite::Evidence;
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::{Path, PathBuf};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {path} could not be opened: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("no campaign with id {0:?}")]
    NoSuchCampaign(String),
    #[error("no label with id {0:?}")]
    NoSuchLabel(String),
    #[error("no {0}")]
    NotFound(String),
}

/// The open database of one data directory.
pub struct Store {
    db: sled::Db,
    campaigns: sled::Tree,
    results: sled::Tree,
    evidence: sled::Tree,
    labels: sled::Tree,
    revocations: sled::Tree,
}

/// Key, in the revocations tree, of the lab's current (unsigned) revocation list.
const REVOCATION_LIST_KEY: &[u8] = b"list";

/// Key of a result: campaign, suite, check, unit, separated by NUL (never in an id).
fn result_key(campaign: &str, suite: &str, check: &str, unit: Option<&str>) -> Vec<u8> {
    let mut key = Vec::with_capacity(campaign.len() + suite.len() + check.len() + 16);
    for part in [campaign, suite, check, unit.unwrap_or("")] {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    key
}

fn campaign_prefix(campaign: &str) -> Vec<u8> {
    let mut prefix = campaign.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(|source| StoreError::Open {
                path: dir.to_owned(),
                source,
            })?;
        Ok(Store {
            campaigns: db.open_tree("campaigns")?,
            results: db.open_tree("results")?,
            evidence: db.open_tree("evidence")?,
            labels: db.open_tree("labels")?,
            revocations: db.open_tree("revocations")?,
            db,
        })
    }

    /// Write (or overwrite) a campaign record, durably.
    pub fn put_campaign(&self, record: &CampaignRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.campaigns.insert(record.id.as_bytes(), bytes)?;
        self.db.flush()?;
        Ok(())
    }

    pub fn campaign(&self, id: &str) -> Result<CampaignRecord, StoreError> {
        let bytes = self
            .campaigns
            .get(id.as_bytes())?
            .ok_or_else(|| StoreError::NoSuchCampaign(id.to_owned()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("campaign {id}: {e}")))
    }

    /// Every campaign, oldest first (ids sort by creation time).
    pub fn campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        self.campaigns
            .iter()
            .map(|entry| {
                let (_, bytes) = entry?;
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Record a result with its evidence, atomically and durably. Returns the stored
    /// result, or `None` when a result for the same key was already recorded (the new
    /// one is then dropped, which is what makes resuming safe).
    pub fn record_result(
        &self,
        mut result: StoredResult,
        evidence: &[Evidence],
    ) -> Result<Option<StoredResult>, StoreError> {
        let key = result_key(
            &result.campaign,
            &result.suite,
            &result.check,
            result.unit.as_deref(),
        );
        let blobs: Vec<(String, &[u8])> = evidence
            .iter()
            .map(|item| {
                (
                    hex::encode(Sha256::digest(&item.data)),
                    item.data.as_slice(),
                )
            })
            .collect();
        result.evidence = evidence
            .iter()
            .zip(&blobs)
            .map(|(item, (sha256, _))| EvidenceRef {
                kind: item.kind,
                label: item.label.clone(),
                media_type: item.media_type.clone(),
                sha256: sha256.clone(),
                size: item.data.len() as u64,
                truncated: item.truncated,
            })
            .collect();
        let bytes = serde_json::to_vec(&result).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let outcome = (&self.results, &self.evidence).transaction(|(results, evidence_tree)| {
            if results.get(&key)?.is_some() {
                return Ok(false);
            }
            for (sha256, data) in &blobs {
                evidence_tree.insert(sha256.as_bytes(), *data)?;
            }
            results.insert(key.as_slice(), bytes.as_slice())?;
            Ok::<bool, ConflictableTransactionError<StoreError>>(true)
        });
        let inserted = match outcome {
            Ok(inserted) => inserted,
            Err(TransactionError::Abort(error)) => return Err(error),
            Err(TransactionError::Storage(error)) => return Err(error.into()),
        };
        if !inserted {
            return Ok(None);
        }
        self.db.flush()?;
        Ok(Some(result))
    }

    /// Every result of a campaign, in key order (suite, check, unit).
    pub fn results(&self, campaign: &str) -> Result<Vec<StoredResult>, StoreError> {
        self.results
            .scan_prefix(campaign_prefix(campaign))
            .map(|entry| {
                let (_, bytes) = entry?;
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The bytes of an evidence item.
    pub fn evidence(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .evidence
            .get(sha256.as_bytes())?
            .map(|bytes| bytes.to_vec()))
    }

    /// The bytes of an evidence item that a result of `campaign` refers to; an item of
    /// another campaign (or none) is refused, so a campaign's export holds only its own.
    pub fn campaign_evidence(&self, campaign: &str, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let sha256 = sha256.to_ascii_lowercase();
        let referenced = self
            .results(campaign)?
            .iter()
            .any(|result| result.evidence.iter().any(|item| item.sha256 == sha256));
        if !referenced {
            return Err(StoreError::NotFound(format!(
                "evidence {sha256} in campaign {campaign}"
            )));
        }
        self.evidence(&sha256)?.ok_or_else(|| {
            StoreError::Corrupt(format!("evidence {sha256} is referenced but missing"))
        })
    }
}

impl Store {
    /// Record an issued label, durably.
    pub fn put_label(&self, record: &LabelRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.labels.insert(record.id.as_bytes(), bytes)?;
        self.db.flush()?;
        Ok(())
    }

    /// An issued label by id (a UUID, or a unique prefix of one).
    pub fn label(&self, id: &str) -> Result<LabelRecord, StoreError> {
        let mut found = self.labels.scan_prefix(id.as_bytes());
        let first = found.next().transpose()?;
        let second = found.next().transpose()?;
        match (first, second) {
            (Some((_, bytes)), None) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("label {id}: {e}"))),
            (Some(_), Some(_)) => Err(StoreError::Corrupt(format!(
                "label id prefix {id:?} is ambiguous"
            ))),
            (None, _) => Err(StoreError::NoSuchLabel(id.to_owned())),
        }
    }

    /// Every issued label.
    pub fn labels(&self) -> Result<Vec<LabelRecord>, StoreError> {
        self.labels
            .iter()
            .map(|entry| {
                let (_, bytes) = entry?;
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The lab's revocation list as last saved (JSON of the label crate's list).
    pub fn revocation_list(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .revocations
            .get(REVOCATION_LIST_KEY)?
            .map(|bytes| bytes.to_vec()))
    }

    /// Save the lab's revocation list, durably.
    pub fn put_revocation_list(&self, json: &[u8]) -> Result<(), StoreError> {
        self.revocations.insert(REVOCATION_LIST_KEY, json)?;
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StoredResult;
    use iotcert_suite::{EvidenceKind, Verdict};

    fn result(check: &str, unit: Option<&str>) -> StoredResult {
        StoredResult {
            campaign: "c1".into(),
            suite: "s".into(),
            check: check.into(),
            unit: unit.map(str::to_owned),
            verdict: Verdict::Pass,
            summary: "ok".into(),
            remediation: None,
            evidence: Vec::new(),
            effort: None,
            proof: None,
            recorded_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_result_is_recorded_once_with_its_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let evidence = [Evidence::text(EvidenceKind::Note, "n", "hello")];
        let stored = store
            .record_result(result("s.a", Some("u1")), &evidence)
            .unwrap()
            .unwrap();
        assert_eq!(stored.evidence.len(), 1);
        let blob = store.evidence(&stored.evidence[0].sha256).unwrap().unwrap();
        assert_eq!(blob, b"hello");
        assert!(store
            .record_result(result("s.a", Some("u1")), &[])
            .unwrap()
            .is_none());
        store
            .record_result(result("s.a", Some("u2")), &[])
            .unwrap()
            .unwrap();
        store
            .record_result(result("s.a", None), &[])
            .unwrap()
            .unwrap();
        assert_eq!(store.results("c1").unwrap().len(), 3);
        assert!(
            store.results("c").unwrap().is_empty(),
            "prefix must not leak across campaigns"
        );
    }
}
