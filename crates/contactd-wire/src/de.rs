//! Serde helpers shared by the request types.

use serde::{Deserialize, Deserializer};

/// For an optional field that may be left out but not sent as `null`: `null` is then an
/// error of the field's own type ("expected one of: active, inactive") instead of `None`.
pub fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}
