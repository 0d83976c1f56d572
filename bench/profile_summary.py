"""Summarise a py-spy "raw" (collapsed stacks) profile: where the on-CPU samples went.

    .venv/bin/python bench/profile_summary.py /tmp/prof/before-1w.txt [--top 25]

Prints the share of samples whose stack contains each area (inclusive, so areas overlap), then
the functions with the most self samples. Written by bench/api_compare.py --profile DIR.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (label, regex over one frame "function (file:line)"): inclusive shares of the samples.
AREAS = [
    ("botocore presigning", r"generate_presigned_url|botocore/signers"),
    ("FastAPI dependency solving + validation", r"solve_dependencies|request_params_to_args"),
    ("FastAPI response serialization (serialize_response)", r"serialize_response"),
    ("JSON encoding (json.dumps / jsonable_encoder)", r"jsonable_encoder|json/encoder|dumps"),
    ("pydantic (validate/serialize)", r"pydantic"),
    ("SQLAlchemy", r"sqlalchemy/"),
    ("psycopg", r"psycopg/"),
    ("h11", r"h11/"),
    ("httptools protocol", r"httptools_impl"),
    ("uvicorn access log / logging", r"logging/|uvicorn/logging"),
    ("argon2 (login)", r"argon2|pwdlib"),
    ("JWT", r"jwt/"),
    ("starlette middleware/routing", r"starlette/(middleware|routing)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stacks: list[tuple[list[str], int]] = []
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    total = sum(n for _, n in stacks)
    print(f"{total} samples")
    for label, pattern in AREAS:
        rx = re.compile(pattern)
        n = sum(c for frames, c in stacks if any(rx.search(f) for f in frames))
        print(f"{100 * n / max(total, 1):6.1f} %  {label}")
    routes = Counter()
    for frames, c in stacks:
        for frame in frames:
            m = re.match(r"(\w+) \(.*api/routes/(\w+)\.py", frame)
            if m:
                routes[f"{m.group(2)}.{m.group(1)}"] += c
                break
    print("\nby route function (inclusive):")
    for name, n in routes.most_common(12):
        print(f"{100 * n / max(total, 1):6.1f} %  {name}")
    # Self samples by the file of the leaf frame: the thread hand-off has no frame of its own
    # to be inclusive over (every sync endpoint runs under a worker thread), so count its self time.
    leaf_areas = [
        ("thread-pool hand-off (threading, anyio workers)", r"threading\.py|anyio/"),
        ("event loop (asyncio)", r"asyncio/"),
        ("uvicorn / HTTP parsing", r"uvicorn/|h11/|httptools"),
        ("starlette + fastapi", r"starlette/|fastapi/"),
        ("botocore", r"botocore/|boto3/"),
        ("sqlalchemy", r"sqlalchemy/"),
        ("psycopg", r"psycopg/"),
        ("pydantic", r"pydantic"),
        ("urllib, hmac, hashlib (presign helpers)", r"urllib/|hmac\.py|hashlib"),
        ("logging", r"logging/"),
    ]
    by_leaf = Counter()
    for frames, c in stacks:
        label = next((lbl for lbl, rx in leaf_areas if re.search(rx, frames[-1])), "other")
        by_leaf[label] += c
    print("\nself samples by area (leaf frame):")
    for label, n in by_leaf.most_common():
        print(f"{100 * n / max(total, 1):6.1f} %  {label}")
    self_time = Counter()
    for frames, c in stacks:
        self_time[re.sub(r":\d+\)", ")", frames[-1])] += c
    print("\nself samples:")
    for frame, n in self_time.most_common(args.top):
        print(f"{100 * n / max(total, 1):6.1f} %  {frame[:150]}")


if __name__ == "__main__":
    main()
