//! Any string the safety check accepts is a listed program with clean arguments: no shell
//! metacharacter, no traversal, and a diagnostic never changes the host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigilops_core::safety::{Purpose, check, policy::FORMS};

fuzz_target!(|data: &[u8]| {
    let Ok(command) = std::str::from_utf8(data) else {
        return;
    };
    for purpose in [Purpose::Diagnostic, Purpose::Remediation] {
        if let Ok(checked) = check(command, purpose) {
            assert!(FORMS.iter().any(|form| form.program == checked.argv[0]));
            assert!(purpose.permits(checked.tier));
            for argument in &checked.argv {
                assert!(!argument.split('/').any(|part| part == ".."));
                assert!(!argument.contains([';', '&', '|', '`', '$', '<', '>', '\n', '\r']));
            }
        }
    }
});
