#!/usr/bin/env python3
"""Writes N distinct, correctly signed comment notifications for wrk: `sig<TAB>body` per line."""
import hashlib, hmac, json, sys

n, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
with open(out, "w") as f:
    for i in range(n):
        body = json.dumps({"object": "instagram", "entry": [{"id": "17841400000000000", "time": 1700000000,
            "changes": [{"field": "comments", "value": {"from": {"id": str(1000 + i), "username": f"user{i}"},
            "media": {"id": "17900000000000001", "media_product_type": "FEED"}, "id": f"bench-{i}",
            "text": f"What a lovely dress, where can I buy it? number {i}"}}]}]}, separators=(",", ":"))
        sig = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        f.write(sig + "\t" + body + "\n")
