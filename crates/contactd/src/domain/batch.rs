//! `POST /v2/contact/batch`: up to 1,000 creates, upserts or restores, each judged on its
//! own.

use serde_json::{Map, Value};

use super::contact::{Contact, NewContact, UpsertContact};
use super::input;
use super::restore;
use super::FieldError;

pub const MAX_ITEMS: usize = 1000;

pub use contactd_wire::BatchMode;

/// One valid item of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchItem {
    Create(NewContact),
    Upsert(UpsertContact),
    Restore(Contact),
}

/// The items of a batch in order; an item that failed validation keeps its error, so
/// the answer can report it at its index while the others run.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    pub items: Vec<Result<BatchItem, FieldError>>,
}

impl BatchRequest {
    /// A batch from its JSON body (`contactd_wire::BatchRequest`); each item is read on
    /// its own.
    pub fn from_json(body: Map<String, Value>) -> Result<BatchRequest, FieldError> {
        let sent: contactd_wire::BatchRequest<Value> = input::decode_request(body)?;
        let mode = sent.mode.unwrap_or(BatchMode::Create);
        let contacts = sent.contacts;
        if contacts.is_empty() || contacts.len() > MAX_ITEMS {
            return Err(FieldError::new(
                "contacts",
                format!(
                    "A batch holds 1 to {MAX_ITEMS} contacts; this one has {}",
                    contacts.len()
                ),
            )
            .received(contacts.len())
            .expected(format!("1 to {MAX_ITEMS} contacts")));
        }
        let items = contacts
            .into_iter()
            .enumerate()
            .map(|(index, item)| parse_item(mode, index, item))
            .collect();
        Ok(BatchRequest { items })
    }
}

fn parse_item(mode: BatchMode, index: usize, item: Value) -> Result<BatchItem, FieldError> {
    let Value::Object(map) = item else {
        return Err(input::wrong_type(
            &format!("contacts[{index}]"),
            item,
            "a JSON object",
        ));
    };
    match mode {
        BatchMode::Create => NewContact::from_json(map).map(BatchItem::Create),
        BatchMode::Upsert => UpsertContact::from_json(map).map(BatchItem::Upsert),
        BatchMode::Restore => restore::contact_from_json(map).map(BatchItem::Restore),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<BatchRequest, FieldError> {
        BatchRequest::from_json(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn items_are_judged_one_by_one() {
        let batch =
            parse(json!({"contacts": [{"phone": "+14155550100"}, {"phone": "bad"}, 5]})).unwrap();
        assert!(matches!(batch.items[0], Ok(BatchItem::Create(_))));
        assert_eq!(
            batch.items[1].as_ref().err().map(|e| e.field.as_str()),
            Some("phone")
        );
        assert_eq!(
            batch.items[2].as_ref().err().map(|e| e.field.as_str()),
            Some("contacts[2]")
        );
    }

    #[test]
    fn the_batch_itself_must_be_well_formed() {
        assert!(parse(json!({"contacts": []})).is_err());
        assert!(parse(json!({"contacts": vec![json!({"phone": "+14155550100"}); 1001]})).is_err());
        assert!(parse(json!({"mode": "merge", "contacts": [{"phone": "+14155550100"}]})).is_err());
        assert!(parse(json!({"contacts": {"phone": "+14155550100"}})).is_err());
        assert!(parse(json!({"items": []})).is_err());
        let upsert =
            parse(json!({"mode": "upsert", "contacts": [{"email": "a@example.com"}]})).unwrap();
        assert!(matches!(upsert.items[0], Ok(BatchItem::Upsert(_))));
    }

    #[test]
    fn restore_items_keep_their_ids() {
        let item = json!({"id": "cnt_038ggac0fy000a0wp1kh1adwpwetq", "phone": "+14155550100",
            "created_at": "2026-01-25T10:30:00.000000Z", "updated_at": "2026-01-25T10:30:00.000000Z"});
        let batch =
            parse(json!({"mode": "restore", "contacts": [item, {"phone": "+14155550101"}]}));
        let batch = batch.unwrap();
        assert!(
            matches!(&batch.items[0], Ok(BatchItem::Restore(c)) if c.id.as_str().ends_with("wetq"))
        );
        assert_eq!(
            batch.items[1].as_ref().err().map(|e| e.field.as_str()),
            Some("id")
        );
    }
}
