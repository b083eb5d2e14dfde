"""Schemathesis hooks for testing the sandbox against openapi/customers.yaml.

They teach schemathesis the rules the spec does not write down in a form it
reads, so that every generated request is one a well-behaved client could
send and every check (including "schema-valid data is accepted") stays on:

- an Idempotency-Key names one logical write: a fresh key per request (reusing
  a key with another body is rightly refused with 409 idempotency_mismatch);
- cursors are opaque tokens only the server issues: no made-up cursors;
- field limits: those Plugipay publishes are read from the spec itself
  (`components.x-published-limits`, the one place they are written); the
  sandbox's own choices where nothing is published (the email shape, the
  length of a payment token id, metadata key and value lengths) are the
  numbers of `plugipay_sandbox::Limits::default()` below, not facts about
  Plugipay.
"""

import pathlib
import re
import uuid

import schemathesis
import yaml

_SPEC = yaml.safe_load((pathlib.Path(__file__).parent / "customers.yaml").read_text())
PUBLISHED = _SPEC["components"]["x-published-limits"]

# The sandbox's own choices (plugipay_sandbox::Limits::default()).
PAYMENT_TOKEN_MAX_CHARS = 255
KEY_MAX_LENGTH = 40
VALUE_MAX_LENGTH = 500
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

METADATA_MAX_KEYS = PUBLISHED["metadata"]["maxProperties"]


def _good_key(key):
    return 0 < len(key) <= KEY_MAX_LENGTH and all(c.isprintable() for c in key)


def _good_text(value, limit):
    return 0 < len(value) <= limit and all(c.isprintable() or c == " " for c in value)


def _fresh_key(headers):
    # Only a key that is one already is made fresh: an empty one (a case
    # generated to break the spec's minLength) must stay broken, or the
    # sandbox would rightly accept a case schemathesis expects refused.
    key = headers.get("Idempotency-Key") if headers else None
    if isinstance(key, str) and key:
        headers["Idempotency-Key"] = f"idem_{uuid.uuid4()}"
    return headers


def _no_cursor(query):
    if query:
        query.pop("cursor", None)
    return query


def _good_metadata(body, method=None):
    if not isinstance(body, dict):
        return body
    if isinstance(body.get("metadata"), dict):
        # A PATCH may send a null value (the spec allows it), which the
        # sandbox's default metadata mode (replace) refuses: drop those. Other
        # non-string values stay, so a case meant to be invalid stays invalid.
        drop_nulls = (method or "").upper() == "PATCH"
        # An entry whose value breaks the spec (not a string, nor a PATCH's
        # null) is kept whatever its key: dropping it would turn a case meant
        # to be refused into one the sandbox rightly accepts.
        entries = [
            (k, v)
            for k, v in body["metadata"].items()
            if (not isinstance(v, str) and not (drop_nulls and v is None))
            or (isinstance(v, str) and _good_key(k) and len(v) <= VALUE_MAX_LENGTH)
        ]
        # The spec-breaking entries first, so the key limit never drops them.
        entries.sort(key=lambda kv: isinstance(kv[1], str))
        body["metadata"] = dict(entries[:METADATA_MAX_KEYS])
    for field, limit in PUBLISHED.items():
        value = body.get(field)
        if not isinstance(value, str):
            continue
        longest = limit.get("maxLength", PAYMENT_TOKEN_MAX_CHARS)
        shortest = limit.get("minLength", 1)
        prefix = limit.get("prefix")
        if field == "email":
            if not (EMAIL.match(value) and len(value) <= longest and value.isprintable()):
                body[field] = f"user{uuid.uuid4().hex[:8]}@example.com"
        elif prefix and not (value.startswith(prefix) and _good_text(value, longest)
                             and len(value) > len(prefix)):
            body[field] = f"{prefix}{uuid.uuid4().hex[:12]}"
        elif not (_good_text(value, longest) and len(value) >= shortest):
            body[field] = "x"
    return body


# Schemathesis's phases apply different hooks: the part-by-part ones and the
# whole-case one are both registered, so every phase sends sane requests.


@schemathesis.hook
def map_headers(context, headers):
    return _fresh_key(headers)


@schemathesis.hook
def map_query(context, query):
    return _no_cursor(query)


def _method(operation):
    return getattr(operation, "method", None)


@schemathesis.hook
def map_body(context, body):
    return _good_metadata(body, _method(getattr(context, "operation", None)))


@schemathesis.hook
def map_case(context, case):
    _fresh_key(case.headers)
    _no_cursor(case.query)
    _good_metadata(case.body, _method(getattr(case, "operation", None)))
    return case
