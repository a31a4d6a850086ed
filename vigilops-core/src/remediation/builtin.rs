//! The six built-in runbooks (`remediation-and-ai.md` §2), written in the same YAML as
//! user-defined ones and loaded through the same validation, so they can never hold a command
//! the safety check would refuse.

use super::runbook::{InvalidRunbook, Runbook};

/// The built-in runbook documents, in the reference's order.
pub const BUILTIN_YAML: [(&str, &str); 6] = [
    ("disk_cleanup", include_str!("builtin/disk_cleanup.yaml")),
    (
        "service_restart",
        include_str!("builtin/service_restart.yaml"),
    ),
    ("zombie_killer", include_str!("builtin/zombie_killer.yaml")),
    (
        "memory_pressure",
        include_str!("builtin/memory_pressure.yaml"),
    ),
    ("log_rotation", include_str!("builtin/log_rotation.yaml")),
    (
        "connection_reset",
        include_str!("builtin/connection_reset.yaml"),
    ),
];

/// Loads the built-in runbooks.
pub fn builtin_runbooks() -> Result<Vec<Runbook>, InvalidRunbook> {
    BUILTIN_YAML
        .iter()
        .map(|(_, yaml)| Runbook::from_yaml(yaml))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::remediation::runbook::{ALERT_LABELS, Risk};

    #[test]
    fn every_builtin_passes_validation_with_its_reference_risk_and_cooldown() {
        let runbooks = builtin_runbooks().expect("the built-ins load");
        let summary: Vec<(&str, Risk, u64)> = runbooks
            .iter()
            .map(|r| (r.name(), r.risk(), r.spec().cooldown_seconds))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("disk_cleanup", Risk::Auto, 600),
                ("service_restart", Risk::Confirm, 300),
                ("zombie_killer", Risk::Auto, 300),
                ("memory_pressure", Risk::Confirm, 600),
                ("log_rotation", Risk::Auto, 600),
                ("connection_reset", Risk::Confirm, 300),
            ]
        );
        for ((name, _), runbook) in BUILTIN_YAML.iter().zip(&runbooks) {
            assert_eq!(*name, runbook.name());
        }
    }

    #[test]
    fn every_builtin_step_resolves_with_the_alert_labels() {
        let labels: BTreeMap<String, String> = ALERT_LABELS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("pid".to_owned(), "4242".to_owned())])
            .collect();
        for runbook in builtin_runbooks().expect("the built-ins load") {
            let spec = runbook.spec();
            for step in spec
                .pre_checks
                .iter()
                .chain(&spec.steps)
                .chain(&spec.verify.commands)
                .chain(&spec.rollback)
            {
                let resolved = runbook.resolve(step, &labels);
                assert!(
                    resolved.is_ok(),
                    "{} / {}: {resolved:?}",
                    runbook.name(),
                    step.name
                );
            }
        }
    }

    #[test]
    fn disk_cleanup_deletes_only_old_regular_files_under_tmp_and_var_log() {
        let runbooks = builtin_runbooks().expect("the built-ins load");
        let disk = &runbooks[0];
        let deletions: Vec<&Vec<String>> = disk
            .spec()
            .steps
            .iter()
            .map(|s| &s.run)
            .filter(|run| run.iter().any(|a| a == "-delete"))
            .collect();
        assert_eq!(deletions.len(), 2);
        let params = &disk.spec().params;
        assert_eq!(params["tmp_dir"], "/tmp");
        assert_eq!(params["log_dir"], "/var/log");
        for run in deletions {
            assert!(["{tmp_dir}", "{log_dir}"].contains(&run[1].as_str()));
            assert!(run.windows(2).any(|w| w[0] == "-type" && w[1] == "f"));
            assert!(run.windows(2).any(|w| w[0] == "-mtime" && w[1] == "+7"));
        }
    }
}
