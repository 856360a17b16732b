//! Every example profile in `examples/` parses and stays in scope: the README points
//! readers at them, so a broken example is a broken promise.

use iotcert_suite::Profile;
use std::path::Path;

#[test]
fn every_example_profile_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let profile =
                Profile::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            iotcert::engine::check_scope(&profile)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example profiles found in {}", dir.display());
}
