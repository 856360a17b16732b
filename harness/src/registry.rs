//! Which suites a campaign can use: the built-in ones and the profile's external ones.

use crate::external::ExternalProgramSuite;
use iotcert_suite::{Profile, Suite, SuiteError};
use std::path::Path;
use std::sync::Arc;

/// The suites compiled into this build, in report order. Suites that read files named
/// in the profile (update images, TLS trust anchors) resolve them against
/// `profile_dir`.
pub fn builtin_suites(profile_dir: &Path) -> Vec<Arc<dyn Suite>> {
    vec![
        Arc::new(iotcert_suite_ports::PortsSuite::new()),
        Arc::new(iotcert_suite_tls::TlsSuite::new(profile_dir)),
        Arc::new(iotcert_suite_update::UpdateSuite::new(profile_dir)),
        Arc::new(iotcert_suite_credentials::CredentialsSuite::new()),
        Arc::new(iotcert_suite_protofuzz::ProtofuzzSuite::new()),
    ]
}

/// Built-in suites plus the external suites the profile names; relative paths are
/// resolved against `profile_dir`.
pub async fn suites_for(
    profile: &Profile,
    profile_dir: &Path,
) -> Result<Vec<Arc<dyn Suite>>, SuiteError> {
    let mut suites = builtin_suites(profile_dir);
    for spec in &profile.external_suites {
        let suite = ExternalProgramSuite::load(spec, profile_dir).await?;
        let id = suite.descriptor().id;
        if suites.iter().any(|s| s.descriptor().id == id) {
            return Err(SuiteError(format!(
                "external suite id {id:?} is already taken"
            )));
        }
        suites.push(Arc::new(suite));
    }
    Ok(suites)
}
