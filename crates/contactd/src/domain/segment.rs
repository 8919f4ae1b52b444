//! Saved segments: a name and a contact filter, kept as the list's query parameters, so a
//! segment means exactly what the same `GET /v2/contact?…` means. Its count is computed
//! when it is read, never stored, so it is always exact.

use serde_json::{Map, Value};

use super::contact_query::ContactFilter;
use super::ids::SegmentId;
use super::input;
use super::time::Timestamp;
use super::FieldError;

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

impl Segment {
    /// The segment as the API answers it, with the count of contacts it matches now.
    pub fn into_wire(self, count: u64) -> contactd_wire::Segment {
        contactd_wire::Segment {
            id: self.id.into_string(),
            name: self.name,
            filter: self.filter.into_iter().collect(),
            count,
            created_at: self.created_at.to_rfc3339(),
            updated_at: self.updated_at.to_rfc3339(),
        }
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

    /// A create from its JSON body (`contactd_wire::NewSegment`).
    pub fn from_json(body: Map<String, Value>) -> Result<NewSegment, FieldError> {
        let sent: contactd_wire::NewSegment = input::decode::<_, contactd_wire::Segment>(body)?;
        Ok(NewSegment {
            name: input::name("name", sent.name)?,
            filter: filter_params(sent.filter)?,
        })
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
    /// A change from its JSON body (`contactd_wire::SegmentUpdate`).
    pub fn from_json(body: Map<String, Value>) -> Result<SegmentPatch, FieldError> {
        let sent: contactd_wire::SegmentUpdate = input::decode::<_, contactd_wire::Segment>(body)?;
        Ok(SegmentPatch {
            name: sent.name.map(|n| input::name("name", n)).transpose()?,
            filter: sent.filter.map(filter_params).transpose()?,
        })
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

fn filter_params(filter: contactd_wire::SegmentFilter) -> Result<FilterParams, FieldError> {
    let params = filter.into_iter().collect();
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
