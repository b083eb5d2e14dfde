//! The path of one call, from a built request to a typed answer; every
//! operation (typed, [`Client::call`](crate::Client::call) or
//! [`Client::request`](crate::Client::request)) goes through it. In reading
//! order:
//!
//! 1. [`request`]: the call ready to go — its operation, its resolved
//!    options and its Idempotency-Key — and the future that runs it.
//! 2. [`outgoing`]: what the call sends (method, path, query, body, key),
//!    built once from the operation's generated description.
//! 3. [`retry_loop`]: the attempts of one call: each waits for
//!    [`pacing`], goes through [`attempt`], and [`retry`] says whether to
//!    send it again, within the retry budget and the deadline.
//! 4. [`pacing`]: the rate budget per workspace and bucket, fed by the rate
//!    headers of every answer (read there, once).
//! 5. [`attempt`]: one attempt — signed afresh, sent, its body read whole
//!    and bounded.
//! 6. [`retry`]: the pure judgement of an attempt's outcome: done, send again
//!    (after how long), or fail.
//! 7. [`decode`]: the answer's envelope read into the typed result or the
//!    typed [`Error`](crate::Error).
//!
//! [`options`] holds the settings a call runs with (the client's defaults
//! and the call's overrides).

pub(crate) mod attempt;
pub(crate) mod decode;
pub(crate) mod options;
pub(crate) mod outgoing;
pub(crate) mod pacing;
pub(crate) mod request;
pub(crate) mod retry;
pub(crate) mod retry_loop;
