//! The command safety check under libFuzzer: whatever bytes arrive, a command that passes is an
//! argument vector without a shell character, a path in its program name, a line break or a
//! non-ASCII look-alike, and a diagnostic command never changes the host.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run command_check -- -max_total_time=300`
//! (from this directory's parent; the corpus grows in `fuzz/corpus/command_check`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigilops_core::safety::{Purpose, Tier, check, check_argv};

const SHELL: &[char] = &[
    ';', '&', '|', '`', '$', '<', '>', '(', ')', '{', '}', '\\', '!', '#', '\n', '\r',
];

fn assert_safe(argv: &[String], tier: Tier, purpose: Purpose, input: &str) {
    assert!(!argv.is_empty(), "{input:?}");
    assert!(!argv[0].contains('/'), "program with a path passed: {input:?}");
    for argument in argv {
        assert!(argument.is_ascii(), "non-ASCII passed: {input:?}");
        assert!(!argument.contains(SHELL), "shell character passed: {input:?}");
        assert!(!argument.is_empty(), "empty argument passed: {input:?}");
    }
    let joined = argv.join(" ").to_lowercase();
    for forbidden in ["rm -rf", "mkfs", "/etc/shadow", "passwd ", "reboot", "shutdown "] {
        assert!(!joined.contains(forbidden), "{forbidden} passed: {input:?}");
    }
    assert!(argv[0] != "rm" && argv[0] != "sh" && argv[0] != "bash", "{input:?}");
    if purpose == Purpose::Diagnostic {
        assert_eq!(tier, Tier::ReadOnly, "a diagnostic changed the host: {input:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    for purpose in [Purpose::Diagnostic, Purpose::Remediation] {
        if let Ok(checked) = check(&input, purpose) {
            assert_safe(&checked.argv, checked.tier, purpose, &input);
        }
        // The same bytes as a vector split on NUL, as a runbook or the agent passes one.
        let argv: Vec<String> = input.split('\0').map(str::to_owned).collect();
        if let Ok(checked) = check_argv(&argv, purpose) {
            assert_safe(&checked.argv, checked.tier, purpose, &input);
        }
    }
});
