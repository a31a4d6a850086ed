//! Python objects ⇄ the core's serde types. Inputs go through `serde_json::Value` so they are
//! read exactly as the server reads JSON (including its lenient number and time formats);
//! outputs become plain dicts, lists, strings and numbers.

use pyo3::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::invalid_argument;

/// `value` as plain Python objects (times become RFC 3339 strings).
pub(crate) fn to_python<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(PyErr::from)
}

/// A wire type read from a JSON-like Python object (dicts, lists, str, int, float, bool, None).
pub(crate) fn from_python<T: DeserializeOwned>(
    object: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<T> {
    let value: serde_json::Value =
        pythonize::depythonize(object).map_err(|error| invalid_argument(what, &error))?;
    serde_json::from_value(value).map_err(|error| invalid_argument(what, &error))
}
