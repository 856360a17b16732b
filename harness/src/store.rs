//! The campaign store: every campaign, result and piece of evidence, on sled.
//!
//! This module is the only code that knows the storage engine, so it could be swapped.
//! A result and its evidence are written in one transaction and flushed to disk before
//! anyone is told about the result, so a `kill -9` at any instant loses nothing that was
//! already reported, and a result key can be written only once, so a resumed campaign
//! never duplicates a result. Evidence is content-addressed by sha256. Issued labels
//! and the lab's revocation list live here too.
//!
//! sled allows one process per database. A writer (a running campaign, a label issue)
//! holds the directory's `writer.lock` and says in `holder.txt` who it is, so a second
//! writer is told in one sentence which campaign is running. A reader that finds the
//! directory busy opens a snapshot copy instead ([`Store::open_for_reading`]): `show`,
//! `report` and `campaigns` keep working during a run, on what was flushed so far.

use crate::model::{CampaignRecord, EvidenceRef, LabelRecord, StoredResult};
use iotcert_suite::Evidence;
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::{Path, PathBuf};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {path} could not be opened: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the data directory {path} is in use by {holder}; wait for it to finish or give another --data-dir")]
    Busy { path: PathBuf, holder: String },
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
    // Dropped last (fields drop in order): sled has let go of its files by then.
    /// The writer's lock and holder note, held while the store is open for writing.
    writer: Option<writer_lock::Held>,
    /// The copy a reader opened because a writer held the directory; deleted on drop.
    _snapshot: Option<tempfile::TempDir>,
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
    /// Open (or create) the store in `dir` for writing, as `holder` (for example
    /// "campaign 0193…", said to anyone who finds the directory busy).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_as(dir, "another iotcert command")
    }

    /// [`Store::open`], naming what this process is doing for the next one.
    pub fn open_as(dir: &Path, holder: &str) -> Result<Store, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            path: dir.to_owned(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        let lock = writer_lock::acquire(dir).map_err(|e| open_error(e.to_string()))?;
        let Some(lock) = lock else {
            return Err(StoreError::Busy {
                path: dir.to_owned(),
                holder: writer_lock::holder(dir),
            });
        };
        writer_lock::announce(dir, holder);
        Store::from_sled(dir, Some(writer_lock::Held::new(lock, dir)), None)
    }

    /// Say who holds this store now (a campaign once its id is known).
    pub fn announce(&self, holder: &str) {
        if let Some(writer) = &self.writer {
            writer_lock::announce(&writer.dir, holder);
        }
    }

    /// Open an existing store to read it. When a writer holds the directory (a
    /// campaign is running), read a snapshot copy of what it has flushed so far.
    pub fn open_for_reading(dir: &Path) -> Result<Store, StoreError> {
        match Store::open(dir) {
            Err(StoreError::Busy { .. }) => {}
            other => return other,
        }
        let mut last_error = None;
        // A copy taken while the writer flushes may be torn; sled refuses it, and a
        // second copy a moment later is whole.
        for _ in 0..3 {
            let snapshot = tempfile::tempdir().map_err(|e| StoreError::Open {
                path: dir.to_owned(),
                reason: format!("cannot make a snapshot folder: {e}"),
            })?;
            if let Err(error) = writer_lock::copy_database(dir, snapshot.path()) {
                last_error = Some(error.to_string());
                continue;
            }
            let path = snapshot.path().to_owned();
            match Store::from_sled(&path, None, Some(snapshot)) {
                Ok(store) => return Ok(store),
                Err(error) => last_error = Some(error.to_string()),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(StoreError::Open {
            path: dir.to_owned(),
            reason: format!(
                "{} holds it and a snapshot could not be read ({})",
                writer_lock::holder(dir),
                last_error.unwrap_or_default()
            ),
        })
    }

    fn from_sled(
        path: &Path,
        writer: Option<writer_lock::Held>,
        snapshot: Option<tempfile::TempDir>,
    ) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                reason: source.to_string(),
            })?;
        Ok(Store {
            campaigns: db.open_tree("campaigns")?,
            results: db.open_tree("results")?,
            evidence: db.open_tree("evidence")?,
            labels: db.open_tree("labels")?,
            revocations: db.open_tree("revocations")?,
            db,
            writer,
            _snapshot: snapshot,
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

    /// An issued label by its exact id. A unique prefix is not taken for the id (a
    /// revocation must name what it revokes); the error then says the full id.
    pub fn label(&self, id: &str) -> Result<LabelRecord, StoreError> {
        if id.trim().is_empty() {
            return Err(StoreError::NoSuchLabel(id.to_owned()));
        }
        if let Some(bytes) = self.labels.get(id.as_bytes())? {
            return serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("label {id}: {e}")));
        }
        let candidates: Vec<String> = self
            .labels
            .scan_prefix(id.as_bytes())
            .keys()
            .take(3)
            .map(|key| key.map(|k| String::from_utf8_lossy(&k).into_owned()))
            .collect::<Result<_, _>>()?;
        Err(match candidates.as_slice() {
            [only] => {
                StoreError::NotFound(format!("label with id {id:?}; give the whole id: {only}"))
            }
            [] => StoreError::NoSuchLabel(id.to_owned()),
            several => StoreError::NotFound(format!(
                "label with id {id:?}; it begins {} labels ({}, …): give the whole id",
                if several.len() > 2 { "3 or more" } else { "2" },
                several.join(", ")
            )),
        })
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

/// The directory's writer lock and the note that says who holds it.
mod writer_lock {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    const LOCK_FILE: &str = "writer.lock";

    /// The lock of a writer; its note is removed when it ends, so a note on disk always
    /// names the present holder.
    pub struct Held {
        _lock: File,
        pub dir: std::path::PathBuf,
    }

    impl Held {
        pub fn new(lock: File, dir: &Path) -> Held {
            Held {
                _lock: lock,
                dir: dir.to_owned(),
            }
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.dir.join(HOLDER_FILE));
        }
    }
    const HOLDER_FILE: &str = "holder.txt";
    /// The largest holder note read back (it is one line we wrote).
    const HOLDER_CAP: u64 = 1024;

    /// Take the writer lock without waiting; `None` when another process holds it.
    pub fn acquire(dir: &Path) -> io::Result<Option<File>> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        // SAFETY: flock on a descriptor we own; no memory is shared with the call.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if status == 0 {
            return Ok(Some(file));
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(error)
        }
    }

    /// Record who holds the lock (best effort: the note only explains a refusal).
    pub fn announce(dir: &Path, holder: &str) {
        let text = format!("{holder} (iotcert pid {})", std::process::id());
        let _ = std::fs::write(dir.join(HOLDER_FILE), text);
    }

    /// Who holds the lock, as its holder said.
    pub fn holder(dir: &Path) -> String {
        use std::io::Read;
        let mut text = String::new();
        let read = File::open(dir.join(HOLDER_FILE))
            .and_then(|file| file.take(HOLDER_CAP).read_to_string(&mut text));
        match read {
            Ok(_) if !text.trim().is_empty() => text.chars().filter(|c| !c.is_control()).collect(),
            _ => "another iotcert process".to_owned(),
        }
    }

    /// Copy the database files (not the lock or the note) from `from` into `to`.
    pub fn copy_database(from: &Path, to: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == LOCK_FILE || name == HOLDER_FILE {
                continue;
            }
            let target = to.join(&name);
            if entry.file_type()?.is_dir() {
                std::fs::create_dir_all(&target)?;
                copy_database(&entry.path(), &target)?;
            } else {
                std::fs::copy(entry.path(), target)?;
            }
        }
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
    fn a_second_writer_is_told_who_holds_the_directory_and_a_reader_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Store::open_as(dir.path(), "campaign c1").unwrap();
        writer
            .record_result(result("s.a", Some("u1")), &[])
            .unwrap();
        match Store::open(dir.path()) {
            Err(error @ StoreError::Busy { .. }) => {
                let text = error.to_string();
                assert!(text.contains("campaign c1"), "{text}");
                assert!(!text.contains("WouldBlock"), "{text}");
            }
            Err(other) => panic!("expected busy, got {other}"),
            Ok(_) => panic!("two writers opened one store"),
        }
        let reader = Store::open_for_reading(dir.path()).unwrap();
        assert_eq!(reader.results("c1").unwrap().len(), 1);
        drop(reader);
        drop(writer);
        assert!(
            Store::open(dir.path()).is_ok(),
            "the lock ends with its holder"
        );
    }

    #[test]
    fn labels_are_found_by_their_exact_id_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = "0193d2a4-0000-7000-8000-000000000001";
        store
            .labels
            .insert(id.as_bytes(), br#"{"not": "read here"}"#.as_slice())
            .unwrap();
        for wrong in ["", " ", "0193", "0193d2a4-0000-7000-8000-00000000000"] {
            let error = store.label(wrong).err().map(|e| e.to_string());
            assert!(error.is_some(), "{wrong:?} was taken for a label id");
        }
        let hint = store.label("0193").err().unwrap().to_string();
        assert!(hint.contains(id), "{hint}");
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
