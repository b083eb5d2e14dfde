//! HTTP/1.1 framing for the fault proxy, without I/O: parsing request
//! heads and upstream responses, and rendering the responses it sends.

/// The largest request head read (request line and headers).
pub(super) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest request body read.
const MAX_REQUEST_BODY_BYTES: u64 = 16 << 20;

/// A request head, parsed.
#[derive(Debug)]
pub(super) struct RequestHead {
    /// A `HEAD` request: its answers carry no body.
    pub is_head: bool,
    /// The head to send upstream: the original with `Connection: close` in
    /// place of any `Connection` header.
    pub forward: Vec<u8>,
    /// The body's length.
    pub content_length: u64,
    /// The connection is to close after this request's answer.
    pub close_after: bool,
    /// The client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// Why a request is refused (the connection then closes).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A malformed head (400).
    BadRequest,
    /// A body over the proxy's limit (413).
    BodyTooLarge,
    /// A head over [`MAX_HEAD_BYTES`] (431).
    HeadTooLarge,
    /// A `Transfer-Encoding`, which the proxy does not undo (501).
    TransferEncoding,
}

impl Refusal {
    /// The whole answer to the refused request.
    pub fn response(&self) -> Vec<u8> {
        let (status, body) = match self {
            Refusal::BadRequest => (400, "malformed request\n"),
            Refusal::BodyTooLarge => (413, "request body too large for the fault proxy\n"),
            Refusal::HeadTooLarge => (431, "request head too large for the fault proxy\n"),
            Refusal::TransferEncoding => (
                501,
                "the fault proxy does not support Transfer-Encoding in requests\n",
            ),
        };
        simple_response(
            status,
            "text/plain; charset=utf-8",
            &[],
            body.as_bytes(),
            false,
            true,
        )
    }
}

/// Parses a request head (including its blank line).
pub(super) fn parse_request(head: &[u8]) -> Result<RequestHead, Refusal> {
    let text = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    let mut lines = crlf_lines(text);
    let request_line = lines.next().ok_or(Refusal::BadRequest)?;
    let request_line_text = std::str::from_utf8(request_line).map_err(|_| Refusal::BadRequest)?;
    let mut parts = request_line_text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    if !is_token(method.as_bytes())
        || target.is_empty()
        || target.bytes().any(|b| b.is_ascii_control())
    {
        return Err(Refusal::BadRequest);
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Refusal::BadRequest),
    };

    let mut forward = Vec::with_capacity(head.len() + 32);
    forward.extend_from_slice(request_line);
    forward.extend_from_slice(b"\r\n");
    let mut content_length = None;
    let (mut close, mut keep_alive, mut expect_continue) = (false, false, false);
    for line in lines {
        let (name, value) = split_header(line).ok_or(Refusal::BadRequest)?;
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value).ok_or(Refusal::BadRequest)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Refusal::BadRequest);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refusal::TransferEncoding);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',') {
                let option = trim_ows(option);
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
            // Replaced by `Connection: close` below.
            continue;
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        }
        forward.extend_from_slice(line);
        forward.extend_from_slice(b"\r\n");
    }
    forward.extend_from_slice(b"Connection: close\r\n\r\n");
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_REQUEST_BODY_BYTES {
        return Err(Refusal::BodyTooLarge);
    }
    Ok(RequestHead {
        is_head: method == "HEAD",
        forward,
        content_length,
        close_after: close || (http10 && !keep_alive),
        expect_continue: expect_continue && !http10,
    })
}

/// A response from the upstream, ready to re-emit with framing of the
/// proxy's own.
#[derive(Debug)]
pub(super) struct UpstreamResponse {
    /// Its status.
    pub status: u16,
    /// The status line and the end-to-end headers, each ending in CRLF:
    /// without `Content-Length`, `Transfer-Encoding`, `Connection` and
    /// `Keep-Alive`.
    head: Vec<u8>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// A response without a body by definition (to `HEAD`, `204`, `304`):
    /// its `Content-Length`, if any, describes another response and is kept.
    bodiless: bool,
    /// The upstream's `Content-Length`, if it sent one.
    declared_length: Option<u64>,
}

impl UpstreamResponse {
    /// The response with `body` and `Content-Length: content_length`, and
    /// `Connection: close` if `close`.
    pub fn render(&self, body: &[u8], content_length: usize, close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + body.len() + 64);
        out.extend_from_slice(&self.head);
        if self.bodiless {
            if let Some(n) = self.declared_length {
                out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
            }
        } else {
            out.extend_from_slice(format!("Content-Length: {content_length}\r\n").as_bytes());
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.bodiless {
            out.extend_from_slice(body);
        }
        out
    }
}

/// What the upstream sent, read to the end of its connection.
#[derive(Debug)]
pub(super) enum Parsed {
    /// A whole response.
    Response(UpstreamResponse),
    /// Nothing, or a response cut short.
    Incomplete,
    /// Bytes that are not an HTTP/1.x response the proxy can relay.
    Malformed,
}

/// Parses everything the upstream sent, skipping interim (`1xx`) responses.
pub(super) fn parse_response(raw: &[u8], is_head: bool) -> Parsed {
    let mut rest = raw;
    loop {
        let Some(at) = find(rest, b"\r\n\r\n") else {
            return Parsed::Incomplete;
        };
        let (head, after) = (&rest[..at], &rest[at + 4..]);
        let mut lines = crlf_lines(head);
        let Some(status_line) = lines.next() else {
            return Parsed::Malformed;
        };
        let Some(status) = parse_status(status_line) else {
            return Parsed::Malformed;
        };
        if status == 101 {
            return Parsed::Malformed;
        }
        if (100..200).contains(&status) {
            rest = after;
            continue;
        }

        let mut kept = Vec::with_capacity(head.len() + 2);
        kept.extend_from_slice(status_line);
        kept.extend_from_slice(b"\r\n");
        let mut declared_length = None;
        let (mut chunked, mut other_coding) = (false, false);
        for line in lines {
            let Some((name, value)) = split_header(line) else {
                return Parsed::Malformed;
            };
            if name.eq_ignore_ascii_case(b"content-length") {
                let Some(n) = parse_content_length(value) else {
                    return Parsed::Malformed;
                };
                if declared_length.is_some_and(|m| m != n) {
                    return Parsed::Malformed;
                }
                declared_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let last = value.rsplit(|&b| b == b',').next().map(trim_ows);
                if last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
                    chunked = true;
                } else {
                    other_coding = true;
                }
            } else if !name.eq_ignore_ascii_case(b"connection")
                && !name.eq_ignore_ascii_case(b"keep-alive")
            {
                kept.extend_from_slice(line);
                kept.extend_from_slice(b"\r\n");
            }
        }

        let bodiless = is_head || status == 204 || status == 304;
        let body = if bodiless {
            Vec::new()
        } else if other_coding {
            // A transfer coding the proxy cannot undo (gzip and the like).
            return Parsed::Malformed;
        } else if chunked {
            match dechunk(after) {
                Dechunked::Body(body) => body,
                Dechunked::Incomplete => return Parsed::Incomplete,
                Dechunked::Malformed => return Parsed::Malformed,
            }
        } else if let Some(n) = declared_length {
            match usize::try_from(n) {
                Ok(n) if n <= after.len() => after[..n].to_vec(),
                _ => return Parsed::Incomplete,
            }
        } else {
            // Delimited by the end of the connection.
            after.to_vec()
        };
        return Parsed::Response(UpstreamResponse {
            status,
            head: kept,
            body,
            bodiless,
            declared_length,
        });
    }
}

/// The status code of a status line such as `HTTP/1.1 200 OK`.
fn parse_status(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (minor, rest) = rest.split_first()?;
    if !minor.is_ascii_digit() {
        return None;
    }
    let rest = rest.strip_prefix(b" ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(rest.get(3), None | Some(b' ')) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// The result of decoding a chunked body.
#[derive(Debug, PartialEq, Eq)]
enum Dechunked {
    Body(Vec<u8>),
    Incomplete,
    Malformed,
}

/// Decodes a chunked body (trailers, if any, are dropped).
fn dechunk(mut data: &[u8]) -> Dechunked {
    let mut body = Vec::new();
    loop {
        let Some(eol) = find(data, b"\r\n") else {
            return Dechunked::Incomplete;
        };
        let size_field = data[..eol]
            .split(|&b| b == b';')
            .next()
            .map(trim_ows)
            .unwrap_or_default();
        let Some(size) = parse_hex(size_field) else {
            return Dechunked::Malformed;
        };
        data = &data[eol + 2..];
        if size == 0 {
            // Trailers follow up to a blank line; the body is complete.
            return Dechunked::Body(body);
        }
        let Some(chunk_end) = size.checked_add(2) else {
            return Dechunked::Malformed;
        };
        if data.len() < chunk_end {
            return Dechunked::Incomplete;
        }
        if &data[size..chunk_end] != b"\r\n" {
            return Dechunked::Malformed;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[chunk_end..];
    }
}

/// A chunk size: hex digits, without overflow.
fn parse_hex(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let digit = (d as char).to_digit(16)?;
        n.checked_mul(16)?.checked_add(digit as usize)
    })
}

/// A `Content-Length` value: decimal digits only.
fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Splits a header line into its name and its trimmed value; `None` for a
/// line that is not a well-formed header (no colon, an empty or spaced
/// name, a folded line, a stray CR or LF).
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    if !is_token(name) {
        return None;
    }
    Some((name, trim_ows(&line[colon + 1..])))
}

/// Whether `bytes` is a non-empty HTTP token (method, header name).
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The lines of `bytes`, split at CRLF.
fn crlf_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, b"\r\n") {
            Some(at) => {
                rest = Some(&current[at + 2..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Where `needle` first occurs in `haystack`.
pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `502 Bad Gateway` with a short text body.
pub(super) fn bad_gateway(message: &str, omit_body: bool, close: bool) -> Vec<u8> {
    simple_response(
        502,
        "text/plain; charset=utf-8",
        &[],
        message.as_bytes(),
        omit_body,
        close,
    )
}

/// A whole response of the proxy's own. With `omit_body` (an answer to
/// `HEAD`) the headers describe the body but it is not sent.
pub(super) fn simple_response(
    status: u16,
    content_type: &str,
    extra_headers: &[(&str, String)],
    body: &[u8],
    omit_body: bool,
    close: bool,
) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !omit_body {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_are_parsed_and_made_to_close() {
        let head = b"POST /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
        let request = parse_request(head).unwrap();
        assert_eq!(request.content_length, 5);
        assert!(!request.is_head && !request.close_after && request.expect_continue);
        assert_eq!(
            String::from_utf8(request.forward).unwrap(),
            "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        );
        let old = parse_request(b"HEAD / HTTP/1.0\r\n\r\n").unwrap();
        assert!(old.is_head && old.close_after && !old.expect_continue);
        let refused = |head: &[u8]| parse_request(head).unwrap_err();
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Refusal::TransferEncoding
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"),
            Refusal::BodyTooLarge
        );
        for bad in [
            &b"nonsense\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\n bad: fold\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
        ] {
            assert_eq!(refused(bad), Refusal::BadRequest, "{bad:?}");
        }
    }

    #[test]
    fn response_parsing_and_framing() {
        let chunked = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nX-Keep: yes\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nTrailer: t\r\n\r\n";
        let Parsed::Response(resp) = parse_response(chunked, false) else {
            panic!("not parsed");
        };
        assert_eq!(resp.body, b"abcdef");
        assert_eq!(
            String::from_utf8(resp.render(&resp.body, 6, false)).unwrap(),
            "HTTP/1.1 200 OK\r\nX-Keep: yes\r\nContent-Length: 6\r\n\r\nabcdef"
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let Parsed::Response(resp) = parse_response(head, true) else {
            panic!("not parsed");
        };
        assert_eq!(
            String::from_utf8(resp.render(&[], 0, true)).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        );
        assert!(matches!(parse_response(head, false), Parsed::Incomplete));
        assert!(matches!(parse_response(b"", false), Parsed::Incomplete));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Le", false),
            Parsed::Incomplete
        ));
        assert!(matches!(
            parse_response(b"SMTP ready\r\n\r\n", false),
            Parsed::Malformed
        ));
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            ),
            Parsed::Malformed
        ));
        assert_eq!(dechunk(b"ffffffffffffffffff\r\n"), Dechunked::Malformed);
        assert_eq!(dechunk(b"5\r\nab"), Dechunked::Incomplete);
    }

    #[test]
    fn simple_responses_frame_their_body() {
        let reply = simple_response(
            429,
            "application/json",
            &[("Retry-After", "7".into())],
            b"{}",
            false,
            true,
        );
        assert_eq!(
            String::from_utf8(reply).unwrap(),
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: 2\r\nRetry-After: 7\r\nConnection: close\r\n\r\n{}"
        );
        let head_only = bad_gateway("gone\n", true, false);
        assert!(
            String::from_utf8(head_only)
                .unwrap()
                .ends_with("Content-Length: 5\r\n\r\n")
        );
    }
}
