"""Schemathesis hooks for testing the sandbox against openapi/customers.yaml.

They teach schemathesis the three rules OpenAPI 3.0 cannot write down, so that
every generated request is one a well-behaved client could send and every
check (including "schema-valid data is accepted") stays on:

- an Idempotency-Key names one logical write: a fresh key per request (reusing
  a key with another body is rightly refused with 422);
- metadata keys are 1 to 40 characters without control characters (the spec's
  `x-key-max-length`; OpenAPI 3.0 has no `propertyNames`);
- cursors are opaque tokens only the server issues: no made-up cursors.
"""

import uuid

import schemathesis

KEY_MAX_LENGTH = 40


def _good_key(key):
    return 0 < len(key) <= KEY_MAX_LENGTH and all(c.isprintable() for c in key)


def _fresh_key(headers):
    if headers and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = f"idem_{uuid.uuid4()}"
    return headers


def _no_cursor(query):
    if query:
        query.pop("cursor", None)
    return query


def _good_metadata(body):
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        body["metadata"] = {k: v for k, v in body["metadata"].items() if _good_key(k)}
    return body


# Schemathesis's phases apply different hooks: the part-by-part ones and the
# whole-case one are both registered, so every phase sends sane requests.


@schemathesis.hook
def map_headers(context, headers):
    return _fresh_key(headers)


@schemathesis.hook
def map_query(context, query):
    return _no_cursor(query)


@schemathesis.hook
def map_body(context, body):
    return _good_metadata(body)


@schemathesis.hook
def map_case(context, case):
    _fresh_key(case.headers)
    _no_cursor(case.query)
    _good_metadata(case.body)
    return case
