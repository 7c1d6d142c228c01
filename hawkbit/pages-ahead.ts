// Reads a paged Management API listing with the next pages already requested while the current one is
// handled. A rollout start opens thousands of actions at once; read one page after another, the fan-out
// would wait for hawkBit's answer to each of them in turn (20 round trips for 10,000 actions).
import type { PagedList } from "./types.js";

export interface PagesAheadOptions {
  pageSize: number;
  /** Pages requested ahead of the one being handled. */
  ahead: number;
}

/**
 * Yields the pages' contents in order. The first page's `total` says how many pages there are; the
 * listing is a snapshot of that moment (what appears later is read by the next pass). Without a total,
 * pages are read one after another until a short one.
 */
export async function* pagesAhead<T>(fetchPage: (offset: number) => Promise<PagedList<T>>, { pageSize, ahead }: PagesAheadOptions): AsyncGenerator<T[]> {
  const first = await fetchPage(0);
  yield first.content;
  if (first.content.length < pageSize) return;
  if (first.total === undefined) {
    for (let offset = pageSize; ; offset += pageSize) {
      const page = await fetchPage(offset);
      yield page.content;
      if (page.content.length < pageSize) return;
    }
  }
  let nextOffset = pageSize;
  const requested: Promise<PagedList<T>>[] = [];
  const requestMore = () => {
    while (requested.length < ahead && nextOffset < first.total!) {
      const page = fetchPage(nextOffset);
      // Awaited in order below; a consumer that stops early must not leave an unhandled rejection.
      page.catch(() => undefined);
      requested.push(page);
      nextOffset += pageSize;
    }
  };
  requestMore();
  while (requested.length > 0) {
    const page = await requested.shift()!;
    requestMore();
    yield page.content;
  }
}
