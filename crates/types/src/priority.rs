//! Priority levels: live portal traffic ahead of back-office re-scans.

use std::fmt;

/// How urgent a scan is. Each level has its own queue bound; a batch takes live scans first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Priority {
    /// A scanner workstation waiting for the answer.
    #[default]
    Live,
    /// Re-scans and audits that can wait behind live traffic.
    Backoffice,
}

impl Priority {
    /// Every level, most urgent first.
    pub const ALL: [Priority; 2] = [Priority::Live, Priority::Backoffice];

    /// Position in [`Priority::ALL`].
    pub fn index(self) -> usize {
        match self {
            Priority::Live => 0,
            Priority::Backoffice => 1,
        }
    }

    /// The label used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Live => "live",
            Priority::Backoffice => "backoffice",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
