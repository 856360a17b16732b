//! The iotcert trust label (DESIGN.md section 8): what a lab signs and a buyer checks.
//!
//! A label is an in-toto Statement v1 about one firmware image, whose predicate says
//! which scheme level the device met and until when, signed by a lab in a DSSE envelope
//! and shipped with the lab's certificate chain. This crate makes and checks them:
//!
//! - [`pki`]: who may sign (our label-signing EKU) and a development PKI;
//! - [`policy`]: scheme policies and [`policy::evaluate`], which names every blocker;
//! - [`issue()`]: policy, statement, validity window and signature in one call;
//! - [`verify`]: offline, ordered verification with stable [`ReasonCode`]s;
//! - [`revocation`]: a lab's signed list of revoked labels;
//! - [`svg`]: the human label with its QR code.
//!
//! The file format, the predicate schema with an example and the reason codes are
//! documented in `label/README.md`.

mod chain;
pub mod dsse;
mod issue;
pub mod pki;
pub mod policy;
mod reason;
pub mod revocation;
pub mod signed_file;
mod signer;
pub mod statement;
mod strict_json;
pub mod svg;
mod timefmt;
pub mod verify;

pub use issue::{issue, sign_statement, CampaignFacts, IssueError, IssuedLabel};
pub use policy::{evaluate, Blocker, CheckOutcome, SchemePolicy, SuiteBudget};
pub use reason::{ReasonCode, Rejection};
pub use revocation::{RevocationList, RevocationReason, VerifiedRevocationList};
pub use signer::{LabelSigner, SignerError};
pub use statement::{
    CheckVerdict, FirmwareSubject, LabIdentity, LabelDevice, LabelPredicate, LabelStatement,
    Sha256Hex, ToolVersion,
};
pub use timefmt::add_months;
pub use verify::{
    FirmwareCheck, ReportCheck, RevocationCheck, RevocationSources, SetupError, VerdictRecord,
    VerifiedLabel, Verifier, VerifyOptions,
};
