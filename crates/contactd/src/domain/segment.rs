//! Saved segments: a name and a contact filter, kept as the list's query parameters, so a
//! segment means exactly what the same `GET /v2/contact?…` means. Its count is computed
//! when it is read, never stored, so it is always exact.

use serde_json::{Map, Value};

use super::contact_query::ContactFilter;
use super::ids::SegmentId;
use super::input::{self, Body, Field};
use super::time::Timestamp;
use super::FieldError;

const WRITABLE: [&str; 2] = ["name", "filter"];
const READ_ONLY: [&str; 4] = ["id", "count", "created_at", "updated_at"];

/// A segment's filter as it was sent: parameter names and values, in order.
pub type FilterParams = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: SegmentId,
    pub name: String,
    pub filter: FilterParams,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Segment {
    /// The filter, parsed. A stored filter was valid when saved; it stays valid because
    /// the filter syntax only grows.
    pub fn contact_filter(&self) -> Result<ContactFilter, FieldError> {
        parse_params(&self.filter)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSegment {
    pub name: String,
    pub filter: FilterParams,
}

impl NewSegment {
    /// The filter, parsed (it was checked by [`NewSegment::from_json`]).
    pub fn contact_filter(&self) -> Result<ContactFilter, FieldError> {
        parse_params(&self.filter)
    }

    pub fn from_json(body: Map<String, Value>) -> Result<NewSegment, FieldError> {
        let patch = SegmentPatch::from_json(body)?;
        match patch {
            SegmentPatch {
                name: Some(name),
                filter: Some(filter),
            } => Ok(NewSegment { name, filter }),
            SegmentPatch { name: None, .. } => {
                Err(FieldError::new("name", "name is required")
                    .expected("a name, e.g. \"Premium DE\""))
            }
            SegmentPatch { filter: None, .. } => Err(FieldError::new(
                "filter",
                "filter is required",
            )
            .expected(
                "an object of the list's query parameters, e.g. {\"metadata.plan\": \"premium\"}",
            )),
        }
    }

    pub fn into_segment(self, id: SegmentId, now: Timestamp) -> Segment {
        Segment {
            id,
            name: self.name,
            filter: self.filter,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A change of name, filter or both.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPatch {
    pub name: Option<String>,
    pub filter: Option<FilterParams>,
}

impl SegmentPatch {
    pub fn from_json(body: Map<String, Value>) -> Result<SegmentPatch, FieldError> {
        let mut body = Body::new(body, &WRITABLE, &READ_ONLY)?;
        let name = match body.take("name") {
            Field::Absent => None,
            Field::Null => return Err(FieldError::new("name", "name cannot be null")),
            Field::Value(v) => Some(input::name("name", v)?),
        };
        let filter = match body.take("filter") {
            Field::Absent => None,
            Field::Null => return Err(FieldError::new("filter", "filter cannot be null")),
            Field::Value(Value::Object(map)) => Some(filter_params(map)?),
            Field::Value(other) => {
                return Err(input::wrong_type(
                    "filter",
                    other,
                    "an object of query parameters",
                ))
            }
        };
        Ok(SegmentPatch { name, filter })
    }

    /// The segment after the change, `updated_at` moved; `None` when nothing changes.
    pub fn apply(&self, current: &Segment) -> Option<Segment> {
        let name = self.name.clone().unwrap_or_else(|| current.name.clone());
        let filter = self
            .filter
            .clone()
            .unwrap_or_else(|| current.filter.clone());
        (name != current.name || filter != current.filter).then(|| Segment {
            name,
            filter,
            updated_at: Timestamp::now_after(current.updated_at),
            ..current.clone()
        })
    }
}

fn filter_params(map: Map<String, Value>) -> Result<FilterParams, FieldError> {
    let mut params = Vec::with_capacity(map.len());
    for (name, value) in map {
        match value {
            Value::String(s) => params.push((name, s)),
            other => {
                let field = format!("filter.{}", input::truncate(&name, 100));
                return Err(input::wrong_type(
                    &field,
                    other,
                    "a string, as in a query string",
                ));
            }
        }
    }
    parse_params(&params)?;
    Ok(params)
}

/// Parses the filter; an error names `filter.NAME` (or `filter` for the whole of it).
fn parse_params(params: &FilterParams) -> Result<ContactFilter, FieldError> {
    ContactFilter::from_pairs(params).map_err(|mut e| {
        e.field = if e.field == "query" {
            "filter".to_owned()
        } else {
            format!("filter.{}", e.field)
        };
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_segment_needs_a_name_and_a_valid_filter() {
        let s = NewSegment::from_json(body(json!({
            "name": "Premium DE",
            "filter": {"metadata.plan": "premium", "status": "active"}
        })))
        .unwrap();
        assert_eq!(s.filter[0], ("metadata.plan".into(), "premium".into()));
        for (bad, field) in [
            (json!({"filter": {}}), "name"),
            (json!({"name": "x"}), "filter"),
            (
                json!({"name": "x", "filter": {"status": "gone"}}),
                "filter.status",
            ),
            (
                json!({"name": "x", "filter": {"metadata.n[gt]": 5}}),
                "filter.metadata.n[gt]",
            ),
            (
                json!({"name": "x", "filter": {"limit": "5"}}),
                "filter.limit",
            ),
            (json!({"name": "x", "filter": []}), "filter"),
            (json!({"name": "x", "filter": {}, "count": 1}), "count"),
            (json!({"name": " ", "filter": {}}), "name"),
        ] {
            let err = NewSegment::from_json(body(bad.clone())).unwrap_err();
            assert_eq!(err.field, field, "{bad}");
        }
        let many: Map<String, Value> = (0..21)
            .map(|i| (format!("metadata.k{i}"), json!("v")))
            .collect();
        let err = NewSegment::from_json(body(json!({"name": "x", "filter": many}))).unwrap_err();
        assert_eq!(err.field, "filter");
    }

    #[test]
    fn a_patch_changes_what_it_names() {
        let s = NewSegment::from_json(body(json!({"name": "a", "filter": {"q": "ada"}})))
            .unwrap()
            .into_segment(SegmentId::generate(), Timestamp::now());
        let p = SegmentPatch::from_json(body(json!({"name": "b"}))).unwrap();
        let next = p.apply(&s).unwrap();
        assert_eq!(next.name, "b");
        assert_eq!(next.filter, s.filter);
        assert!(next.updated_at > s.updated_at);
        let same = SegmentPatch::from_json(body(json!({"name": "a"}))).unwrap();
        assert_eq!(same.apply(&s), None);
    }
}
