//! The contract between the iotcert harness and its conformance suites.
//!
//! A suite is a set of checks, each mapped to the standards it serves, that it runs
//! against the sample units of one device model. It receives a [`RunContext`] (units,
//! profile, pacer, deadline, cancellation, scope guard, event sink) and emits a
//! [`CheckResult`] with evidence for every check it decides. This crate depends on no
//! other crate of the project, so a suite can be written against it alone, and its
//! event types double as the JSON Lines protocol of external suites (see [`event`]).
//!
//! A suite owns its section of the device profile ([`ProfileSection`], read with
//! [`Profile::section`]) and may contribute its own part of the report
//! ([`Suite::report_section`]); the harness knows neither's contents.

pub mod check;
pub mod context;
pub mod event;
pub mod evidence;
pub mod net;
pub mod pacer;
pub mod plan;
pub mod profile;
pub mod report_section;
pub mod scope;
pub mod standalone;
pub mod suite;
pub mod tls;
pub mod verdict;

pub use check::{CheckScope, CheckSpec, Modal, Standards};
pub use context::{EventSink, PlanKey, RunContext};
pub use event::{CheckResult, Effort, Proof, SuiteEvent};
pub use evidence::{Evidence, EvidenceKind, Transcript};
pub use net::{GuardedTcp, NetError};
pub use pacer::Pacer;
pub use plan::{plan_suite, unit_pacers, PlannedDecision};
pub use profile::{Profile, ProfileError, ProfileSection, SampleUnit, SectionSpec};
pub use report_section::{Recorded, RecordedEvidence, RecordedResult, ReportSection};
pub use scope::{OutOfScope, ScopeGuard};
pub use standalone::run_alone;
pub use suite::{Applicability, Suite, SuiteDescriptor, SuiteError};
pub use verdict::Verdict;
