"""Check JSON against Constant Contact's official V3 description (Swagger 2.0).

The sandbox's answers and the client's requests must agree with
``../shared/cc-v3-openapi.yaml`` (build 3.0.178; see ``cc-v3-api.md`` §0). The file is data,
not part of the project: it is read at run time from ``$CCDESK_OPENAPI`` or from the
``shared`` folder beside the checkout, and every helper here skips the calling test with a clear
reason when it is absent. Nothing from it is committed (the cache below is git-ignored).

Usage::

    from tests.support.openapi import validate_query, validate_request_body, validate_response

    validate_query("GET", "/v3/contacts", {"status": "all", "include": "list_memberships"})
    validate_request_body("POST", "/v3/activities/remove_list_memberships", body)
    validate_response("GET", "/v3/contacts/4d88f172-21d1-11ea-b5ae-fa163e56c9b0", 200, data)

Each ``validate_*`` raises :class:`SpecViolation` (an ``AssertionError``) listing every problem
with its JSON path. The session fixture :func:`openapi` gives the parsed document; import it
under any alias (``from tests.support.openapi import openapi as _openapi  # noqa: F401``) or
re-export it from a conftest.

How the Swagger schemas become JSON Schema (Draft 4 is Swagger 2.0's base):

- ``#/definitions/...`` references are resolved inside one root document made of the converted
  definitions; Swagger-only keywords (``readOnly``, ``example``, ``discriminator``, ``x-*``,
  ``format: csv``, ``type: file``) are dropped or turned into checks of their own;
- the known faults of the file are repaired, each at one place below, citing ``cc-v3-api.md``;
- *strict* mode (the default) closes every object schema that lists ``properties``
  (``additionalProperties: false`` unless the schema says otherwise), so neither the sandbox nor
  the client can invent a field the real API does not have;
- formats ``uuid``, ``date-time`` (RFC 3339, offset required) and ``date`` are checked.

Parsing 700 KB of YAML costs a few tenths of a second, so the parsed document is cached per
process and, across runs, as JSON under ``.pytest_cache/d/ccdesk-openapi/`` keyed by the file's
sha256 (``pytest --cache-clear`` empties it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
import pytest
import yaml
from jsonschema.exceptions import ValidationError

try:  # libyaml makes the cold parse about ten times faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = [
    "CACHE_DIR",
    "DEFAULT_SPEC_PATH",
    "FORMAT_CHECKER",
    "SPEC_ENV",
    "UNIVERSAL_STATUSES",
    "Operation",
    "SpecUnavailable",
    "SpecViolation",
    "UnknownOperation",
    "clear_caches",
    "definition_schema",
    "find_operation",
    "json_schema",
    "load_spec",
    "openapi",
    "require_spec",
    "spec_path",
    "validate_definition",
    "validate_error_body",
    "validate_query",
    "validate_request",
    "validate_request_body",
    "validate_response",
]

SPEC_ENV: Final = "CCDESK_OPENAPI"
"""Environment variable that points at another copy of the description."""

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_PATH: Final = REPO_ROOT.parent / "shared" / "cc-v3-openapi.yaml"

# Computed once, at import: the test conftest re-points XDG_CACHE_HOME at a fresh temporary
# folder for every test, which would make a per-user cache useless.
CACHE_DIR: Path = REPO_ROOT / ".pytest_cache" / "d" / "ccdesk-openapi"
_CACHE_FORMAT: Final = 1  # bump when the cached JSON would differ for the same YAML

_HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch")

UNIVERSAL_STATUSES: Final = frozenset({"429"})
"""Statuses any operation may answer although most do not declare them.

The file declares 429 on only 33 of its 128 operations (none of the GETs ccdesk uses, nor PUT
/contacts/{contact_id}), yet cc-v3-api.md §5 says the 4 requests/s and 10,000/day limits apply to
every request of an application key, answered by 429 with a single-object body.
"""
_MAX_LISTED_ERRORS: Final = 200


# --------------------------------------------------------------------------------------------
# Errors


class SpecUnavailable(FileNotFoundError):
    """The official description is not where :func:`spec_path` looks for it."""


class UnknownOperation(LookupError):
    """No operation of the description matches a method and a path."""


class SpecViolation(AssertionError):
    """A request or a response does not agree with the description.

    :ivar errors: every problem, each ``"<JSON path>: <what is wrong>"``.
    """

    def __init__(self, headline: str, errors: Sequence[str]) -> None:
        self.headline = headline
        self.errors: tuple[str, ...] = tuple(errors)
        shown = [f"  - {e}" for e in self.errors[:_MAX_LISTED_ERRORS]]
        if len(self.errors) > _MAX_LISTED_ERRORS:
            shown.append(f"  … and {len(self.errors) - _MAX_LISTED_ERRORS} more (see .errors)")
        super().__init__("\n".join([headline, *shown]))


# --------------------------------------------------------------------------------------------
# Finding and loading the file


def spec_path() -> Path | None:
    """Where the description is: ``$CCDESK_OPENAPI`` if set, else ``<repo>/../shared/...``.

    :returns: the path, or ``None`` when that file does not exist (an explicit
        ``$CCDESK_OPENAPI`` that names a missing file does not fall back to the default).
    """
    override = os.environ.get(SPEC_ENV, "").strip()
    path = Path(override).expanduser() if override else DEFAULT_SPEC_PATH
    return path if path.is_file() else None


def _absent_reason() -> str:
    override = os.environ.get(SPEC_ENV, "").strip()
    where = Path(override).expanduser() if override else DEFAULT_SPEC_PATH
    return (
        "OpenAPI conformance check skipped: the official Constant Contact description "
        f"../shared/cc-v3-openapi.yaml is absent (looked for {where}; set {SPEC_ENV} to a copy)"
    )


def load_spec() -> dict[str, Any]:
    """The parsed description (cached per process and, as JSON, across runs).

    The returned dict is shared: do not modify it.

    :raises SpecUnavailable: when :func:`spec_path` finds no file.
    """
    return _current(skip=False).document


def require_spec() -> dict[str, Any]:
    """Like :func:`load_spec`, but skips the calling test when the file is absent."""
    return _current(skip=True).document


@pytest.fixture(scope="session", name="openapi")
def openapi() -> dict[str, Any]:
    """The parsed description; skips the test when the file is absent.

    Named explicitly, so importing it under an alias still registers ``openapi``.
    """
    return require_spec()


def clear_caches() -> None:
    """Forget every parsed document and compiled validator (the JSON cache on disk stays)."""
    with _LOCK:
        _SPECS.clear()


_LOCK = threading.RLock()
_SPECS: dict[tuple[str, int, int], _Spec] = {}


def _current(*, skip: bool) -> _Spec:
    path = spec_path()
    if path is None:
        if skip:
            pytest.skip(_absent_reason())
        raise SpecUnavailable(_absent_reason())
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        spec = _SPECS.get(key)
        if spec is None:
            spec = _Spec(_read_document(path), path)
            _SPECS[key] = spec
        return spec


def _read_document(path: Path) -> dict[str, Any]:
    """Parse ``path``, going through the JSON cache keyed by the file's sha256."""
    data = path.read_bytes()
    cache_file = CACHE_DIR / f"spec-{hashlib.sha256(data).hexdigest()}-v{_CACHE_FORMAT}.json"
    with contextlib.suppress(OSError, ValueError), open(cache_file, encoding="utf-8") as fh:
        cached = json.load(fh)
        if isinstance(cached, dict):
            return cached
    document = _parse_yaml(data)
    if "paths" not in document:
        raise ValueError(f"{path} is not a Swagger 2.0 document (no 'paths')")
    _write_cache(cache_file, document)
    return document


def _write_cache(cache_file: Path, document: dict[str, Any]) -> None:
    """Best effort: a read-only checkout just parses the YAML every time."""
    tmp = cache_file.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        ignore = CACHE_DIR / ".gitignore"  # never committed, whatever the repo's .gitignore says
        if not ignore.exists():
            ignore.write_text("# parsed copies of the OpenAPI file; see tests/support/openapi.py\n*\n")
        tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
        tmp.replace(cache_file)  # atomic: parallel test processes never read half a file
    except OSError:
        tmp.unlink(missing_ok=True)


def _parse_yaml(data: bytes) -> dict[str, Any]:
    """Parse YAML (safe loader, libyaml when available) into a JSON-compatible dict."""
    document = _json_compatible(yaml.load(data, Loader=_SafeLoader))
    if not isinstance(document, dict):
        raise ValueError("not a YAML mapping")
    return document


def _json_compatible(node: Any) -> Any:
    """Make a YAML tree equal to its own JSON round trip (string keys, ISO dates).

    This file quotes its response codes and has no bare dates, but a later build may not, and
    the in-process document must not differ from the one read back from the JSON cache.
    """
    if isinstance(node, dict):
        return {str(k): _json_compatible(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_compatible(v) for v in node]
    if isinstance(node, _dt.date | _dt.datetime):
        return node.isoformat()
    return node


# --------------------------------------------------------------------------------------------
# Formats


_UUID_RE: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE_TIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_uuid(value: str) -> bool:
    return bool(_UUID_RE.fullmatch(value))


def _is_date_time(value: str) -> bool:
    """RFC 3339 ``date-time`` (Swagger 2.0's definition): the offset is required."""
    if not _DATE_TIME_RE.fullmatch(value):
        return False
    try:
        _dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not _DATE_RE.fullmatch(value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


_FORMATS: Final = {"uuid": _is_uuid, "date-time": _is_date_time, "date": _is_date}

FORMAT_CHECKER: Final = jsonschema.FormatChecker(formats=())
"""Checks ``uuid``, ``date-time`` and ``date``; every other format is accepted as is."""
for _name, _check in _FORMATS.items():
    FORMAT_CHECKER.checks(_name)(lambda value, _check=_check: not isinstance(value, str) or _check(value))


# --------------------------------------------------------------------------------------------
# Swagger 2.0 schema -> JSON Schema Draft 4


# Known faults of the file, keyed by the JSON pointer of the schema they sit on.
#
# cc-v3-api.md §0 "Spec quirks": `maxItems: 0` on the bulk list-membership arrays is a generator
# artefact (taken literally every non-empty array would be invalid); the prose of the same
# schemas, and §3.6/§3.7, give the real limits: 500 contact ids, 50 source lists, 50 tags,
# 50 target lists. The replacement is applied only while the file still says 0.
_MAX_ITEMS_FIXES: Final[Mapping[str, int]] = {
    "#/definitions/ListActivityRemoveContacts/properties/source/properties/contact_ids": 500,
    "#/definitions/ListActivityRemoveContacts/properties/source/properties/list_ids": 50,
    "#/definitions/ListActivityRemoveContacts/properties/source/properties/tag_ids": 50,
    "#/definitions/ListActivityRemoveContacts/properties/list_ids": 50,
    "#/definitions/ListActivityAddContacts/properties/source/properties/tag_ids": 50,
}
# Any other `maxItems: 0` (in 3.0.178 only CustomFieldId100.custom_field_ids, no ccdesk use and
# no documented number) is the same artefact: it is dropped, i.e. no limit is enforced.

# Constraints the prose states but the schema cannot express as written. cc-v3-api.md §3.6/§3.7:
# `source` holds exactly one of its (mutually exclusive) properties.
_EXTRA_CONSTRAINTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "#/definitions/ListActivityRemoveContacts/properties/source": {
        "minProperties": 1,
        "maxProperties": 1,
    },
    "#/definitions/ListActivityAddContacts/properties/source": {
        "minProperties": 1,
        "maxProperties": 1,
    },
}

# Swagger keywords with no JSON Schema meaning here. `readOnly` is read before it is dropped
# (see _Converter); `discriminator` (absent from this file) only names the property that picks
# an `allOf` branch, and the `allOf` itself still validates.
_SWAGGER_ONLY: Final = frozenset(
    {"readOnly", "example", "discriminator", "xml", "externalDocs", "collectionFormat"}
)
_READ_ONLY_KEYWORD: Final = "ccdeskReadOnly"


@dataclass(frozen=True)
class _Variant:
    strict: bool
    request: bool
    forbid_read_only: bool


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Converter:
    """Turns Swagger 2.0 schema objects into Draft 4 schemas for one :class:`_Variant`."""

    def __init__(self, variant: _Variant) -> None:
        self.variant = variant

    def convert(self, node: Any, pointer: str) -> Any:
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _SWAGGER_ONLY or key.startswith("x-"):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: self.convert(sub, f"{pointer}/properties/{_escape(name)}")
                    for name, sub in value.items()
                }
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                out[key] = self.convert(value, f"{pointer}/{key}")
            elif key in ("items", "allOf", "anyOf", "oneOf") and isinstance(value, list):
                out[key] = [self.convert(v, f"{pointer}/{key}/{i}") for i, v in enumerate(value)]
            elif key == "format" and value == "csv":
                # Swagger-ism for "comma-separated string"; only query parameters use it and
                # validate_query() splits them. As a schema format it would mean nothing.
                continue
            elif key == "type" and value == "file":
                continue  # multipart uploads (formData); not JSON
            else:
                out[key] = value
        if out.get("maxItems") == 0:
            fixed = _MAX_ITEMS_FIXES.get(pointer)
            if fixed is None:
                del out["maxItems"]
            else:
                out["maxItems"] = fixed
        out.update(_EXTRA_CONSTRAINTS.get(pointer, {}))
        properties = node.get("properties")
        if isinstance(properties, dict):
            self._object_rules(node, out, properties)
        return out

    def _object_rules(
        self, node: Mapping[str, Any], out: dict[str, Any], properties: Mapping[str, Any]
    ) -> None:
        if self.variant.request:
            # Swagger 2.0: a readOnly property "MAY be sent as part of a response but MUST NOT
            # be sent as part of the request", so it cannot be required in a request either
            # (e.g. ContactListPutPost lists the read-only list_id as required).
            read_only = [
                name
                for name, sub in properties.items()
                if isinstance(sub, dict) and sub.get("readOnly") is True
            ]
            if read_only and "required" in out:
                required = [n for n in out["required"] if n not in read_only]
                if required:
                    out["required"] = required
                else:
                    del out["required"]  # Draft 4: `required` must not be empty
            if read_only and self.variant.forbid_read_only:
                out[_READ_ONLY_KEYWORD] = read_only
        if self.variant.strict and properties and "additionalProperties" not in node:
            out["additionalProperties"] = False


def _read_only_keyword(
    validator: Any, names: list[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for name in names:
        if name in instance:
            yield ValidationError(
                f"{name!r} is readOnly in the description: a request must not send it",
                path=(name,),
            )


_Validator: Final = jsonschema.validators.extend(
    jsonschema.Draft4Validator, validators={_READ_ONLY_KEYWORD: _read_only_keyword}
)


def _error_lines(validator: Any, instance: Any) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (e.json_path, e.message))
    return [_describe(e) for e in errors]


def _describe(error: ValidationError) -> str:
    if error.validator in ("maxItems", "minItems") and isinstance(error.instance, list):
        bound = "at most" if error.validator == "maxItems" else "at least"
        message = f"{len(error.instance)} items; {bound} {error.validator_value} allowed"
    elif error.validator == "maxProperties" and isinstance(error.instance, dict):
        names = ", ".join(sorted(error.instance))
        message = f"has {len(error.instance)} properties ({names}); at most {error.validator_value}"
        if error.validator_value == 1:
            message += " (they are mutually exclusive)"
    elif error.validator == "minProperties" and isinstance(error.instance, dict):
        message = f"has {len(error.instance)} properties; at least {error.validator_value} needed"
    else:
        message = error.message
    if len(message) > 300:
        message = message[:297] + "…"
    return f"{error.json_path}: {message}"


# --------------------------------------------------------------------------------------------
# Operations


@dataclass(frozen=True, eq=False)
class Operation:
    """One operation of the description (read-only views of the parsed document).

    :ivar method: upper-case HTTP method.
    :ivar path: the path template without the base path, e.g. ``/contacts/{contact_id}``.
    :ivar operation_id: e.g. ``getContact``.
    :ivar parameters: the Swagger parameter objects (path-level ones merged in).
    :ivar responses: status code (``"200"``, ``"default"``) → Swagger schema, or ``None`` when
        that response declares no body (most errors).
    :ivar request_schema: the Swagger schema of the ``in: body`` parameter, if any.
    :ivar body_required: whether that body parameter is required.
    :ivar pointer: JSON pointer of the operation in the document, for messages.
    """

    method: str
    path: str
    operation_id: str
    parameters: tuple[Mapping[str, Any], ...]
    responses: Mapping[str, Mapping[str, Any] | None]
    request_schema: Mapping[str, Any] | None
    body_required: bool
    pointer: str
    _pattern: re.Pattern[str] = field(repr=False)
    _names: tuple[str, ...] = field(repr=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"

    @property
    def query_parameters(self) -> dict[str, Mapping[str, Any]]:
        """Declared query parameters by name."""
        return {p["name"]: p for p in self.parameters if p.get("in") == "query"}

    def path_arguments(self, path: str) -> dict[str, str]:
        """The values of the template's ``{names}`` in a concrete (base-path-stripped) path."""
        match = self._pattern.fullmatch(path)
        if match is None:
            raise UnknownOperation(f"{path!r} does not match {self.path!r}")
        return {n: unquote(v) for n, v in zip(self._names, match.groups(), strict=True)}

    def response_schema(self, status: int | str) -> Mapping[str, Any] | None:
        """The Swagger schema declared for ``status`` (``None``: declared without a body).

        429 counts as declared everywhere (see ``UNIVERSAL_STATUSES``).

        :raises KeyError: when the operation does not declare that status (nor ``default``).
        """
        key = str(int(status))
        if key in self.responses:
            return self.responses[key]
        if "default" in self.responses:
            return self.responses["default"]
        if key in UNIVERSAL_STATUSES:
            return None
        raise KeyError(key)


@dataclass(frozen=True)
class _Route:
    template: str
    rank: tuple[int, ...]  # per segment: 0 literal, 1 templated; smaller wins
    pattern: re.Pattern[str]
    operations: Mapping[str, Operation]


_PARAM_RE: Final = re.compile(r"\{([^}/]+)\}")


def _compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, ...]]:
    names: list[str] = []
    regex = []
    last = 0
    for match in _PARAM_RE.finditer(template):
        regex.append(re.escape(template[last : match.start()]))
        regex.append("([^/]+)")
        names.append(match.group(1))
        last = match.end()
    regex.append(re.escape(template[last:]))
    rank = tuple(1 if "{" in seg else 0 for seg in template.strip("/").split("/"))
    return re.compile("".join(regex)), tuple(names), rank


class _Spec:
    """A parsed description with its operation index and compiled validators."""

    def __init__(self, document: dict[str, Any], path: Path) -> None:
        self.document = document
        self.path = path
        self.base_path = str(document.get("basePath") or "").rstrip("/")
        self.routes = [self._route(t, item) for t, item in (document.get("paths") or {}).items()]
        self._definitions: dict[_Variant, dict[str, Any]] = {}
        self._validators: dict[tuple[str, _Variant], Any] = {}
        self._lock = threading.RLock()

    # -- references

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref``s (``#/parameters/...``, ``#/responses/...``) to their target."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are supported, not {ref!r}")
            target: Any = self.document
            for token in ref[2:].split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node, seen = target, seen + 1
        return node

    # -- operations

    def _route(self, template: str, item: Any) -> _Route:
        pattern, names, rank = _compile_template(template)
        operations: dict[str, Operation] = {}
        if isinstance(item, dict):
            shared = [self.resolve(p) for p in item.get("parameters", [])]
            for method in _HTTP_METHODS:
                raw = item.get(method)
                if isinstance(raw, dict):
                    operations[method.upper()] = self._operation(
                        method, template, raw, shared, pattern, names
                    )
        return _Route(template, rank, pattern, MappingProxyType(operations))

    def _operation(
        self,
        method: str,
        template: str,
        raw: Mapping[str, Any],
        shared: list[Any],
        pattern: re.Pattern[str],
        names: tuple[str, ...],
    ) -> Operation:
        params: dict[tuple[str, str], Mapping[str, Any]] = {}
        for p in [*shared, *(self.resolve(p) for p in raw.get("parameters", []))]:
            params[(p.get("name"), p.get("in"))] = p  # operation-level wins over path-level
        body = next((p for p in params.values() if p.get("in") == "body"), None)
        responses: dict[str, Mapping[str, Any] | None] = {}
        for status, response in (raw.get("responses") or {}).items():
            response = self.resolve(response)
            responses[str(status)] = response.get("schema") if isinstance(response, dict) else None
        return Operation(
            method=method.upper(),
            path=template,
            operation_id=str(raw.get("operationId", f"{method} {template}")),
            parameters=tuple(params.values()),
            responses=MappingProxyType(responses),
            request_schema=body.get("schema") if body else None,
            body_required=bool(body and body.get("required")),
            pointer=f"#/paths/{_escape(template)}/{method}",
            _pattern=pattern,
            _names=names,
        )

    def strip_base(self, path_or_url: str) -> str:
        if "://" in path_or_url or path_or_url.startswith("//"):
            path = urlsplit(path_or_url).path
        else:
            path = path_or_url.split("#", 1)[0].split("?", 1)[0]
        base = self.base_path
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :] or "/"
        return path

    def find(self, method: str, path_or_url: str) -> Operation:
        path = self.strip_base(path_or_url)
        matches = [r for r in self.routes if r.pattern.fullmatch(path)]
        if not matches:
            raise UnknownOperation(
                f"{method.upper()} {path_or_url}: no path of the Constant Contact description "
                f"matches {path!r} (base path {self.base_path!r} stripped)"
            )
        route = min(matches, key=lambda r: r.rank)  # literal segments beat templated ones
        operation = route.operations.get(method.upper())
        if operation is None:
            raise UnknownOperation(
                f"{method.upper()} {path_or_url}: {route.template} declares only "
                f"{', '.join(sorted(route.operations)) or 'no operation'}"
            )
        return operation

    # -- schemas and validators

    def definitions(self, variant: _Variant) -> dict[str, Any]:
        with self._lock:
            converted = self._definitions.get(variant)
            if converted is None:
                converter = _Converter(variant)
                converted = {
                    name: converter.convert(schema, f"#/definitions/{_escape(name)}")
                    for name, schema in (self.document.get("definitions") or {}).items()
                }
                self._definitions[variant] = converted
            return converted

    def json_schema(self, schema: Any, pointer: str, variant: _Variant) -> dict[str, Any]:
        converted = _Converter(variant).convert(schema, pointer)
        return {**converted, "definitions": self.definitions(variant)}

    def validator(self, schema: Any, pointer: str, variant: _Variant) -> Any:
        key = (pointer, variant)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                root = self.json_schema(schema, pointer, variant)
                validator = _Validator(root, format_checker=FORMAT_CHECKER)
                self._validators[key] = validator
            return validator


# --------------------------------------------------------------------------------------------
# Public helpers


def find_operation(method: str, path: str) -> Operation:
    """The operation a request goes to.

    :param method: HTTP method, any case.
    :param path: ``/v3/...`` request path, a full URL, or a path without the base path; a query
        string is ignored. Literal segments win over templated ones (``/contacts/counts`` is
        ``countContact``, not ``getContact``).
    :raises UnknownOperation: no path matches, or the path has no such method.
    """
    return _current(skip=True).find(method, path)


def json_schema(
    schema: Mapping[str, Any],
    *,
    strict: bool = True,
    request: bool = False,
    forbid_read_only: bool = False,
) -> dict[str, Any]:
    """A self-contained Draft 4 schema (with ``definitions``) for a Swagger schema object.

    The ``definitions`` are shared with the compiled validators: read, do not modify.

    :param strict: close every object schema that lists ``properties``.
    :param request: request direction: read-only properties are not required.
    :param forbid_read_only: (requests) reject read-only properties when present.
    """
    variant = _Variant(strict, request, forbid_read_only and request)
    return _current(skip=True).json_schema(schema, "#/(inline)", variant)


def definition_schema(name: str, *, strict: bool = True, request: bool = False) -> dict[str, Any]:
    """The Draft 4 schema for ``#/definitions/<name>``."""
    return json_schema({"$ref": f"#/definitions/{_escape(name)}"}, strict=strict, request=request)


def validate_definition(name: str, instance: Any, *, strict: bool = True, request: bool = False) -> None:
    """Validate ``instance`` against ``#/definitions/<name>`` (e.g. ``"ContactResource"``)."""
    spec = _current(skip=True)
    if name not in (spec.document.get("definitions") or {}):
        raise KeyError(f"the description has no definition {name!r}")
    pointer = f"#/definitions/{_escape(name)}"
    variant = _Variant(strict, request, False)
    validator = spec.validator({"$ref": pointer}, f"{pointer} (by name)", variant)
    errors = _error_lines(validator, instance)
    if errors:
        mode = " [strict]" if strict else ""
        raise SpecViolation(f"instance does not match {pointer}{mode}:", errors)


def _schema_label(schema: Mapping[str, Any] | None) -> str:
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    return ref if isinstance(ref, str) else "an inline schema"


def validate_response(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    strict: bool = True,
    check_error_body: bool = False,
) -> None:
    """Check that ``status`` and ``body`` are an answer the description allows.

    :param body: the decoded JSON body (``None`` for none).
    :param strict: reject properties the description does not declare.
    :param check_error_body: for a declared 4xx/5xx without a schema (the spec declares none),
        also check the error shape of ``cc-v3-api.md`` §6 with :func:`validate_error_body`.
    :raises SpecViolation: an undeclared status, or every schema error with its JSON path.
    """
    operation = find_operation(method, path)
    try:
        schema = operation.response_schema(status)
    except KeyError:
        declared = ", ".join(operation.responses) or "none"
        raise SpecViolation(
            f"{operation} answered {int(status)}:",
            [f"$: status {int(status)} is not declared by the description (declared: {declared})"],
        ) from None
    if schema is None:
        if check_error_body and int(status) >= 400:
            validate_error_body(body, strict=strict)
        return
    spec = _current(skip=True)
    pointer = f"{operation.pointer}/responses/{int(status)}/schema"
    validator = spec.validator(schema, pointer, _Variant(strict, False, False))
    errors = _error_lines(validator, body)
    if errors:
        mode = " [strict]" if strict else ""
        raise SpecViolation(
            f"{operation} → {int(status)} does not match {_schema_label(schema)}{mode}:", errors
        )


def validate_request_body(
    method: str,
    path: str,
    body: Any,
    *,
    strict: bool = True,
    forbid_read_only: bool = False,
) -> None:
    """Check a request body (decoded JSON; ``None`` = no body) against the operation.

    :param strict: reject properties the description does not declare.
    :param forbid_read_only: also reject properties marked ``readOnly`` (``created_at`` inside
        ``email_address`` …); off by default because the real API is not known to refuse them.
    :raises SpecViolation: a body where none is declared, a missing required body, or every
        schema error with its JSON path.
    """
    operation = find_operation(method, path)
    schema = operation.request_schema
    if schema is None:
        if body is not None:
            raise SpecViolation(f"{operation}:", ["$: this operation declares no request body"])
        return
    if body is None:
        if operation.body_required:
            raise SpecViolation(f"{operation}:", ["$: the request body is required"])
        return
    spec = _current(skip=True)
    body_index = next(i for i, p in enumerate(operation.parameters) if p.get("in") == "body")
    pointer = f"{operation.pointer}/parameters/{body_index}/schema"
    validator = spec.validator(schema, pointer, _Variant(strict, True, forbid_read_only))
    errors = _error_lines(validator, body)
    if errors:
        mode = " [strict]" if strict else ""
        raise SpecViolation(f"{operation} request body does not match {_schema_label(schema)}{mode}:", errors)


QueryParams = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _as_wire(value: Any) -> str:
    # What `requests` puts on the wire: str(True) is "True", not a Swagger boolean ("true").
    return value if isinstance(value, str) else str(value)


def _collect(params: QueryParams | None) -> dict[str, list[str]]:
    collected: dict[str, list[str]] = {}
    if params is None:
        return collected
    items = params.items() if isinstance(params, Mapping) else params
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        # `requests` leaves out parameters whose value is None.
        wire = [_as_wire(v) for v in values if v is not None]
        if wire:
            collected.setdefault(str(name), []).extend(wire)
    return collected


# cc-v3-api.md §3.5: GET /contact_lists `status` "accepts comma-separated status values" (the
# parameter's own description says so too) but, unlike GET /contacts, lacks `format: csv`.
_CSV_OVERRIDES: Final = frozenset({("GET", "/contact_lists", "status")})

# cc-v3-api.md §2: `cursor` is not declared anywhere, yet every `_links.next.href` carries it.
# It is accepted on the paged collections, i.e. GET operations that declare `limit`.
_UNDECLARED_CURSOR: Final = "cursor"


def validate_query(method: str, path: str, params: QueryParams | None = None) -> None:
    """Check query parameters as they go on the wire.

    :param path: the request path; a query string in it (e.g. a ``_links.next.href``) is
        checked too.
    :param params: name → value (or list of values, as ``parse_qs`` gives), or pairs. Values are
        checked as ``requests`` sends them: ``str(value)`` (so ``True`` becomes ``"True"``, not a
        Swagger boolean), and ``None`` left out.
    :raises SpecViolation: unknown names (``cursor`` is allowed on paged collections), missing
        required ones, repeated ones, values outside their type, enum, format or bounds.
    """
    operation = find_operation(method, path)
    query = urlsplit(path).query if "?" in path else ""
    given = _collect(parse_qs(query, keep_blank_values=True))
    for name, values in _collect(params).items():
        given.setdefault(name, []).extend(values)
    errors = _query_errors(operation, given)
    if errors:
        raise SpecViolation(f"{operation} query does not match the description:", errors)


def _query_errors(operation: Operation, given: Mapping[str, list[str]]) -> list[str]:
    declared = operation.query_parameters
    errors: list[str] = []
    for name, param in declared.items():
        if param.get("required") and name not in given:
            errors.append(f"{name}: required parameter missing")
    for name, values in given.items():
        param = declared.get(name)
        if param is None:
            if name == _UNDECLARED_CURSOR and operation.method == "GET" and "limit" in declared:
                param = {"name": name, "in": "query", "type": "string"}
            else:
                known = ", ".join(sorted(declared)) or "none"
                errors.append(f"{name}: not a query parameter of {operation} (declared: {known})")
                continue
        multi = param.get("type") == "array" and param.get("collectionFormat") == "multi"
        if len(values) > 1 and not multi:
            errors.append(f"{name}: given {len(values)} times; the description allows it once")
        if multi:
            errors.extend(_array_errors(name, param, values))
        else:
            for value in values:
                errors.extend(_value_errors(operation, name, param, value))
    return errors


_SPLIT: Final = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


def _array_errors(name: str, param: Mapping[str, Any], items: list[str]) -> list[str]:
    errors: list[str] = []
    if "maxItems" in param and len(items) > param["maxItems"]:
        errors.append(f"{name}: {len(items)} values; at most {param['maxItems']} allowed")
    if "minItems" in param and len(items) < param["minItems"]:
        errors.append(f"{name}: {len(items)} values; at least {param['minItems']} required")
    item_schema = param.get("items") or {"type": "string"}
    for item in items:
        errors.extend(_scalar_errors(name, item_schema, item))
    return errors


def _value_errors(operation: Operation, name: str, param: Mapping[str, Any], value: str) -> list[str]:
    if value == "" and not param.get("allowEmptyValue"):
        return [f"{name}: empty value (Swagger 2.0 `allowEmptyValue` is false)"]
    kind = param.get("type")
    if kind == "array":
        separator = _SPLIT.get(str(param.get("collectionFormat", "csv")), ",")
        return _array_errors(name, param, value.split(separator))
    csv = param.get("format") == "csv" or (operation.method, operation.path, name) in _CSV_OVERRIDES
    # cc-v3-api.md §0: `lists` (25), `tags` (50) - and `segment_id` (1) - are strings with a
    # numeric `maximum` that means "at most this many comma-separated ids", not a number bound.
    counted = kind == "string" and isinstance(param.get("maximum"), int | float)
    if not (csv or counted):
        return _scalar_errors(name, param, value)
    # cc-v3-api.md §0: `status`, `include`, `sms_status` on GET /contacts are `format: csv` with
    # an `enum` of single values: split on commas and check each item against the enum.
    items = value.split(",")
    errors: list[str] = []
    if counted and len(items) > param["maximum"]:
        errors.append(f"{name}: {len(items)} comma-separated values; at most {int(param['maximum'])} allowed")
    item_schema: dict[str, Any] = {"type": "string"}
    enum = param.get("enum") or (param.get("items") or {}).get("enum")
    if enum:
        item_schema["enum"] = enum
    if param.get("format") not in (None, "csv"):
        item_schema["format"] = param["format"]  # e.g. `tags`: each tag id is a uuid
    for item in items:
        if item == "":
            errors.append(f"{name}: empty item in comma-separated value {value!r}")
        else:
            errors.extend(_scalar_errors(name, item_schema, item))
    return errors


_INTEGER_RE: Final = re.compile(r"-?[0-9]+")


def _scalar_errors(name: str, schema: Mapping[str, Any], value: str) -> list[str]:
    kind = schema.get("type", "string")
    typed: Any = value
    if kind == "integer":
        if not _INTEGER_RE.fullmatch(value):
            return [f"{name}: {value!r} is not an integer"]
        typed = int(value)
    elif kind == "number":
        try:
            typed = float(value)
        except ValueError:
            return [f"{name}: {value!r} is not a number"]
        if typed != typed or typed in (float("inf"), float("-inf")):
            return [f"{name}: {value!r} is not a finite number"]
    elif kind == "boolean":
        if value not in ("true", "false"):
            return [f"{name}: {value!r} is not a boolean (send 'true' or 'false')"]
        typed = value == "true"
    errors: list[str] = []
    enum = schema.get("enum")
    if enum is not None and typed not in enum:
        errors.append(f"{name}: {value!r} is not one of {list(enum)}")
    if kind in ("integer", "number"):
        errors.extend(_bound_errors(name, schema, typed, value))
    if kind == "string":
        check = _FORMATS.get(str(schema.get("format")))
        if check is not None and not check(value):
            errors.append(f"{name}: {value!r} is not a valid {schema['format']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{name}: longer than {schema['maxLength']} characters")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{name}: shorter than {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{name}: {value!r} does not match {schema['pattern']!r}")
    return errors


def _bound_errors(name: str, schema: Mapping[str, Any], number: float, raw: str) -> list[str]:
    # Note cc-v3-api.md §0: GET /contact_lists `limit` says "1 - 500" in prose but `maximum:
    # 1000` in the schema (the guide also says 1000); the schema's number is the one enforced.
    errors = []
    if "maximum" in schema:
        high = schema["maximum"]
        if number > high or (schema.get("exclusiveMaximum") and number == high):
            errors.append(f"{name}: {raw} is above the maximum {high}")
    if "minimum" in schema:
        low = schema["minimum"]
        if number < low or (schema.get("exclusiveMinimum") and number == low):
            errors.append(f"{name}: {raw} is below the minimum {low}")
    return errors


_NO_BODY: Final = object()


def validate_request(method: str, url: str, body: Any = _NO_BODY, **options: Any) -> None:
    """Check a whole request: the query string in ``url`` and, if given, the JSON ``body``.

    :param options: passed to :func:`validate_request_body` (``strict``, ``forbid_read_only``).
    """
    validate_query(method, url)
    if body is not _NO_BODY:
        validate_request_body(method, url, body, **options)


def validate_error_body(body: Any, *, strict: bool = True) -> None:
    """Check a Constant Contact error body (``cc-v3-api.md`` §6).

    Accepted: a non-empty JSON array of ``{"error_key", "error_message"}`` objects (ordinary REST
    errors, ``APIErrorSchema``) or one such object (auth, gateway and 429 errors,
    ``AuthorizationErrorSchema``). The spec defines both schemas but references neither from a
    response and requires no key (§0); §6 shows both keys in every example, so both are
    required here.

    :raises SpecViolation: listing every problem.
    """
    spec = _current(skip=True)
    definitions = spec.document.get("definitions") or {}
    item_source = definitions.get("AuthorizationErrorSchema") or {
        "type": "object",
        "properties": {"error_key": {"type": "string"}, "error_message": {"type": "string"}},
    }
    item = {
        **_Converter(_Variant(strict, False, False)).convert(item_source, "#/(error item)"),
        "required": ["error_key", "error_message"],
    }
    if isinstance(body, list):
        schema: dict[str, Any] = {"type": "array", "minItems": 1, "items": item}
        label = "an array of {error_key, error_message} (APIErrorSchema)"
    elif isinstance(body, dict):
        schema, label = item, "{error_key, error_message} (AuthorizationErrorSchema)"
    else:
        raise SpecViolation(
            "error body is neither a JSON array nor an object (cc-v3-api.md §6):",
            [f"$: {body!r:.100} is a {type(body).__name__}"],
        )
    errors = _error_lines(_Validator(schema, format_checker=FORMAT_CHECKER), body)
    if errors:
        raise SpecViolation(f"error body is not {label}:", errors)
