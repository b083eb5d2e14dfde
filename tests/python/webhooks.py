"""Cross-checks the webhook signature with Plugipay's official Python SDK.

Usage:
    python webhooks.py sign SECRET TIMESTAMP
    python webhooks.py verify SECRET NOW < {"header": ..., "body": ...}

Run by the Rust test `the_official_python_sdk_agrees_both_ways`
(crates/plugipay/tests/webhooks.rs) when PLUGIPAY_PYTHON names a Python
with `forjio-plugipay==0.6.0` (PyPI) installed; `.ci/run` sets it to the
venv of its official-SDK step. Uses only the standard library and the SDK.

`sign` makes a customer.created delivery signed at TIMESTAMP (Unix seconds)
with SECRET. The SDK has a verifier but no signer, so the header is made by
the published recipe with the standard library's hmac (lowercase hex
HMAC-SHA256 of "<t>.<raw body>"); the SDK's `verify_webhook` is then asked
to accept it, so what is printed is a delivery the SDK itself accepts. It
prints one JSON object: {"header", "body", "id"}.

`verify` reads one JSON object {"header", "body"} on stdin (the body as
text, checked as its UTF-8 bytes) and runs the SDK's `verify_webhook` on it
with SECRET and the clock at NOW. It prints {"id", "type", "accountId"} of
the event when the SDK accepts it, or {"error": <the SDK's code>} when the
SDK refuses it; either way the exit status is 0. Exit status 1 means the
check itself failed, 2 a bad invocation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from typing import Any, Dict, List, NoReturn

from plugipay import PlugipaySignatureError, verify_webhook

# A delivery in the SDK's envelope, spaced as a sender may space it, with a
# name that is not ASCII: the signature covers the bytes, not the JSON.
EVENT_ID = "evt_python_01"
BODY = (
    '{"id": "%s", "type": "plugipay.customer.created.v1",\n'
    ' "accountId": "acct_1", "occurredAt": "2026-01-05T10:00:00Z",\n'
    ' "data": {"object": {"id": "cus_py", "accountId": "acct_1",\n'
    '   "name": "Dewi Ç. Lestari", "email": "dewi@example.com",\n'
    '   "createdAt": "2026-01-05T10:00:00Z", "updatedAt": "2026-01-05T10:00:00Z"},\n'
    '  "aggregateType": "customer", "aggregateId": "cus_py"}}'
) % EVENT_ID


class CheckFailed(Exception):
    """The SDK did something the check did not expect."""


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The published recipe: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    payload = f"{timestamp}.".encode("utf-8") + body
    digest = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def sign(secret: str, timestamp: int) -> Dict[str, Any]:
    body = BODY.encode("utf-8")
    header = signature_header(secret, timestamp, body)
    # The SDK must accept what the recipe made.
    event = verify_webhook(body, header, secret, now=float(timestamp))
    if event.id != EVENT_ID:
        fail(f"sign: the SDK read event id {event.id!r}, expected {EVENT_ID!r}")
    return {"header": header, "body": BODY, "id": EVENT_ID}


def verify(secret: str, now: int, delivery: Dict[str, Any]) -> Dict[str, Any]:
    header = delivery.get("header")
    body = delivery.get("body")
    if not isinstance(header, str) or not isinstance(body, str):
        fail("verify: stdin must be {\"header\": str, \"body\": str}")
    try:
        event = verify_webhook(body.encode("utf-8"), header, secret, now=float(now))
    except PlugipaySignatureError as err:
        return {"error": err.code}
    return {"id": event.id, "type": event.type, "accountId": event.account_id}


def main(argv: List[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("sign", "verify"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    command, secret = argv[1], argv[2]
    try:
        when = int(argv[3])
    except ValueError:
        print(f"{argv[0]}: {argv[3]!r} is not Unix seconds", file=sys.stderr)
        return 2
    try:
        if command == "sign":
            result = sign(secret, when)
        else:
            result = verify(secret, when, json.loads(sys.stdin.read()))
    except (CheckFailed, PlugipaySignatureError, ValueError) as err:
        print(f"webhook cross-check FAILED: {err!r}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
