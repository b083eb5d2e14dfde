//! A walk of a whole list split by time: the span from the oldest to the
//! newest item (customers by `createdAt`, events by `occurredAt`) is cut
//! into ranges, each walked oldest first at the same time as the others,
//! and a range that runs out of work takes half of the largest one left.
//! Every item is assigned to one range by the time the server serves, so
//! each is yielded once.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures_core::Stream;
use plugipay_api::endpoints::ListEvents;
use plugipay_api::event::Event;

use crate::archive::ArchiveFilter;
use crate::customer::{Customer, SortOrder};
use crate::customer_json::CustomerJson;
use crate::error::{Error, PagingError};
use crate::ops::{CallList, ListCustomers, ListCustomersJson};
use crate::pagination::{Pages, Paginated};
use crate::transport::request::{Request, private};

/// The most ranges a partitioned walk runs at once.
pub const MAX_PARTITIONS: usize = 64;

/// The page size of each range's walk when the parameters give none.
const PAGE_SIZE: u32 = 100;

/// The fewest pages a range must have left to be split in two.
const MIN_PAGES_TO_SPLIT: f64 = 4.0;

/// A list a partitioned walk can split: it is sorted by a time its items
/// carry and filtered by a lower bound on it (inclusive or exclusive: the
/// walk drops what a range's own bound lets through twice). Implemented by
/// this crate's customer lists (`createdAt`, `createdAfter`) and by the
/// events list walked through [`Client::call`](crate::Client::call)
/// (`occurredAt`, `occurredAfter`).
pub trait Partitionable: Paginated + private::Sealed {
    /// The time `item` is sorted and split by, as served; `None` for an
    /// item that carries none (the walk cannot place it).
    #[doc(hidden)]
    fn time(item: &Self::Item) -> Option<DateTime<Utc>>;
    /// The list's parameters a walk reads and sets.
    #[doc(hidden)]
    fn walk_params(&mut self) -> WalkParams<'_>;
    /// Takes out a filter applied after the server's answer, so every range
    /// sees every item to know where it ends; the walk applies it.
    #[doc(hidden)]
    fn take_filter(&mut self) -> Option<Keep<Self::Item>> {
        None
    }
    /// The operation's generated argument check (`Endpoint::check`), run
    /// before the walk's first request (which sets its own page size).
    #[doc(hidden)]
    fn check_arguments(&self) -> Result<(), plugipay_api::validate::Invalid>;
}

/// What a partitioned walk keeps of the items it reads.
#[doc(hidden)]
pub type Keep<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// The parameters of a list a partitioned walk reads and sets (unnameable
/// outside this crate).
#[doc(hidden)]
pub struct WalkParams<'a> {
    order: &'a mut Option<SortOrder>,
    limit: &'a mut Option<u32>,
    /// The lower bound of the time the list is split by.
    after: &'a mut Option<DateTime<Utc>>,
    cursor: &'a mut Option<String>,
}

fn archive_filter<T: 'static>(
    keep: Option<ArchiveFilter>,
    archived: fn(&T) -> bool,
) -> Option<Keep<T>> {
    keep.map(|keep| Box::new(move |item: &T| keep.keeps_flag(archived(item))) as Keep<T>)
}

impl Partitionable for ListCustomers {
    fn time(item: &Customer) -> Option<DateTime<Utc>> {
        Some(item.created_at)
    }

    fn walk_params(&mut self) -> WalkParams<'_> {
        let params = &mut self.params;
        WalkParams {
            order: &mut params.order,
            limit: &mut params.limit,
            after: &mut params.created_after,
            cursor: &mut params.cursor,
        }
    }

    fn take_filter(&mut self) -> Option<Keep<Customer>> {
        archive_filter(self.keep.take(), Customer::is_archived)
    }

    fn check_arguments(&self) -> Result<(), plugipay_api::validate::Invalid> {
        use plugipay_api::endpoint::Endpoint as _;
        plugipay_api::endpoints::ListCustomers {
            query: self.params.clone(),
        }
        .check()
    }
}

impl Partitionable for ListCustomersJson {
    fn time(item: &CustomerJson) -> Option<DateTime<Utc>> {
        Some(item.created_at())
    }

    fn walk_params(&mut self) -> WalkParams<'_> {
        self.list.walk_params()
    }

    fn take_filter(&mut self) -> Option<Keep<CustomerJson>> {
        archive_filter(self.list.keep.take(), CustomerJson::is_archived)
    }

    fn check_arguments(&self) -> Result<(), plugipay_api::validate::Invalid> {
        self.list.check_arguments()
    }
}

impl Partitionable for CallList<ListEvents> {
    fn time(item: &Event) -> Option<DateTime<Utc>> {
        item.occurred_at
    }

    fn walk_params(&mut self) -> WalkParams<'_> {
        let query = &mut self.endpoint.query;
        WalkParams {
            order: &mut query.order,
            limit: &mut query.limit,
            after: &mut query.occurred_after,
            cursor: &mut query.cursor,
        }
    }

    fn check_arguments(&self) -> Result<(), plugipay_api::validate::Invalid> {
        use plugipay_api::endpoint::Endpoint as _;
        self.endpoint.check()
    }
}

/// The time a partitioned walk places `item` at, or the error of an item
/// that carries none.
fn placed<Op: Partitionable>(item: &Op::Item) -> Result<DateTime<Utc>, Error> {
    Op::time(item).ok_or(Error::Paging(PagingError::Untimed))
}

impl<Op: Partitionable> Request<Op> {
    /// Every matching item of the list, walked as up to `partitions` time
    /// ranges at once: a list of `N` items takes about `N / 100 /
    /// partitions` round trips of waiting instead of `N / 100`. Customers
    /// are split by `createdAt`, events (catching up on the events log) by
    /// `occurredAt`.
    ///
    /// - **Exactly once, and it ends.** Every item that exists for the
    ///   whole walk is yielded once. The walk is bounded by the newest item
    ///   when it begins: items added after that are not walked (one added
    ///   in the very millisecond of the newest at most once), so a list that
    ///   grows faster than it can be read still ends. A range `(a, b]` holds
    ///   the items whose served time is after `a` and at most `b` (the
    ///   first range starts where your own `createdAfter` / `occurredAfter`
    ///   does, as the server applies it);
    ///   boundaries are whole milliseconds, so items sharing a millisecond
    ///   stay together whatever precision the server keeps. To catch up on
    ///   events again later, start the next walk a little before the newest
    ///   `occurredAt` this one saw (`occurredAfter`) and skip the event ids
    ///   already handled.
    /// - **Order.** None overall: each range is walked oldest first and the
    ///   ranges interleave. Use [`stream`](Request::stream) for one order.
    /// - **Work sharing.** When a range is done, the largest range left is
    ///   split in two, so a skewed list (most customers in one month) still
    ///   keeps every walker busy.
    /// - **Bulk work.** The walk draws on the client's
    ///   [bulk share](crate::ClientBuilder::bulk_share) of the read budget
    ///   (80 % unless set; [`rate_share`](Request::rate_share) says
    ///   otherwise), leaving the rest to the apps sharing the workspace.
    /// - **Back-pressure.** Each range prefetches at most one page; at most
    ///   `partitions` pages are in flight. A 429 halves the number of
    ///   ranges walked at once and each page without one adds back a
    ///   fraction (additive increase, multiplicative decrease); the 429s
    ///   themselves are retried as every call's are.
    /// - **Filters** compose: for customers `email`, `externalId`,
    ///   `createdAfter`, [`active`](Request::active) and
    ///   [`archived`](Request::archived); for events `type`,
    ///   `occurredAfter` and `occurredBefore`; `limit` is each range's page
    ///   size. `order` must be unset or `Asc`, and `cursor` unset
    ///   ([`Error::InvalidArgument`] otherwise, as for `partitions` outside
    ///   1..=[`MAX_PARTITIONS`]).
    /// - **A server that does not sort as asked** (an item older than one
    ///   read before it in the same range) ends the walk with
    ///   [`PagingError::OutOfOrder`], never with ranges cut short unseen.
    ///
    /// Two requests (the oldest and the newest item) come first. Needs a
    /// Tokio runtime, like [`stream`](Request::stream).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(450)).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::ListParams;
    ///
    /// let mut book = client.customers().list(ListParams::new()).partitioned(8);
    /// let mut ids = std::collections::HashSet::new();
    /// while let Some(customer) = book.try_next().await? {
    ///     assert!(ids.insert(customer.id), "each customer once");
    /// }
    /// assert_eq!(ids.len(), 450);
    /// # Ok(()) }
    /// ```
    ///
    /// The events log, to catch up after downtime:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::api::endpoints::ListEvents;
    /// use plugipay::api::params::ListEventsParams;
    /// use plugipay::NewCustomer;
    ///
    /// for name in ["Sari", "Budi", "Wati"] {
    ///     client.customers().create(NewCustomer::new().name(name)).await?;
    /// }
    /// let since = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    /// let query = ListEventsParams::new().type_("customer.created").occurred_after(since);
    /// let events: Vec<_> = client
    ///     .call(ListEvents { query })
    ///     .paginated()
    ///     .partitioned(4)
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(events.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn partitioned(self, partitions: usize) -> Partitioned<Op> {
        Partitioned::new(self.into_bulk_work(), partitions)
    }
}

/// The stream [`Request::partitioned`] returns.
#[must_use = "streams do nothing unless polled"]
pub struct Partitioned<Op: Partitionable = ListCustomers> {
    state: State<Op>,
}

enum State<Op: Partitionable> {
    /// Finding the oldest and newest item.
    Planning(Pin<Box<dyn Future<Output = Result<Walk<Op>, Error>> + Send>>),
    Walking(Box<Walk<Op>>),
    /// An error to yield, then the end.
    Failed(Error),
    Done,
}

impl<Op: Partitionable> Partitioned<Op> {
    fn new(mut request: Request<Op>, partitions: usize) -> Self {
        let checked = request
            .op
            .check_arguments()
            .map_err(Error::invalid)
            .and_then(|()| check(request.op.walk_params(), partitions));
        let state = match checked {
            Ok(()) => State::Planning(Box::pin(plan(request, partitions))),
            Err(error) => State::Failed(error),
        };
        Self { state }
    }
}

impl<Op: Partitionable> std::fmt::Debug for Partitioned<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Planning(_) => "planning".to_owned(),
            State::Walking(walk) => format!("walking {} ranges", walk.ranges.len()),
            State::Failed(_) => "failed".to_owned(),
            State::Done => "done".to_owned(),
        };
        f.debug_struct("Partitioned")
            .field("state", &state)
            .finish()
    }
}

fn check(params: WalkParams<'_>, partitions: usize) -> Result<(), Error> {
    let invalid = |field: &str, reason: String| Error::InvalidArgument {
        field: field.into(),
        reason,
    };
    if !(1..=MAX_PARTITIONS).contains(&partitions) {
        return Err(invalid(
            "partitions",
            format!("must be 1 to {MAX_PARTITIONS}, not {partitions}"),
        ));
    }
    if params.cursor.is_some() {
        return Err(invalid(
            "cursor",
            "a partitioned walk starts at the beginning of the list".into(),
        ));
    }
    if *params.order == Some(SortOrder::Desc) {
        return Err(invalid(
            "order",
            "a partitioned walk has no overall order (each range is walked oldest first)".into(),
        ));
    }
    Ok(())
}

/// Finds the span of the list and cuts it into `partitions` ranges.
async fn plan<Op: Partitionable>(
    mut request: Request<Op>,
    partitions: usize,
) -> Result<Walk<Op>, Error> {
    // A filter applied here (the archive filter) is applied after the range
    // check: a range must see every item to know where it ends.
    let keep = request.op.take_filter();
    let params = request.op.walk_params();
    *params.order = Some(SortOrder::Asc);
    let limit = *params.limit.get_or_insert(PAGE_SIZE);
    let start = *params.after;
    let (first, last) = {
        let edge = |order: SortOrder| {
            let mut edge = request.clone();
            let params = edge.op.walk_params();
            *params.order = Some(order);
            *params.limit = Some(1);
            edge
        };
        (edge(SortOrder::Asc), edge(SortOrder::Desc))
    };
    let (oldest, newest) = tokio::try_join!(first.send(), last.send())?;
    let mut walk = Walk {
        oldest: DateTime::<Utc>::MIN_UTC,
        newest: DateTime::<Utc>::MIN_UTC,
        template: request,
        limit,
        keep,
        ranges: Vec::new(),
        ready: VecDeque::new(),
        failed: None,
        window: Window::new(partitions),
    };
    let (Some(oldest), Some(newest)) = (oldest.items.first(), newest.items.first()) else {
        return Ok(walk); // an empty list
    };
    walk.oldest = placed::<Op>(oldest)?;
    walk.newest = placed::<Op>(newest)?.max(walk.oldest);
    let span = (walk.newest - walk.oldest).num_milliseconds();
    // The first range starts at the caller's own bound, which the server
    // applies; every later bound is one of the walk's cuts.
    let mut after = start;
    let mut at_callers_bound = true;
    for k in 1..partitions as i64 {
        let cut =
            (walk.oldest + TimeDelta::milliseconds(span * k / partitions as i64)).trunc_subsecs(3);
        if after.is_some_and(|a| cut <= a) || cut >= walk.newest {
            continue;
        }
        walk.ranges.push(walk.range(after, cut, at_callers_bound));
        after = Some(cut);
        at_callers_bound = false;
    }
    // The last range ends at the newest item the list held when the walk
    // began: items added during the walk fall after it, so the walk ends
    // however fast the list grows.
    walk.ranges
        .push(walk.range(after, walk.newest, at_callers_bound));
    Ok(walk)
}

/// One range `(after, until]` of times and its walk.
struct Range<Op: Paginated> {
    /// Items of this time or earlier belong to the range before.
    after: Option<DateTime<Utc>>,
    /// Whether `after` is the caller's own bound (the first range): the
    /// server applies it, inclusive or not; a cut of the walk's is
    /// applied here too, so an item at it comes once.
    at_callers_bound: bool,
    /// Items of a later time belong to the range after; the last range ends
    /// at the newest item when the walk began.
    until: DateTime<Utc>,
    /// The time of the last item this range yielded.
    reached: Option<DateTime<Utc>>,
    /// The time of the last item this range read, yielded or not: the
    /// next must not be older.
    last_read: Option<DateTime<Utc>>,
    /// About how many milliseconds of time one page covers here,
    /// from the last page (unknown before the first).
    page_ms: Option<f64>,
    pages: Pages<Op>,
    done: bool,
}

/// How many ranges are walked at once: halved on a 429, grown by `1 / n`
/// for each page that met none, between 1 and the partitions asked for.
struct Window {
    size: f64,
    max: f64,
}

impl Window {
    fn new(partitions: usize) -> Self {
        let max = partitions as f64;
        Self { size: max, max }
    }

    fn ranges(&self) -> usize {
        self.size as usize
    }

    fn throttled(&mut self) {
        self.size = (self.size / 2.0).max(1.0);
    }

    fn page_ok(&mut self) {
        self.size = (self.size + 1.0 / self.size).min(self.max);
    }
}

/// The walk once planned.
struct Walk<Op: Partitionable> {
    /// The request every range's walk starts from (oldest first, pages of
    /// `limit`, no filter of its own).
    template: Request<Op>,
    /// The page size: the caller's limit or [`PAGE_SIZE`].
    limit: u32,
    /// What is kept of the items read (all when `None`).
    keep: Option<Keep<Op::Item>>,
    oldest: DateTime<Utc>,
    newest: DateTime<Utc>,
    /// Ranges not yet done, the ones walked first at the front.
    ranges: Vec<Range<Op>>,
    /// Items fetched, not yet handed out.
    ready: VecDeque<Op::Item>,
    /// An error to yield once `ready` is empty; the walk then ends.
    failed: Option<Error>,
    window: Window,
}

impl<Op: Partitionable> Walk<Op> {
    /// The range `(after, until]`; `at_callers_bound` when `after` is the
    /// caller's own bound (the first range), applied by the server alone.
    fn range(
        &self,
        after: Option<DateTime<Utc>>,
        until: DateTime<Utc>,
        at_callers_bound: bool,
    ) -> Range<Op> {
        let mut request = self.template.clone();
        *request.op.walk_params().after = after;
        Range {
            after,
            at_callers_bound,
            until,
            reached: None,
            last_read: None,
            page_ms: None,
            pages: request.pages(),
            done: false,
        }
    }

    /// Takes range `i`'s page: its items inside the range are ready; one
    /// of a time after the range's end ends the range. Items older than
    /// one read before are an error: a server that does not sort oldest
    /// first would otherwise end ranges early, unseen.
    fn take(&mut self, i: usize, items: Vec<Op::Item>) -> Result<(), Error> {
        let range = &mut self.ranges[i];
        if let (Some(first), Some(last)) = (items.first(), items.last()) {
            let covered = (placed::<Op>(last)? - placed::<Op>(first)?).num_milliseconds();
            let per_item = covered.max(1) as f64 / items.len() as f64;
            range.page_ms = Some(per_item * f64::from(self.limit));
        }
        for item in items {
            let at = placed::<Op>(&item)?;
            if let Some(before) = range.last_read.filter(|before| at < *before) {
                return Err(Error::Paging(PagingError::OutOfOrder { before, after: at }));
            }
            range.last_read = Some(at);
            // A cut between two ranges belongs to the earlier one whatever
            // the server does at a bound (Plugipay documents `occurredAfter`
            // as inclusive); the caller's own bound is the server's to apply.
            if range.after.is_some_and(|after| at <= after) && !range.at_callers_bound {
                continue;
            }
            if at > range.until {
                range.done = true;
                break;
            }
            range.reached = Some(at);
            if self.keep.as_ref().is_none_or(|keep| keep(&item)) {
                self.ready.push_back(item);
            }
        }
        Ok(())
    }

    /// While fewer ranges run than the window allows, splits the range with
    /// the most pages left in two. A range is split only when it has at
    /// least [`MIN_PAGES_TO_SPLIT`] pages left by the density its last page
    /// showed: each range ends by fetching a page that goes past its end,
    /// so splitting a nearly finished range costs more requests than it
    /// saves.
    fn share_work(&mut self) {
        while self.ranges.len() < self.window.ranges() {
            let left = |r: &Range<Op>| {
                let from = r.reached.or(r.after).unwrap_or(self.oldest);
                let to = r.until.max(from);
                let span = (to - from).num_milliseconds();
                let pages = r.page_ms.map_or(0.0, |per_page| span as f64 / per_page);
                (from, span, pages)
            };
            let Some((i, (from, span, pages))) = self
                .ranges
                .iter()
                .map(left)
                .enumerate()
                .max_by(|(_, a), (_, b)| a.2.total_cmp(&b.2))
            else {
                return;
            };
            if pages < MIN_PAGES_TO_SPLIT || span < 2 {
                return;
            }
            let cut = (from + TimeDelta::milliseconds(span / 2)).trunc_subsecs(3);
            if cut <= from {
                return;
            }
            let until = std::mem::replace(&mut self.ranges[i].until, cut);
            let half = self.range(Some(cut), until, false);
            self.ranges.push(half);
        }
    }

    /// A page that met 429s on the way shrinks the window; one that met
    /// none grows it.
    fn adjust_window(&mut self, throttled: u32) {
        if throttled > 0 {
            self.window.throttled();
        } else {
            self.window.page_ok();
        }
    }

    fn poll_walk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Op::Item, Error>>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if let Some(error) = self.failed.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if self.ranges.is_empty() {
                return Poll::Ready(None);
            }
            let mut moved = false;
            let active = self.window.ranges().clamp(1, self.ranges.len());
            for i in 0..active {
                match Pin::new(&mut self.ranges[i].pages).poll_next(cx) {
                    Poll::Ready(Some(Ok(page))) => {
                        self.adjust_window(page.throttled);
                        moved = true;
                        if let Err(error) = self.take(i, page.items) {
                            // The walk ends: what is ready is handed out first.
                            self.failed = Some(error);
                            self.ranges.clear();
                            break;
                        }
                    }
                    Poll::Ready(Some(Err(error))) => {
                        // The walk ends: what is ready is handed out first.
                        self.failed = Some(error);
                        self.ranges.clear();
                        moved = true;
                        break;
                    }
                    Poll::Ready(None) => {
                        self.ranges[i].done = true;
                        moved = true;
                    }
                    Poll::Pending => {}
                }
            }
            if !moved {
                return Poll::Pending;
            }
            self.ranges.retain(|r| !r.done);
            self.share_work();
        }
    }
}

impl<Op: Partitionable> Stream for Partitioned<Op> {
    type Item = Result<Op::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match &mut self.state {
                State::Planning(plan) => match plan.as_mut().poll(cx) {
                    Poll::Ready(Ok(walk)) => self.state = State::Walking(Box::new(walk)),
                    Poll::Ready(Err(error)) => self.state = State::Failed(error),
                    Poll::Pending => return Poll::Pending,
                },
                State::Walking(walk) => {
                    let next = walk.poll_walk(cx);
                    if let Poll::Ready(None) = next {
                        self.state = State::Done;
                    }
                    return next;
                }
                State::Failed(_) => {
                    let State::Failed(error) = std::mem::replace(&mut self.state, State::Done)
                    else {
                        unreachable!("matched above");
                    };
                    return Poll::Ready(Some(Err(error)));
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl<Op: Partitionable> Unpin for Partitioned<Op> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_halves_on_429_and_grows_back_slowly() {
        let mut window = Window::new(8);
        assert_eq!(window.ranges(), 8);
        window.throttled();
        window.throttled();
        assert_eq!(window.ranges(), 2);
        for _ in 0..3 {
            window.throttled();
        }
        assert_eq!(window.ranges(), 1, "never below one");
        for _ in 0..3 {
            window.page_ok();
        }
        assert!(window.ranges() >= 2);
        for _ in 0..1_000 {
            window.page_ok();
        }
        assert_eq!(window.ranges(), 8, "never above the partitions asked for");
    }
}
