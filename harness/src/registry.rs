//! Which suites a campaign can use: the built-in ones and the profile's external ones,
//! and the profile sections they read.

use crate::external::ExternalProgramSuite;
use iotcert_suite::{Profile, ProfileError, SectionSpec, Suite, SuiteError};
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

/// Check the suites' sections of `profile`: each built-in suite checks its own, a
/// section an external suite declares in `[[external_suites]] sections` is left to it,
/// and a section no suite reads is refused, naming it.
pub fn check_sections(profile: &Profile, profile_dir: &Path) -> Result<(), ProfileError> {
    let mut owners: Vec<SectionSpec> = builtin_suites(profile_dir)
        .iter()
        .flat_map(|suite| suite.profile_sections())
        .collect();
    owners.extend(
        profile
            .external_suites
            .iter()
            .flat_map(|external| &external.sections)
            .map(|name| SectionSpec::read_elsewhere(name)),
    );
    profile.check_sections(&owners)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                           [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

    #[test]
    fn a_section_no_suite_reads_is_refused_naming_it() {
        let text = format!("{MINIMAL}[vendor-x]\nuart = true\n");
        let profile = Profile::from_toml_str(&text).unwrap();
        let error = check_sections(&profile, Path::new(".")).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("vendor-x"), "{error}");
        assert_eq!((error.line, error.column), (Some(10), Some(1)), "{error}");
        assert!(error.message.contains("no suite reads it"), "{error}");
    }

    #[test]
    fn a_section_an_external_suite_declares_is_left_to_it() {
        let text = format!(
            "{MINIMAL}[[external_suites]]\nprogram = \"vendor-x\"\nsections = [\"vendor-x\"]\n\n\
             [vendor-x]\nuart = true\n"
        );
        let profile = Profile::from_toml_str(&text).unwrap();
        check_sections(&profile, Path::new(".")).unwrap();
    }
}
