//! The bounds battery of a suite's profile section: each numeric field, written into a
//! minimal profile, must be accepted at its bounds and refused beyond them, the refusal
//! naming the field and the line and column of the number.

use iotcert_suite::{Profile, ProfileError, Suite};

/// The smallest profile the SDK accepts: identity and one unit, nothing else.
pub const MINIMAL_PROFILE: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

/// `text` as the harness loads it for `suite`: the SDK's sections, then the suite's own.
pub fn load_for(suite: &dyn Suite, text: &str) -> Result<Profile, ProfileError> {
    let profile = Profile::from_toml_str(text)?;
    for section in suite.profile_sections() {
        section.check(&profile)?;
    }
    Ok(profile)
}

/// One numeric field: where it sits (`VALUE` marks the number), its dotted path, the
/// smallest and largest values a profile may give it.
pub struct Field {
    pub path: &'static str,
    pub template: String,
    pub min: i64,
    pub max: i64,
}

/// A [`Field`].
pub fn field(path: &'static str, template: impl Into<String>, min: i64, max: i64) -> Field {
    Field {
        path,
        template: template.into(),
        min,
        max,
    }
}

impl Field {
    /// The minimal profile with this field set to `value`.
    pub fn text(&self, value: &str) -> String {
        format!("{MINIMAL_PROFILE}{}", self.template.replace("VALUE", value))
    }

    /// 1-based line and column of the number in the text.
    pub fn place(&self) -> (Option<usize>, Option<usize>) {
        let text = format!("{MINIMAL_PROFILE}{}", self.template);
        let (index, line) = text
            .lines()
            .enumerate()
            .find(|(_, line)| line.contains("VALUE"))
            .unwrap_or_else(|| panic!("{}: the template has no VALUE", self.path));
        (Some(index + 1), line.find("VALUE").map(|column| column + 1))
    }

    /// `load` refuses `value`, naming this field at the number's line and column.
    pub fn assert_refused(
        &self,
        load: impl Fn(&str) -> Result<Profile, ProfileError>,
        value: &str,
    ) {
        match load(&self.text(value)) {
            Ok(_) => panic!("{} = {value} must be refused", self.path),
            Err(error) => {
                assert_eq!(
                    error.field.as_deref(),
                    Some(self.path),
                    "{} = {value}: {error}",
                    self.path
                );
                assert_eq!(
                    (error.line, error.column),
                    self.place(),
                    "{} = {value}: {error}",
                    self.path
                );
            }
        }
    }

    /// `load` accepts `value`.
    pub fn assert_accepted(
        &self,
        load: impl Fn(&str) -> Result<Profile, ProfileError>,
        value: &str,
    ) {
        if let Err(error) = load(&self.text(value)) {
            panic!("{} = {value} must be accepted: {error}", self.path);
        }
    }
}
