"""A small evaluator of identity-policy Allow statements, enough for the policies vidpipe generates.

Evaluated: `Effect: Allow` statements; `Action` (string or list, `*`/`?` wildcards, case-insensitive
as IAM is); `Resource` (string or list, `*`/`?` wildcards); `Condition` blocks with the operators
StringEquals, StringLike, ArnEquals, ArnLike (every key of every operator must match, any value of
a key may match; a key missing from the request fails the condition, as in IAM).

Not evaluated (an unsupported element raises, so nothing passes by being ignored): Deny
statements, NotAction, NotResource, NotPrincipal, other condition operators, `...IfExists`,
`ForAnyValue`/`ForAllValues`, policy variables such as `${aws:username}`. Nor anything outside
the identity policy: resource policies (the bucket's TLS-only deny, queue policies), permission
boundaries, SCPs, session policies, KMS key policies, and the global condition keys AWS adds to
every request (aws:SecureTransport, aws:SourceVpce, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SUPPORTED_CONDITIONS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}


@dataclass(frozen=True)
class Request:
    """One authorisation request: an IAM action on a resource ARN, with its context keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    why: str = field(default="", compare=False)

    @property
    def key(self) -> tuple:
        return (self.action, self.resource, tuple(sorted(self.context.items())))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    # IAM wildcards: * any run of characters (also across ':' and '/'), ? one character.
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.fullmatch(regex, value, flags) is not None


def _condition_matches(condition: dict, context: dict[str, str]) -> bool:
    for operator, keys in condition.items():
        if operator not in _SUPPORTED_CONDITIONS:
            raise NotImplementedError(f"condition operator {operator} is not evaluated")
        for key, expected in keys.items():
            if key not in context:
                return False
            actual = context[key]
            values = _as_list(expected)
            if operator in ("StringEquals", "ArnEquals"):
                ok = actual in values
            else:
                ok = any(_wildcard(v, actual) for v in values)
            if not ok:
                return False
    return True


def check_supported(policy: dict) -> None:
    for statement in policy["Statement"]:
        unsupported = {"NotAction", "NotResource", "NotPrincipal"} & statement.keys()
        if unsupported:
            raise NotImplementedError(f"{sorted(unsupported)} are not evaluated")
        if statement["Effect"] != "Allow":
            raise NotImplementedError("only Allow statements are evaluated")


def allowing_statements(policies: list[dict], request: Request) -> list[dict]:
    """The statements of the policies that allow the request (empty: implicitly denied)."""
    found = []
    for policy in policies:
        check_supported(policy)
        for statement in policy["Statement"]:
            actions = _as_list(statement["Action"])
            if not any(_wildcard(a, request.action, case_sensitive=False) for a in actions):
                continue
            if not any(_wildcard(r, request.resource) for r in _as_list(statement["Resource"])):
                continue
            if not _condition_matches(statement.get("Condition", {}), request.context):
                continue
            found.append(statement)
    return found


def allowed(policies: list[dict], request: Request) -> bool:
    return bool(allowing_statements(policies, request))
