//! `POST /v2/contact/batch`: the request, and the answer item by item.

use serde::{Deserialize, Serialize};

use crate::contact::{Contact, NewContact};
use crate::de::not_null;
use crate::enums::{BatchItemStatus, BatchMode};
use crate::error::ErrorBody;

/// `POST /v2/contact/batch`: up to 1,000 creates or upserts. `T` is what an item is read
/// as; the server reads each item on its own, so that a bad one fails alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "`POST /v2/contact/batch`: up to 1,000 \
    creates, upserts or restores.", example = json!({"mode": "upsert", "contacts": [{"phone": "+14155550100"}, {"phone": "bad"}]})))]
pub struct BatchRequest<T = NewContact> {
    /// `create` unless sent; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub mode: Option<BatchMode>,
    /// 1 to 1,000 contact bodies, each processed as its own create, upsert or restore, in
    /// order: `ContactCreate` bodies, or contacts as exported in `restore` mode.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000, value_type = Vec<BatchContact>))]
    pub contacts: Vec<T>,
}

/// One item of a batch: a create's body; in `restore` mode, a contact as `GET` and
/// `contactd export` show it, written back with its `id`, `created_at`, `updated_at` and
/// `last_contacted` (RFC 3339 in UTC). There `id` (`cnt_` and 16 to 64 characters of
/// `[0-9a-z]`), `created_at` and `updated_at` are required, the other fields may be left
/// out, and `full_name`, when sent, must be what the names give.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum BatchContact {
    Create(NewContact),
    Restore(Contact),
}

/// The answer to a batch: one result per item, in order, and the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BatchResponse))]
pub struct BatchResult {
    /// One per item, in the order sent.
    pub results: Vec<BatchItemResult>,
    /// Items that created a contact.
    pub created: u64,
    /// Items that changed a contact.
    pub updated: u64,
    /// Upserts that found their contact already as sent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub unchanged: u64,
    /// Items that failed.
    pub errors: u64,
}

impl BatchResult {
    /// The answer for these outcomes, in order, with their counts.
    pub fn new(outcomes: impl IntoIterator<Item = BatchOutcome>) -> BatchResult {
        let mut result = BatchResult {
            results: Vec::new(),
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: 0,
        };
        for (index, outcome) in outcomes.into_iter().enumerate() {
            *match outcome {
                BatchOutcome::Created(_) => &mut result.created,
                BatchOutcome::Updated(_) => &mut result.updated,
                BatchOutcome::Unchanged(_) => &mut result.unchanged,
                BatchOutcome::Failed(_) => &mut result.errors,
            } += 1;
            result.results.push(BatchItemResult { index, outcome });
        }
        result
    }

    /// The contacts created, updated or found unchanged, in order.
    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.results.iter().filter_map(BatchItemResult::contact)
    }
}

/// The result of one item of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ItemJson", into = "ItemJson")]
pub struct BatchItemResult {
    /// The item's position in the request, from 0.
    pub index: usize,
    /// What happened to it.
    pub outcome: BatchOutcome,
}

impl BatchItemResult {
    /// The contact, unless the item failed.
    pub fn contact(&self) -> Option<&Contact> {
        match &self.outcome {
            BatchOutcome::Created(contact)
            | BatchOutcome::Updated(contact)
            | BatchOutcome::Unchanged(contact) => Some(contact),
            BatchOutcome::Failed(_) => None,
        }
    }

    /// The error, if the item failed.
    pub fn error(&self) -> Option<&ErrorBody> {
        match &self.outcome {
            BatchOutcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// What happened to one item of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    /// The contact was created.
    Created(Contact),
    /// The contact existed and was changed.
    Updated(Contact),
    /// Upsert: the contact already had every value sent; nothing was written.
    Unchanged(Contact),
    /// The item failed; the others went on.
    Failed(ErrorBody),
}

/// A batch item as JSON: `contact` when it was created, updated or found unchanged,
/// `error` (an error envelope) when it failed.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BatchItemResult))]
struct ItemJson {
    /// The item's position in `contacts`, from 0.
    index: usize,
    status: BatchItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    error: Option<ErrorBody>,
}

impl TryFrom<ItemJson> for BatchItemResult {
    type Error = String;

    fn try_from(item: ItemJson) -> Result<Self, Self::Error> {
        let outcome = match (item.status, item.contact, item.error) {
            (BatchItemStatus::Created, Some(contact), _) => BatchOutcome::Created(contact),
            (BatchItemStatus::Updated, Some(contact), _) => BatchOutcome::Updated(contact),
            (BatchItemStatus::Unchanged, Some(contact), _) => BatchOutcome::Unchanged(contact),
            (BatchItemStatus::Error, _, Some(error)) => BatchOutcome::Failed(error),
            (status, _, _) => {
                return Err(format!(
                    "batch item {}: status {status} without its contact or error",
                    item.index
                ))
            }
        };
        Ok(BatchItemResult {
            index: item.index,
            outcome,
        })
    }
}

impl From<BatchItemResult> for ItemJson {
    fn from(item: BatchItemResult) -> ItemJson {
        let (status, contact, error) = match item.outcome {
            BatchOutcome::Created(c) => (BatchItemStatus::Created, Some(c), None),
            BatchOutcome::Updated(c) => (BatchItemStatus::Updated, Some(c), None),
            BatchOutcome::Unchanged(c) => (BatchItemStatus::Unchanged, Some(c), None),
            BatchOutcome::Failed(e) => (BatchItemStatus::Error, None, Some(e)),
        };
        ItemJson {
            index: item.index,
            status,
            contact,
            error,
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BatchItemResult {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        <ItemJson as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BatchItemResult {
    fn name() -> std::borrow::Cow<'static, str> {
        "BatchItemResult".into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
        <ItemJson as utoipa::ToSchema>::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact() -> serde_json::Value {
        json!({"id": "cnt_0000000000000000", "phone": "+14155550100",
            "email": null, "first_name": null, "last_name": null, "full_name": null,
            "preferred_channel": null, "metadata": {}, "status": "active",
            "created_at": "2026-01-25T10:30:00.000000Z",
            "updated_at": "2026-01-25T10:30:00.000000Z", "last_contacted": null,
            "identities": []})
    }

    #[test]
    fn batch_items_read_each_status() {
        let result: Result<BatchResult, _> = serde_json::from_value(json!({
            "results": [
                {"index": 0, "status": "created", "contact": contact()},
                {"index": 1, "status": "updated", "contact": contact()},
                {"index": 2, "status": "error", "error": {"error": "invalid_input",
                    "message": "bad", "code": 400, "details": {"field": "phone"}}},
            ],
            "created": 1, "updated": 1, "errors": 1}));
        let result = result.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            result.results[0].outcome,
            BatchOutcome::Created(_)
        ));
        assert!(matches!(
            result.results[1].outcome,
            BatchOutcome::Updated(_)
        ));
        assert_eq!(result.results[2].error().map(|e| e.code), Some(400));
        assert_eq!(result.contacts().count(), 2);
        let bad = json!({"results": [{"index": 0, "status": "weird"}],
            "created": 0, "updated": 0, "errors": 0});
        assert!(serde_json::from_value::<BatchResult>(bad).is_err());
    }

    #[test]
    fn an_answer_writes_back_as_it_reads() {
        let body = json!({"results": [{"index": 0, "status": "unchanged", "contact": contact()}],
            "created": 0, "updated": 0, "unchanged": 1, "errors": 0});
        let result: Result<BatchResult, _> = serde_json::from_value(body.clone());
        assert_eq!(
            result.ok().and_then(|r| serde_json::to_value(r).ok()),
            Some(body)
        );
    }
}
