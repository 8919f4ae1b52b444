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
    Comparison, ContactFilter, ContactQuery, MetadataCondition, NumberBound, SortField, SortValue,
    Start, TextQuery,
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
    /// All of `q`.
    Q,
    /// One word of `q`, when `q` can only match by the names.
    QWord(usize),
}

#[derive(Debug, Clone)]
enum Source<'a> {
    /// Contacts holding any of these terms.
    Terms(Vec<String>),
    /// Contacts holding a term in `[low, high)`.
    TermRange(String, String),
    /// Contacts whose number at a path compares so.
    Numbers(&'a [String], Comparison, &'a NumberBound),
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

/// What the database says about `q` before a plan is made ([`text_probes`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextHints {
    /// For each word of `q`, the one term of the names starting with it, when there is
    /// exactly one (`lov` → `w:lovelace`): the word is then an equality on that term.
    pub exact_words: Vec<Option<String>>,
    /// Whether some email or phone of the tenant starts with `q`. When none does, `q` can
    /// only match by the names: each of its words is a filter of its own.
    pub other_prefixes: bool,
}

/// The queries whose answers make [`TextHints`]: for each word of `q`, the least and the
/// greatest term starting with it; then whether any email or phone starts with `q`.
pub fn text_probes(dialect: Dialect, tenant: &Tenant, q: &TextQuery) -> (Vec<Sql>, Sql) {
    let filter = ContactFilter::default();
    let words = q
        .words
        .iter()
        .map(|w| {
            let mut b = Builder::new(dialect, tenant, &filter);
            let (low, high) = search::word_prefix_range(w);
            let tenant = b.tenant_of("t");
            let (low, high) = (b.text(&low), b.text(&high));
            // Two subqueries: SQLite answers a lone MIN or MAX with one index seek, but
            // both in one SELECT with a scan of the range.
            let range = format!(
                "FROM contact_terms t WHERE {tenant} AND t.term >= {low} AND t.term < {high}"
            );
            b.finish(format!(
                "SELECT (SELECT MIN(t.term) {range}), (SELECT MAX(t.term) {range})"
            ))
        })
        .collect();
    let mut b = Builder::new(dialect, tenant, &filter);
    let mut exists = Vec::new();
    let mut prefixes: Vec<(&str, String)> = Vec::new();
    prefixes.extend(q.email_prefix.clone().map(|p| ("email_fold", p)));
    prefixes.extend(q.phone_prefix.clone().map(|p| ("phone", p)));
    for (column, prefix) in prefixes {
        let tenant = b.tenant_of("c");
        let (low, high) = prefix_range(&mut b, &prefix);
        exists.push(format!(
            "EXISTS (SELECT 1 FROM contacts c WHERE {tenant} \
             AND c.{column} >= {low} AND c.{column} < {high})"
        ));
    }
    if exists.is_empty() {
        exists.push("1 = 0".to_owned());
    }
    let others = b.finish(format!(
        "SELECT CASE WHEN {} THEN 1 ELSE 0 END",
        exists.join(" OR ")
    ));
    (words, others)
}

/// The index sources of a filter and the plans and SQL built on them.
pub struct Search<'a> {
    dialect: Dialect,
    tenant: &'a Tenant,
    filter: &'a ContactFilter,
    hints: Option<TextHints>,
    sources: Vec<(Filter, Source<'a>)>,
}

impl<'a> Search<'a> {
    /// `hints` from [`text_probes`] when the filter has `q`.
    pub fn new(
        dialect: Dialect,
        tenant: &'a Tenant,
        filter: &'a ContactFilter,
        hints: Option<TextHints>,
    ) -> Search<'a> {
        let hints = hints.filter(|h| match &filter.q {
            Some(q) => h.exact_words.len() == q.words.len() && !h.other_prefixes,
            None => false,
        });
        let mut sources = Vec::new();
        for (i, m) in filter.metadata.iter().enumerate() {
            let source = match &m.condition {
                MetadataCondition::Equals(values) => Source::Terms(equality_terms(&m.path, values)),
                MetadataCondition::Exists(true) => {
                    let (low, high) = search::path_range(&m.path);
                    Source::TermRange(low, high)
                }
                MetadataCondition::Compare(op, n) => Source::Numbers(&m.path, *op, n),
                MetadataCondition::NotEquals(_) | MetadataCondition::Exists(false) => continue,
            };
            sources.push((Filter::Metadata(i), source));
        }
        if let Some(q) = &filter.q {
            match &hints {
                Some(_) if q.words.is_empty() => sources.push((Filter::Q, Source::Terms(vec![]))),
                Some(h) => {
                    for (i, (word, exact)) in q.words.iter().zip(&h.exact_words).enumerate() {
                        let source = match exact {
                            Some(term) => Source::Terms(vec![term.clone()]),
                            None => {
                                let (low, high) = search::word_prefix_range(word);
                                Source::TermRange(low, high)
                            }
                        };
                        sources.push((Filter::QWord(i), source));
                    }
                }
                None => sources.push((Filter::Q, Source::Text(q))),
            }
        }
        Search {
            dialect,
            tenant,
            filter,
            hints,
            sources,
        }
    }

    /// How many sources there are; [`Search::estimate`] takes an index below this.
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Whether the plan of this page depends on the sources' sizes.
    pub fn needs_estimates(&self, query: &ContactQuery) -> bool {
        !(self.sources.is_empty()
            || (self.sources.len() == 1
                && query.sort.field == SortField::CreatedAt
                && self.sources[0].1.ordered()))
    }

    /// The plan of a page, given the capped size of each source (empty when
    /// [`Search::needs_estimates`] said so).
    pub fn page_plan(&self, query: &ContactQuery, estimates: &[u64]) -> Plan {
        let sources = &self.sources;
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
    pub fn count_plan(&self, estimates: &[u64]) -> Plan {
        match (self.sources.len(), smallest(estimates)) {
            (0, _) => Plan::Walk,
            (_, Some((i, _))) => Plan::Gather(i),
            (_, None) => Plan::Gather(0),
        }
    }

    /// Counts the contacts of source `index`, stopping after `cap`.
    pub fn estimate(&self, index: usize, cap: u64) -> Sql {
        let mut b = self.builder();
        let source = b.source(&self.sources[index].1);
        let cap = b.int(i64::try_from(cap).unwrap_or(i64::MAX));
        b.finish(format!("SELECT COUNT(*) FROM ({source} LIMIT {cap}) AS s"))
    }

    /// The count of all contacts matching the filter.
    pub fn count(&self, plan: Plan) -> Sql {
        let sources = &self.sources;
        let mut b = self.builder();
        let text = match plan {
            Plan::Gather(i) => {
                let (which, source) = &sources[i];
                if source.exact() && sources.len() == 1 && only_pushed_down(self.filter) {
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

    /// One page: `limit + 1` rows, to tell whether more follow. `columns` are those of
    /// `contacts`, written without a table name.
    pub fn page(&self, columns: &str, query: &ContactQuery, plan: Plan) -> Sql {
        let sources = &self.sources;
        let dialect = self.dialect;
        let plan = match plan {
            Plan::Ordered(i) if !sources[i].1.ordered() => Plan::Gather(i),
            other => other,
        };
        let mut b = self.builder();
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
                b.key = ("t.created_at", "t.contact_id");
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
            // The first part bounds an index range, so a deep page seeks to its place
            // instead of reading every row before it.
            conditions.push(format!(
                "{key} {cmp}= {value} AND ({key} {cmp} {value} OR {id} {cmp} {after})"
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

    fn builder(&self) -> Builder<'a> {
        let mut b = Builder::new(self.dialect, self.tenant, self.filter);
        b.hints = self.hints.clone();
        b
    }
}

fn equality_terms(path: &[String], values: &[serde_json::Value]) -> Vec<String> {
    let mut terms: Vec<String> = values
        .iter()
        .filter_map(|v| search::value_term(path, v))
        .collect();
    terms.dedup();
    terms
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
    /// Set when `q` stands for its words (see [`TextHints`]).
    hints: Option<TextHints>,
    /// The columns that name the contact a probe is for: the contact row's, or the
    /// driving term row's, which a probe can use before the join reads the contact.
    key: (&'static str, &'static str),
    params: Vec<Param>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect, tenant: &'a Tenant, filter: &'a ContactFilter) -> Self {
        Builder {
            dialect,
            tenant,
            filter,
            hints: None,
            key: ("c.created_at", "c.id"),
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
            Source::Numbers(path, op, n) => {
                let condition = self.number_condition("t", path, *op, n);
                from(self, condition)
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
                if let Some(email) = &q.email_prefix {
                    prefix(self, "email_fold", email);
                }
                if let Some(phone) = &q.phone_prefix {
                    prefix(self, "phone", phone);
                }
                if parts.is_empty() {
                    // A q that can match nothing (see `TextQuery::email_prefix`).
                    parts.push(from(self, "1 = 0".to_owned()));
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
            match self.hints.clone() {
                Some(_) if q.words.is_empty() => c.push("1 = 0".to_owned()),
                Some(hints) => {
                    for (i, (word, exact)) in q.words.iter().zip(&hints.exact_words).enumerate() {
                        if skip == Some(Filter::QWord(i)) {
                            continue;
                        }
                        c.push(match exact {
                            Some(term) => {
                                let term = term.clone();
                                self.probe(|b| format!("t2.term = {}", b.text(&term)))
                            }
                            None => self.word_match(word),
                        });
                    }
                }
                None if skip != Some(Filter::Q) => c.push(self.text_match(q)),
                None => {}
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
                    self.probe(|b| b.number_condition("t2", &m.path, *op, n))
                }
            });
        }
        c
    }

    /// Whether the comparison term row `alias` holds a number at `path` that compares so
    /// with `bound`.
    ///
    /// The row keeps the number as a double, exact below 2^53. Beyond, several integers
    /// round to one double: a row whose double equals the bound's is decided by the
    /// contact's equality term of the same number (`m:PATH/n<digits>`), whose digits are
    /// exact. Numbers of one sign and magnitude compare as their digits do: by length, then
    /// (same length) bytewise, reversed for negatives.
    fn number_condition(
        &mut self,
        alias: &str,
        path: &[String],
        op: Comparison,
        bound: &NumberBound,
    ) -> String {
        let term = self.text(&search::number_term(path));
        let n = self.bind(Param::Real(bound.approx));
        let Some(exact) = &bound.exact else {
            return format!(
                "{alias}.term = {term} AND {alias}.num {} {n}",
                comparison(op)
            );
        };
        let above = matches!(op, Comparison::Gt | Comparison::Gte);
        let inclusive = matches!(op, Comparison::Gte | Comparison::Lte);
        let strict = if above { ">" } else { "<" };
        // A longer spelling is a larger magnitude: larger for positives, smaller for negatives.
        let longer = if above != exact.starts_with('-') {
            ">"
        } else {
            "<"
        };
        let digits = search::number_value_term(path, exact);
        // The length is of text this code made, not of client input.
        let length = digits.chars().count();
        let digits = self.text(&digits);
        let (low, high) = search::number_value_range(path);
        let (low, high) = (self.text(&low), self.text(&high));
        let tenant = self.tenant_of("t3");
        let or_equal = if inclusive { "=" } else { "" };
        format!(
            "{alias}.term = {term} AND ({alias}.num {strict} {n} OR ({alias}.num = {n} AND EXISTS \
             (SELECT 1 FROM contact_terms t3 WHERE {tenant} AND t3.created_at = {alias}.created_at \
             AND t3.contact_id = {alias}.contact_id AND t3.term >= {low} AND t3.term < {high} \
             AND (length(t3.term) {longer} {length} OR (length(t3.term) = {length} \
             AND t3.term {longer}{or_equal} {digits})))))"
        )
    }

    /// `EXISTS` a term row of contact `c` satisfying `condition` (on alias `t2`).
    fn probe(&mut self, condition: impl FnOnce(&mut Self) -> String) -> String {
        let tenant = self.tenant_of("t2");
        let condition = condition(self);
        let (created_at, id) = self.key;
        // PostgreSQL would turn a plain EXISTS into a semi-join and may then hash the
        // whole term (every premium contact) to find a page of twenty; OFFSET 0 keeps it a
        // per-contact index probe, as SQLite runs it.
        let fence = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " OFFSET 0",
        };
        format!(
            "EXISTS (SELECT 1 FROM contact_terms t2 WHERE {tenant} AND {condition} \
             AND t2.created_at = {created_at} AND t2.contact_id = {id}{fence})"
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

    /// Whether a word of the names of contact `c` starts with `word`.
    fn word_match(&mut self, word: &str) -> String {
        let w = self.text(&format!(" {word}"));
        match self.dialect {
            Dialect::Sqlite => format!("instr(c.name_words, {w}) > 0"),
            Dialect::Postgres => format!("strpos(c.name_words, {w}) > 0"),
        }
    }

    /// `q` on contact `c`: its words prefix words of the names, or it prefixes the email or
    /// the phone.
    fn text_match(&mut self, q: &TextQuery) -> String {
        let mut any = Vec::new();
        if !q.words.is_empty() {
            let all: Vec<String> = q.words.iter().map(|w| self.word_match(w)).collect();
            any.push(format!("({})", all.join(" AND ")));
        }
        if let Some(email) = &q.email_prefix {
            let (low, high) = prefix_range(self, email);
            any.push(format!("(c.email_fold >= {low} AND c.email_fold < {high})"));
        }
        if let Some(phone) = &q.phone_prefix {
            let (low, high) = prefix_range(self, phone);
            any.push(format!("(c.phone >= {low} AND c.phone < {high})"));
        }
        if any.is_empty() {
            any.push("1 = 0".to_owned());
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

/// Whether the filter has no condition that a source's rows cannot test by themselves
/// (besides the one source).
fn only_pushed_down(f: &ContactFilter) -> bool {
    f.preferred_channel.is_none()
        && f.updated_after.is_none()
        && f.metadata.iter().all(|m| {
            !matches!(
                m.condition,
                MetadataCondition::NotEquals(_) | MetadataCondition::Exists(false)
            )
        })
}

fn where_clause(lead: &str, conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("{lead}{}", conditions.join(" AND "))
    }
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

    fn tenant() -> Tenant {
        Tenant {
            workspace_id: "ws'1".into(),
            mode: Mode::Test,
        }
    }

    #[test]
    fn plans_follow_the_sizes() {
        let t = tenant();
        let plan = |pairs: &[(&str, &str)], estimates: &[u64]| {
            let q = query(pairs);
            let search = Search::new(Dialect::Sqlite, &t, &q.filter, None);
            (search.needs_estimates(&q), search.page_plan(&q, estimates))
        };
        assert_eq!(
            plan(&[("metadata.plan", "premium")], &[]),
            (false, Plan::Ordered(0))
        );
        let by_update = [("metadata.plan", "premium"), ("sort", "-updated_at")];
        assert_eq!(plan(&by_update, &[GATHER_MAX + 1]), (true, Plan::Walk));
        assert_eq!(plan(&by_update, &[10]).1, Plan::Gather(0));
        let q_and_mrr = [("metadata.mrr", "500"), ("q", "ada")];
        assert_eq!(plan(&q_and_mrr, &[5000, 3000]).1, Plan::Walk);
        assert_eq!(plan(&q_and_mrr, &[5000, 30]).1, Plan::Gather(1));
        let two = [("metadata.plan", "x"), ("metadata.n[gt]", "1")];
        assert_eq!(plan(&two, &[5000, 9000]).1, Plan::Ordered(0));
        assert_eq!(plan(&two, &[5000, 9]).1, Plan::Gather(1));
        assert_eq!(plan(&[("status", "active")], &[]), (false, Plan::Walk));
        let q = query(&[]);
        assert_eq!(
            Search::new(Dialect::Sqlite, &t, &q.filter, None).count_plan(&[]),
            Plan::Walk
        );
        let q = query(&[("metadata.a", "1"), ("metadata.b", "2")]);
        let search = Search::new(Dialect::Sqlite, &t, &q.filter, None);
        assert_eq!(search.count_plan(&[7, 3]), Plan::Gather(1));
    }

    #[test]
    fn q_stands_for_its_words_when_no_email_or_phone_can_match() {
        let t = tenant();
        let q = query(&[("q", "ada lov")]);
        let hints = TextHints {
            exact_words: vec![Some("w:ada".into()), None],
            other_prefixes: false,
        };
        let search = Search::new(Dialect::Sqlite, &t, &q.filter, Some(hints.clone()));
        assert_eq!(search.source_count(), 2);
        assert_eq!(search.page_plan(&q, &[5000, 5000]), Plan::Ordered(0));
        let sql = search.page("id", &q, Plan::Ordered(0));
        assert!(sql.text.contains("instr(c.name_words"), "{}", sql.text);
        assert!(sql.params.contains(&Param::Text(" lov".into())));
        let with_email = TextHints {
            other_prefixes: true,
            ..hints
        };
        let search = Search::new(Dialect::Sqlite, &t, &q.filter, Some(with_email));
        assert_eq!(search.source_count(), 1);
    }

    #[test]
    fn every_value_is_bound() {
        let tenant = tenant();
        let q = query(&[
            ("metadata.plan", "pre'mium"),
            ("metadata.x[exists]", "true"),
            ("metadata.y[ne]", "%"),
            ("q", "o'brien"),
        ]);
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let search = Search::new(dialect, &tenant, &q.filter, None);
            for plan in [
                Plan::Walk,
                Plan::Ordered(0),
                Plan::Gather(1),
                Plan::Gather(2),
            ] {
                let sql = search.page("id, phone", &q, plan);
                assert!(!sql.text.contains("ws'1") && !sql.text.contains("brien"));
                assert!(!sql.text.contains("mium"));
                let sql = search.count(plan);
                assert!(!sql.text.contains("mium") && !sql.text.contains("brien"));
            }
        }
    }
}
