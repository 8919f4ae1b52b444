//! Tenancy: every row belongs to one workspace and one mode (live or test data).

use std::fmt;

use strum::{EnumString, IntoStaticStr};

/// Live and test data of one workspace are kept apart, as two tenants.
///
/// Also the `--mode` / `--data-mode` value of the command line (hence `ValueEnum`), so
/// that the command line needs no copy of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, EnumString, clap::ValueEnum)]
#[strum(serialize_all = "lowercase")]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Mode> {
        s.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::{Channel, ContactStatus};
    use crate::domain::conversation::{ConversationStatus, Direction};

    /// The derived names are the contract's strings, and parse back.
    #[test]
    fn string_enums_keep_their_wire_names() {
        for (mode, name) in [(Mode::Live, "live"), (Mode::Test, "test")] {
            assert_eq!(mode.as_str(), name);
            assert_eq!(Mode::parse(name), Some(mode));
        }
        assert_eq!(Channel::ALL, ["whatsapp", "instagram", "sms", "email"]);
        for name in Channel::ALL {
            assert_eq!(Channel::parse(name).map(Channel::as_str), Some(*name));
        }
        assert_eq!(ConversationStatus::ALL, ["open", "closed", "archived"]);
        for name in ConversationStatus::ALL {
            let status = ConversationStatus::parse(name).map(ConversationStatus::as_str);
            assert_eq!(status, Some(*name));
        }
        for (direction, name) in [
            (Direction::Inbound, "inbound"),
            (Direction::Outbound, "outbound"),
        ] {
            assert_eq!(direction.as_str(), name);
            assert_eq!(Direction::parse(name), Some(direction));
        }
        assert_eq!(ContactStatus::Deleted.as_str(), "deleted");
        assert_eq!(
            crate::domain::contact::settable_status("inactive"),
            Some(ContactStatus::Inactive)
        );
        for refused in ["deleted", "Active", "LIVE", " sms", ""] {
            assert_eq!(
                crate::domain::contact::settable_status(refused),
                None,
                "{refused}"
            );
            assert_eq!(Mode::parse(refused), None, "{refused}");
            assert_eq!(Channel::parse(refused), None, "{refused}");
        }
    }
}
