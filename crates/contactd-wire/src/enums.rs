//! The closed sets of string values of the API.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

/// A string that is none of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What was given.
    pub received: String,
    /// The values there are.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not one of: {}",
            self.received,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// Declares a string enumeration: its values as the API writes them, `as_str`, `ALL`,
/// `FromStr`, `Display`, serde (a value outside the set is an error saying the set) and,
/// with the `openapi` feature, its schema.
macro_rules! api_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, as the API writes it.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            /// The value as the API writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value named `s` exactly, if there is one.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| UnknownValue {
                    received: s.to_owned(),
                    expected: $name::ALL,
                })
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Values;

                impl Visitor<'_> for Values {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "one of: {}", $name::ALL.join(", "))
                    }

                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        $name::parse(s).ok_or_else(|| E::invalid_value(Unexpected::Str(s), &self))
                    }
                }

                deserializer.deserialize_str(Values)
            }
        }
    };
}

api_enum! {
    /// A messaging channel: a contact's `preferred_channel`, a conversation's `channel`.
    Channel {
        /// `whatsapp`
        Whatsapp => "whatsapp",
        /// `instagram`
        Instagram => "instagram",
        /// `sms`
        Sms => "sms",
        /// `email`
        Email => "email",
    }
}

api_enum! {
    /// A contact's status: `active` (the default) or `inactive`; `deleted` only in the
    /// answer to a DELETE.
    ContactStatus {
        /// `active`, the default.
        Active => "active",
        /// `inactive`
        Inactive => "inactive",
        /// `deleted`: only in the answer of a delete.
        Deleted => "deleted",
    }
}

api_enum! {
    /// A conversation's status.
    ConversationStatus {
        /// `open`, the default.
        Open => "open",
        /// `closed`
        Closed => "closed",
        /// `archived`
        Archived => "archived",
    }
}

api_enum! {
    /// Which way a message went: `inbound` from the contact, `outbound` to the contact.
    Direction {
        /// `inbound`: from the contact.
        Inbound => "inbound",
        /// `outbound`: to the contact; it sets the contact's `last_contacted`.
        Outbound => "outbound",
    }
}

api_enum! {
    /// What each item of a batch is processed as.
    BatchMode {
        /// Each item is a create; a taken phone or email is an error for that item.
        Create => "create",
        /// Each item is an upsert: found by phone or email and updated, or created.
        Upsert => "upsert",
        /// Each item is a contact as exported (with its `id` and timestamps), written back
        /// as it was into a workspace that holds none of its identifiers; a taken id, phone
        /// or email is an error for that item, never overwritten.
        Restore => "restore",
    }
}

api_enum! {
    /// What happened to one item of a batch; the creates, updates and unchanged ones also
    /// say so in `X-Upsert-Result` when sent alone.
    BatchItemStatus {
        /// The contact was created.
        Created => "created",
        /// The contact was found and changed.
        Updated => "updated",
        /// Upsert: the contact already had every value sent; nothing was written.
        Unchanged => "unchanged",
        /// The item failed; `error` says why.
        Error => "error",
    }
}

api_enum! {
    /// A comparison of a metadata filter (`metadata.PATH[OP]=VALUE`).
    MetadataOp {
        /// Equal (the default, `metadata.plan=premium`); an array matches when it holds it.
        Eq => "eq",
        /// Not equal, or missing.
        Ne => "ne",
        /// `true`: the key is there; `false`: it is not.
        Exists => "exists",
        /// Greater than (numbers compare as numbers, anything else as text).
        Gt => "gt",
        /// Greater than or equal.
        Gte => "gte",
        /// Less than.
        Lt => "lt",
        /// Less than or equal.
        Lte => "lte",
    }
}

api_enum! {
    /// A field a contact list can be sorted by.
    SortField {
        /// When the contact was created (the default).
        CreatedAt => "created_at",
        /// When the contact last changed.
        UpdatedAt => "updated_at",
        /// The newest outbound message.
        LastContacted => "last_contacted",
        /// The full name, case-insensitively.
        FullName => "full_name",
    }
}

/// The status a client sets or filters on.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SettableContactStatus {
    /// `active`
    Active,
    /// `inactive`
    Inactive,
}

/// Every value of `error` in the error envelope.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    InvalidInput,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    DuplicateContact,
    IdempotencyConflict,
    MergeConflict,
    PreconditionFailed,
    RequestTimeout,
    PayloadTooLarge,
    RateLimited,
    InternalError,
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_and_write_as_the_api_spells_them() {
        assert_eq!(
            serde_json::to_value(Channel::Whatsapp).ok(),
            Some(json!("whatsapp"))
        );
        assert_eq!(
            serde_json::from_value::<SortField>(json!("last_contacted")).ok(),
            Some(SortField::LastContacted)
        );
        assert_eq!("sms".parse::<Channel>(), Ok(Channel::Sms));
        assert_eq!(Direction::ALL, ["inbound", "outbound"]);
    }

    #[test]
    fn an_unknown_value_says_the_set() {
        let err = serde_json::from_value::<Channel>(json!("fax"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid value: string \"fax\", expected one of: whatsapp, instagram, sms, email")
        );
        let err = serde_json::from_value::<Channel>(json!(5))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid type: integer `5`, expected one of: whatsapp, instagram, sms, email")
        );
    }
}
