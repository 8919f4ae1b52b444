//! A contact as answered, and the bodies of a create (or upsert) and of a partial update.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::de::not_null;
use crate::enums::{Channel, ContactStatus};

/// A contact's `metadata`: a JSON object of any depth.
pub type Metadata = Map<String, Value>;

/// A contact as the API answers it. Every field is always present; unset ones are `null`.
///
/// Timestamps are RFC 3339 strings in UTC with microseconds (`2026-01-25T10:30:00.000000Z`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// `cnt_` and 29 characters of `[0-9a-z]`; sorts by creation.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^cnt_[0-9a-z]+$",
            example = "cnt_038ggac0fy000a0wp1kh1adwpwetq"
        )
    )]
    pub id: String,
    /// E.164, unique in the workspace and mode.
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            pattern = r"^\+[1-9][0-9]{1,14}$",
            example = "+1234567890"
        )
    )]
    pub phone: Option<String>,
    /// As sent; unique in the workspace and mode, matched case-insensitively.
    #[cfg_attr(feature = "openapi", schema(required = true, format = Email, example = "john@example.com"))]
    pub email: Option<String>,
    /// The first name.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "John"))]
    pub first_name: Option<String>,
    /// The last name.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "Doe"))]
    pub last_name: Option<String>,
    /// `first_name` and `last_name` joined by one space; null when both are. Read-only.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "John Doe"))]
    pub full_name: Option<String>,
    /// The channel to reach the contact on.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub preferred_channel: Option<Channel>,
    /// Custom fields: a JSON object of any shape; `{}` when empty.
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_object))]
    pub metadata: Metadata,
    /// `active`, `inactive`, or `deleted` in the answer of a delete.
    pub status: ContactStatus,
    /// When the contact was created: RFC 3339, UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
    /// When the contact last changed; moves forward on every change, and only on a change.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub updated_at: String,
    /// When the newest outbound message to the contact was sent.
    #[cfg_attr(feature = "openapi", schema(required = true, format = DateTime))]
    pub last_contacted: Option<String>,
    /// How the contact is known on each channel, beside `phone` and `email`; `[]` when none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub identities: Vec<Identity>,
    /// The version of the contact from the answer's `ETag` header, kept by clients for
    /// `If-Match`; never in the JSON (`None` for contacts read from a list).
    #[serde(skip)]
    pub etag: Option<String>,
}

impl Contact {
    /// The fields of a contact answer a request may not set.
    pub const READ_ONLY: [&'static str; 5] = [
        "id",
        "full_name",
        "created_at",
        "updated_at",
        "last_contacted",
    ];
}

/// One way a contact is known on a channel: `{"type": "instagram", "value": "17841400000000001"}`.
/// `phone` and `whatsapp` values are E.164, `email` values addresses, the others 1–128
/// printable characters without spaces. Unique per workspace, mode and type; `phone` and
/// `email` identities share their uniqueness with the primary `phone` and `email`. Its ref
/// form is `TYPE:VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    /// `phone`, `email`, `whatsapp`, `instagram`, `messenger`, `telegram` or `external`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "instagram"))]
    pub kind: String,
    /// The identifier on that channel.
    #[cfg_attr(feature = "openapi", schema(example = "17841400000000001"))]
    pub value: String,
}

impl Identity {
    /// An identity of this type and value.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Identity {
        Identity {
            kind: kind.into(),
            value: value.into(),
        }
    }
}

/// The body of a create (`POST /v2/contact`), of an upsert and of a batch item. A contact
/// needs a phone, an email, or both; a field sent as `null` stays unset. Only the fields
/// set are sent.
///
/// ```
/// use contactd_wire::{Channel, NewContact};
/// use serde_json::json;
///
/// let new = NewContact::with_phone("+1234567890")
///     .email("john@example.com")
///     .first_name("John")
///     .last_name("Doe")
///     .preferred_channel(Channel::Whatsapp)
///     .metadata(json!({"plan": "premium"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactCreate, description = "The body of a create \
    (`POST /v2/contact`), of an upsert and of a batch item. A contact needs a phone, an email, \
    or both; a field sent as `null` stays unset.", example = json!({
    "phone": "+1234567890", "email": "john@example.com", "first_name": "John",
    "last_name": "Doe", "preferred_channel": "whatsapp",
    "metadata": {"plan": "premium", "tags": ["vip"]}
})))]
pub struct NewContact {
    /// E.164 (`+`, then 2–15 digits, the first not 0), unique in the workspace and mode.
    /// With `default_country`, also a national number of that country.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "+1234567890"))]
    pub phone: Option<String>,
    /// A syntactically valid ASCII address, kept as sent; unique in the workspace and
    /// mode, matched case-insensitively.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254, example = "john@example.com"))]
    pub email: Option<String>,
    /// The first name: not blank, at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 255, example = "John")
    )]
    pub first_name: Option<String>,
    /// The last name: not blank, at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 255, example = "Doe")
    )]
    pub last_name: Option<String>,
    /// The channel to reach the contact on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_channel: Option<Channel>,
    /// Any JSON object (at most 16 KiB serialized and 10 levels deep); `null` members are
    /// dropped. Anything else is `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_sent))]
    pub metadata: Option<Value>,
    /// Channel identities (at most 20); each is unique in the workspace and mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identities: Option<Vec<Identity>>,
    /// `active` unless sent; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::SettableContactStatus>))]
    pub status: Option<ContactStatus>,
    /// ISO 3166 alpha-2 (e.g. `GB`), not stored: a `phone` that is not E.164 is then read
    /// the way that country writes numbers (`07911 123456` → `+447911123456`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{2}$", example = "GB"))]
    pub default_country: Option<String>,
}

impl NewContact {
    /// An empty contact; set a phone or an email before sending it.
    pub fn new() -> NewContact {
        NewContact::default()
    }

    /// A contact with this phone.
    pub fn with_phone(phone: impl Into<String>) -> NewContact {
        NewContact::new().phone(phone)
    }

    /// A contact with this email.
    pub fn with_email(email: impl Into<String>) -> NewContact {
        NewContact::new().email(email)
    }

    /// Sets the phone.
    pub fn phone(mut self, phone: impl Into<String>) -> NewContact {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> NewContact {
        self.email = Some(email.into());
        self
    }

    /// Sets the first name.
    pub fn first_name(mut self, first_name: impl Into<String>) -> NewContact {
        self.first_name = Some(first_name.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, last_name: impl Into<String>) -> NewContact {
        self.last_name = Some(last_name.into());
        self
    }

    /// Sets the preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> NewContact {
        self.preferred_channel = Some(channel);
        self
    }

    /// Sets the metadata, a JSON object (e.g. `json!({"plan": "premium"})`).
    pub fn metadata(mut self, metadata: impl Into<Value>) -> NewContact {
        self.metadata = Some(metadata.into());
        self
    }

    /// Adds an identity (`"instagram"`, `"17841400000000001"`).
    pub fn identity(mut self, kind: impl Into<String>, value: impl Into<String>) -> NewContact {
        self.identities
            .get_or_insert_with(Vec::new)
            .push(Identity::new(kind, value));
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: ContactStatus) -> NewContact {
        self.status = Some(status);
        self
    }

    /// Lets the server read a national `phone` as written in this country (`GB`, `US`).
    pub fn default_country(mut self, country: impl Into<String>) -> NewContact {
        self.default_country = Some(country.into());
        self
    }
}

/// One field of a partial update: left as it is, cleared (sent as `null`), or set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: the field keeps its value.
    #[default]
    Keep,
    /// Sent as `null`: the field is cleared.
    Clear,
    /// Sent: the field takes this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the request.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// `None` when kept, `Some(None)` when cleared, `Some(Some(value))` when set.
    pub fn into_option(self) -> Option<Option<T>> {
        match self {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(value) => Some(Some(value)),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `None` clears, `Some` sets.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Clear, Patch::Set)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => value.serialize(serializer),
            Patch::Keep | Patch::Clear => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// `null` clears, a value sets; a field left out is [`Patch::Keep`] through
    /// `#[serde(default)]`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Patch::from)
    }
}

/// A partial update (`PUT /v2/contact/{ref}`): only the fields sent change; a field sent as
/// `null` is cleared (phone and email cannot both end up null).
///
/// ```
/// use contactd_wire::ContactUpdate;
/// use serde_json::json;
///
/// // Metadata merges: "plan" is replaced, "source" removed, other keys stay.
/// let update = ContactUpdate::new()
///     .email("john.doe@newcompany.com")
///     .clear_last_name()
///     .metadata(json!({"plan": "enterprise", "source": null}));
/// assert_eq!(
///     serde_json::to_value(&update).unwrap(),
///     json!({"email": "john.doe@newcompany.com", "last_name": null,
///            "metadata": {"plan": "enterprise", "source": null}}),
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "The body of a partial update \
    (`PUT /v2/contact/{ref}`): only the fields sent change; a field sent as `null` is cleared \
    (phone and email cannot both end up null).",
    example = json!({"last_name": "Smith", "metadata": {"plan": "enterprise", "trial": null}})))]
pub struct ContactUpdate {
    /// E.164; with `default_country`, also a national number of that country.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "+1234567890"))]
    pub phone: Patch<String>,
    /// An email address; phone and email cannot both be cleared.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Email, max_length = 254, example = "john@example.com"))]
    pub email: Patch<String>,
    /// The first name.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 255))]
    pub first_name: Patch<String>,
    /// The last name.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 255))]
    pub last_name: Patch<String>,
    /// The preferred channel.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Channel>))]
    pub preferred_channel: Patch<Channel>,
    /// A JSON Merge Patch (RFC 7396) of the metadata: keys sent replace, `null` removes a
    /// key, nested objects merge, arrays replace; `null` empties it. The limits (16 KiB,
    /// 10 levels) apply to the merged result.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_sent))]
    pub metadata: Patch<Value>,
    /// The contact's identities: the list sent replaces the set; `null` or `[]` removes
    /// them all (a contact keeps a phone, an email or an identity).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Identity>>))]
    pub identities: Patch<Vec<Identity>>,
    /// `active` or `inactive`; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::SettableContactStatus>))]
    pub status: Option<ContactStatus>,
    /// ISO 3166 alpha-2, not stored: how to read a national `phone` (see `ContactCreate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{2}$", example = "GB"))]
    pub default_country: Option<String>,
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> ContactUpdate {
        ContactUpdate::default()
    }

    /// Sets the phone.
    pub fn phone(mut self, phone: impl Into<String>) -> ContactUpdate {
        self.phone = Patch::Set(phone.into());
        self
    }

    /// Clears the phone.
    pub fn clear_phone(mut self) -> ContactUpdate {
        self.phone = Patch::Clear;
        self
    }

    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> ContactUpdate {
        self.email = Patch::Set(email.into());
        self
    }

    /// Clears the email.
    pub fn clear_email(mut self) -> ContactUpdate {
        self.email = Patch::Clear;
        self
    }

    /// Sets the first name.
    pub fn first_name(mut self, first_name: impl Into<String>) -> ContactUpdate {
        self.first_name = Patch::Set(first_name.into());
        self
    }

    /// Clears the first name.
    pub fn clear_first_name(mut self) -> ContactUpdate {
        self.first_name = Patch::Clear;
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, last_name: impl Into<String>) -> ContactUpdate {
        self.last_name = Patch::Set(last_name.into());
        self
    }

    /// Clears the last name.
    pub fn clear_last_name(mut self) -> ContactUpdate {
        self.last_name = Patch::Clear;
        self
    }

    /// Sets the preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> ContactUpdate {
        self.preferred_channel = Patch::Set(channel);
        self
    }

    /// Clears the preferred channel.
    pub fn clear_preferred_channel(mut self) -> ContactUpdate {
        self.preferred_channel = Patch::Clear;
        self
    }

    /// Merges this JSON object into the metadata (a `null` member removes its key).
    pub fn metadata(mut self, merge_patch: impl Into<Value>) -> ContactUpdate {
        self.metadata = Patch::Set(merge_patch.into());
        self
    }

    /// Empties the metadata.
    pub fn clear_metadata(mut self) -> ContactUpdate {
        self.metadata = Patch::Clear;
        self
    }

    /// Replaces the identities with these.
    pub fn identities(mut self, identities: Vec<Identity>) -> ContactUpdate {
        self.identities = Patch::Set(identities);
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: ContactStatus) -> ContactUpdate {
        self.status = Some(status);
        self
    }

    /// Lets the server read a national `phone` as written in this country.
    pub fn default_country(mut self, country: impl Into<String>) -> ContactUpdate {
        self.default_country = Some(country.into());
        self
    }
}

/// `metadata` as sent: an object of any shape, or `null`. `additionalProperties` is said
/// outright: without it openapi-typescript types the object `Record<string, never>`, and
/// `{plan: "premium"}` does not type-check.
#[cfg(feature = "openapi")]
fn metadata_sent() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{AdditionalProperties, SchemaType};
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some(
            "A JSON object of any shape, at most 16 KiB serialized and 10 levels deep (the \
             object itself is level 1)",
        ))
        .into()
}

/// A contact's `metadata` as answered: any JSON object, `{}` when empty.
#[cfg(feature = "openapi")]
fn metadata_object() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::AdditionalProperties;
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some("A JSON object of any shape; `{}` when empty."))
        .examples([serde_json::json!({"plan": "premium"})])
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_sends_only_what_changes() {
        assert_eq!(
            serde_json::to_value(ContactUpdate::new()).ok(),
            Some(json!({}))
        );
        let update = ContactUpdate::new()
            .first_name("Jo")
            .clear_email()
            .clear_preferred_channel()
            .clear_metadata()
            .status(ContactStatus::Inactive);
        assert_eq!(
            serde_json::to_value(update).ok(),
            Some(
                json!({"first_name": "Jo", "email": null, "preferred_channel": null,
                   "metadata": null, "status": "inactive"})
            )
        );
        assert_eq!(Patch::from(None::<String>), Patch::Clear);
        assert_eq!(Patch::from(Some(1)), Patch::Set(1));
    }

    #[test]
    fn a_patch_reads_absent_null_and_value_apart() {
        let update: ContactUpdate =
            serde_json::from_value(json!({"email": null, "first_name": "Jo"})).unwrap_or_default();
        assert_eq!(update.phone, Patch::Keep);
        assert_eq!(update.email, Patch::Clear);
        assert_eq!(update.first_name, Patch::Set("Jo".to_owned()));
    }

    #[test]
    fn status_may_be_left_out_but_not_null() {
        assert!(serde_json::from_value::<NewContact>(json!({"status": null})).is_err());
        assert!(serde_json::from_value::<ContactUpdate>(json!({"status": null})).is_err());
        let new: NewContact = serde_json::from_value(json!({"phone": "+1"})).unwrap_or_default();
        assert_eq!(new.status, None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_value::<NewContact>(json!({"id": "cnt_1"}))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("unknown field `id`")));
    }

    #[test]
    fn a_new_contact_sends_only_what_is_set() {
        let new = NewContact::with_email("a@example.com").default_country("GB");
        assert_eq!(
            serde_json::to_value(new).ok(),
            Some(json!({"email": "a@example.com", "default_country": "GB"}))
        );
    }
}
