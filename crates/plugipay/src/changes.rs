//! The customer change feed: what changed in the book since a
//! [`Checkpoint`], read from the events API oldest first, each change with
//! the checkpoint to store beside it.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_core::Stream;
use plugipay_api::endpoints::ListEvents;
use plugipay_api::event::{Event, EventType};
use plugipay_api::params::ListEventsParams;

use crate::client::Client;
use crate::customer::{Customer, SortOrder};
use crate::error::{Error, PagingError};
use crate::ops::CallList;
use crate::pagination::Items;
use crate::transport::request::Request;

/// Where a change feed stands: after the events it has given, so the next
/// feed from here gives each later change once. Store it in the same
/// transaction as the changes you applied, and start the next feed from it.
///
/// A checkpoint is the instant of the last event read and the ids of the
/// events read at that instant (the events API's window starts at an
/// instant, inclusive). Its text form (`Display` / `FromStr`) is `start`,
/// or `RFC3339~evt_a,evt_b`.
///
/// ```
/// use plugipay::Checkpoint;
///
/// let start: Checkpoint = "start".parse().unwrap();
/// assert_eq!(start, Checkpoint::start());
/// let mark: Checkpoint = "2026-12-05T07:00:00.120Z~evt_1,evt_2".parse().unwrap();
/// assert_eq!(mark.to_string(), "2026-12-05T07:00:00.120Z~evt_1,evt_2");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    at: Option<DateTime<Utc>>,
    seen: Vec<String>,
}

impl Checkpoint {
    /// Before every event the log keeps. A feed from here cannot tell whether
    /// the log dropped older changes: take [`Checkpoint::latest`] before you
    /// copy the whole book instead.
    pub fn start() -> Self {
        Self::default()
    }

    /// After the newest event the log holds now: the checkpoint to take
    /// before copying the whole book, so that changes made during the copy
    /// are read by the next feed (a change applied twice is harmless, see
    /// [`Change::supersedes`]). One request. On an empty log it is
    /// [`start`](Self::start).
    pub async fn latest(client: &Client) -> Result<Self, Error> {
        let query = ListEventsParams::new().order(SortOrder::Desc).limit(1);
        let newest = client.call(ListEvents { query }).await?;
        let Some(event) = newest.into_iter().next() else {
            return Ok(Self::start());
        };
        let at = event
            .occurred_at
            .ok_or(Error::Paging(PagingError::Untimed))?;
        Ok(Self {
            at: Some(at),
            seen: vec![event.id],
        })
    }

    /// The instant of the last event read (`None`: [`start`](Self::start)).
    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.at
    }

    /// The checkpoint after `event`, read after everything this one covers.
    fn after(&mut self, id: &str, at: DateTime<Utc>) {
        if self.at != Some(at) {
            self.at = Some(at);
            self.seen.clear();
        }
        self.seen.push(id.to_owned());
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            None => f.write_str("start"),
            Some(at) => write!(
                f,
                "{}~{}",
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                self.seen.join(",")
            ),
        }
    }
}

impl FromStr for Checkpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "start" {
            return Ok(Self::start());
        }
        let form = "a checkpoint is `start` or `RFC3339~EVENT_ID,…` \
                    (as a change feed printed it)";
        let (at, seen) = text.split_once('~').ok_or(form)?;
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|e| format!("{form}: its time: {e}"))?
            .with_timezone(&Utc);
        let seen: Vec<String> = seen
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self { at: Some(at), seen })
    }
}

/// One change to the book.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// The customer was created or updated: its state as the event carries
    /// it (its `updatedAt` orders it among other changes to it).
    Upsert(Box<Customer>),
    /// The customer was deleted. Ids are never reused: a delete is final.
    Deleted {
        /// The deleted customer's id.
        id: String,
        /// When it was deleted.
        at: DateTime<Utc>,
    },
}

/// What a copy of the book holds for one customer, for
/// [`Change::supersedes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Nothing.
    Absent,
    /// The customer, as last updated at this instant.
    Present(DateTime<Utc>),
    /// A tombstone: the customer was deleted.
    Deleted,
}

impl Change {
    /// The id of the customer changed.
    pub fn customer_id(&self) -> &str {
        match self {
            Change::Upsert(customer) => &customer.id,
            Change::Deleted { id, .. } => id,
        }
    }

    /// Whether a copy holding `held` for this customer should take this
    /// change: the rule that makes applying changes twice, or out of order,
    /// leave the same copy. A delete always wins and is kept as a tombstone
    /// (an older update read late cannot bring the customer back); an
    /// update or create wins over nothing and over a state with an older
    /// `updatedAt`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use plugipay::{Change, Held};
    ///
    /// let deleted = Change::Deleted { id: "cus_1".into(), at: Utc::now() };
    /// assert!(deleted.supersedes(Held::Present(Utc.timestamp_opt(0, 0).unwrap())));
    /// assert!(deleted.supersedes(Held::Absent));
    /// ```
    pub fn supersedes(&self, held: Held) -> bool {
        match (self, held) {
            (Change::Deleted { .. }, _) => true,
            (Change::Upsert(_), Held::Deleted) => false,
            (Change::Upsert(_), Held::Absent) => true,
            (Change::Upsert(customer), Held::Present(updated_at)) => {
                customer.updated_at > updated_at
            }
        }
    }
}

/// One change, with the checkpoint that covers it and everything before.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Changed {
    /// What changed.
    pub change: Change,
    /// Where a feed resumes after this change.
    pub checkpoint: Checkpoint,
}

/// The stream of [`Changed`] from a checkpoint:
/// [`Customers::changes`](crate::Customers::changes). It ends at the newest
/// event, or with an error: [`Error::ChangesGap`] when the log no longer
/// holds the checkpoint's events (changes since may have been dropped).
pub struct Changes {
    events: Items<CallList<ListEvents>>,
    checkpoint: Checkpoint,
    /// The checkpoint's own events not met yet (`false` once one is met or
    /// none is needed).
    anchor_pending: bool,
    /// The instant the feed started from.
    started_at: Option<DateTime<Utc>>,
    /// Whether an event past the start was read.
    read_any: bool,
    ready: VecDeque<Changed>,
    done: bool,
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changes")
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

impl Changes {
    /// The events a feed from `since` reads: oldest first, from the
    /// checkpoint's instant on (the window is inclusive).
    pub(crate) fn events_since(since: &Checkpoint) -> ListEvents {
        let mut query = ListEventsParams::new().order(SortOrder::Asc).limit(100);
        if let Some(at) = since.at {
            query = query.occurred_after(at);
        }
        ListEvents { query }
    }

    /// The feed from `since` over `events` (a walk of
    /// [`events_since`](Self::events_since)).
    pub(crate) fn new(events: Request<CallList<ListEvents>>, since: &Checkpoint) -> Self {
        Self {
            events: events.stream(),
            checkpoint: since.clone(),
            anchor_pending: !since.seen.is_empty(),
            started_at: since.at,
            read_any: false,
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The checkpoint after every change given so far.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Takes in one event: the changes it makes, or the gap it shows.
    fn read(&mut self, event: Event) -> Result<(), Error> {
        let at = event
            .occurred_at
            .ok_or(Error::Paging(PagingError::Untimed))?;
        let last = self.checkpoint.at;
        if let Some(last) = last
            && at <= last
        {
            if at < last {
                // Older than the feed's start: already given (a server
                // that ignored the window); older than an event this feed
                // read: the log is not oldest first, and a checkpoint
                // could skip what comes after.
                if self.started_at.is_some_and(|start| at < start) && !self.read_any {
                    return Ok(());
                }
                return Err(Error::Paging(PagingError::OutOfOrder {
                    before: last,
                    after: at,
                }));
            }
            if self.checkpoint.seen.contains(&event.id) {
                self.anchor_pending = false;
                return Ok(());
            }
        } else if self.anchor_pending {
            return Err(self.gap());
        }
        let change = match event.event_type {
            // A customer event without its customer would be a change
            // lost in silence: it is an error, not skipped.
            EventType::CustomerCreated | EventType::CustomerUpdated => {
                let customer = event
                    .customer()
                    .map_err(|e| unreadable(&event, &e.to_string()))?
                    .ok_or_else(|| unreadable(&event, "it carries none"))?;
                Some(Change::Upsert(Box::new(customer)))
            }
            EventType::CustomerDeleted => {
                let id = event
                    .object_id()
                    .ok_or_else(|| unreadable(&event, "it names none"))?;
                Some(Change::Deleted {
                    id: id.to_owned(),
                    at,
                })
            }
            _ => None,
        };
        self.checkpoint.after(&event.id, at);
        self.read_any = true;
        if let Some(change) = change {
            self.ready.push_back(Changed {
                change,
                checkpoint: self.checkpoint.clone(),
            });
        }
        Ok(())
    }

    fn gap(&self) -> Error {
        Error::ChangesGap {
            since: self.checkpoint.to_string(),
        }
    }
}

/// A customer event whose customer cannot be read, and why.
fn unreadable(event: &Event, why: &str) -> Error {
    crate::transport::decode::unreadable_item(
        format!("the customer of event {} cannot be read: {why}", event.id),
        &event.raw.to_string(),
    )
}

impl Stream for Changes {
    type Item = Result<Changed, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(changed) = self.ready.pop_front() {
                return Poll::Ready(Some(Ok(changed)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => {
                    if let Err(e) = self.read(event) {
                        self.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    // The log ended without the checkpoint's events: they
                    // were dropped, and whatever came after them may have
                    // been too — unless nothing at all is newer, which an
                    // empty tail cannot tell apart; say so rather than
                    // guess complete.
                    if self.anchor_pending {
                        return Poll::Ready(Some(Err(self.gap())));
                    }
                }
            }
        }
    }
}
