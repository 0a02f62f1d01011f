//! From detections to customs risk: which classes declared goods cover ([`Taxonomy`]), and the
//! risk formula that turns a declaration's scans into findings, a score and a channel
//! ([`RiskPolicy::assess`]).

mod assess;
mod taxonomy;

pub use assess::RiskPolicy;
pub use taxonomy::{ModelClasses, Taxonomies, Taxonomy, TaxonomyError};
