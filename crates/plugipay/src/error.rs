//! The one error type of the SDK, with the API's error codes as an enum.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

/// Everything a call can fail with.
///
/// ```
/// use plugipay::{Error, ErrorCode};
///
/// fn describe(err: &Error) -> &'static str {
///     match err.code() {
///         Some(ErrorCode::NotFound) => "no such customer",
///         Some(ErrorCode::Conflict) => "externalId already taken",
///         _ if err.is_retryable() => "try again later",
///         _ => "failed",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the call: an HTTP status of 400 or more, or an
    /// envelope whose `error` is set.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// An argument breaks a rule the protocol documents (a list page size,
    /// an id that must be one path segment, what an HTTP header can carry);
    /// nothing was sent.
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument {
        /// The argument (`limit`, `id`, `idempotency_key`, `on_behalf_of`,
        /// `path`, `query`, `body`, `method`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The client cannot be built or cannot sign: missing or unusable
    /// credentials, a bad base URL.
    #[error("configuration error: {0}")]
    Config(String),

    /// The request or its response did not make it across the network
    /// (connection refused or reset, the body cut off, …).
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),

    /// No complete response arrived within the call's timeout.
    #[error("timed out waiting for Plugipay")]
    Timeout,

    /// A response arrived but is not what the API promises (not JSON, cut
    /// off, of the wrong shape).
    #[error(transparent)]
    Decode(Box<DecodeError>),

    /// A list walk ([`Pages`](crate::Pages), [`CustomerStream`](crate::CustomerStream))
    /// stopped because the server's paging would make it loop forever or end
    /// early without saying so.
    #[error("the list walk stopped: {0}")]
    Paging(PagingError),

    /// A write's outcome is unknown: an attempt may have reached the server
    /// and been applied (no answer came, a 5xx, an answer cut off), and
    /// neither a later attempt nor reading the customer back could say
    /// whether it was. It was not reported failed because it may not have
    /// failed. Sending the same write again under the same Idempotency-Key
    /// is safe (a create by `externalId`, an `ensure` or a `sync` too): it
    /// is applied at most once. The last attempt's error is the source.
    #[error(
        "the write's outcome is unknown: it may have been applied \
         (sending it again under the same Idempotency-Key is safe)"
    )]
    OutcomeUnknown(#[source] Box<Error>),

    /// A change feed's checkpoint is older than what the events log still
    /// holds: its events were dropped, and changes made since may have
    /// been too, so the feed cannot say what changed. Copy the whole book
    /// again, from a fresh [`Checkpoint::latest`](crate::Checkpoint::latest)
    /// taken before the copy.
    #[error(
        "the events log no longer holds checkpoint {since}: changes since may be missing; \
         copy the whole book again"
    )]
    ChangesGap {
        /// The checkpoint, in its text form.
        since: String,
    },

    /// `ensure`: a customer with this external id exists (the create was
    /// refused with 409 `conflict`) but could not be read: the `externalId`
    /// filter found nothing and no id cache knows it, or reading it failed
    /// (`source`). Nothing was created.
    #[error("a customer with externalId {external_id:?} exists but could not be read")]
    Unresolved {
        /// The external id that was ensured.
        external_id: String,
        /// Why reading it failed; `None` when the filter found nothing.
        #[source]
        source: Option<Box<Error>>,
    },
}

impl Error {
    /// This error with its causes, on one line, each cause once
    /// (`transport error: error sending request …: connection refused`):
    /// what a log line or a terminal needs, where `Display` gives only the
    /// error's own text. No secret appears in either.
    ///
    /// ```
    /// let error = plugipay::Error::Timeout;
    /// assert_eq!(error.report().to_string(), "timed out waiting for Plugipay");
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// Whether trying the same call again later (with the same idempotency
    /// key) may succeed: network failures (a body cut off included),
    /// timeouts, 429 and 500/502/503/504, and a 2xx whose body was not the
    /// API's JSON. The SDK has already retried these as its
    /// [`RetryPolicy`](crate::RetryPolicy) allows before returning one.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout | Error::OutcomeUnknown(_) => true,
            Error::Api(e) => retryable_status(e.status),
            Error::Decode(e) => e.status.is_success() || retryable_status(e.status),
            Error::InvalidArgument { .. }
            | Error::Config(_)
            | Error::Paging(_)
            | Error::ChangesGap { .. } => false,
            // Reading it again may work.
            Error::Unresolved { source, .. } => source.as_ref().is_some_and(|e| e.is_retryable()),
        }
    }

    /// The HTTP status of the response behind this error, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            Error::Transport(e) => e.status(),
            Error::OutcomeUnknown(last) => last.status(),
            _ => None,
        }
    }

    /// The API's error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The server's request id, when the response carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::OutcomeUnknown(last) => last.request_id(),
            _ => None,
        }
    }

    /// Whether this is [`Error::OutcomeUnknown`]: a write that may have been
    /// applied. Never report it as failed.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown(_))
    }

    /// The [`ApiError`], for [`Error::Api`].
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn invalid(invalid: plugipay_api::validate::Invalid) -> Self {
        Error::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }

    pub(crate) fn transport(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport(e)
        }
    }
}

fn retryable_status(status: StatusCode) -> bool {
    plugipay_api::wire::retryable_status(status.as_u16())
}

/// Why a list walk stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PagingError {
    /// Page `page` gave a cursor the walk had already followed.
    #[error("page {page} gave cursor {cursor:?}, which the walk already followed")]
    RepeatedCursor {
        /// The page (1 for the first) that gave it.
        page: u64,
        /// The cursor, as the server sent it.
        cursor: String,
    },
    /// Page `page` said more items follow but gave no cursor to get them.
    #[error("page {page} says more items follow but gives no cursor to fetch them")]
    MissingCursor {
        /// The page (1 for the first) that said it.
        page: u64,
    },
    /// Page `page` may say more items follow, but not in a way the walk
    /// can follow: no usable cursor in either published shape (`meta.cursor`
    /// / `meta.hasMore`, `meta.page.nextCursor` / `meta.page.hasMore`), or a
    /// paging hint in a place neither uses. The list was not walked to its
    /// end.
    #[error("page {page}'s paging cannot be followed ({seen}): the list may go on")]
    Unclear {
        /// The page (1 for the first) that said it.
        page: u64,
        /// What was seen, by where it was (`meta.pagination.has_next = true`).
        seen: String,
    },
    /// `pages` pages in a row were empty, each saying more follow.
    #[error("{pages} pages in a row were empty, each saying more items follow")]
    EmptyPages {
        /// How many empty pages came in a row.
        pages: u32,
    },
    /// A partitioned walk read an item older than one the same range read
    /// before it: the server does not sort the list oldest first when
    /// asked, so the ranges cannot tell where they end.
    #[error(
        "the list is not sorted oldest first as asked: an item of {after} came after one of {before}"
    )]
    OutOfOrder {
        /// The time of the item read first.
        before: chrono::DateTime<chrono::Utc>,
        /// The older time of the item read after it.
        after: chrono::DateTime<chrono::Utc>,
    },
    /// A partitioned walk read an item without the time it splits the list
    /// by (an event with neither `occurredAt` nor `createdAt` as an RFC
    /// 3339 time): it cannot tell which range the item belongs to. Walk
    /// the list with one cursor instead.
    #[error("an item carries no time the walk can place it by: walk with one cursor instead")]
    Untimed,
    /// The fetch of page `page` was cancelled (its runtime shutting down)
    /// before it ended: the walk is not complete.
    #[error("the fetch of page {page} was cancelled before the walk ended")]
    Cancelled {
        /// The page (1 for the first) whose fetch was cancelled.
        page: u64,
    },
}

/// An error the server reported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status (the status of a 2xx response whose envelope carried an error).
    pub status: StatusCode,
    /// The machine-readable code.
    pub code: ErrorCode,
    /// The server's explanation.
    pub message: String,
    /// The offending field, when the server names one: the field past a
    /// limit on a `validation_error`, the field whose value differs on an
    /// `idempotency_mismatch`. Optional in the published error shape.
    pub field: Option<String>,
    /// More about the error, when the server gives it (an object whose
    /// content varies by error; optional in the published error shape).
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
    /// A page that explains the error, when the server links one.
    pub doc_url: Option<String>,
    /// `meta.requestId` (or the `X-Request-Id` header): quote it to support.
    pub request_id: Option<String>,
    /// How long the server asked us to wait (`Retry-After`), on 429 and 503.
    pub retry_after: Option<Duration>,
    /// On a refused timestamp (`timestamp_skew`, `invalid_timestamp`): the
    /// server's clock minus this machine's, in seconds, by the answer's
    /// `Date` header (positive: this machine is behind). The client has
    /// already signed again by the server's time once when this was far
    /// off; see [`ErrorCode::TimestampSkew`].
    pub clock_offset: Option<i64>,
}

/// An [`Error`] with its causes on one line: [`Error::report`].
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = std::error::Error::source(self.0);
        while let Some(error) = cause {
            // Some causes repeat their own cause's text: say each once.
            let text = error.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = error.source();
        }
        f.write_str(&line)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plugipay API error {} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )?;
        if let Some(field) = &self.field {
            write!(f, " [field {field}]")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        match self.clock_offset {
            Some(0) => write!(f, " [this machine's clock agrees with the server's]")?,
            Some(offset) => write!(
                f,
                " [this machine's clock is {} s {} the server's]",
                offset.unsigned_abs(),
                if offset < 0 { "ahead of" } else { "behind" }
            )?,
            None => {}
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A response that could not be read as the API's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// What did not fit.
    pub reason: String,
    /// The start of the body (at most 200 characters, control characters escaped).
    pub excerpt: String,
    /// The `X-Request-Id` header, when present.
    pub request_id: Option<String>,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unreadable {} response from Plugipay: {}; body starts {:?}",
            self.status.as_u16(),
            self.reason,
            self.excerpt
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// An error code of the API. Plugipay writes codes in lower case in some
/// places and in UPPER case in others, and a few meanings under two names:
/// codes are read case-insensitively and each meaning is one variant
/// ([`ErrorCode::as_str`] gives its usual lower-case spelling). Codes this
/// version does not know arrive as [`ErrorCode::Other`], as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: a malformed or unknown field, a value past a limit, a bad
    /// parameter.
    ValidationError,
    /// 400: a request the server cannot read at all (`invalid_request`).
    InvalidRequest,
    /// 401: the key is missing or unknown.
    Unauthorized,
    /// 401: the key cannot be used here (`invalid_key`), e.g. a test key
    /// on a live-only route.
    InvalidKey,
    /// 401: the signature does not match the request (`signature_invalid`,
    /// also spelled `invalid_signature`).
    SignatureInvalid,
    /// 401: the signing time is more than 300 s from the server's clock.
    /// The client reads the server's time from the answer's `Date` header
    /// and, when it is that far off, signs by it and sends once more (the
    /// offset is kept for the client's later calls); an error that remains
    /// says how far this machine's clock is
    /// ([`ApiError::clock_offset`]).
    TimestampSkew,
    /// 401: the `X-Plugipay-Timestamp` header is missing or malformed (some
    /// servers also say so of a time outside the window: handled as
    /// [`TimestampSkew`](Self::TimestampSkew) is).
    InvalidTimestamp,
    /// 403: the key lacks the scope the operation needs
    /// (`plugipay:customer:create`, `:read`, `:write`).
    InsufficientScope,
    /// 403: the key may not do this (e.g. act for that workspace).
    Forbidden,
    /// 404: no such customer in this workspace (and mode).
    NotFound,
    /// 409: another customer of the workspace has this `externalId`, or a
    /// customer with money history cannot be deleted.
    Conflict,
    /// 409: the Idempotency-Key was used before for a request with other
    /// parameters; [`ApiError::field`] names the one that differs.
    IdempotencyMismatch,
    /// 429: too many requests.
    RateLimited,
    /// 500: the server failed.
    InternalError,
    /// 502: a service behind the API failed (`upstream_error`).
    UpstreamError,
    /// 503: the service is unavailable for now (`service_unavailable`).
    ServiceUnavailable,
    /// A code this version of the SDK does not know, as sent.
    Other(String),
}

/// Every known code: its variant and the spellings it arrives under (the
/// first is the one [`ErrorCode::as_str`] gives).
const KNOWN: &[(ErrorCode, &[&str])] = &[
    (ErrorCode::ValidationError, &["validation_error"]),
    (ErrorCode::InvalidRequest, &["invalid_request"]),
    (ErrorCode::Unauthorized, &["unauthorized"]),
    (ErrorCode::InvalidKey, &["invalid_key"]),
    (
        ErrorCode::SignatureInvalid,
        &["signature_invalid", "invalid_signature"],
    ),
    (ErrorCode::TimestampSkew, &["timestamp_skew"]),
    (ErrorCode::InvalidTimestamp, &["invalid_timestamp"]),
    (ErrorCode::InsufficientScope, &["insufficient_scope"]),
    (ErrorCode::Forbidden, &["forbidden"]),
    (ErrorCode::NotFound, &["not_found"]),
    (ErrorCode::Conflict, &["conflict"]),
    (ErrorCode::IdempotencyMismatch, &["idempotency_mismatch"]),
    (ErrorCode::RateLimited, &["rate_limited"]),
    (ErrorCode::InternalError, &["internal_error"]),
    (ErrorCode::UpstreamError, &["upstream_error"]),
    (ErrorCode::ServiceUnavailable, &["service_unavailable"]),
];

impl ErrorCode {
    /// The code's usual spelling (lower case); an unknown code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(code) => code,
            known => KNOWN
                .iter()
                .find(|(code, _)| code == known)
                .map_or("", |(_, names)| names[0]),
        }
    }
}

impl From<&str> for ErrorCode {
    /// Reads a code as sent, in any case (`NOT_FOUND` is
    /// [`ErrorCode::NotFound`]).
    fn from(code: &str) -> Self {
        KNOWN
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(code)))
            .map_or_else(
                || ErrorCode::Other(code.to_owned()),
                |(known, _)| known.clone(),
            )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (code, names) in KNOWN {
            assert_eq!(code.as_str(), names[0]);
            for name in *names {
                assert_eq!(&ErrorCode::from(*name), code, "{name}");
                assert_eq!(
                    &ErrorCode::from(name.to_uppercase().as_str()),
                    code,
                    "{name}"
                );
            }
        }
        assert_eq!(
            ErrorCode::from("INVALID_SIGNATURE"),
            ErrorCode::SignatureInvalid
        );
        assert_eq!(ErrorCode::from("Not_Found"), ErrorCode::NotFound);
        // Unknown codes stay as sent.
        assert_eq!(
            ErrorCode::from("Brand_New_Code"),
            ErrorCode::Other("Brand_New_Code".into())
        );
        assert_eq!(ErrorCode::from("Brand_New_Code").as_str(), "Brand_New_Code");
        assert_eq!(
            ErrorCode::from("idempotency_key_reused"),
            ErrorCode::Other("idempotency_key_reused".into()),
            "a code nothing publishes"
        );
    }

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            status: StatusCode::from_u16(status).unwrap(),
            code: ErrorCode::InternalError,
            message: String::new(),
            field: None,
            details: None,
            doc_url: None,
            request_id: None,
            retry_after: None,
            clock_offset: None,
        }))
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 500, 502, 503, 504] {
            assert!(api(status).is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!api(status).is_retryable(), "{status}");
        }
        assert!(Error::Timeout.is_retryable());
        assert!(!Error::Config("x".into()).is_retryable());
    }
}
