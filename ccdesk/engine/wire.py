"""What the job process (:mod:`ccdesk.engine.child`) and the window say to each other: JSON
shapes, and typed values for the window side.

The window never holds a sheet's or a preview's rows: they are in SQLite (a sheet's rows file,
the journal's ready run). What travels is the rest: a :class:`~ccdesk.core.sheet.MemberSheet`
without its rows (:func:`sheet_to_json` / :func:`sheet_from_json`), a preview's header
(:class:`PreviewInfo`), a :class:`~ccdesk.core.runner.RunResult`, and the events
(:func:`parse_event`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ccdesk.cc.models import Account, ContactList
from ccdesk.core.lookup import Action, Check, LookupCost, Snapshot, Strategy
from ccdesk.core.phases import Phase
from ccdesk.core.plan import Cost, Plan
from ccdesk.core.runner import RunResult
from ccdesk.core.sheet import ImportOptions, MemberSheet, PreviewRow, SheetRows

# ---- options and sheets ---------------------------------------------------------------------


def options_to_json(options: ImportOptions) -> dict[str, Any]:
    """:meth:`ImportOptions.to_dict`."""
    return options.to_dict()


def options_from_json(data: dict[str, Any] | None) -> ImportOptions:
    """The :class:`ImportOptions` of :func:`options_to_json` (missing fields: automatic)."""
    data = data or {}
    return ImportOptions(
        sheet=data.get("sheet"), header_row=data.get("header_row"), column=data.get("column"),
        filter_column=data.get("filter_column"),
        filter_values=tuple(data.get("filter_values") or ()),
    )


def _no_rows() -> SheetRows:
    return SheetRows([], [], [], [], [], [])


def sheet_to_json(sheet: MemberSheet) -> dict[str, Any]:
    """Everything of a read sheet but its rows (``row_count`` says how many there are)."""
    return {
        "path": sheet.path, "format": sheet.format, "sha256": sheet.sha256, "size": sheet.size,
        "sheet_names": list(sheet.sheet_names), "sheet": sheet.sheet,
        "header_row": sheet.header_row, "email_column": sheet.email_column,
        "email_column_letter": sheet.email_column_letter, "columns": list(sheet.columns),
        "preview_rows": [[r.row, list(r.cells)] for r in sheet.preview_rows],
        "row_count": len(sheet.rows), "counts": dict(sheet.counts),
        "options": sheet.options.to_dict(), "filter_column": sheet.filter_column,
        "filter_values": list(sheet.filter_values), "hidden_sheets": list(sheet.hidden_sheets),
        "encoding": sheet.encoding, "delimiter": sheet.delimiter, "found_by": sheet.found_by,
        "warnings": list(sheet.warnings),
        "source_list": dict(sheet.source_list) if sheet.source_list else None,
    }


def sheet_from_json(data: dict[str, Any]) -> MemberSheet:
    """A :class:`MemberSheet` from :func:`sheet_to_json`, with no rows (an empty
    :class:`SheetRows`): every other attribute as read."""
    return MemberSheet(
        path=data["path"], format=data["format"], sha256=data["sha256"], size=data["size"],
        sheet_names=list(data["sheet_names"]), sheet=data["sheet"],
        header_row=data["header_row"], email_column=data["email_column"],
        email_column_letter=data["email_column_letter"], columns=list(data["columns"]),
        preview_rows=[PreviewRow(int(row), list(cells)) for row, cells in data["preview_rows"]],
        rows=_no_rows(), counts=dict(data["counts"]), options=options_from_json(data["options"]),
        filter_column=data.get("filter_column"),
        filter_values=tuple(data.get("filter_values") or ()),
        hidden_sheets=list(data.get("hidden_sheets") or ()), encoding=data.get("encoding"),
        delimiter=data.get("delimiter"), found_by=data.get("found_by", "heading"),
        warnings=list(data.get("warnings") or ()),
        source_list=dict(data["source_list"]) if data.get("source_list") else None,
    )


@dataclass(frozen=True)
class SheetInfo:
    """A read sheet as the window holds it: everything but the rows (those are in the rows
    file, table ``items``, run id ``"sheet"``)."""

    sheet: MemberSheet  # with no rows
    row_count: int

    @classmethod
    def of(cls, sheet: MemberSheet) -> SheetInfo:
        return cls(sheet_from_json(sheet_to_json(sheet)), len(sheet.rows))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SheetInfo:
        return cls(sheet_from_json(data), int(data.get("row_count", 0)))

    def to_json(self) -> dict[str, Any]:
        return {**sheet_to_json(self.sheet), "row_count": self.row_count}


# ---- plans ----------------------------------------------------------------------------------


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A plan's header: no items, the sheet without rows, the snapshot reduced to how the
    look-up went (no contacts)."""
    cost = plan.cost
    return {
        "sheet": sheet_to_json(plan.sheet),
        "action": str(plan.action),
        "lists": [asdict(x) for x in plan.lists],
        "account": asdict(plan.account),
        "cost": {"lookup": {"strategy": str(cost.lookup.strategy), "calls": cost.lookup.calls,
                            "explanation": cost.lookup.explanation,
                            "follow_ups": cost.lookup.follow_ups},
                 "lookup_spent": cost.lookup_spent, "run_changes": cost.run_changes,
                 "run_polls": cost.run_polls, "run_verify": cost.run_verify,
                 "quota_left": cost.quota_left, "check": str(cost.check),
                 "add_check": str(cost.add_check) if cost.add_check else None},
        "snapshot": {"strategy": str(plan.snapshot.strategy),
                     "searched_lists": list(plan.snapshot.searched_lists),
                     "calls": plan.snapshot.calls, "pages": plan.snapshot.pages,
                     "followed_up": plan.snapshot.followed_up,
                     "unchecked": plan.snapshot.unchecked,
                     "unchecked_why": plan.snapshot.unchecked_why},
        "created_at": plan.created_at,
        "all_list_names": dict(plan.all_list_names),
        "may_change": plan.may_change,
        "target": asdict(plan.target) if plan.target else None,
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    """The :class:`Plan` of :func:`plan_to_json`: ``items`` empty, the sheet without rows, the
    snapshot without contacts (nor the addresses it missed: their count is kept)."""
    c = data["cost"]
    lookup = LookupCost(Strategy(c["lookup"]["strategy"]), int(c["lookup"]["calls"]),
                        c["lookup"]["explanation"], int(c["lookup"].get("follow_ups", 0)))
    snap = data["snapshot"]
    return Plan(
        sheet=sheet_from_json(data["sheet"]),
        action=Action(data["action"]),
        lists=[ContactList(**x) for x in data["lists"]],
        account=Account(**data["account"]),
        items=[],
        cost=Cost(lookup, int(c["lookup_spent"]), int(c["run_changes"]), int(c["run_polls"]),
                  int(c["run_verify"]), int(c["quota_left"]), Check(c["check"]),
                  Check(c["add_check"]) if c.get("add_check") else None),
        snapshot=Snapshot(strategy=Strategy(snap["strategy"]),
                          searched_lists=tuple(snap["searched_lists"]), calls=int(snap["calls"]),
                          pages=int(snap.get("pages", 0)),
                          followed_up=int(snap.get("followed_up", 0)),
                          unchecked=int(snap.get("unchecked", 0)),
                          unchecked_why=str(snap.get("unchecked_why", ""))),
        created_at=float(data["created_at"]),
        all_list_names=dict(data["all_list_names"]),
        may_change=bool(data["may_change"]),
        target=ContactList(**data["target"]) if data.get("target") else None,
    )


@dataclass(frozen=True)
class Refusal:
    """Why a preview cannot be run (:meth:`Plan.refusal`), in words."""

    title: str
    what_to_do: str


@dataclass(frozen=True)
class PreviewInfo:
    """A preview recorded as a ready run, as the window holds it: its rows are in the journal
    (run ``run_id``); ``plan`` has no items and its sheet no rows."""

    run_id: str
    plan: Plan
    counts: dict[str, int]
    summary: str
    changes: int
    refusal: Refusal | None = None

    @classmethod
    def of(cls, run_id: str, plan: Plan) -> PreviewInfo:
        refusal = plan.refusal()
        return cls(run_id, plan_from_json(plan_to_json(plan)), plan.counts, plan.summary(),
                   len(plan.changes),
                   None if refusal is None else Refusal(refusal.title, refusal.what_to_do))

    def to_json(self) -> dict[str, Any]:
        return {**plan_to_json(self.plan), "run_id": self.run_id, "counts": dict(self.counts),
                "summary": self.summary, "changes": self.changes,
                "refusal": None if self.refusal is None else asdict(self.refusal)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreviewInfo:
        refusal = data.get("refusal")
        return cls(data["run_id"], plan_from_json(data), dict(data["counts"]), data["summary"],
                   int(data["changes"]), None if not refusal else Refusal(**refusal))


def result_from_json(data: dict[str, Any]) -> RunResult:
    """A :class:`RunResult` from :meth:`RunResult.to_dict`."""
    return RunResult(data["run_id"], data["state"], dict(data["counts"]), int(data["verified"]),
                     int(data["api_calls"]), data.get("message", ""))


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadProgress:
    """``{"type": "progress", "stage", "fraction"}`` while a sheet is read."""

    stage: str
    fraction: float


@dataclass(frozen=True)
class PreviewProgress:
    """``{"type": "progress", "phase", "done", "total"}`` while a preview looks up."""

    phase: Phase
    done: int
    total: int


@dataclass(frozen=True)
class RunTaken:
    """``{"type": "run", "run_id"}``: the job took this run on (an undo: its own new run)."""

    run_id: str


@dataclass(frozen=True)
class RunProgressEvent:
    """``{"type": "progress", "run_id", "phase", "done", "total", "eta", "counts"}``."""

    run_id: str
    phase: Phase
    done: int
    total: int
    eta: float | None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    """``{"type": "result", ...}``: the job's end. One of ``sheet`` (read), ``preview``
    (preview), ``result`` (start, resume, undo) is set."""

    sheet: SheetInfo | None = None
    preview: PreviewInfo | None = None
    result: RunResult | None = None


@dataclass(frozen=True)
class JobFailed:
    """``{"type": "error", "kind", "error", "title", "what_to_do", "details", "run_id"}``.

    ``kind``: ``paused`` or ``cancelled`` (the run is resumable), ``busy`` (someone else is
    carrying it out), ``failed`` (anything else)."""

    kind: str
    error: str
    title: str
    what_to_do: str
    details: str = ""
    run_id: str | None = None


Event = ReadProgress | PreviewProgress | RunTaken | RunProgressEvent | JobResult | JobFailed


def parse_event(line: str | bytes | dict[str, Any]) -> Event:
    """One event line of the job process as a typed value.

    Raises:
        ValueError: not an event (not JSON, or an unknown type).
    """
    data = line if isinstance(line, dict) else json.loads(line)
    kind = data.get("type")
    if kind == "progress":
        if "stage" in data:
            return ReadProgress(data["stage"], float(data["fraction"]))
        if "run_id" in data:
            return RunProgressEvent(data["run_id"], Phase(data["phase"]), int(data["done"]),
                                    int(data["total"]), data.get("eta"),
                                    dict(data.get("counts") or {}))
        return PreviewProgress(Phase(data["phase"]), int(data["done"]), int(data["total"]))
    if kind == "run":
        return RunTaken(data["run_id"])
    if kind == "result":
        if "sheet" in data:
            return JobResult(sheet=SheetInfo.from_json(data["sheet"]))
        if "preview" in data:
            return JobResult(preview=PreviewInfo.from_json(data["preview"]))
        return JobResult(result=result_from_json(data["result"]))
    if kind == "error":
        return JobFailed(data["kind"], data["error"], data["title"], data["what_to_do"],
                         data.get("details", ""), data.get("run_id"))
    raise ValueError(f"not a job event: {str(data)[:200]}")


__all__ = [
    "Event",
    "JobFailed",
    "JobResult",
    "PreviewInfo",
    "PreviewProgress",
    "ReadProgress",
    "Refusal",
    "RunProgressEvent",
    "RunTaken",
    "SheetInfo",
    "options_from_json",
    "options_to_json",
    "parse_event",
    "plan_from_json",
    "plan_to_json",
    "result_from_json",
    "sheet_from_json",
    "sheet_to_json",
]
