//! The runbooks a cluster can run: the six built-ins, user-defined runbooks from YAML files
//! (`VIGILOPS_RUNBOOK_DIR`, read at start) and from the API (kept in the shared settings), and
//! per-runbook parameter values that replace the defaults (`tmp_dir`, `log_dir`, … of a host
//! layout that differs from the usual one).
//!
//! Everything is validated when it enters: a runbook, or a parameter value, that would make a
//! command fail the safety check is refused with the reasons, and never stored. The catalog is
//! read from the store on every use, so a change made on one replica holds on all of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::builtin::builtin_runbooks;
use super::runbook::{InvalidRunbook, Runbook};
use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// The setting holding the runbooks defined through the API (`{name: yaml}`).
const API_RUNBOOKS: &str = "remediation.runbooks";
/// The setting holding parameter values (`{runbook: {param: value}}`).
const PARAMS: &str = "remediation.runbook_params";

/// Where a runbook comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Builtin,
    File,
    Api,
}

/// A runbook and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub runbook: Runbook,
    pub source: Source,
}

/// A runbook file refused at start, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefusedFile {
    pub file: String,
    pub reasons: Vec<String>,
}

/// What can go wrong changing the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] InvalidRunbook),
    /// A runbook of this name exists and is not the API's to replace.
    #[error("runbook {0:?} is {1} and cannot be replaced or deleted through the API")]
    NotReplaceable(String, &'static str),
    #[error("runbook {0:?} not found")]
    NotFound(String),
    #[error("runbook {runbook:?} has no parameter {param:?}")]
    UnknownParam { runbook: String, param: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The cluster's runbooks.
#[derive(Debug, Clone)]
pub struct Catalog {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    builtin: Arc<Vec<Runbook>>,
    files: Arc<Vec<Runbook>>,
    refused: Arc<Vec<RefusedFile>>,
}

impl Catalog {
    /// The built-ins, plus the `*.yaml`/`*.yml` files of `dir` when given. A file that is not a
    /// valid runbook, or names a built-in, is refused with its reasons (logged and listed),
    /// never half-loaded.
    pub fn load(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        dir: Option<&Path>,
    ) -> Result<Self, InvalidRunbook> {
        let builtin = builtin_runbooks()?;
        let mut files = Vec::new();
        let mut refused = Vec::new();
        if let Some(dir) = dir {
            for (file, result) in read_dir(dir) {
                match result {
                    Ok(runbook) if builtin.iter().any(|b| b.name() == runbook.name()) => {
                        refused.push(RefusedFile {
                            file,
                            reasons: vec![format!(
                                "{:?} is the name of a built-in runbook",
                                runbook.name()
                            )],
                        });
                    }
                    Ok(runbook) => files.push(runbook),
                    Err(reasons) => refused.push(RefusedFile { file, reasons }),
                }
            }
        }
        for file in &refused {
            tracing::warn!(file = %file.file, reasons = ?file.reasons, "runbook file refused");
        }
        Ok(Self {
            store,
            clock,
            builtin: Arc::new(builtin),
            files: Arc::new(files),
            refused: Arc::new(refused),
        })
    }

    /// The runbook files refused at start.
    pub fn refused(&self) -> &[RefusedFile] {
        &self.refused
    }

    /// Every runbook, with the parameter values set through the API applied: built-ins first,
    /// then files, then API runbooks (the matching order's tie-break).
    pub async fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let params = self.params().await?;
        let mut entries: Vec<Entry> = self
            .builtin
            .iter()
            .map(|r| (r.clone(), Source::Builtin))
            .chain(self.files.iter().map(|r| (r.clone(), Source::File)))
            .chain(
                self.api_runbooks()
                    .await?
                    .into_iter()
                    .map(|r| (r, Source::Api)),
            )
            .map(|(runbook, source)| Entry { runbook, source })
            .collect();
        for entry in &mut entries {
            if let Some(values) = params.get(entry.runbook.name()) {
                match with_params(&entry.runbook, values) {
                    Ok(runbook) => entry.runbook = runbook,
                    Err(error) => {
                        // Values are checked when set; a runbook that changed since keeps its
                        // defaults rather than running with values no longer valid.
                        tracing::warn!(%error, "runbook parameters ignored");
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Every runbook, in matching order.
    pub async fn runbooks(&self) -> Result<Vec<Runbook>, StoreError> {
        Ok(self
            .entries()
            .await?
            .into_iter()
            .map(|e| e.runbook)
            .collect())
    }

    /// Defines (or replaces) a runbook through the API from its YAML text.
    pub async fn define(&self, yaml: &str) -> Result<Runbook, CatalogError> {
        let runbook = Runbook::from_yaml(yaml)?;
        self.replaceable(runbook.name())?;
        let mut stored = self.setting_map(API_RUNBOOKS).await?;
        stored.insert(runbook.name().to_owned(), Value::String(yaml.to_owned()));
        self.store
            .put_setting(API_RUNBOOKS, &Value::Object(stored), self.clock.now())
            .await?;
        Ok(runbook)
    }

    /// Deletes a runbook defined through the API.
    pub async fn remove(&self, name: &str) -> Result<(), CatalogError> {
        self.replaceable(name)?;
        let mut stored = self.setting_map(API_RUNBOOKS).await?;
        if stored.remove(name).is_none() {
            return Err(CatalogError::NotFound(name.to_owned()));
        }
        self.store
            .put_setting(API_RUNBOOKS, &Value::Object(stored), self.clock.now())
            .await?;
        Ok(())
    }

    /// Sets parameter values of a runbook (any source). Each must be a declared parameter, and
    /// the runbook is validated again with the values, so `log_dir: /etc` is refused.
    pub async fn set_params(
        &self,
        name: &str,
        values: BTreeMap<String, String>,
    ) -> Result<Runbook, CatalogError> {
        let entries = self.entries().await?;
        let entry = entries
            .iter()
            .find(|e| e.runbook.name() == name)
            .ok_or_else(|| CatalogError::NotFound(name.to_owned()))?;
        let base = self
            .builtin
            .iter()
            .chain(self.files.iter())
            .find(|r| r.name() == name)
            .cloned()
            .unwrap_or_else(|| entry.runbook.clone());
        if let Some(param) = values.keys().find(|p| !base.spec().params.contains_key(*p)) {
            return Err(CatalogError::UnknownParam {
                runbook: name.to_owned(),
                param: param.clone(),
            });
        }
        let runbook = with_params(&base, &values)?;
        let mut stored = self.setting_map(PARAMS).await?;
        stored.insert(name.to_owned(), json!(values));
        self.store
            .put_setting(PARAMS, &Value::Object(stored), self.clock.now())
            .await?;
        Ok(runbook)
    }

    fn replaceable(&self, name: &str) -> Result<(), CatalogError> {
        if self.builtin.iter().any(|r| r.name() == name) {
            return Err(CatalogError::NotReplaceable(name.to_owned(), "built in"));
        }
        if self.files.iter().any(|r| r.name() == name) {
            return Err(CatalogError::NotReplaceable(
                name.to_owned(),
                "loaded from a file",
            ));
        }
        Ok(())
    }

    async fn api_runbooks(&self) -> Result<Vec<Runbook>, StoreError> {
        let stored = self.setting_map(API_RUNBOOKS).await?;
        Ok(stored
            .values()
            .filter_map(Value::as_str)
            .filter_map(|yaml| match Runbook::from_yaml(yaml) {
                Ok(runbook) => Some(runbook),
                Err(error) => {
                    tracing::warn!(%error, "stored runbook no longer valid; skipped");
                    None
                }
            })
            .collect())
    }

    async fn params(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
        Ok(self
            .setting_map(PARAMS)
            .await?
            .into_iter()
            .filter_map(|(name, values)| Some((name, serde_json::from_value(values).ok()?)))
            .collect())
    }

    async fn setting_map(&self, key: &str) -> Result<serde_json::Map<String, Value>, StoreError> {
        Ok(match self.store.setting(key).await? {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        })
    }
}

/// `runbook` with `values` replacing its parameter defaults, validated again.
fn with_params(
    runbook: &Runbook,
    values: &BTreeMap<String, String>,
) -> Result<Runbook, InvalidRunbook> {
    let mut spec = runbook.spec().clone();
    for (param, value) in values {
        if let Some(slot) = spec.params.get_mut(param) {
            value.clone_into(slot);
        }
    }
    Runbook::from_spec(spec)
}

/// Each runbook file of `dir`, parsed and validated, by file name, in name order.
fn read_dir(dir: &Path) -> Vec<(String, Result<Runbook, Vec<String>>)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            return vec![(
                dir.display().to_string(),
                Err(vec![format!("cannot read the runbook directory: {error}")]),
            )];
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let file = path.display().to_string();
            let result = std::fs::read_to_string(&path)
                .map_err(|error| vec![format!("cannot read: {error}")])
                .and_then(|text| Runbook::from_yaml(&text).map_err(|invalid| invalid.reasons));
            (file, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_loads_valid_runbooks_and_refuses_the_rest_with_reasons() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        };
        write(
            "a_ok.yaml",
            "name: nginx_reload\ndescription: reload\nrisk: confirm\n\
             steps:\n  - name: test config\n    run: [nginx, -t]\n",
        );
        write(
            "b_bad.yaml",
            "name: wipe\ndescription: no\nrisk: auto\n\
             steps:\n  - name: wipe\n    run: [rm, -rf, /]\n",
        );
        write("c_notes.txt", "ignored");
        let loaded = read_dir(dir.path());
        assert_eq!(loaded.len(), 2);
        assert!(loaded[0].1.is_ok());
        let reasons = loaded[1].1.clone().err().unwrap_or_default();
        assert!(reasons.iter().any(|r| r.contains("step 1")), "{reasons:?}");
    }

    #[test]
    fn parameter_values_are_validated_like_the_runbook() {
        let builtin = builtin_runbooks().unwrap_or_else(|e| panic!("{e}"));
        let Some(cleanup) = builtin.iter().find(|r| r.name() == "disk_cleanup") else {
            panic!("disk_cleanup is built in");
        };
        let sandbox: BTreeMap<String, String> =
            [("tmp_dir".to_owned(), "/tmp/sandbox/tmp".to_owned())].into();
        let moved = with_params(cleanup, &sandbox).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(moved.spec().params["tmp_dir"], "/tmp/sandbox/tmp");
        let hostile: BTreeMap<String, String> = [("tmp_dir".to_owned(), "/etc".to_owned())].into();
        let refused = with_params(cleanup, &hostile)
            .err()
            .unwrap_or_else(|| panic!("deleting under /etc must be refused"));
        assert!(
            refused.reasons.iter().any(|r| r.contains("/etc")),
            "{refused}"
        );
    }
}
