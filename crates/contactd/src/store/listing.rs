//! The reads of a contact list or count, in their order, written once for both backends.
//!
//! A list first asks the database about `q` ([`TextHints`]), then takes capped counts of
//! its sources when its plan depends on them, its total when asked, and last its page, all
//! in the caller's snapshot. A backend only runs each statement ([`Reads`]): PostgreSQL
//! awaits it; SQLite, whose reads never wait, runs these steps in place.

use std::future::Future;

use super::contact_list::{self, Dialect, Search, Sql, TextHints};
use super::records::{self, Columns, CONTACT_COLUMNS};
use super::StoreResult;
use crate::domain::contact_query::{ContactFilter, ContactPage, ContactQuery};
use crate::domain::tenant::Tenant;

/// A connection or transaction that runs the statements the planner builds.
pub trait Reads {
    const DIALECT: Dialect;

    /// Runs `sql` (never cached: its shape depends on the request) and reads each row.
    fn rows<T: Send>(
        &self,
        sql: Sql,
        read: fn(&dyn Columns) -> StoreResult<T>,
    ) -> impl Future<Output = StoreResult<Vec<T>>>;
}

/// A page of the contacts matching the query, with their count when it asks for it.
pub async fn list<R: Reads>(
    reads: &R,
    tenant: &Tenant,
    query: &ContactQuery,
) -> StoreResult<ContactPage> {
    let search = search(reads, tenant, &query.filter).await?;
    let estimates = if search.needs_estimates(query) {
        estimates(reads, &search).await?
    } else {
        Vec::new()
    };
    let plan = search.page_plan(query, &estimates);
    let total = if query.include_total {
        Some(count_matches(reads, &search, &estimates).await?)
    } else {
        None
    };
    let page = search.page(CONTACT_COLUMNS, query, plan);
    tracing::debug!(?plan, ?estimates, sql = %page.text, params = ?page.params, "contact list");
    let mut items = reads.rows(page, |row| records::contact(row)).await?;
    let has_more = items.len() > query.limit as usize;
    items.truncate(query.limit as usize);
    Ok(ContactPage {
        items,
        total,
        has_more,
    })
}

/// How many contacts match the filter.
pub async fn count<R: Reads>(
    reads: &R,
    tenant: &Tenant,
    filter: &ContactFilter,
) -> StoreResult<u64> {
    count_matches(reads, &search(reads, tenant, filter).await?, &[]).await
}

async fn search<'a, R: Reads>(
    reads: &R,
    tenant: &'a Tenant,
    filter: &'a ContactFilter,
) -> StoreResult<Search<'a>> {
    let hints = match &filter.q {
        Some(q) => Some(text_hints(reads, contact_list::text_probes(R::DIALECT, tenant, q)).await?),
        None => None,
    };
    Ok(Search::new(R::DIALECT, tenant, filter, hints))
}

/// What the planner needs to know of `q` from the database: the answers of its probes.
async fn text_hints<R: Reads>(
    reads: &R,
    (words, others): (Vec<Sql>, Sql),
) -> StoreResult<TextHints> {
    let mut exact_words = Vec::with_capacity(words.len());
    for sql in words {
        let bounds = reads
            .rows(sql, |r| Ok((r.opt_text(0)?, r.opt_text(1)?)))
            .await?;
        let (least, greatest) = bounds.into_iter().next().unwrap_or_default();
        exact_words.push(least.filter(|l| Some(l) == greatest.as_ref()));
    }
    Ok(TextHints {
        exact_words,
        other_prefixes: number(reads, others).await? > 0,
    })
}

/// The capped size of each source of the search, for the planner.
async fn estimates<R: Reads>(reads: &R, search: &Search<'_>) -> StoreResult<Vec<u64>> {
    let mut sizes = Vec::with_capacity(search.source_count());
    for i in 0..search.source_count() {
        sizes.push(number(reads, search.estimate(i, contact_list::GATHER_MAX + 1)).await?);
    }
    Ok(sizes)
}

/// The count of the search's matches; `known` are source sizes the caller already took.
async fn count_matches<R: Reads>(
    reads: &R,
    search: &Search<'_>,
    known: &[u64],
) -> StoreResult<u64> {
    let estimates = if search.source_count() > 1 && known.len() != search.source_count() {
        estimates(reads, search).await?
    } else {
        known.to_vec()
    };
    number(reads, search.count(search.count_plan(&estimates))).await
}

/// The one number a statement selects (a count, or 0 and 1 for a yes or no).
async fn number<R: Reads>(reads: &R, sql: Sql) -> StoreResult<u64> {
    let numbers = reads.rows(sql, |r| r.int(0)).await?;
    Ok(numbers
        .first()
        .map_or(0, |n| u64::try_from(*n).unwrap_or(0)))
}
