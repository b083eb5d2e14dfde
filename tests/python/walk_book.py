"""Walks a whole customer book with Plugipay's official Python SDK, as a
Python team would export it: follow the list cursor page after page, write
each customer as one JSON line. For the side-by-side benchmark (B8).

Usage: python walk_book.py BASE_URL > book.jsonl

Signs with the sandbox's default HMAC key; prints the number of customers
on stderr. Uses only the standard library and the SDK (forjio-plugipay).
"""

from __future__ import annotations

import json
import sys

from plugipay import PlugipayClient

KEY_ID = "ak_test_sandbox"
SECRET = "sk_test_sandbox"
PAGE_SIZE = 100


def main(base_url: str) -> int:
    out = sys.stdout
    count = 0
    cursor = None
    with PlugipayClient(key_id=KEY_ID, secret=SECRET, base_url=base_url, timeout=30.0) as client:
        while True:
            page = client.customers.list(limit=PAGE_SIZE, cursor=cursor)
            for customer in page.data:
                out.write(json.dumps(customer.raw, separators=(",", ":")))
                out.write("\n")
                count += 1
            if not page.has_more or not page.cursor:
                break
            cursor = page.cursor
    out.flush()
    print(count, file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
