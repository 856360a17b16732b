//! The use cases of iotcert, as functions a test, the command line and a future server
//! call alike: run, resume and retest a campaign, write its reports, issue, list and
//! revoke labels, verify labels, and replay a finding (the demo, in its own crate
//! `iotcert-demo`, is built on these too).
//!
//! Nothing here parses arguments or decides how a result is printed: the command line
//! (`cli.rs`) does that, ripgrep's `main → run` split. What a use case has to tell as it
//! goes (progress, replay transcripts) it hands to an observer or a callback.

pub mod campaign;
pub mod labels;
pub mod replay;
pub mod verify;
