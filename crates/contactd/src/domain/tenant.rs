//! Tenancy: every row belongs to one workspace and one mode (live or test data).

use std::fmt;

/// Live and test data of one workspace are kept apart, as two tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "live" => Some(Mode::Live),
            "test" => Some(Mode::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tenant a request acts for. It comes from the API key only, never from the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub workspace_id: String,
    pub mode: Mode,
}
