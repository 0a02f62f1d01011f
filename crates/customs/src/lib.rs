//! The customs domain: declarations and their items ([`declaration`]), the risk policy that
//! turns a declaration's scans into findings, a score and a channel ([`risk`]), inspectors'
//! verdicts, the audit log, and the [`store`] interface with the domain rules every storage
//! engine shares. It knows nothing of models, transports or a particular database.

pub mod declaration;
pub mod ledger;
pub mod principal;
pub mod risk;
pub mod store;
pub mod stored_codes;
