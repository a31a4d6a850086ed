//! The alerting engine's pure foundations: detectors over samples, the rule model with its
//! validation and wire shapes, and the per-(rule, target) state machine. Nothing here reads the
//! clock, touches storage or sends notifications; callers pass time and data in.

pub mod detect;
pub mod rule;
pub mod state;
pub mod wire;
