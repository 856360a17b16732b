//! Issue 15, item 3: a suite declares its own section of the profile and reads it with
//! the SDK's machinery: unknown fields refused, every error naming the field, its line
//! and its column; a section no suite reads is refused naming it; the section reaches an
//! external suite as written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::profile::rules::{within, Bound, FieldPath, Refusal};
use iotcert_suite::{
    Applicability, CheckSpec, Profile, ProfileSection, RunContext, SectionSpec, Suite,
    SuiteDescriptor, SuiteError,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const MINIMAL: &str =
    "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
                       [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n";

/// The section of a suite this test makes up: `[hello]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HelloOptions {
    greeting: String,
    #[serde(default)]
    repeat: u32,
}

const REPEAT: Bound = Bound {
    min: 0,
    max: 10,
    what: "greetings",
};

impl ProfileSection for HelloOptions {
    const NAME: &'static str = "hello";

    fn validate(&self, _profile: &Profile) -> Result<(), Refusal> {
        within(
            FieldPath::of(&[Self::NAME]).key("repeat"),
            u64::from(self.repeat),
            &REPEAT,
        )
    }
}

/// 1-based line and column of the first `needle` in `text`.
fn place(text: &str, needle: &str) -> (Option<usize>, Option<usize>) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    (Some(line), Some(column))
}

#[test]
fn a_suites_section_is_read_as_its_own_type() {
    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    assert_eq!(
        profile.section::<HelloOptions>().unwrap(),
        Some(HelloOptions {
            greeting: "hi".into(),
            repeat: 0
        })
    );
    let without = Profile::from_toml_str(MINIMAL).unwrap();
    assert_eq!(without.section::<HelloOptions>().unwrap(), None);
    assert_eq!(
        without.section_or_default::<HelloOptions>().unwrap(),
        HelloOptions::default()
    );
}

#[test]
fn an_unknown_field_of_a_suites_section_names_line_column_and_field() {
    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\ngreting = \"hello\"\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let error = profile.section::<HelloOptions>().unwrap_err();
    assert!(error.message.contains("unknown field `greting`"), "{error}");
    assert_eq!(error.field.as_deref(), Some("hello.greting"), "{error}");
    assert_eq!(
        (error.line, error.column),
        place(&text, "greting ="),
        "{error}"
    );
}

#[test]
fn a_wrong_type_and_a_broken_rule_of_a_suites_section_point_at_the_value() {
    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\nrepeat = \"twice\"\n");
    let error = Profile::from_toml_str(&text)
        .unwrap()
        .section::<HelloOptions>()
        .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("hello.repeat"), "{error}");
    assert_eq!(
        (error.line, error.column),
        place(&text, "\"twice\""),
        "{error}"
    );

    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\nrepeat = 11\n");
    let error = Profile::from_toml_str(&text)
        .unwrap()
        .section::<HelloOptions>()
        .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("hello.repeat"), "{error}");
    assert_eq!(
        error.message, "11 is out of range: from 0 to 10 greetings",
        "{error}"
    );
    assert_eq!((error.line, error.column), place(&text, "11\n"), "{error}");
}

#[test]
fn a_section_no_suite_reads_is_refused_naming_it_and_its_place() {
    let text = format!("{MINIMAL}[helo]\ngreeting = \"hi\"\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let error = profile
        .check_sections(&[SectionSpec::of::<HelloOptions>()])
        .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("helo"), "{error}");
    assert!(error.message.contains("unknown section `helo`"), "{error}");
    assert!(error.message.contains("`hello`"), "{error}");
    assert_eq!(
        (error.line, error.column),
        place(&text, "[helo]"),
        "{error}"
    );
}

#[test]
fn check_sections_checks_each_owned_section_and_accepts_one_read_elsewhere() {
    let text =
        format!("{MINIMAL}[hello]\ngreeting = \"hi\"\nrepeat = 99\n\n[vendor-x]\nanything = 1\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let owners = [
        SectionSpec::of::<HelloOptions>(),
        SectionSpec::read_elsewhere("vendor-x"),
    ];
    let error = profile.check_sections(&owners).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("hello.repeat"), "{error}");
    let fixed = text.replace("repeat = 99", "repeat = 9");
    let profile = Profile::from_toml_str(&fixed).unwrap();
    profile.check_sections(&owners).unwrap();
}

#[test]
fn a_section_reaches_an_external_suite_as_written_and_reads_there_without_a_place() {
    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\nrepeat = 3\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let json = serde_json::to_string(&profile).unwrap();
    let received: Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(received, profile);
    assert_eq!(
        received.section::<HelloOptions>().unwrap(),
        Some(HelloOptions {
            greeting: "hi".into(),
            repeat: 3
        })
    );
    let broken = json.replace("\"repeat\":3", "\"repeat\":12");
    let error = serde_json::from_str::<Profile>(&broken)
        .unwrap()
        .section::<HelloOptions>()
        .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("hello.repeat"), "{error}");
    assert_eq!((error.line, error.column), (None, None), "{error}");
}

#[test]
fn a_section_set_in_code_is_read_back() {
    let mut profile = Profile::from_toml_str(MINIMAL).unwrap();
    let options = HelloOptions {
        greeting: "hey".into(),
        repeat: 2,
    };
    profile.set_section(&options).unwrap();
    assert_eq!(profile.section::<HelloOptions>().unwrap(), Some(options));
    profile
        .edit_section(|hello: &mut HelloOptions| hello.repeat = 5)
        .unwrap();
    assert_eq!(
        profile.section::<HelloOptions>().unwrap().map(|h| h.repeat),
        Some(5)
    );
}

/// A suite that reads `[hello]` and decides nothing.
struct HelloSuite;

#[async_trait::async_trait]
impl Suite for HelloSuite {
    fn descriptor(&self) -> SuiteDescriptor {
        SuiteDescriptor {
            id: "hello".into(),
            version: "0.1.0".into(),
            title: "Hello".into(),
            checks: Vec::new(),
        }
    }

    fn profile_sections(&self) -> Vec<SectionSpec> {
        vec![SectionSpec::of::<HelloOptions>()]
    }

    fn applicability(&self, _check: &CheckSpec, _profile: &Profile) -> Applicability {
        Applicability::Applicable
    }

    async fn run(&self, ctx: RunContext) -> Result<(), SuiteError> {
        ctx.profile.section_or_default::<HelloOptions>()?;
        Ok(())
    }
}

#[tokio::test]
async fn run_alone_refuses_a_section_its_suite_refuses_before_running() {
    let text = format!("{MINIMAL}[hello]\ngreeting = \"hi\"\nrepeat = 11\n");
    let profile = Profile::from_toml_str(&text).unwrap();
    let error = iotcert_suite::run_alone(&HelloSuite, profile, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(error.0.contains("hello.repeat"), "{error}");
    let fine = Profile::from_toml_str(&text.replace("11", "1")).unwrap();
    iotcert_suite::run_alone(&HelloSuite, fine, Duration::from_secs(5))
        .await
        .unwrap();
}

proptest::proptest! {
    /// A profile is a file a user hands us: whatever its suite sections say, reading
    /// and checking them never panics.
    #[test]
    fn reading_any_section_never_panics(
        body in "[a-z_.\\[\\]= \"0-9\\n-]{0,200}",
        name in proptest::sample::select(vec!["hello", "helo", "units", "hello.x"]),
    ) {
        let text = format!("{MINIMAL}[{name}]\n{body}");
        if let Ok(profile) = Profile::from_toml_str(&text) {
            let _ = profile.section::<HelloOptions>();
            let _ = profile.check_sections(&[SectionSpec::of::<HelloOptions>()]);
        }
    }
}
