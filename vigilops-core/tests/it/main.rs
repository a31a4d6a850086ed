//! Integration tests of vigilops-core: the store conformance story on both backends.

mod store;
