//! A contact restored as it was exported: its id, timestamps and last contact kept.
//!
//! A restore writes a contact back into a workspace that does not hold it (a backup put
//! back, a workspace copied), so an export imported into an empty workspace exports again
//! byte for byte. Only here may a request set `id`, `created_at`, `updated_at` and
//! `last_contacted`; every other field is read by the rules of a create. `full_name` may
//! come along as exported, and must then be what the names give: it is never stored.
//! A restore never overwrites: an id, phone or email the workspace already holds makes
//! the item a duplicate (`domain::write`).

use serde_json::{Map, Value};

use super::contact::{Contact, NewContact};
use super::ids::ContactId;
use super::input;
use super::time::Timestamp;
use super::FieldError;

/// The shortest id body the contract allows (`cnt_` and at least 16 characters).
const MIN_ID_CHARS: usize = 16;
const ID_EXPECTED: &str = "cnt_ followed by 16 to 64 characters of 0-9 and a-z";
const TIME_EXPECTED: &str = "an RFC 3339 time in UTC, e.g. 2026-01-25T10:30:00.000000Z";

/// Reads a restore item: a contact as an export (or the API) shows it.
pub fn contact_from_json(mut body: Map<String, Value>) -> Result<Contact, FieldError> {
    let id = match body.remove("id") {
        None | Some(Value::Null) => return Err(required("id", ID_EXPECTED)),
        Some(value) => contact_id(value)?,
    };
    let created_at = required_time(&mut body, "created_at")?;
    let updated_at = required_time(&mut body, "updated_at")?;
    let last_contacted = match body.remove("last_contacted") {
        None | Some(Value::Null) => None,
        Some(value) => Some(time("last_contacted", value)?),
    };
    let full_name = body.remove("full_name");
    let contact = Contact {
        updated_at,
        last_contacted,
        ..NewContact::from_json(body)?.into_contact(id, created_at)
    };
    if updated_at < created_at {
        return Err(
            FieldError::new("updated_at", "updated_at cannot be before created_at")
                .received(updated_at.to_string())
                .expected(format!("{created_at} or later")),
        );
    }
    let derived = contact.full_name();
    match full_name {
        None => {}
        Some(Value::Null) if derived.is_none() => {}
        Some(Value::String(sent)) if derived.as_deref() == Some(sent.as_str()) => {}
        Some(sent) => {
            return Err(FieldError::new(
                "full_name",
                "full_name is derived from first_name and last_name; send it as they give it, or leave it out",
            )
            .received(sent)
            .expected(derived.map_or(Value::Null, Value::from)))
        }
    }
    Ok(contact)
}

fn contact_id(value: Value) -> Result<ContactId, FieldError> {
    let raw = input::string("id", value)?;
    ContactId::parse(&raw)
        .filter(|id| id.as_str().len() >= ContactId::PREFIX.len() + MIN_ID_CHARS)
        .ok_or_else(|| {
            FieldError::new("id", "A restored contact keeps a contactd contact id")
                .received(input::truncate(&raw, 200))
                .expected(ID_EXPECTED)
        })
}

fn required_time(body: &mut Map<String, Value>, field: &str) -> Result<Timestamp, FieldError> {
    match body.remove(field) {
        None | Some(Value::Null) => Err(required(field, TIME_EXPECTED)),
        Some(value) => time(field, value),
    }
}

fn time(field: &str, value: Value) -> Result<Timestamp, FieldError> {
    let raw = input::string(field, value)?;
    Timestamp::parse_rfc3339_utc(&raw).ok_or_else(|| {
        FieldError::new(field, format!("{field} must be an RFC 3339 time in UTC"))
            .received(input::truncate(&raw, 200))
            .expected(TIME_EXPECTED)
    })
}

fn required(field: &str, expected: &str) -> FieldError {
    FieldError::new(
        field,
        format!("A restore keeps the contact's {field}: it is required"),
    )
    .expected(expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "cnt_038ggac0fy000a0wp1kh1adwpwetq";

    fn restore(v: Value) -> Result<Contact, FieldError> {
        contact_from_json(v.as_object().cloned().unwrap_or_default())
    }

    fn exported() -> Value {
        json!({"id": ID, "phone": "+14155550101", "email": null, "first_name": "Zoë",
            "last_name": "O'Brien", "full_name": "Zoë O'Brien", "preferred_channel": "sms",
            "metadata": {"deep": {"a": [1, {"b": "c"}]}}, "status": "inactive",
            "created_at": "2026-01-25T10:30:00.000001Z", "updated_at": "2026-01-26T10:30:00.000002Z",
            "last_contacted": "2026-01-26T09:00:00.000000Z"})
    }

    #[test]
    fn an_exported_contact_is_restored_with_its_id_and_times() {
        let contact = restore(exported()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(contact.id.as_str(), ID);
        assert_eq!(
            contact.created_at.to_string(),
            "2026-01-25T10:30:00.000001Z"
        );
        assert_eq!(
            contact.updated_at.to_string(),
            "2026-01-26T10:30:00.000002Z"
        );
        assert_eq!(
            contact.last_contacted.map(|t| t.to_string()).as_deref(),
            Some("2026-01-26T09:00:00.000000Z")
        );
        assert_eq!(contact.status.as_str(), "inactive");
        assert_eq!(
            Value::Object(contact.metadata),
            json!({"deep": {"a": [1, {"b": "c"}]}})
        );
    }

    fn field_of(v: Value) -> Option<String> {
        restore(v).err().map(|e| e.field)
    }

    #[test]
    fn ids_and_times_must_be_those_contactd_writes() {
        let with = |field: &str, value: Value| {
            let mut v = exported();
            v[field] = value;
            v
        };
        for id in [
            json!("cnt_short"),
            json!("CNT_038GGAC0FY000A0WP1KH1ADWPWETQ"),
            json!(5),
        ] {
            assert_eq!(field_of(with("id", id)), Some("id".into()));
        }
        let local = json!("2026-01-25T11:30:00+01:00");
        assert_eq!(
            field_of(with("created_at", local)),
            Some("created_at".into())
        );
        assert_eq!(
            field_of(with("updated_at", json!("2026-01-24T00:00:00Z"))),
            Some("updated_at".into())
        );
        assert_eq!(
            field_of(with("last_contacted", json!("soon"))),
            Some("last_contacted".into())
        );
        for field in ["id", "created_at", "updated_at"] {
            let mut v = exported();
            v.as_object_mut().map(|m| m.remove(field));
            assert_eq!(field_of(v), Some(field.into()), "{field} is required");
        }
    }

    #[test]
    fn full_name_may_come_along_but_is_never_set() {
        let mut v = exported();
        v.as_object_mut().map(|m| m.remove("full_name"));
        assert!(restore(v).is_ok());
        let mut v = exported();
        v["full_name"] = json!("Someone Else");
        assert_eq!(field_of(v), Some("full_name".into()));
    }

    #[test]
    fn the_other_fields_follow_the_rules_of_a_create() {
        let mut v = exported();
        v["phone"] = json!("12345");
        assert_eq!(field_of(v), Some("phone".into()));
        let mut v = exported();
        v["nickname"] = json!("Zo");
        assert_eq!(field_of(v), Some("nickname".into()));
        let mut v = exported();
        v["phone"] = Value::Null;
        assert_eq!(field_of(v), Some("phone".into()), "a phone or an email");
    }
}
