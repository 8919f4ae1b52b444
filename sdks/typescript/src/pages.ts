import type { Query } from "./http.js";

/** What every list answer has in common: a page of `data`, and how to get the next one. */
export interface AnyPage<T> {
  data: T[];
  has_more: boolean;
  offset?: number | null;
  next_cursor?: string | null;
}

/**
 * The answer of a list method: a Promise of the first page (`await` it for one page, with
 * `total`, `has_more` and `next_cursor`), and an async iterable over the items of ALL pages
 * (`for await (const contact of client.contacts.list())`), following `next_cursor`, or the
 * offset on lists paged by offset only.
 */
export type PageList<P extends AnyPage<T>, T = P["data"][number]> = Promise<P> &
  AsyncIterable<T> & {
    /** Every page in turn, the first one included. */
    pages(): AsyncIterableIterator<P>;
    /** Every item of every page, in one array. */
    toArray(): Promise<T[]>;
  };

/** Sends `query` for the first page at once, and asks for the next pages while iterated. */
export function paginate<P extends AnyPage<T>, T = P["data"][number]>(
  fetchPage: (query: Query) => Promise<P>,
  query: Query,
): PageList<P, T> {
  const first = fetchPage(query);
  // Whoever iterates or awaits sees a failure; nobody doing neither should crash the process.
  first.catch(() => undefined);

  async function* pages(): AsyncIterableIterator<P> {
    let page = await first;
    let next = query;
    for (;;) {
      yield page;
      if (page.next_cursor) {
        // A cursor carries the position; it goes with the same filters and sort, never an offset.
        const { offset: _offset, cursor: _cursor, ...rest } = next;
        next = { ...rest, cursor: page.next_cursor };
      } else if (page.has_more && page.data.length > 0 && typeof page.offset === "number") {
        next = { ...next, offset: page.offset + page.data.length };
      } else {
        return;
      }
      page = await fetchPage(next);
    }
  }

  async function* items(): AsyncIterableIterator<T> {
    for await (const page of pages()) yield* page.data;
  }

  async function toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of items()) all.push(item);
    return all;
  }

  return Object.assign(first, { [Symbol.asyncIterator]: items, pages, toArray });
}
