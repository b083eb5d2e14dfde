"""Checks that Plugipay's official Python SDK works against our sandbox.

Usage: python official_sdk.py SANDBOX_BASE_URL

Run by .ci/run with a venv holding `forjio-plugipay==0.6.0` (PyPI) and a
`plugipay-sandbox` it started. Uses only the standard library and the SDK.

It drives one customer through its whole life with the SDK's own client,
signed with the sandbox's default HMAC key, and fails loudly (a message on
stderr, exit status 1) on the first thing that differs from what the live
API promises. Each step that passes prints one `ok: ...` line.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, Dict, List, NoReturn, Optional, Tuple

from plugipay import PlugipayClient, PlugipayError

# The sandbox's default workspace key (see `plugipay-sandbox`'s start-up line
# on stderr). HMAC rather than the Bearer key `pk_test_sandbox`, so the SDK's
# request signing is checked too.
KEY_ID = "ak_test_sandbox"
SECRET = "sk_test_sandbox"

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
