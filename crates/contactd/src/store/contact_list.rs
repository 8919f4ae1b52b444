//! The SQL of a contact list, written once for both backends.
//!
//! Filters, keyset paging and sorting are the same SQL in SQLite and PostgreSQL except for
//! placeholders and the metadata conditions (SQLite's `json_each`, PostgreSQL's `@>`
//! containment served by a GIN index). Every value a client sent is a bound parameter.

use serde_json::Value;

use crate::domain::contact::{Channel, ContactStatus};
use crate::domain::contact_query::{
    Comparison, ContactQuery, MetadataCondition, MetadataFilter, SortField, SortValue, Start,
    UNSET_TEXT,
};
use crate::domain::tenant::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A parameter value, converted to each driver's own type by its backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Real(f64),
    Json(Value),
    TextArray(Vec<String>),
}

/// SQL text with its parameters in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

struct Builder {
    dialect: Dialect,
    params: Vec<Param>,
}

impl Builder {
    /// Adds a parameter and returns its placeholder.
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }

    fn text(&mut self, s: &str) -> String {
        self.bind(Param::Text(s.to_owned()))
    }
}

/// The page query (limit + 1 rows, to tell whether more follow) and, for offset pages,
/// the count of all matches.
pub fn list_contacts(
    dialect: Dialect,
    columns: &str,
    tenant: &Tenant,
    query: &ContactQuery,
) -> (Sql, Option<Sql>) {
    let count = match query.start {
        Start::Offset(_) => {
            let mut b = Builder {
                dialect,
                params: Vec::new(),
            };
            let conditions = filter_conditions(&mut b, tenant, query).join(" AND ");
            Some(Sql {
                text: format!("SELECT COUNT(*) FROM contacts WHERE {conditions}"),
                params: b.params,
            })
        }
        Start::After { .. } => None,
    };

    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut conditions = filter_conditions(&mut b, tenant, query);
    let key = sort_expression(query.sort.field);
    let (cmp, direction) = if query.sort.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Start::After { value, id } = &query.start {
        let value = match value {
            SortValue::Int(n) => b.bind(Param::Int(*n)),
            SortValue::Text(s) => b.text(s),
        };
        let id = b.text(id);
        conditions.push(format!(
            "({key} {cmp} {value} OR ({key} = {value} AND id {cmp} {id}))"
        ));
    }
    let limit = b.bind(Param::Int(i64::from(query.limit) + 1));
    let offset = match query.start {
        Start::Offset(n) if n > 0 => {
            let n = b.bind(Param::Int(i64::try_from(n).unwrap_or(i64::MAX)));
            format!(" OFFSET {n}")
        }
        _ => String::new(),
    };
    let page = Sql {
        text: format!(
            "SELECT {columns} FROM contacts WHERE {} ORDER BY {key} {direction}, id {direction} \
             LIMIT {limit}{offset}",
            conditions.join(" AND ")
        ),
        params: b.params,
    };
    (page, count)
}

fn sort_expression(field: SortField) -> &'static str {
    match field {
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::LastContacted => "COALESCE(last_contacted, 9223372036854775807)",
        SortField::FullName => "full_name_key",
    }
}

fn filter_conditions(b: &mut Builder, tenant: &Tenant, query: &ContactQuery) -> Vec<String> {
    let f = &query.filter;
    let mut c = vec![
        format!("workspace_id = {}", b.text(&tenant.workspace_id)),
        format!("mode = {}", b.text(tenant.mode.as_str())),
    ];
    if let Some(status) = f.status {
        c.push(format!(
            "status = {}",
            b.text(ContactStatus::as_str(status))
        ));
    }
    if let Some(channel) = f.preferred_channel {
        c.push(format!(
            "preferred_channel = {}",
            b.text(Channel::as_str(channel))
        ));
    }
    if let Some(q) = &f.q {
        let mut prefixes = Vec::new();
        let (low, high) = (b.text(q), b.text(&format!("{q}{UNSET_TEXT}")));
        for column in ["full_name_key", "last_name_key", "email_key"] {
            prefixes.push(format!("({column} >= {low} AND {column} < {high})"));
        }
        if let Some(phone) = f.phone_prefix() {
            let (low, high) = (b.text(&phone), b.text(&format!("{phone}{UNSET_TEXT}")));
            prefixes.push(format!("(phone >= {low} AND phone < {high})"));
        }
        c.push(format!("({})", prefixes.join(" OR ")));
    }
    for (column, op, time) in [
        ("created_at", ">", f.created_after),
        ("created_at", "<", f.created_before),
        ("updated_at", ">", f.updated_after),
    ] {
        if let Some(t) = time {
            c.push(format!(
                "{column} {op} {}",
                b.bind(Param::Int(t.as_micros()))
            ));
        }
    }
    for filter in &f.metadata {
        c.push(match b.dialect {
            Dialect::Sqlite => sqlite_metadata(b, filter),
            Dialect::Postgres => postgres_metadata(b, tenant, filter),
        });
    }
    c
}

fn comparison(op: Comparison) -> &'static str {
    match op {
        Comparison::Gt => ">",
        Comparison::Gte => ">=",
        Comparison::Lt => "<",
        Comparison::Lte => "<=",
    }
}

/// SQLite: `json_each` over the value at the path yields the value itself, or an array's
/// elements; its `type` column keeps strings, numbers and booleans apart.
fn sqlite_metadata(b: &mut Builder, filter: &MetadataFilter) -> String {
    let path_text: String = filter
        .path
        .iter()
        .map(|k| format!(".\"{k}\""))
        .collect::<String>();
    let path = b.text(&format!("${path_text}"));
    // A scalar at the path is compared with json_extract; only an array is walked with
    // json_each (far slower per row), to find an element equal to the value.
    let equals = |b: &mut Builder, values: &[Value]| {
        let mut scalar = Vec::new();
        let mut element = Vec::new();
        for v in values {
            match v {
                Value::String(s) => {
                    let s = b.text(s);
                    scalar.push(format!(
                        "(json_type(metadata, {path}) = 'text' AND json_extract(metadata, {path}) = {s})"
                    ));
                    element.push(format!("(je.type = 'text' AND je.value = {s})"));
                }
                Value::Bool(flag) => {
                    let t = if *flag { "'true'" } else { "'false'" };
                    scalar.push(format!("json_type(metadata, {path}) = {t}"));
                    element.push(format!("je.type = {t}"));
                }
                Value::Number(n) => {
                    let n = b.bind(Param::Real(n.as_f64().unwrap_or(f64::NAN)));
                    scalar.push(format!(
                        "(json_type(metadata, {path}) IN ('integer', 'real') AND json_extract(metadata, {path}) = {n})"
                    ));
                    element.push(format!(
                        "(je.type IN ('integer', 'real') AND je.value = {n})"
                    ));
                }
                _ => {}
            }
        }
        format!(
            "COALESCE(CASE json_type(metadata, {path}) \
             WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(metadata, {path}) AS je WHERE {}) \
             WHEN 'object' THEN 0 ELSE ({}) END, 0)",
            element.join(" OR "),
            scalar.join(" OR ")
        )
    };
    match &filter.condition {
        MetadataCondition::Equals(values) => equals(b, values),
        MetadataCondition::NotEquals(values) => format!("NOT {}", equals(b, values)),
        MetadataCondition::Exists(true) => format!("json_type(metadata, {path}) IS NOT NULL"),
        MetadataCondition::Exists(false) => format!("json_type(metadata, {path}) IS NULL"),
        MetadataCondition::Compare(op, n) => {
            let n = b.bind(Param::Real(*n));
            format!(
                "(json_type(metadata, {path}) IN ('integer', 'real') AND \
                 json_extract(metadata, {path}) {} {n})",
                comparison(*op)
            )
        }
    }
}

/// PostgreSQL: equality is containment of `{"t": tenant, "m": {path: value}}` (or of
/// `[value]` for arrays) in the document the GIN index `contacts_metadata` holds.
fn postgres_metadata(b: &mut Builder, tenant: &Tenant, filter: &MetadataFilter) -> String {
    const DOC: &str = "contactd_metadata_doc(workspace_id, mode, metadata)";
    let tenant_key = format!("{}:{}", tenant.workspace_id, tenant.mode.as_str());
    let equals = |b: &mut Builder, values: &[Value]| {
        let mut matches = Vec::new();
        for v in values {
            for inner in [v.clone(), Value::Array(vec![v.clone()])] {
                let doc = serde_json::json!({"t": tenant_key, "m": filter.containing(inner)});
                matches.push(format!("{DOC} @> {}", b.bind(Param::Json(doc))));
            }
        }
        format!("({})", matches.join(" OR "))
    };
    match &filter.condition {
        MetadataCondition::Equals(values) => equals(b, values),
        MetadataCondition::NotEquals(values) => format!("NOT {}", equals(b, values)),
        MetadataCondition::Exists(exists) => {
            let path = b.bind(Param::TextArray(filter.path.clone()));
            let not = if *exists { "NOT " } else { "" };
            format!("(metadata #> {path}) IS {not}NULL")
        }
        MetadataCondition::Compare(op, n) => {
            let path = b.bind(Param::TextArray(filter.path.clone()));
            let n = b.bind(Param::Real(*n));
            format!(
                "(CASE WHEN jsonb_typeof(metadata #> {path}) = 'number' \
                 THEN (metadata #>> {path})::float8 {} {n} ELSE false END)",
                comparison(*op)
            )
        }
    }
}
