"""Checks that Plugipay's official Python SDK works against our sandbox.

Usage: python official_sdk.py SANDBOX_BASE_URL

Run by .ci/run with a venv holding `forjio-plugipay==0.6.0` (PyPI) and a
`plugipay-sandbox --live` it started (`--live` adds the default live keys).
Uses only the standard library, the SDK and httpx (the SDK's own transport).

It drives one customer through its whole life with the SDK's own client,
signed with the sandbox's default HMAC key; then checks what the published
reference says of errors and worlds, as far as the SDK reaches: an
Idempotency-Key reused with another request (409 `idempotency_mismatch`,
through the SDK's raw `request`, the only call that takes a key of your
own), a name past its published length (400 `validation_error`), and test
and live keys seeing separate worlds. The SDK's error keeps no `field`, so
that is read off the wire from the SDK's own httpx client. It fails loudly
(a message on stderr, exit status 1) on the first thing that differs from
what the live API promises. Each step that passes prints one `ok: ...` line.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any, Dict, List, NoReturn, Optional, Tuple

import httpx
from plugipay import PlugipayClient, PlugipayError

# The sandbox's default workspace key (see `plugipay-sandbox`'s start-up line
# on stderr). HMAC rather than the Bearer key `pk_test_sandbox`, so the SDK's
# request signing is checked too.
KEY_ID = "ak_test_sandbox"
SECRET = "sk_test_sandbox"
# The default live pair, on the same workspace's live world (present only
# when the sandbox was started with `--live`).
LIVE_KEY_ID = "ak_live_sandbox"
LIVE_SECRET = "sk_live_sandbox"

# Published lengths the checks probe.
NAME_MAX_CHARS = 255

# Page size of the list walks: small, so that a sandbox holding more than a
# few customers makes the walk follow cursors across several pages.
PAGE_SIZE = 7
# A walk that has not ended after this many pages is taken as a cursor loop.
MAX_PAGES = 10_000


class CheckFailed(Exception):
    """A check found the sandbox (or the SDK) doing something unexpected."""


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def expect_equal(what: str, got: Any, want: Any) -> None:
    """Fails with both values shown unless `got == want`."""
    if got != want:
        fail(f"{what}: expected {want!r}, got {got!r}")


def ok(step: str) -> None:
    print(f"ok: {step}", flush=True)


def walk_all(client: PlugipayClient) -> Tuple[List[Dict[str, Any]], int]:
    """Every customer of the workspace, by following the SDK's list cursors
    until the page says hasMore is false; and how many pages that took."""
    customers: List[Dict[str, Any]] = []
    cursor: Optional[str] = None
    seen_cursors = set()
    for pages in range(1, MAX_PAGES + 1):
        page = client.customers.list(limit=PAGE_SIZE, cursor=cursor)
        if len(page.data) > PAGE_SIZE:
            fail(f"list walk: a page of limit {PAGE_SIZE} held {len(page.data)} customers")
        customers.extend(c.raw for c in page.data)
        if not page.has_more:
            return customers, pages
        if not page.cursor:
            fail("list walk: a page says hasMore but gives no cursor")
        if page.cursor in seen_cursors:
            fail(f"list walk: cursor {page.cursor!r} came back a second time")
        seen_cursors.add(page.cursor)
        cursor = page.cursor
    fail(f"list walk: still hasMore after {MAX_PAGES} pages")


def ids_of(customers: List[Dict[str, Any]]) -> List[str]:
    return [c.get("id") for c in customers]


def expect_not_found(client: PlugipayClient, customer_id: str, step: str) -> None:
    """GET of `customer_id` must raise the SDK's error with 404 / not_found."""
    try:
        got = client.customers.get(customer_id)
    except PlugipayError as err:
        expect_equal(f"{step}: error status", err.status, 404)
        expect_equal(f"{step}: error code", err.code, "not_found")
        return
    fail(f"{step}: expected a 404 not_found error, got a customer {got.raw!r}")


class WireErrors:
    """Keeps the `error` object of the last error response the SDK's httpx
    client received: the SDK's own error type drops `error.field`."""

    def __init__(self) -> None:
        self.last: Optional[Dict[str, Any]] = None

    def hook(self, response: httpx.Response) -> None:
        self.last = None
        if response.status_code < 400:
            return
        response.read()
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        self.last = error if isinstance(error, dict) else None

    def field(self) -> Optional[str]:
        return (self.last or {}).get("field")


def expect_error(step: str, call: Any, status: int, code: str) -> PlugipayError:
    """`call()` must raise the SDK's error with `status` and `code`."""
    try:
        got = call()
    except PlugipayError as err:
        expect_equal(f"{step}: error status", err.status, status)
        expect_equal(f"{step}: error code", err.code, code)
        return err
    fail(f"{step}: expected a {status} {code} error, got {got!r}")


def customer_id_of(step: str, customer: Any) -> str:
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    if not isinstance(customer_id, str) or not customer_id:
        fail(f"{step}: the customer has no id: {customer!r}")
    return customer_id


def check_idempotency_mismatch(client: PlugipayClient, wire: WireErrors) -> None:
    """The same Idempotency-Key with another request: 409 idempotency_mismatch
    naming the differing field; the same request again replays."""
    key = f"idem_{uuid.uuid4()}"
    path = "/api/v1/customers"
    external_id = f"official-sdk-idem-{uuid.uuid4()}"
    body = {"name": "Grace Hopper", "externalId": external_id}
    first = client.request(method="POST", path=path, body=body, idempotency_key=key)
    customer_id = customer_id_of("idempotency: create", first)
    expect_error(
        "idempotency: same key, another name",
        lambda: client.request(
            method="POST", path=path, body={**body, "name": "Grace Brewster"}, idempotency_key=key
        ),
        409,
        "idempotency_mismatch",
    )
    expect_equal("idempotency: error.field on the wire", wire.field(), "name")
    again = client.request(method="POST", path=path, body=body, idempotency_key=key)
    expect_equal("idempotency: the same request replays", again, first)
    page = client.customers.list(external_id=external_id)
    expect_equal("idempotency: customers made", ids_of([c.raw for c in page.data]), [customer_id])
    client.customers.delete(customer_id)
    ok("idempotency: a reused key with another name is 409 idempotency_mismatch (field name)")


def check_name_length(client: PlugipayClient, wire: WireErrors) -> None:
    """A name at the published limit is accepted; one character more is 400
    validation_error naming the field."""
    at_limit = client.customers.create(name="n" * NAME_MAX_CHARS).raw
    expect_equal("name at its limit", len(at_limit.get("name") or ""), NAME_MAX_CHARS)
    client.customers.delete(customer_id_of("name at its limit", at_limit))
    expect_error(
        f"name of {NAME_MAX_CHARS + 1} characters",
        lambda: client.customers.create(name="n" * (NAME_MAX_CHARS + 1)),
        400,
        "validation_error",
    )
    expect_equal("name too long: error.field on the wire", wire.field(), "name")
    ok(f"a name of {NAME_MAX_CHARS} characters is accepted, {NAME_MAX_CHARS + 1} is 400 validation_error")


def check_worlds(test: PlugipayClient, live: PlugipayClient) -> None:
    """Test and live keys of one workspace see separate worlds."""
    try:
        live_before, _ = walk_all(live)
    except PlugipayError as err:
        if err.status == 401:
            fail(f"the live key {LIVE_KEY_ID} is refused: start the sandbox with --live ({err!r})")
        raise
    test_before, _ = walk_all(test)
    overlap = set(ids_of(live_before)) & set(ids_of(test_before))
    if overlap:
        fail(f"worlds: {len(overlap)} customers are listed by both the test and the live key")

    # One externalId in each world: no conflict, two customers.
    external_id = f"official-sdk-world-{uuid.uuid4()}"
    in_test = test.customers.create(name="Test world", external_id=external_id).raw
    in_live = live.customers.create(name="Live world", external_id=external_id).raw
    test_id = customer_id_of("worlds: test create", in_test)
    live_id = customer_id_of("worlds: live create", in_live)
    if test_id == live_id:
        fail(f"worlds: both creates answered the same customer {test_id}")
    ok("worlds: one externalId in the test and the live world")

    # Neither key reads the other world's customer, lists it, or finds it by externalId.
    expect_not_found(test, live_id, "worlds: the test key gets a live customer")
    expect_not_found(live, test_id, "worlds: the live key gets a test customer")
    for client, mine, other, world in [(test, test_id, live_id, "test"), (live, live_id, test_id, "live")]:
        page = client.customers.list(external_id=external_id)
        expect_equal(f"worlds: {world} list by externalId", ids_of([c.raw for c in page.data]), [mine])
        everyone = ids_of(walk_all(client)[0])
        if other in everyone or mine not in everyone:
            fail(f"worlds: the {world} list walk crosses worlds")
    ok("worlds: gets, lists and filters stay in their world")

    # One Idempotency-Key in both worlds: each world runs it once.
    key = f"idem_{uuid.uuid4()}"
    body = {"name": "Same key"}
    path = "/api/v1/customers"
    a = test.request(method="POST", path=path, body=body, idempotency_key=key)
    b = live.request(method="POST", path=path, body=body, idempotency_key=key)
    a_id, b_id = customer_id_of("worlds: test key", a), customer_id_of("worlds: live key", b)
    if a_id == b_id:
        fail("worlds: an Idempotency-Key used in the test world replayed in the live world")
    ok("worlds: an Idempotency-Key does not cross worlds")

    for client, customer_id in [(test, test_id), (live, live_id), (test, a_id), (live, b_id)]:
        client.customers.delete(customer_id)
    expect_equal("worlds: live customers left", len(walk_all(live)[0]), len(live_before))


def run(base_url: str) -> None:
    client = PlugipayClient(key_id=KEY_ID, secret=SECRET, base_url=base_url, timeout=10.0)
    with client:
        # A fresh externalId per run, so reruns against a long-lived sandbox
        # never collide with an earlier run's customer.
        external_id = f"official-sdk-{uuid.uuid4()}"
        email = f"{external_id}@example.com"
        metadata = {"plan": "pro", "tier": "gold"}

        # Create.
        created = client.customers.create(
            email=email, name="Ada Lovelace", external_id=external_id, metadata=metadata
        ).raw
        customer_id = created.get("id")
        if not isinstance(customer_id, str) or not customer_id:
            fail(f"create: the customer has no id: {created!r}")
        expect_equal("create: email", created.get("email"), email)
        expect_equal("create: name", created.get("name"), "Ada Lovelace")
        expect_equal("create: externalId", created.get("externalId"), external_id)
        expect_equal("create: metadata", created.get("metadata"), metadata)
        ok("create")

        # Get it back: the same customer, field for field.
        fetched = client.customers.get(customer_id).raw
        expect_equal("get: the customer", fetched, created)
        ok("get")

        # List with the externalId filter: exactly this customer.
        page = client.customers.list(external_id=external_id)
        expect_equal("list by externalId: ids", ids_of([c.raw for c in page.data]), [customer_id])
        expect_equal("list by externalId: the customer", page.data[0].raw, created)
        expect_equal("list by externalId: hasMore", page.has_more, False)
        ok("list by externalId")

        # A plain list walk, page by page, contains it (once).
        listed, pages = walk_all(client)
        everyone = ids_of(listed)
        expect_equal("list walk: times the customer appears", everyone.count(customer_id), 1)
        ok(f"list walk ({len(everyone)} customers, {pages} pages)")

        # Update the name and the whole metadata map. The sandbox's default
        # metadata mode replaces the map: "tier" must be gone afterwards.
        updated = client.customers.update(
            customer_id, name="Ada King", metadata={"plan": "team"}
        ).raw
        expect_equal("update: id", updated.get("id"), customer_id)
        expect_equal("update: name", updated.get("name"), "Ada King")
        expect_equal("update: metadata", updated.get("metadata"), {"plan": "team"})
        expect_equal("update: email (not sent, unchanged)", updated.get("email"), email)
        expect_equal(
            "update: externalId (not sent, unchanged)", updated.get("externalId"), external_id
        )
        expect_equal("update: get after it", client.customers.get(customer_id).raw, updated)
        ok("update")

        # Delete: the SDK returns nothing and raises nothing.
        expect_equal("delete: return value", client.customers.delete(customer_id), None)
        ok("delete")

        # Get after delete: the SDK's error, 404 not_found.
        expect_not_found(client, customer_id, "get after delete")
        ok("get after delete is 404 not_found")

        # Gone from a full list walk, and from the externalId filter.
        listed, pages = walk_all(client)
        everyone = ids_of(listed)
        if customer_id in everyone:
            fail(f"list walk after delete: {customer_id} is still listed")
        page = client.customers.list(external_id=external_id)
        expect_equal("list by externalId after delete", ids_of([c.raw for c in page.data]), [])
        ok(f"list walk after delete ({len(everyone)} customers, {pages} pages)")

        # The externalId is free again: a new customer takes it, with a new id.
        again = client.customers.create(email=email, name="Ada again", external_id=external_id).raw
        again_id = again.get("id")
        if not isinstance(again_id, str) or not again_id:
            fail(f"create again: the customer has no id: {again!r}")
        if again_id == customer_id:
            fail(f"create again: the new customer reuses the deleted id {customer_id}")
        expect_equal("create again: externalId", again.get("externalId"), external_id)
        page = client.customers.list(external_id=external_id)
        expect_equal("create again: list by externalId", ids_of([c.raw for c in page.data]), [again_id])
        ok("create again with the same externalId")

        expect_equal("delete again: return value", client.customers.delete(again_id), None)
        expect_not_found(client, again_id, "get after the second delete")
        ok("delete again")

    # The published reference, through the SDK; errors' `field` read off the
    # SDK's own httpx client.
    wire = WireErrors()
    http = httpx.Client(event_hooks={"response": [wire.hook]})
    checked = PlugipayClient(
        key_id=KEY_ID, secret=SECRET, base_url=base_url, timeout=10.0, http=http
    )
    live = PlugipayClient(key_id=LIVE_KEY_ID, secret=LIVE_SECRET, base_url=base_url, timeout=10.0)
    with http, checked, live:
        check_idempotency_mismatch(checked, wire)
        check_name_length(checked, wire)
        check_worlds(checked, live)


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} SANDBOX_BASE_URL", file=sys.stderr)
        return 2
    base_url = argv[1]
    try:
        run(base_url)
    except CheckFailed as err:
        print(f"official SDK check FAILED: {err}", file=sys.stderr)
        return 1
    except PlugipayError as err:
        # The SDK raised where the check expected success.
        print(f"official SDK check FAILED: unexpected SDK error {err!r}", file=sys.stderr)
        return 1
    print("official SDK check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
