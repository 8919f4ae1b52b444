//! The SQL of contact lists and counts, written once for both backends.
//!
//! A list is answered from indexes only. Each filter an index can enumerate is a
//! *source* (see `domain::search` for the terms behind them): a metadata equality is the
//! rows of one or two terms, `exists` a range of terms, a comparison a range of the number
//! index, `q` the words starting with its longest word plus the email and phone prefix
//! ranges. A query picks one of three plans:
//!
//! - **Ordered**: walk one term's rows, which are kept in creation order, joining each to
//!   its contact and testing the other filters; for `sort=created_at` it stops after one
//!   page whatever the filter's size.
//! - **Gather**: read all contacts of the smallest source (at most [`GATHER_MAX`]), test
//!   the other filters, sort them.
//! - **Walk**: read the tenant's sort index in order and test each contact (probes into
//!   the term index, never JSON, for equality and comparisons) until the page is full;
//!   chosen when every source is large, so a page is found after a few hundred contacts.
//!
//! Which one is chosen depends on capped counts of the sources ([`estimate`]), taken in the
//! same snapshot as the page. A count reads the smallest source and tests the others; a
//! single metadata filter (with `status` and creation times) is counted from its index alone.
//! Every value a client sent is a bound parameter.

use crate::domain::contact::{Channel, ContactStatus};
use crate::domain::contact_query::{
    Comparison, ContactFilter, ContactQuery, MetadataCondition, SortField, SortValue, Start,
    TextQuery,
};
use crate::domain::search::{self, PREFIX_END};
use crate::domain::tenant::Tenant;

/// Largest source read whole and sorted (the Gather plan).
pub const GATHER_MAX: u64 = 2000;

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
}

/// SQL text with its parameters in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// How a list or a count reads its contacts; the number is the index of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Walk,
    Ordered(usize),
    Gather(usize),
}

/// Which filter a source stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Metadata(usize),
    Q,
}

#[derive(Debug, Clone)]
enum Source<'a> {
    /// Contacts holding any of these terms.
    Terms(Vec<String>),
    /// Contacts holding a term in `[low, high)`.
    TermRange(String, String),
    /// Contacts whose comparison term's number compares so.
    Numbers(String, Comparison, f64),
    /// A superset of `q`'s matches.
    Text(&'a TextQuery),
}

impl Source<'_> {
    /// Whether holding the source is the same as matching its filter.
    fn exact(&self) -> bool {
        !matches!(self, Source::Text(_))
    }

    /// Whether its rows come in creation order without a sort.
    fn ordered(&self) -> bool {
        matches!(self, Source::Terms(terms) if terms.len() == 1)
    }
}

fn sources(filter: &ContactFilter) -> Vec<(Filter, Source<'_>)> {
    let mut out = Vec::new();
    for (i, m) in filter.metadata.iter().enumerate() {
        let source = match &m.condition {
            MetadataCondition::Equals(values) => Source::Terms(equality_terms(&m.path, values)),
            MetadataCondition::Exists(true) => {
                let (low, high) = search::path_range(&m.path);
                Source::TermRange(low, high)
            }
            MetadataCondition::Compare(op, n) => {
                Source::Numbers(search::number_term(&m.path), *op, *n)
            }
            MetadataCondition::NotEquals(_) | MetadataCondition::Exists(false) => continue,
        };
        out.push((Filter::Metadata(i), source));
    }
    if let Some(q) = &filter.q {
        out.push((Filter::Q, Source::Text(q)));
    }
    out
}

fn equality_terms(path: &[String], values: &[serde_json::Value]) -> Vec<String> {
    let mut terms: Vec<String> = values
        .iter()
        .filter_map(|v| search::value_term(path, v))
        .collect();
    terms.dedup();
    terms
}

/// How many sources the filter has; [`estimate`] takes an index below this.
pub fn source_count(filter: &ContactFilter) -> usize {
    sources(filter).len()
}

/// Whether the plan of this page depends on the sources' sizes.
pub fn needs_estimates(query: &ContactQuery) -> bool {
    let sources = sources(&query.filter);
    !(sources.is_empty()
        || (sources.len() == 1
            && query.sort.field == SortField::CreatedAt
            && sources[0].1.ordered()))
}

/// The plan of a page, given the capped size of each source (empty when
/// [`needs_estimates`] said so).
pub fn page_plan(query: &ContactQuery, estimates: &[u64]) -> Plan {
    let sources = sources(&query.filter);
    let by_creation = query.sort.field == SortField::CreatedAt;
    let Some((smallest, size)) = smallest(estimates) else {
        return match sources.first() {
            Some((_, s)) if by_creation && s.ordered() => Plan::Ordered(0),
            _ => Plan::Walk,
        };
    };
    if by_creation && sources[smallest].1.ordered() {
        return Plan::Ordered(smallest);
    }
    if size <= GATHER_MAX {
        return Plan::Gather(smallest);
    }
    if by_creation {
        let ordered = (0..sources.len())
            .filter(|i| sources[*i].1.ordered())
            .min_by_key(|i| estimates[*i]);
        if let Some(i) = ordered {
            return Plan::Ordered(i);
        }
    }
    Plan::Walk
}

/// The plan of a count: the smallest source, or every contact when there is none.
pub fn count_plan(estimates: &[u64], sources: usize) -> Plan {
    match (sources, smallest(estimates)) {
        (0, _) => Plan::Walk,
        (_, Some((i, _))) => Plan::Gather(i),
        (_, None) => Plan::Gather(0),
    }
}

fn smallest(estimates: &[u64]) -> Option<(usize, u64)> {
    estimates
        .iter()
        .copied()
        .enumerate()
        .min_by_key(|(_, n)| *n)
}

struct Builder<'a> {
    dialect: Dialect,
    tenant: &'a Tenant,
    filter: &'a ContactFilter,
    params: Vec<Param>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect, tenant: &'a Tenant, filter: &'a ContactFilter) -> Self {
        Builder {
            dialect,
            tenant,
            filter,
            params: Vec::new(),
        }
    }

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

    fn int(&mut self, n: i64) -> String {
        self.bind(Param::Int(n))
    }

    fn finish(self, text: String) -> Sql {
        Sql {
            text,
            params: self.params,
        }
    }

    /// `alias.workspace_id = ? AND alias.mode = ?`
    fn tenant_of(&mut self, alias: &str) -> String {
        let (ws, mode) = (
            self.text(&self.tenant.workspace_id.clone()),
            self.text(self.tenant.mode.as_str()),
        );
        format!("{alias}.workspace_id = {ws} AND {alias}.mode = {mode}")
    }

    /// Conditions a source's rows can test themselves: status and creation times.
    fn pushed_down(&mut self, alias: &str) -> String {
        let f = self.filter;
        let mut out = String::new();
        if let Some(status) = f.status {
            let s = self.text(ContactStatus::as_str(status));
            out.push_str(&format!(" AND {alias}.status = {s}"));
        }
        for (op, time) in [(">", f.created_after), ("<", f.created_before)] {
            if let Some(t) = time {
                let t = self.int(t.as_micros());
                out.push_str(&format!(" AND {alias}.created_at {op} {t}"));
            }
        }
        out
    }

    /// `SELECT created_at, contact_id …` of the contacts of a source (with repeats).
    fn source(&mut self, source: &Source<'_>) -> String {
        let from = |b: &mut Self, condition: String| {
            let tenant = b.tenant_of("t");
            let pushed = b.pushed_down("t");
            format!(
                "SELECT t.created_at, t.contact_id FROM contact_terms t \
                 WHERE {tenant} AND {condition}{pushed}"
            )
        };
        match source {
            Source::Terms(terms) => {
                let condition = self.term_in("t", terms);
                from(self, condition)
            }
            Source::TermRange(low, high) => {
                let (low, high) = (self.text(low), self.text(high));
                from(self, format!("t.term >= {low} AND t.term < {high}"))
            }
            Source::Numbers(term, op, n) => {
                let term = self.text(term);
                let n = self.bind(Param::Real(*n));
                from(
                    self,
                    format!("t.term = {term} AND t.num {} {n}", comparison(*op)),
                )
            }
            Source::Text(q) => {
                let mut parts = Vec::new();
                if let Some(longest) = q.words.iter().max_by_key(|w| w.len()) {
                    let (low, high) = search::word_prefix_range(longest);
                    let (low, high) = (self.text(&low), self.text(&high));
                    parts.push(from(self, format!("t.term >= {low} AND t.term < {high}")));
                }
                let mut prefix = |b: &mut Self, column: &str, prefix: &str| {
                    let tenant = b.tenant_of("c");
                    let (low, high) = prefix_range(b, prefix);
                    let pushed = b.pushed_down("c");
                    parts.push(format!(
                        "SELECT c.created_at, c.id AS contact_id FROM contacts c WHERE {tenant} \
                         AND c.{column} >= {low} AND c.{column} < {high}{pushed}"
                    ));
                };
                prefix(self, "email_fold", &q.folded);
                if let Some(phone) = &q.phone_prefix {
                    prefix(self, "phone", phone);
                }
                parts.join(" UNION ALL ")
            }
        }
    }

    fn term_in(&mut self, alias: &str, terms: &[String]) -> String {
        match terms {
            [] => "1 = 0".to_owned(),
            [one] => format!("{alias}.term = {}", self.text(one)),
            many => {
                let list: Vec<String> = many.iter().map(|t| self.text(t)).collect();
                format!("{alias}.term IN ({})", list.join(", "))
            }
        }
    }

    /// The tests of one contact `c` for every filter but `skip` (the exact source that
    /// supplied it). Equality and comparisons probe the term index by primary key.
    fn row_conditions(&mut self, skip: Option<Filter>) -> Vec<String> {
        let f = self.filter;
        let mut c = Vec::new();
        if let Some(status) = f.status {
            c.push(format!(
                "c.status = {}",
                self.text(ContactStatus::as_str(status))
            ));
        }
        if let Some(channel) = f.preferred_channel {
            c.push(format!(
                "c.preferred_channel = {}",
                self.text(Channel::as_str(channel))
            ));
        }
        if let Some(q) = &f.q {
            if skip != Some(Filter::Q) {
                c.push(self.text_match(q));
            }
        }
        for (column, op, time) in [
            ("created_at", ">", f.created_after),
            ("created_at", "<", f.created_before),
            ("updated_at", ">", f.updated_after),
        ] {
            if let Some(t) = time {
                c.push(format!("c.{column} {op} {}", self.int(t.as_micros())));
            }
        }
        for (i, m) in f.metadata.iter().enumerate() {
            if skip == Some(Filter::Metadata(i)) {
                continue;
            }
            c.push(match &m.condition {
                MetadataCondition::Equals(values) => {
                    let terms = equality_terms(&m.path, values);
                    self.probe(|b| b.term_in("t2", &terms))
                }
                MetadataCondition::NotEquals(values) => {
                    let terms = equality_terms(&m.path, values);
                    format!("NOT {}", self.probe(|b| b.term_in("t2", &terms)))
                }
                MetadataCondition::Exists(exists) => self.path_exists(&m.path, *exists),
                MetadataCondition::Compare(op, n) => {
                    let term = search::number_term(&m.path);
                    self.probe(|b| {
                        let term = b.text(&term);
                        let n = b.bind(Param::Real(*n));
                        format!("t2.term = {term} AND t2.num {} {n}", comparison(*op))
                    })
                }
            });
        }
        c
    }

    /// `EXISTS` a term row of contact `c` satisfying `condition` (on alias `t2`).
    fn probe(&mut self, condition: impl FnOnce(&mut Self) -> String) -> String {
        let tenant = self.tenant_of("t2");
        let condition = condition(self);
        format!(
            "EXISTS (SELECT 1 FROM contact_terms t2 WHERE {tenant} AND {condition} \
             AND t2.created_at = c.created_at AND t2.contact_id = c.id)"
        )
    }

    /// Whether the metadata of `c` has a node at `path` (objects only on the way down).
    fn path_exists(&mut self, path: &[String], exists: bool) -> String {
        let quoted: String = path.iter().map(|k| format!(".\"{k}\"")).collect();
        match self.dialect {
            Dialect::Sqlite => {
                let p = self.text(&format!("${quoted}"));
                let not = if exists { "NOT " } else { "" };
                format!("json_type(c.metadata, {p}) IS {not}NULL")
            }
            Dialect::Postgres => {
                let p = self.text(&format!("strict ${quoted}"));
                let not = if exists { "" } else { "NOT " };
                format!(
                    "jsonb_path_exists(c.metadata, {p}::text::jsonpath, '{{}}', true) IS {not}TRUE"
                )
            }
        }
    }

    /// `q` on contact `c`: its words prefix words of the names, or it prefixes the email or
    /// the phone.
    fn text_match(&mut self, q: &TextQuery) -> String {
        let mut any = Vec::new();
        if !q.words.is_empty() {
            let all: Vec<String> = q
                .words
                .iter()
                .map(|w| {
                    let w = self.text(&format!(" {w}"));
                    match self.dialect {
                        Dialect::Sqlite => format!("instr(c.name_words, {w}) > 0"),
                        Dialect::Postgres => format!("strpos(c.name_words, {w}) > 0"),
                    }
                })
                .collect();
            any.push(format!("({})", all.join(" AND ")));
        }
        let (low, high) = prefix_range(self, &q.folded);
        any.push(format!("(c.email_fold >= {low} AND c.email_fold < {high})"));
        if let Some(phone) = &q.phone_prefix {
            let (low, high) = prefix_range(self, phone);
            any.push(format!("(c.phone >= {low} AND c.phone < {high})"));
        }
        format!("({})", any.join(" OR "))
    }
}

fn prefix_range(b: &mut Builder<'_>, prefix: &str) -> (String, String) {
    (b.text(prefix), b.text(&format!("{prefix}{PREFIX_END}")))
}

fn comparison(op: Comparison) -> &'static str {
    match op {
        Comparison::Gt => ">",
        Comparison::Gte => ">=",
        Comparison::Lt => "<",
        Comparison::Lte => "<=",
    }
}

fn join_keyword(dialect: Dialect) -> &'static str {
    // SQLite keeps the tables of a CROSS JOIN in the order written: the source drives.
    match dialect {
        Dialect::Sqlite => "CROSS JOIN",
        Dialect::Postgres => "JOIN",
    }
}

/// Counts the contacts of source `index`, stopping after `cap`.
pub fn estimate(
    dialect: Dialect,
    tenant: &Tenant,
    filter: &ContactFilter,
    index: usize,
    cap: u64,
) -> Sql {
    let sources = sources(filter);
    let mut b = Builder::new(dialect, tenant, filter);
    let source = b.source(&sources[index].1);
    let cap = b.int(i64::try_from(cap).unwrap_or(i64::MAX));
    b.finish(format!("SELECT COUNT(*) FROM ({source} LIMIT {cap}) AS s"))
}

/// The distinct contacts of a source joined to their rows, as `… FROM … WHERE {tenant}`.
fn gathered(b: &mut Builder<'_>, source: &Source<'_>) -> String {
    let inner = b.source(source);
    let join = join_keyword(b.dialect);
    let tenant = b.tenant_of("c");
    format!(
        "(SELECT DISTINCT created_at, contact_id FROM ({inner}) AS s0) AS d \
         {join} contacts c ON {tenant} AND c.id = d.contact_id"
    )
}

/// The count of all contacts matching the filter.
pub fn count(dialect: Dialect, tenant: &Tenant, filter: &ContactFilter, plan: Plan) -> Sql {
    let sources = sources(filter);
    let mut b = Builder::new(dialect, tenant, filter);
    let text = match plan {
        Plan::Gather(i) => {
            let (which, source) = &sources[i];
            if source.exact() && only_pushed_down(filter, *which) {
                let inner = b.source(source);
                if source.ordered() {
                    format!("SELECT COUNT(*) FROM ({inner}) AS s")
                } else {
                    format!(
                        "SELECT COUNT(*) FROM (SELECT DISTINCT created_at, contact_id FROM ({inner}) AS s0) AS s"
                    )
                }
            } else {
                let from = gathered(&mut b, source);
                let skip = source.exact().then_some(*which);
                let conditions = b.row_conditions(skip);
                format!(
                    "SELECT COUNT(*) FROM {from}{}",
                    where_clause(" WHERE ", &conditions)
                )
            }
        }
        Plan::Walk | Plan::Ordered(_) => {
            let tenant = b.tenant_of("c");
            let conditions = b.row_conditions(None);
            format!(
                "SELECT COUNT(*) FROM contacts c WHERE {tenant}{}",
                where_clause(" AND ", &conditions)
            )
        }
    };
    b.finish(text)
}

/// Whether `which` is the only filter a source cannot test by itself.
fn only_pushed_down(f: &ContactFilter, which: Filter) -> bool {
    f.preferred_channel.is_none()
        && f.updated_after.is_none()
        && f.q.is_none()
        && f.metadata.len() == 1
        && which == Filter::Metadata(0)
}

fn where_clause(lead: &str, conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("{lead}{}", conditions.join(" AND "))
    }
}

/// One page: `limit + 1` rows, to tell whether more follow. `columns` are those of
/// `contacts`, written without a table name.
pub fn page(
    dialect: Dialect,
    columns: &str,
    tenant: &Tenant,
    query: &ContactQuery,
    plan: Plan,
) -> Sql {
    let sources = sources(&query.filter);
    let plan = match plan {
        Plan::Ordered(i) if !sources[i].1.ordered() => Plan::Gather(i),
        other => other,
    };
    let mut b = Builder::new(dialect, tenant, &query.filter);
    let columns: Vec<String> = columns.split(", ").map(|c| format!("c.{c}")).collect();
    let columns = columns.join(", ");
    let (from, mut conditions, key, id) = match plan {
        Plan::Walk => {
            let tenant = b.tenant_of("c");
            let conditions = b.row_conditions(None);
            (
                format!("contacts c WHERE {tenant}"),
                conditions,
                sort_expression(query.sort.field),
                "c.id",
            )
        }
        Plan::Ordered(i) => {
            let (which, source) = &sources[i];
            let join = join_keyword(dialect);
            let tenant = b.tenant_of("t");
            let terms = match source {
                Source::Terms(terms) => terms.as_slice(),
                _ => &[],
            };
            let term = b.term_in("t", terms);
            let pushed = b.pushed_down("t");
            let conditions = b.row_conditions(Some(*which));
            (
                format!(
                    "contact_terms t {join} contacts c ON c.workspace_id = t.workspace_id \
                     AND c.mode = t.mode AND c.id = t.contact_id \
                     WHERE {tenant} AND {term}{pushed}"
                ),
                conditions,
                "t.created_at",
                "t.contact_id",
            )
        }
        Plan::Gather(i) => {
            let (which, source) = &sources[i];
            let from = gathered(&mut b, source);
            let skip = source.exact().then_some(*which);
            let conditions = b.row_conditions(skip);
            (
                format!("{from} WHERE 1 = 1"),
                conditions,
                sort_expression(query.sort.field),
                "c.id",
            )
        }
    };
    let (cmp, direction) = if query.sort.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Start::After { value, id: after } = &query.start {
        let value = match value {
            SortValue::Int(n) => b.int(*n),
            SortValue::Text(s) => b.text(s),
        };
        let after = b.text(after);
        conditions.push(format!(
            "({key} {cmp} {value} OR ({key} = {value} AND {id} {cmp} {after}))"
        ));
    }
    let limit = b.int(i64::from(query.limit) + 1);
    let offset = match query.start {
        Start::Offset(n) if n > 0 => {
            format!(" OFFSET {}", b.int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        _ => String::new(),
    };
    let text = format!(
        "SELECT {columns} FROM {from}{} ORDER BY {key} {direction}, {id} {direction} \
         LIMIT {limit}{offset}",
        where_clause(" AND ", &conditions)
    );
    b.finish(text)
}

fn sort_expression(field: SortField) -> &'static str {
    match field {
        SortField::CreatedAt => "c.created_at",
        SortField::UpdatedAt => "c.updated_at",
        SortField::LastContacted => "COALESCE(c.last_contacted, 9223372036854775807)",
        SortField::FullName => "c.full_name_key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::Mode;

    fn query(pairs: &[(&str, &str)]) -> ContactQuery {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ContactQuery::parse(&pairs).unwrap()
    }

    #[test]
    fn plans_follow_the_sizes() {
        let q = query(&[("metadata.plan", "premium")]);
        assert!(!needs_estimates(&q));
        assert_eq!(page_plan(&q, &[]), Plan::Ordered(0));
        let q = query(&[("metadata.plan", "premium"), ("sort", "-updated_at")]);
        assert!(needs_estimates(&q));
        assert_eq!(page_plan(&q, &[GATHER_MAX + 1]), Plan::Walk);
        assert_eq!(page_plan(&q, &[10]), Plan::Gather(0));
        let q = query(&[("metadata.mrr", "500"), ("q", "ada")]);
        assert_eq!(page_plan(&q, &[5000, 3000]), Plan::Walk);
        assert_eq!(page_plan(&q, &[5000, 30]), Plan::Gather(1));
        let q = query(&[("metadata.plan", "x"), ("metadata.n[gt]", "1")]);
        assert_eq!(page_plan(&q, &[5000, 9000]), Plan::Ordered(0));
        assert_eq!(page_plan(&q, &[5000, 9]), Plan::Gather(1));
        assert_eq!(page_plan(&query(&[("status", "active")]), &[]), Plan::Walk);
        assert_eq!(count_plan(&[], 0), Plan::Walk);
        assert_eq!(count_plan(&[7, 3], 2), Plan::Gather(1));
    }

    #[test]
    fn every_value_is_bound() {
        let tenant = Tenant {
            workspace_id: "ws'1".into(),
            mode: Mode::Test,
        };
        let q = query(&[
            ("metadata.plan", "pre'mium"),
            ("metadata.x[exists]", "true"),
            ("metadata.y[ne]", "%"),
            ("q", "o'brien"),
        ]);
        for plan in [
            Plan::Walk,
            Plan::Ordered(0),
            Plan::Gather(1),
            Plan::Gather(2),
        ] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let sql = page(dialect, "id, phone", &tenant, &q, plan);
                assert!(!sql.text.contains('\''.to_string().as_str()) || sql.text.contains("'{}'"));
                assert!(!sql.text.contains("ws'1") && !sql.text.contains("brien"));
                let sql = count(dialect, &tenant, &q.filter, plan);
                assert!(!sql.text.contains("mium"));
            }
        }
    }
}
