//! `GET /v2/contact`: the filters, sort and paging of a contact list, parsed from the
//! query string, and the opaque cursor of keyset paging.
//!
//! Everything a client can put in the query string becomes a typed value here; storage
//! renders these values into SQL with bound parameters only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::contact::{Channel, Contact, ContactStatus};
use super::conversation::Page;
use super::input::truncate;
use super::search;
use super::time::Timestamp;
use super::FieldError;

const MAX_Q_CHARS: usize = 100;
const MAX_PATH_KEYS: usize = 10;
/// Most filter parameters in one list, count or segment.
pub const MAX_FILTERS: usize = 20;

/// What a contact list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    LastContacted,
    FullName,
}

impl SortField {
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::LastContacted => "last_contacted",
            SortField::FullName => "full_name",
        }
    }

    fn parse(s: &str) -> Option<SortField> {
        match s {
            "created_at" => Some(SortField::CreatedAt),
            "updated_at" => Some(SortField::UpdatedAt),
            "last_contacted" => Some(SortField::LastContacted),
            "full_name" => Some(SortField::FullName),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

/// The value a contact sorts by. Unset values (no `last_contacted`, no name) sort as the
/// greatest value, so they come last in ascending order and first in descending order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// The sort key stored for `full_name`: lowercase, or the greatest string when unset.
pub fn full_name_key(contact: &Contact) -> String {
    contact
        .full_name()
        .map_or_else(|| UNSET_TEXT.to_owned(), |n| n.to_lowercase())
}

/// Sorts after every real name.
pub const UNSET_TEXT: &str = "\u{10FFFF}";
/// Sorts after every real time.
pub const UNSET_TIME: i64 = i64::MAX;

impl Sort {
    pub fn value_of(&self, contact: &Contact) -> SortValue {
        match self.field {
            SortField::CreatedAt => SortValue::Int(contact.created_at.as_micros()),
            SortField::UpdatedAt => SortValue::Int(contact.updated_at.as_micros()),
            SortField::LastContacted => SortValue::Int(
                contact
                    .last_contacted
                    .map_or(UNSET_TIME, Timestamp::as_micros),
            ),
            SortField::FullName => SortValue::Text(full_name_key(contact)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A condition on the value at a metadata path.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataCondition {
    /// The value is one of these (a string, and the number or boolean the text spells),
    /// or an array that contains one of them.
    Equals(Vec<Value>),
    NotEquals(Vec<Value>),
    Exists(bool),
    Compare(Comparison, NumberBound),
}

/// The number a comparison filter compares with.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberBound {
    /// The closest double, which the index keeps for every stored number.
    pub approx: f64,
    /// The exact digits of an integer bound that a double cannot tell from its neighbours
    /// (2^53 ≤ |n| < 10^38); stored integers that round to the same double are compared by
    /// their exact spelling instead (see `domain::search::canonical_number`).
    pub exact: Option<String>,
}

impl NumberBound {
    /// A finite number as written in a query string (`100`, `-2.5`, `1e3`).
    pub fn parse(value: &str) -> Option<NumberBound> {
        const EXACT_DOUBLES: u128 = 1 << 53;
        const CANONICAL_DIGITS: u128 = 10u128.pow(38);
        let approx = value.parse::<f64>().ok().filter(|n| n.is_finite())?;
        let exact = value
            .parse::<i128>()
            .ok()
            .filter(|n| (EXACT_DOUBLES..CANONICAL_DIGITS).contains(&n.unsigned_abs()))
            .map(|n| n.to_string());
        Some(NumberBound { approx, exact })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataFilter {
    /// The keys from the metadata object down, e.g. `["preferences", "language"]`.
    pub path: Vec<String>,
    pub condition: MetadataCondition,
}

impl MetadataFilter {
    /// `{"a": {"b": value}}`: a document that a matching metadata object contains.
    pub fn containing(&self, value: Value) -> Value {
        self.path
            .iter()
            .rev()
            .fold(value, |inner, key| json!({ key.clone(): inner }))
    }
}

/// `q`: every one of its words prefixes a word of the names, or all of it prefixes the
/// email or the phone. Folded as the index is (see [`search::fold`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TextQuery {
    /// The whole of `q`, folded: a prefix of the folded email. None when `q` folds to
    /// nothing visible (only accents, spaces or zero-width characters), which would
    /// otherwise be a prefix of every email.
    pub email_prefix: Option<String>,
    /// The folded words of `q`; none means the names cannot match.
    pub words: Vec<String>,
    /// `+` and the digits when `q` is only digits, with or without a leading `+`.
    pub phone_prefix: Option<String>,
}

impl TextQuery {
    pub fn new(q: &str) -> TextQuery {
        let digits = q.strip_prefix('+').unwrap_or(q);
        TextQuery {
            email_prefix: Some(search::fold(q))
                .filter(|folded| !folded.chars().all(super::input::is_blank)),
            words: search::words(q),
            phone_prefix: (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("+{digits}")),
        }
    }
}

/// The filters of a contact list; all of them must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    pub status: Option<ContactStatus>,
    pub preferred_channel: Option<Channel>,
    pub q: Option<TextQuery>,
    pub metadata: Vec<MetadataFilter>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
}

impl ContactFilter {
    /// Takes one query parameter if it is a filter; `Ok(false)` when it is not one.
    fn take(&mut self, name: &str, value: &str) -> Result<bool, FieldError> {
        match name {
            "status" => self.status = Some(parse_status(value)?),
            "preferred_channel" => self.preferred_channel = Some(parse_channel(value)?),
            "q" => self.q = Some(parse_q(value)?),
            "created_after" => self.created_after = Some(parse_time(name, value)?),
            "created_before" => self.created_before = Some(parse_time(name, value)?),
            "updated_after" => self.updated_after = Some(parse_time(name, value)?),
            _ if is_metadata_filter(name) => {
                self.metadata.push(parse_metadata_filter(name, value)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A saved filter (a segment's): filter parameters only, each at most once.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<ContactFilter, FieldError> {
        check_filter_count(pairs.iter().filter(|(name, _)| is_filter(name)).count())?;
        let mut filter = ContactFilter::default();
        for (i, (name, value)) in pairs.iter().enumerate() {
            reject_repeated(&pairs[..i], name)?;
            if !filter.take(name, value)? {
                return Err(FieldError::new(
                    truncate(name, 100),
                    format!("'{}' is not a contact filter", truncate(name, 100)),
                )
                .expected(FILTERS.join(", ")));
            }
        }
        Ok(filter)
    }
}

fn is_filter(name: &str) -> bool {
    FILTERS[..FILTERS.len() - 1].contains(&name) || is_metadata_filter(name)
}

/// A metadata filter in either form: `metadata.PATH[OP]`, or `metadata[PATH][OP]` as
/// OpenAPI's `deepObject` style (openapi-fetch's default for an object) writes one.
fn is_metadata_filter(name: &str) -> bool {
    name.starts_with("metadata.") || name.starts_with("metadata[")
}

fn check_filter_count(count: usize) -> Result<(), FieldError> {
    if count > MAX_FILTERS {
        return Err(FieldError::new(
            "query",
            format!("At most {MAX_FILTERS} filters can be combined; this request has {count}"),
        )
        .received(count)
        .expected(format!("at most {MAX_FILTERS} filter parameters")));
    }
    Ok(())
}

fn reject_repeated(seen: &[(String, String)], name: &str) -> Result<(), FieldError> {
    if seen.iter().any(|(s, _)| s == name) {
        return Err(FieldError::new(
            truncate(name, 100),
            format!(
                "Query parameter '{}' is given more than once",
                truncate(name, 100)
            ),
        ));
    }
    Ok(())
}

/// Where a page starts: after `offset` items, or after the item a cursor names.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    Offset(u64),
    After { value: SortValue, id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactQuery {
    pub filter: ContactFilter,
    pub sort: Sort,
    pub limit: u32,
    pub start: Start,
    /// Whether the page carries the count of all matches.
    pub include_total: bool,
}

/// One page of contacts; `total` when the query asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub total: Option<u64>,
    pub has_more: bool,
}

const FILTERS: [&str; 7] = [
    "status",
    "preferred_channel",
    "q",
    "created_after",
    "created_before",
    "updated_after",
    "metadata.PATH or metadata[PATH]",
];
const PAGING: [&str; 5] = ["sort", "limit", "offset", "cursor", "include_total"];

impl ContactQuery {
    /// Parses the decoded query string, rejecting unknown and repeated parameters.
    pub fn parse(params: &[(String, String)]) -> Result<ContactQuery, FieldError> {
        check_filter_count(params.iter().filter(|(name, _)| is_filter(name)).count())?;
        let mut filter = ContactFilter::default();
        let mut paging = Paging::default();
        for (i, (name, value)) in params.iter().enumerate() {
            reject_repeated(&params[..i], name)?;
            if !filter.take(name, value)? && !paging.take(name, value)? {
                let known: Vec<&str> = FILTERS.iter().chain(&PAGING).copied().collect();
                return Err(unknown_parameter(name, &known));
            }
        }
        paging.build(filter)
    }

    /// A page of a saved filter: the paging parameters only.
    pub fn parse_paging(
        filter: ContactFilter,
        params: &[(String, String)],
    ) -> Result<ContactQuery, FieldError> {
        let mut paging = Paging::default();
        for (i, (name, value)) in params.iter().enumerate() {
            reject_repeated(&params[..i], name)?;
            if !paging.take(name, value)? {
                return Err(unknown_parameter(name, &PAGING));
            }
        }
        paging.build(filter)
    }
}

fn unknown_parameter(name: &str, known: &[&str]) -> FieldError {
    FieldError::new(
        truncate(name, 100),
        format!("Unknown query parameter '{}'", truncate(name, 100)),
    )
    .expected(known.join(", "))
}

/// The order and paging parameters of a list, as sent.
#[derive(Default)]
struct Paging<'a> {
    sort: Option<Sort>,
    limit: Option<&'a str>,
    offset: Option<&'a str>,
    cursor: Option<&'a str>,
    include_total: Option<bool>,
}

impl<'a> Paging<'a> {
    /// Takes one query parameter if it is about order or paging.
    fn take(&mut self, name: &str, value: &'a str) -> Result<bool, FieldError> {
        match name {
            "sort" => self.sort = Some(parse_sort(value)?),
            "limit" => self.limit = Some(value),
            "offset" => self.offset = Some(value),
            "cursor" => self.cursor = Some(value),
            "include_total" => self.include_total = Some(parse_flag(name, value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn build(self, filter: ContactFilter) -> Result<ContactQuery, FieldError> {
        let Paging {
            sort,
            limit,
            offset,
            cursor,
            include_total,
        } = self;
        let sort = sort.unwrap_or(Sort {
            field: SortField::CreatedAt,
            descending: false,
        });
        let page = Page::parse(limit, offset)?;
        let start = match (cursor, offset) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "cursor",
                    "Use either cursor or offset, not both",
                ))
            }
            (Some(raw), None) => {
                let c = Cursor::decode(raw)?;
                if c.fingerprint != fingerprint(&filter, sort) {
                    return Err(FieldError::new(
                        "cursor",
                        "This cursor belongs to a list with other filters or another sort",
                    )
                    .expected("the same filters and sort as the request that returned it"));
                }
                c.check_position(sort)?;
                Start::After {
                    value: c.value,
                    id: c.id,
                }
            }
            (None, _) => Start::Offset(page.offset),
        };
        // A page asked for by offset always carries the total; the first page without
        // one may leave it out (include_total=false), as cursor pages do by default.
        let include_total = match (&start, offset, include_total) {
            (_, Some(_), _) => true,
            (_, None, Some(flag)) => flag,
            (Start::Offset(_), None, None) => true,
            (Start::After { .. }, None, None) => false,
        };
        Ok(ContactQuery {
            filter,
            sort,
            limit: page.limit,
            start,
            include_total,
        })
    }
}

impl ContactQuery {
    /// The cursor of the page that follows `last`.
    pub fn cursor_after(&self, last: &Contact) -> String {
        Cursor {
            value: self.sort.value_of(last),
            id: last.id.as_str().to_owned(),
            fingerprint: fingerprint(&self.filter, self.sort),
        }
        .encode()
    }
}

fn parse_status(value: &str) -> Result<ContactStatus, FieldError> {
    crate::domain::contact::settable_status(value).ok_or_else(|| {
        FieldError::new("status", "status must be active or inactive")
            .received(truncate(value, 100))
            .expected(vec!["active", "inactive"])
    })
}

fn parse_channel(value: &str) -> Result<Channel, FieldError> {
    Channel::parse(value).ok_or_else(|| {
        FieldError::new(
            "preferred_channel",
            format!(
                "preferred_channel must be one of: {}",
                Channel::ALL.join(", ")
            ),
        )
        .received(truncate(value, 100))
        .expected(Channel::ALL.to_vec())
    })
}

fn parse_flag(name: &str, value: &str) -> Result<bool, FieldError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(FieldError::new(name, format!("{name} takes true or false"))
            .received(truncate(value, 100))
            .expected("true or false")),
    }
}

fn parse_q(value: &str) -> Result<TextQuery, FieldError> {
    let count = value.chars().count();
    if count == 0 || count > MAX_Q_CHARS || value.chars().any(char::is_control) {
        return Err(FieldError::new(
            "q",
            format!("q must be 1 to {MAX_Q_CHARS} characters without control characters"),
        )
        .received(truncate(value, 100))
        .expected(format!("1 to {MAX_Q_CHARS} characters")));
    }
    Ok(TextQuery::new(value))
}

fn parse_time(name: &str, value: &str) -> Result<Timestamp, FieldError> {
    Timestamp::parse_rfc3339(value).ok_or_else(|| {
        FieldError::new(name, format!("{name} must be an RFC 3339 timestamp"))
            .received(truncate(value, 100))
            .expected("e.g. 2026-01-25T10:30:00Z")
    })
}

fn parse_sort(value: &str) -> Result<Sort, FieldError> {
    let (descending, field) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let field = SortField::parse(field).ok_or_else(|| {
        FieldError::new("sort", "Unknown sort field")
            .received(truncate(value, 100))
            .expected("created_at, updated_at, last_contacted or full_name, with - in front for descending")
    })?;
    Ok(Sort { field, descending })
}

/// `metadata.a.b=v`, `metadata.a.b[op]=v`, or the same in brackets: `metadata[a.b]=v`,
/// `metadata[a.b][op]=v`, `metadata[a.b[op]]=v` (a client's `deepObject` rendering of the
/// member `a.b[op]`).
fn parse_metadata_filter(name: &str, value: &str) -> Result<MetadataFilter, FieldError> {
    let field = truncate(name, 100);
    let (path, op) = match name.strip_prefix("metadata[") {
        Some(rest) => split_bracketed(rest).ok_or_else(|| {
            FieldError::new(field.clone(), "Malformed metadata filter in brackets")
                .expected("metadata[PATH] or metadata[PATH][eq|ne|exists|gt|gte|lt|lte]")
        })?,
        None => {
            let rest = &name["metadata.".len()..];
            match rest.find('[') {
                Some(open) if rest.ends_with(']') => {
                    (&rest[..open], &rest[open + 1..rest.len() - 1])
                }
                Some(_) => {
                    return Err(FieldError::new(
                        field,
                        "A metadata operator is written [op] at the end",
                    )
                    .expected("metadata.PATH[eq|ne|exists|gt|gte|lt|lte]"))
                }
                None => (rest, "eq"),
            }
        }
    };
    parse_metadata_condition(field, path, op, value)
}

/// The path and operator of what follows `metadata[`: `PATH]`, `PATH][OP]` or `PATH[OP]]`.
/// None when the brackets do not pair up that way; the path and operator themselves are
/// checked by the caller.
fn split_bracketed(rest: &str) -> Option<(&str, &str)> {
    let close = rest.find(']')?;
    let (inner, after) = (&rest[..close], &rest[close + 1..]);
    if let Some(open) = inner.find('[') {
        return (after == "]").then(|| (&inner[..open], &inner[open + 1..]));
    }
    if after.is_empty() {
        return Some((inner, "eq"));
    }
    let op = after.strip_prefix('[')?.strip_suffix(']')?;
    (!op.contains(['[', ']'])).then_some((inner, op))
}

fn parse_metadata_condition(
    field: String,
    path: &str,
    op: &str,
    value: &str,
) -> Result<MetadataFilter, FieldError> {
    let keys: Vec<String> = path.split('.').map(str::to_owned).collect();
    if keys.len() > MAX_PATH_KEYS || !keys.iter().all(|k| search::is_path_key(k)) {
        return Err(FieldError::new(field, "Malformed metadata path").expected(format!(
            "1 to {MAX_PATH_KEYS} keys of A-Z, a-z, 0-9, _ and - joined by dots, e.g. metadata.preferences.language"
        )));
    }
    let condition = match op {
        "eq" => MetadataCondition::Equals(candidates(value)),
        "ne" => MetadataCondition::NotEquals(candidates(value)),
        "exists" => match value {
            "true" => MetadataCondition::Exists(true),
            "false" => MetadataCondition::Exists(false),
            _ => {
                return Err(FieldError::new(field, "exists takes true or false")
                    .received(truncate(value, 100))
                    .expected("true or false"))
            }
        },
        "gt" | "gte" | "lt" | "lte" => {
            let number = NumberBound::parse(value).ok_or_else(|| {
                FieldError::new(field.clone(), format!("{op} compares numbers"))
                    .received(truncate(value, 100))
                    .expected("a number")
            })?;
            let comparison = match op {
                "gt" => Comparison::Gt,
                "gte" => Comparison::Gte,
                "lt" => Comparison::Lt,
                _ => Comparison::Lte,
            };
            MetadataCondition::Compare(comparison, number)
        }
        _ => {
            return Err(FieldError::new(field, "Unknown metadata operator")
                .received(truncate(op, 100))
                .expected("eq, ne, exists, gt, gte, lt or lte"))
        }
    };
    Ok(MetadataFilter {
        path: keys,
        condition,
    })
}

/// The JSON values a query-string value stands for.
fn candidates(value: &str) -> Vec<Value> {
    let mut values = vec![Value::from(value)];
    match value {
        "true" => values.push(Value::Bool(true)),
        "false" => values.push(Value::Bool(false)),
        _ => {
            if let Ok(number @ Value::Number(_)) = serde_json::from_str::<Value>(value) {
                values.push(number);
            }
        }
    }
    values
}

/// Ties a cursor to the filters and sort it was made for.
fn fingerprint(filter: &ContactFilter, sort: Sort) -> String {
    let digest = Sha256::digest(format!("{filter:?}|{sort:?}").as_bytes());
    hex::encode(&digest[..8])
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    #[serde(rename = "v")]
    value: SortValue,
    id: String,
    #[serde(rename = "f")]
    fingerprint: String,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(raw: &str) -> Result<Cursor, FieldError> {
        let malformed = || {
            FieldError::new("cursor", "Malformed cursor")
                .received(truncate(raw, 100))
                .expected("the next_cursor of a previous page")
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| malformed())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        if !cursor.id.starts_with("cnt_") {
            return Err(malformed());
        }
        Ok(cursor)
    }

    /// A cursor is not signed, so its position may be forged: one of the wrong type for the
    /// sort (a number for `full_name`, text for a time) would reach the database as a
    /// comparison of a column with a value of another type, which PostgreSQL refuses.
    fn check_position(&self, sort: Sort) -> Result<(), FieldError> {
        let fits = matches!(
            (sort.field, &self.value),
            (SortField::FullName, SortValue::Text(_))
                | (
                    SortField::CreatedAt | SortField::UpdatedAt | SortField::LastContacted,
                    SortValue::Int(_)
                )
        );
        if fits {
            return Ok(());
        }
        Err(
            FieldError::new("cursor", "The cursor's position does not fit its sort")
                .expected("the next_cursor of a previous page"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<ContactQuery, FieldError> {
        ContactQuery::parse(&params(pairs))
    }

    #[test]
    fn defaults() {
        let q = parse(&[]).unwrap();
        assert_eq!(
            q.sort,
            Sort {
                field: SortField::CreatedAt,
                descending: false
            }
        );
        assert_eq!(q.limit, 20);
        assert_eq!(q.start, Start::Offset(0));
    }

    #[test]
    fn metadata_filters_parse() {
        let q = parse(&[
            ("metadata.preferences.language", "en"),
            ("metadata.mrr[gte]", "100"),
        ])
        .unwrap();
        assert_eq!(q.filter.metadata[0].path, vec!["preferences", "language"]);
        assert_eq!(
            q.filter.metadata[0].condition,
            MetadataCondition::Equals(vec![json!("en")])
        );
        assert_eq!(
            q.filter.metadata[1].condition,
            MetadataCondition::Compare(
                Comparison::Gte,
                NumberBound {
                    approx: 100.0,
                    exact: None
                }
            )
        );
        let q = parse(&[("metadata.mrr", "500")]).unwrap();
        assert_eq!(
            q.filter.metadata[0].condition,
            MetadataCondition::Equals(vec![json!("500"), json!(500)])
        );
        assert_eq!(q.filter.metadata[0].containing(json!(1)), json!({"mrr": 1}));
    }

    #[test]
    fn metadata_filters_in_brackets_read_as_dotted_ones() {
        for (bracket, dotted) in [
            ("metadata[plan]", "metadata.plan"),
            (
                "metadata[preferences.language]",
                "metadata.preferences.language",
            ),
            ("metadata[score][gte]", "metadata.score[gte]"),
            ("metadata[score[gte]]", "metadata.score[gte]"),
            ("metadata[a.b][exists]", "metadata.a.b[exists]"),
            ("metadata[tags][eq]", "metadata.tags"),
        ] {
            let value = if bracket.ends_with("[exists]") {
                "true"
            } else {
                "5"
            };
            let from_bracket = parse(&[(bracket, value)]).unwrap();
            let from_dotted = parse(&[(dotted, value)]).unwrap();
            assert_eq!(from_bracket.filter, from_dotted.filter, "{bracket}");
        }
        let both = parse(&[("metadata.plan", "premium"), ("metadata[mrr][gt]", "1")]).unwrap();
        assert_eq!(both.filter.metadata.len(), 2);
    }

    #[test]
    fn malformed_brackets_name_the_parameter() {
        for name in [
            "metadata[",
            "metadata[]",
            "metadata[plan",
            "metadata[plan]x",
            "metadata[plan][",
            "metadata[plan][gte",
            "metadata[a][b]",
            "metadata[a][gte][lt]",
            "metadata[a[gte]",
            "metadata[a[gte]]x",
            "metadata[a b]",
            "metadata[a..b]",
            "metadata[a][]",
        ] {
            let err = parse(&[(name, "1")])
                .err()
                .unwrap_or_else(|| panic!("{name} parsed"));
            assert_eq!(err.field, name);
        }
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (pairs, field) in [
            (vec![("sort", "name")], "sort"),
            (vec![("metadata.plan[regex]", "x")], "metadata.plan[regex]"),
            (vec![("metadata.", "x")], "metadata."),
            (vec![("metadata.a..b", "x")], "metadata.a..b"),
            (vec![("metadata.a b", "x")], "metadata.a b"),
            (vec![("metadata.mrr[gt]", "abc")], "metadata.mrr[gt]"),
            (vec![("metadata.x[exists]", "yes")], "metadata.x[exists]"),
            (vec![("created_after", "yesterday")], "created_after"),
            (vec![("status", "deleted")], "status"),
            (vec![("preferred_channel", "fax")], "preferred_channel"),
            (vec![("q", "")], "q"),
            (vec![("limit", "0")], "limit"),
            (vec![("cursor", "!!!")], "cursor"),
            (vec![("cursor", "abc"), ("offset", "1")], "cursor"),
            (vec![("bogus", "1")], "bogus"),
            (vec![("q", "a"), ("q", "b")], "q"),
        ] {
            let err = parse(&pairs)
                .err()
                .unwrap_or_else(|| panic!("{pairs:?} parsed"));
            assert_eq!(err.field, field, "{pairs:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_query() {
        let q = parse(&[("sort", "-full_name"), ("status", "active")]).unwrap();
        let contact = crate::domain::contact::NewContact::from_json(
            json!({"phone": "+1234567890", "first_name": "Ada"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap()
        .into_contact(crate::domain::ids::ContactId::generate(), Timestamp::now());
        let cursor = q.cursor_after(&contact);
        let next = parse(&[
            ("sort", "-full_name"),
            ("status", "active"),
            ("cursor", &cursor),
        ])
        .unwrap();
        assert_eq!(
            next.start,
            Start::After {
                value: SortValue::Text("ada".into()),
                id: contact.id.as_str().to_owned()
            }
        );
        let other = parse(&[("sort", "full_name"), ("cursor", &cursor)]);
        assert_eq!(other.err().map(|e| e.field), Some("cursor".to_owned()));
    }

    #[test]
    fn integer_bounds_beyond_doubles_keep_their_digits() {
        let exact = |v: &str| NumberBound::parse(v).and_then(|b| b.exact);
        assert_eq!(
            exact("9007199254740993").as_deref(),
            Some("9007199254740993")
        );
        assert_eq!(
            exact("+09007199254740992").as_deref(),
            Some("9007199254740992")
        );
        assert_eq!(
            exact("-9007199254740993").as_deref(),
            Some("-9007199254740993")
        );
        assert_eq!(exact("9007199254740991"), None);
        assert_eq!(exact("9007199254740993.0"), None);
        assert_eq!(exact("100"), None);
        assert_eq!(exact("1".repeat(39).as_str()), None);
        assert!(NumberBound::parse("1".repeat(39).as_str()).is_some());
        assert_eq!(NumberBound::parse("inf"), None);
        assert_eq!(NumberBound::parse("x"), None);
    }

    #[test]
    fn a_cursor_position_must_fit_the_sort() {
        let cursor = |sort: &str, value: SortValue| {
            let q = parse(&[("sort", sort)]).unwrap();
            Cursor {
                value,
                id: "cnt_0000000000000000".into(),
                fingerprint: fingerprint(&q.filter, q.sort),
            }
            .encode()
        };
        for (sort, value, fits) in [
            ("full_name", SortValue::Text("ada".into()), true),
            ("full_name", SortValue::Int(5), false),
            ("-created_at", SortValue::Int(5), true),
            ("-created_at", SortValue::Text("5".into()), false),
            ("updated_at", SortValue::Text("x".into()), false),
            ("last_contacted", SortValue::Text("x".into()), false),
        ] {
            let c = cursor(sort, value.clone());
            let parsed = parse(&[("sort", sort), ("cursor", &c)]);
            assert_eq!(parsed.is_ok(), fits, "{sort} {value:?}");
            if !fits {
                assert_eq!(parsed.err().map(|e| e.field).as_deref(), Some("cursor"));
            }
        }
    }

    #[test]
    fn phone_prefix_of_q() {
        let prefix = |q: &str| TextQuery::new(q).phone_prefix;
        assert_eq!(prefix("1415").as_deref(), Some("+1415"));
        assert_eq!(prefix("+44").as_deref(), Some("+44"));
        assert_eq!(prefix("ada"), None);
        assert_eq!(prefix("+"), None);
        assert_eq!(TextQuery::new("Zoë  VAN").words, ["zoe", "van"]);
    }

    #[test]
    fn q_of_nothing_visible_prefixes_no_email() {
        assert_eq!(TextQuery::new("Zoë@").email_prefix.as_deref(), Some("zoe@"));
        for q in [
            "\u{301}",
            "\u{301}\u{308}",
            " ",
            "\u{200B}\u{FEFF}",
            " \u{200D}\u{301}",
        ] {
            let q = TextQuery::new(q);
            assert_eq!(q.email_prefix, None);
            assert!(q.words.is_empty() && q.phone_prefix.is_none());
        }
    }

    #[test]
    fn at_most_twenty_filters() {
        let many: Vec<(String, String)> = (0..21)
            .map(|i| (format!("metadata.k{i}"), "v".to_owned()))
            .collect();
        assert_eq!(
            ContactQuery::parse(&many).err().map(|e| e.field),
            Some("query".into())
        );
        assert!(ContactQuery::parse(&many[..20]).is_ok());
        // Both forms count towards the same cap.
        let mut mixed = many[..20].to_vec();
        mixed.push(("metadata[extra]".to_owned(), "v".to_owned()));
        assert_eq!(
            ContactQuery::parse(&mixed).err().map(|e| e.field),
            Some("query".into())
        );
        assert_eq!(
            ContactFilter::from_pairs(&many).err().map(|e| e.field),
            Some("query".into())
        );
    }

    #[test]
    fn totals_unless_a_first_page_opts_out() {
        assert!(parse(&[]).unwrap().include_total);
        assert!(!parse(&[("include_total", "false")]).unwrap().include_total);
        assert!(
            parse(&[("offset", "0"), ("include_total", "false")])
                .unwrap()
                .include_total
        );
        assert_eq!(
            parse(&[("include_total", "yes")]).err().map(|e| e.field),
            Some("include_total".into())
        );
    }
}
