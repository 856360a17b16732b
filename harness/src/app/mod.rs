//! The use cases of iotcert, as functions a test, the command line and a future server
//! call alike: run, resume and retest a campaign, write its reports, issue, list and
//! revoke labels, verify labels, replay a finding, and the demo.
//!
//! Nothing here parses arguments or decides how a result is printed: the command line
//! (`cli.rs`) does that, ripgrep's `main → run` split. What a use case has to tell as it
//! goes (progress, replay transcripts) it hands to an observer or a callback.

pub mod campaign;
pub mod demo;
pub mod labels;
pub mod replay;
pub mod verify;
