//! The command safety check shared by the server (before a command is queued) and the agent
//! (before it runs one): a command string is split into an argument vector the way a shell
//! would split words, then checked against a fixed policy.
//!
//! Why so strict: the original only checked how the command *string* started, so
//! `ps aux | grep x`, `ls; curl …; sh …` and `cat /etc/shadow` all passed
//! (`remediation-and-ai.md` §11.3). Ours refuses every shell metacharacter outright, runs
//! the argument vector without a shell, and allows a program only in the forms listed in
//! [`policy`]: known options, validated values, and paths confined to allowed roots.
//!
//! Layers, all applied and all reported:
//! 1. the raw string: empty, non-printable or non-ASCII characters, shell metacharacters,
//!    substitution, redirection, pipes, quotes that do not close;
//! 2. the original's blacklist categories, searched anywhere in the lower-cased command;
//! 3. the argument vector against the allow-list ([`policy::FORMS`]) for the caller's
//!    [`Purpose`].
//!
//! Architecture invariant: this module does no I/O and needs no server feature, so the agent
//! links the very same code with its light `client` feature set.

mod blacklist;
pub mod policy;

use std::fmt;

/// Why a command is being checked, which decides how much it may change on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// An operator's diagnostic command: read-only programs only. This is all our server sends
    /// to an agent that did not announce the `remediation` capability.
    Diagnostic,
    /// A remediation step of a runbook: the read-only programs plus the constrained changing
    /// forms the built-in runbooks need (restart a unit, vacuum the journal, …).
    Remediation,
}

/// How much a command form may change on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Reads state only.
    ReadOnly,
    /// Changes state; allowed for remediation steps only.
    Changing,
}

impl Purpose {
    /// Whether a form of this tier may run for this purpose.
    pub fn permits(self, tier: Tier) -> bool {
        match self {
            Self::Diagnostic => tier == Tier::ReadOnly,
            Self::Remediation => true,
        }
    }
}

/// A command that passed the check: the argument vector to run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCommand {
    /// `argv[0]` is a bare program name from the allow-list; the rest are its arguments.
    pub argv: Vec<String>,
    /// Whether the matching form only reads or also changes state.
    pub tier: Tier,
}

/// A refused command with every reason found, each a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    /// At least one reason.
    pub reasons: Vec<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "command refused: {}", self.reasons.join("; "))
    }
}

impl Refusal {
    fn one(reason: impl Into<String>) -> Self {
        Self {
            reasons: vec![reason.into()],
        }
    }
}

/// The longest command string accepted; longer strings are refused unread.
pub const MAX_COMMAND_LEN: usize = 4096;

/// Checks a command string for `purpose` and returns the argument vector to run.
pub fn check(command: &str, purpose: Purpose) -> Result<CheckedCommand, Refusal> {
    let mut reasons = Vec::new();
    if command.trim().is_empty() {
        return Err(Refusal::one("command is empty"));
    }
    if command.len() > MAX_COMMAND_LEN {
        return Err(Refusal::one(format!(
            "command is longer than {MAX_COMMAND_LEN} bytes"
        )));
    }
    raw_reasons(command, &mut reasons);
    reasons.extend(blacklist::hits(command));
    if !reasons.is_empty() {
        return Err(Refusal { reasons });
    }
    let Some(argv) = split(command) else {
        return Err(Refusal::one("command has an unterminated quote"));
    };
    check_argv(&argv, purpose)
}

/// Checks an already split argument vector for `purpose`. The same rules as [`check`] apply to
/// every argument, so a vector cannot smuggle in what a string could not.
pub fn check_argv(argv: &[String], purpose: Purpose) -> Result<CheckedCommand, Refusal> {
    let Some(program) = argv.first() else {
        return Err(Refusal::one("command is empty"));
    };
    let mut reasons = Vec::new();
    for argument in argv {
        raw_reasons(argument, &mut reasons);
        if argument.is_empty() {
            reasons.push("an argument is empty".to_owned());
        }
    }
    // The blacklist also sees the vector joined, so splitting cannot hide a pattern.
    reasons.extend(blacklist::hits(&argv.join(" ")));
    if program.contains('/') {
        reasons.push(format!("program `{program}` must be named without a path"));
    }
    if !reasons.is_empty() {
        reasons.dedup();
        return Err(Refusal { reasons });
    }
    policy::match_form(argv, purpose).map(|tier| CheckedCommand {
        argv: argv.to_vec(),
        tier,
    })
}

/// Shell-style word splitting (POSIX quoting rules) without any expansion. `None` when a quote
/// does not close.
fn split(command: &str) -> Option<Vec<String>> {
    shlex::split(command)
}

/// Character-level reasons: anything a shell would interpret, and anything that is not plain
/// printable ASCII (so look-alike and control characters cannot slip through).
fn raw_reasons(text: &str, reasons: &mut Vec<String>) {
    const METACHARACTERS: &[(char, &str)] = &[
        (';', "`;` (command separator)"),
        ('&', "`&` (background or `&&` chain)"),
        ('|', "`|` (pipe or `||` chain)"),
        ('`', "a backtick (command substitution)"),
        ('$', "`$` (variable expansion or `$(…)` substitution)"),
        ('<', "`<` (redirection)"),
        ('>', "`>` (redirection)"),
        ('(', "`(` (subshell)"),
        (')', "`)` (subshell)"),
        ('{', "`{` (brace expansion or group)"),
        ('}', "`}` (brace expansion or group)"),
        ('\\', "a backslash (escape)"),
        ('!', "`!` (history expansion)"),
        ('#', "`#` (comment)"),
    ];
    for (character, name) in METACHARACTERS {
        if text.contains(*character) {
            push_once(reasons, format!("contains {name}"));
        }
    }
    if text.chars().any(|c| c == '\n' || c == '\r') {
        push_once(reasons, "contains a line break".to_owned());
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        push_once(reasons, "contains a control character".to_owned());
    }
    if !text.is_ascii() {
        push_once(
            reasons,
            "contains a non-ASCII character (look-alikes are not allowed)".to_owned(),
        );
    }
}

fn push_once(reasons: &mut Vec<String>, reason: String) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

#[cfg(test)]
mod tests;
