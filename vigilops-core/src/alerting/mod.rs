//! Alerting. The engine's pure foundations: detectors over samples, the rule model with its
//! validation and wire shapes, the per-(rule, target) state machine, silence schedules and
//! notification grouping; nothing in those reads the clock, touches storage or sends
//! notifications, callers pass time and data in. [`service`] is what the REST API calls (rules,
//! alerts, silences over the store).

#[cfg(feature = "notify")]
mod batch;
pub mod detect;
#[cfg(feature = "notify")]
pub mod dispatch;
#[cfg(feature = "notify")]
pub mod engine;
pub mod group;
pub mod rule;
pub mod service;
pub mod silence;
pub mod state;
pub mod wire;
