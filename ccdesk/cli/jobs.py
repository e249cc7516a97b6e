"""The job sub-commands: preview, run, runs, resume, export, undo, connect, disconnect, status,
limits.

Each is a thin shell over :mod:`ccdesk.core`; ``--json`` prints the shapes documented in the
README. Progress goes to standard error, so standard output stays parseable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ccdesk.core.phases import Phase
from ccdesk.errors import CcdeskError, ConfigError
from ccdesk.paths import storage_error

if TYPE_CHECKING:
    from ccdesk.core.plan import Plan
    from ccdesk.core.runner import RunProgress, RunResult
    from ccdesk.engine.session import Session

ACTIONS = ("remove", "remove-all", "unsubscribe", "move")
DEFAULT_REDIRECT_PORT = 52817  # the same as ccdesk.cc.auth.DEFAULT_REDIRECT_PORT (a test checks)
#: Exit status of a run that stopped before the end and can be resumed (paused or cancelled).
EXIT_PAUSED = 3

#: What each phase is called on the terminal.
PHASES: dict[Phase, str] = {
    Phase.READING_ACCOUNT: "Reading the account",
    Phase.LOOKING_UP: "Looking up",
    Phase.SENDING: "Sending",
    Phase.WAITING: "Waiting for Constant Contact",
    Phase.CHECKING: "Checking",
    Phase.CHECKED: "Checked",
    Phase.UNSUBSCRIBING: "Unsubscribing",
    Phase.FINISHED: "Finished",
}

#: How other processes are told who is carrying a run out.
PROGRAM = "the command line"


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Which account to act on."""
    group = parser.add_argument_group("which account")
    # SUPPRESS: not given here, the value of `ccdesk --demo COMMAND` (before the command) holds.
    group.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                       help="the built-in demo account (nothing real is touched)")
    group.add_argument("--demo-state", metavar="FILE", default=argparse.SUPPRESS,
                       help="with --demo: this sandbox state file instead of the demo account")
    group.add_argument("--sandbox-url", metavar="URL",
                       help="a sandbox already serving at URL (from `ccdesk sandbox --auto-approve`)")
    group.add_argument("--profile", default="default",
                       help="the connected account profile to use (default: default)")
    group.add_argument("--json", action="store_true", help="print the result as JSON")


@contextmanager
def open_session(args: argparse.Namespace) -> Iterator[Session]:
    """The session the options ask for; a demo sandbox is stopped at the end."""
    from ccdesk.engine.session import Session

    if getattr(args, "sandbox_url", None):
        session = Session.for_sandbox(args.sandbox_url)
    elif getattr(args, "demo", False) or getattr(args, "demo_state", None):
        data = None
        if args.demo_state:
            try:
                with open(args.demo_state, encoding="utf-8") as handle:
                    data = json.load(handle)
            except (OSError, ValueError) as exc:
                raise ConfigError("The demo state file cannot be read",
                                  "Check the path and that it is a sandbox state file (JSON).",
                                  details=str(exc)) from exc
        session = Session.demo_session(data)
    else:
        session = Session.for_profile(args.profile)
        if not session.connected():
            raise ConfigError("No Constant Contact account is connected",
                              "Run `ccdesk connect --client-id YOUR_API_KEY` first, or try "
                              "the demo with --demo.")
    session.on_notice = lambda text: print(f"ccdesk: {text}", file=sys.stderr, flush=True)
    try:
        yield session
    finally:
        session.close()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _progress_printer(quiet: bool) -> Any:
    last = [0.0]

    def show(event: RunProgress) -> None:
        now = time.monotonic()
        if quiet or (now - last[0] < 1.0 and event.done != event.total):
            return
        last[0] = now
        eta = f", about {int(event.eta_seconds)} s left" if event.eta_seconds else ""
        count = f" {event.done:,}/{event.total:,}" if event.total else ""
        _say(f"  {PHASES[event.phase]}{count}{eta}")

    return show


def _make_plan(args: argparse.Namespace, session: Session) -> Plan:
    from ccdesk import engine
    from ccdesk.cli.inspect import options_from_args, sheet_path
    from ccdesk.core.lookup import Action

    def say(phase: Phase, done: int, total: int) -> None:
        if not args.json and total and done in (1, total):
            _say(f"  {PHASES[phase]} {done:,}/{total:,}")

    source = getattr(args, "from_list", None)
    if source and args.file:
        raise ConfigError("Give a spreadsheet or --from-list, not both",
                          "The members come either from the file or from the list: leave one "
                          "out.")
    if source:
        return engine.preview_list(session, source, Action(args.action), args.list or [],
                                   progress=say, to=args.to)
    if not args.file:
        raise ConfigError("Say where the members are",
                          "Give the spreadsheet (FILE), or a Constant Contact list with "
                          "--from-list NAME.")
    sheet = engine.read(sheet_path(args), options_from_args(args))
    return engine.preview(session, sheet, Action(args.action), args.list or [], progress=say,
                          to=args.to)


def run_preview(args: argparse.Namespace) -> int:
    with open_session(args) as session:
        plan = _make_plan(args, session)
        if args.json:
            _print_json(plan.to_dict())
        else:
            _print_plan(plan)
    return 0


def _print_plan(plan: Plan) -> None:
    print(f"Account:  {plan.account.organization_name}")
    if plan.sheet.from_list:
        print(f"Source:   the members of {plan.sheet.sheet} ({len(plan.items):,} members, "
              "in the order read)")
    else:
        print(f"Sheet:    {plan.sheet.path} ({len(plan.items):,} rows)")
    print(f"Action:   {plan.action}" + (f" from {plan.list_names}" if plan.lists else "")
          + (f" to {plan.target.name}" if plan.target else ""))
    print(f"Summary:  {plan.summary()}.")
    cost = plan.cost
    print(f"Cost:     {cost.lookup_spent:,} requests spent on the look-up "
          f"({cost.lookup.explanation}); the run needs about {cost.run_total:,}; "
          f"{cost.quota_left:,} left today.")
    if cost.run_verify:
        how = ("pages of what is left on the lists" if cost.check == "by_list"
               else "one read per contact")
        if cost.add_check is not None:
            how = "first that they are on the new list, then off the old one"
        print(f"Checking: {cost.run_verify:,} of those requests read the changes back ({how}).")
    refusal = plan.refusal()
    if refusal is not None:
        print(f"Cannot run: {refusal.one_line()}")
    for item in plan.items:
        if item.outcome not in ("remove", "unsubscribe", "move"):
            print(f"  row {item.row:>6}  {item.outcome:<18} {item.email or item.value}  {item.reason}")


def _confirm(args: argparse.Namespace, plan: Plan) -> None:
    from ccdesk.core.lookup import Action

    changes = len(plan.changes)
    if plan.action is Action.UNSUBSCRIBE and args.confirm_unsubscribe != changes:
        raise ConfigError(
            "Unsubscribing needs a typed confirmation",
            f"Unsubscribing is permanent. The preview shows {changes:,} to unsubscribe: add "
            f"--confirm-unsubscribe {changes} to go ahead.",
        )
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError("The run needs a confirmation",
                          "Add --yes to run without asking (for scheduled jobs).")
    _print_plan(plan)
    answer = input(f"Go ahead and change {changes:,} contacts in "
                   f"{plan.account.organization_name}? Type yes: ")
    if answer.strip().lower() != "yes":
        raise ConfigError("Nothing was done", "The run was not confirmed.")


def _finish(args: argparse.Namespace, session: Session, result: RunResult) -> int:
    from ccdesk.core.export import default_log_path, export_log

    journal = session.journal()
    log_error: CcdeskError | None = None
    try:
        api_calls = journal.run(result.run_id).api_calls
        fmt = getattr(args, "log_format", None) or "xlsx"
        try:  # a full or read-only disk: the run's id and outcome are still reported
            log_path: Any = export_log(journal, result.run_id, getattr(args, "log", None)
                                       or default_log_path(result.run_id, fmt), fmt)
        except (CcdeskError, OSError) as exc:
            log_error = exc if isinstance(exc, CcdeskError) else storage_error(exc)
            log_path = None
    finally:
        journal.close()
    out = {"run_id": result.run_id, "counts": result.counts, "verified": result.verified,
           "api_calls": api_calls, "log": None if log_path is None else str(log_path),
           "state": result.state}
    if result.state != "finished":
        out["message"] = result.message
    if args.json:
        _print_json(out)
    else:
        done = ", ".join(f"{n:,} {k}" for k, n in sorted(result.counts.items()))
        print(f"Run {result.run_id}: {result.state}. {done}. {result.verified:,} verified in "
              f"Constant Contact; {api_calls:,} requests. Log: {log_path or 'not saved'}")
    if log_error is not None:
        print(f"ccdesk: The results log was not saved: {log_error.one_line()} Save it later "
              f"with `ccdesk export {result.run_id} -o FILE`.", file=sys.stderr)
        return 2
    return 0


def _run_with_session(args: argparse.Namespace, session: Session, work: Any) -> int:
    """Run ``work(progress, cancel)``; a run that stops before the end (paused, cancelled)
    still gets its log and its JSON (with ``state`` and ``message``), then exit status 3 and
    the reason on stderr."""
    from ccdesk import engine
    from ccdesk.core.runner import RunCancelled, RunPaused

    cancel = threading.Event()
    stopped: RunPaused | RunCancelled | None = None
    try:
        result = work(_progress_printer(args.json), cancel)
    except (RunPaused, RunCancelled) as exc:
        stopped = exc
        result = engine.result(session, exc.run_id)
    except KeyboardInterrupt:
        cancel.set()
        raise
    status = _finish(args, session, result)
    if stopped is not None:
        print(f"ccdesk: {stopped.one_line()}", file=sys.stderr)
        return EXIT_PAUSED
    return status


def run_run(args: argparse.Namespace) -> int:
    from ccdesk import engine

    with open_session(args) as session:
        plan = _make_plan(args, session)
        _confirm(args, plan)
        return _run_with_session(args, session, lambda progress, cancel: engine.run(
            session, plan, progress=progress, cancel=cancel, program=PROGRAM,
            wait_limit=_wait_limit(args)))


def run_resume(args: argparse.Namespace) -> int:
    from ccdesk import engine

    with open_session(args) as session:
        return _run_with_session(args, session, lambda progress, cancel: engine.resume(
            session, args.run_id, progress=progress, cancel=cancel, program=PROGRAM,
            wait_limit=_wait_limit(args)))


def run_undo(args: argparse.Namespace) -> int:
    from ccdesk import engine

    with open_session(args) as session:
        if not args.yes and sys.stdin.isatty():
            answer = input(f"Put back the contacts run {args.run_id} removed or moved (and take "
                           "off the list a move put them on only those it put there)? Type yes: ")
            if answer.strip().lower() != "yes":
                raise ConfigError("Nothing was done", "The undo was not confirmed.")
        return _run_with_session(args, session, lambda progress, cancel: engine.undo(
            session, args.run_id, progress=progress, cancel=cancel, program=PROGRAM,
            wait_limit=_wait_limit(args)))


def _wait_limit(args: argparse.Namespace) -> float:
    from ccdesk.core.runner import WAIT_LIMIT

    minutes = getattr(args, "wait_limit", None)
    return WAIT_LIMIT if minutes is None else minutes * 60.0


def _journal_for(args: argparse.Namespace) -> Any:
    from ccdesk.core.journal import Journal
    from ccdesk.engine.session import demo_journal, sandbox_journal

    if getattr(args, "sandbox_url", None):
        return Journal(sandbox_journal())
    if getattr(args, "demo", False) or getattr(args, "demo_state", None):
        return Journal(demo_journal())
    return Journal()


def run_runs(args: argparse.Namespace) -> int:
    from ccdesk.core.export import target_name

    journal = _journal_for(args)
    try:
        runs = journal.runs()
        rows = []
        for run in runs:
            rows.append({"run_id": run.run_id, "created": time.strftime(
                "%Y-%m-%d %H:%M", time.localtime(run.created_at)), "action": run.action,
                "lists": run.list_names,
                "to": target_name(run) if run.action == "move" else None,
                "file": run.file_path,
                "source_list": (run.options.get("source_list") or {}).get("name"),
                "state": run.state,
                "counts": journal.result_counts(run.run_id), "api_calls": run.api_calls,
                "undo_of": run.undo_of, "message": run.message})
    finally:
        journal.close()
    if args.json:
        _print_json({"runs": rows})
    elif not rows:
        print("No runs yet.")
    else:
        for r in rows:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(r["counts"].items()))
            to = f" → {r['to']}" if r["to"] else ""  # a move: where they went
            print(f"{r['run_id']}  {r['created']}  {r['action']:<11} {r['state']:<9} "
                  f"{', '.join(r['lists'])}{to}: {counts}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ccdesk.core.export import export_log

    journal = _journal_for(args)
    try:
        try:
            journal.run(args.run_id)
        except KeyError:
            raise ConfigError(f"There is no run {args.run_id}",
                              "See `ccdesk runs` for the runs kept on this computer.") from None
        path = export_log(journal, args.run_id, args.output, args.format)
    finally:
        journal.close()
    if args.json:
        _print_json({"run_id": args.run_id, "log": str(path)})
    else:
        print(path)
    return 0


def run_connect(args: argparse.Namespace) -> int:
    from ccdesk.cc.auth import AppKey
    from ccdesk.engine.session import Session

    session = Session.for_profile(args.profile)
    secret = getpass.getpass("Client secret: ") if args.secret else None
    app = AppKey(args.client_id, secret or None)
    if args.device:
        device = session.start_device(app)
        _say(f"Open {device.verification_uri} and enter the code {device.user_code}")
        account = session.finish_device(app, device)
    else:
        from ccdesk.cc.auth import redirect_uri_for

        uri = redirect_uri_for(args.redirect_host, args.port)
        _say(f"Redirect URI: {uri}\n  It must be registered exactly so (port included) in your "
             "Constant Contact application; change it with --redirect-host and --port.")
        _say("Your browser opens Constant Contact's sign-in page; allow ccdesk there.")
        account = session.connect_browser(app, port=args.port, host_name=args.redirect_host)
    print(f"Connected to {account.organization_name} ({account.contact_email}).")
    return 0


def run_disconnect(args: argparse.Namespace) -> int:
    from ccdesk.engine.session import Session

    Session.for_profile(args.profile).disconnect()
    print("Disconnected: nothing is stored for this account any more.")
    return 0


def run_status(args: argparse.Namespace) -> int:
    with open_session(args) as session:
        account = session.account()
        left, limits = session.allowance()
        out = {"organization_name": account.organization_name,
               "contact_email": account.contact_email, "quota_left": left,
               "daily_limit": limits.per_day, "demo": session.demo}
    if args.json:
        _print_json(out)
    else:
        print(f"{out['organization_name']} ({out['contact_email']}); {left:,} of "
              f"{limits.per_day:,} API requests left today (the count starts again at "
              f"{limits.reset_words()})." + (" (demo account)" if out["demo"] else ""))
    return 0


def _limits_key(args: argparse.Namespace) -> str:
    """The application key ``ccdesk limits`` is about: --client-id, the demo's or the
    sandbox's, or the one of the connected account."""
    if args.client_id:
        return str(args.client_id).strip()
    if getattr(args, "sandbox_url", None) or getattr(args, "demo", False) \
            or getattr(args, "demo_state", None):
        from ccdesk.engine.session import SANDBOX_CLIENT_ID

        return SANDBOX_CLIENT_ID
    from ccdesk.engine.session import Session

    credentials = Session.for_profile(args.profile).store.load()
    if credentials is None:
        raise ConfigError("No Constant Contact account is connected",
                          "Name the application key with --client-id YOUR_API_KEY, or connect "
                          "first (`ccdesk connect --client-id YOUR_API_KEY`).")
    return credentials.client_id


def run_limits(args: argparse.Namespace) -> int:
    """Show, or set, what Constant Contact allows an application key."""
    from ccdesk.cc.limits import DEFAULT_LIMITS, Limits, parse_reset
    from ccdesk.engine.session import limits_of, save_limits

    client_id = _limits_key(args)
    if not client_id:
        raise ConfigError("The application key is empty", "Give it with --client-id.")
    limits = limits_of(client_id)
    changes = {"per_second": args.per_second, "per_day": args.per_day}
    if args.reset_defaults or any(v is not None for v in (*changes.values(), args.reset)):
        base = DEFAULT_LIMITS if args.reset_defaults else limits
        try:
            limits = Limits(
                per_second=base.per_second if args.per_second is None else args.per_second,
                per_day=base.per_day if args.per_day is None else args.per_day,
                reset_minutes=base.reset_minutes if args.reset is None else parse_reset(args.reset))
        except ValueError as exc:
            raise ConfigError("These limits cannot be used", f"{str(exc)[0].upper()}{str(exc)[1:]}.",
                              details=str(exc)) from exc
        save_limits(client_id, limits)
    out = {"client_id": client_id, **limits.to_json(), "pacing_rate": round(limits.pacing_rate, 3),
           "default": limits.is_default}
    if args.json:
        _print_json(out)
    else:
        print(f"Application key {client_id}: {limits.per_second:,} requests a second (ccdesk "
              f"sends at most {limits.pacing_rate:.2f}), {limits.per_day:,} a day, the count "
              f"starting again at {limits.reset} UTC"
              + (" (Constant Contact's defaults)." if limits.is_default else "."))
    return 0


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def add_wait_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait-limit", metavar="MINUTES", type=float,
                   help="how long to wait for Constant Contact to finish its jobs before the run "
                   "pauses, resumable (default 20)")


def add_job_commands(sub: Any, add_import_options: Any) -> None:
    """Register the job sub-commands on the ``ccdesk`` parser."""
    actions = list(ACTIONS)

    def job(name: str, help_text: str, handler: Any, *, sheet: bool) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        if sheet:
            p.add_argument("file", metavar="FILE", nargs="?",
                           help="the spreadsheet of upgraded members (-: addresses on standard "
                           "input, as pasted text; or --from-list)")
            p.add_argument("--from-list", metavar="NAME",
                           help="instead of a spreadsheet: the members of this Constant "
                           "Contact list (e.g. Sustainers), as they are when previewed")
            p.add_argument("--list", action="append", metavar="NAME",
                           help="the list to take them off (repeat for several)")
            p.add_argument("--action", choices=actions, default="remove",
                           help="remove (default): off the chosen list(s); remove-all: off every "
                           "list; unsubscribe: opt out, permanently; move: onto the --to list, "
                           "then off the chosen list(s)")
            p.add_argument("--to", metavar="NAME",
                           help="for --action move: the list to put them on (e.g. Sustainers)")
            add_import_options(p)
        add_connection_options(p)
        p.set_defaults(handler=handler)
        return p

    job("preview", "show what a run would change, row by row (changes nothing)", run_preview,
        sheet=True)
    p = job("run", "preview, confirm, then make the changes and save a log", run_run, sheet=True)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--confirm-unsubscribe", metavar="N", type=int,
                   help="for --action unsubscribe: the number of contacts the preview shows")
    p.add_argument("--log", metavar="FILE", help="where to save the results log")
    p.add_argument("--log-format", choices=["xlsx", "csv"], default="xlsx")
    add_wait_limit(p)
    p = job("runs", "list past runs", run_runs, sheet=False)
    p = job("resume", "carry on with an unfinished run", run_resume, sheet=False)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--log", metavar="FILE", help="where to save the results log")
    p.add_argument("--log-format", choices=["xlsx", "csv"], default="xlsx")
    add_wait_limit(p)
    p = job("export", "save the results log of a run", run_export, sheet=False)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    p.add_argument("-o", "--output", metavar="FILE", required=True)
    p = job("undo", "put back the contacts a removal run took off", run_undo, sheet=False)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--log", metavar="FILE", help="where to save the results log")
    p.add_argument("--log-format", choices=["xlsx", "csv"], default="xlsx")
    add_wait_limit(p)
    job("status", "show the connected account and today's remaining API requests", run_status,
        sheet=False)

    p = sub.add_parser("connect", help="connect a Constant Contact account (stored in the OS keyring)",
                       description="Connect a Constant Contact account. The browser opens the "
                       "sign-in page; the connection is kept in the system's password store.")
    p.add_argument("--client-id", required=True, help="your application's API key")
    p.add_argument("--secret", action="store_true",
                   help="a confidential application: ask for its client secret")
    p.add_argument("--device", action="store_true",
                   help="use the device flow (a code to enter on another device)")
    p.add_argument("--redirect-host", choices=["127.0.0.1", "localhost"], default="127.0.0.1",
                   help="the host of the redirect URI registered with Constant Contact "
                   "(default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_REDIRECT_PORT,
                   help="the port of the redirect URI registered with Constant Contact "
                   f"(default {DEFAULT_REDIRECT_PORT}); the URI is http://HOST:PORT/callback")
    p.add_argument("--profile", default="default")
    p.set_defaults(handler=run_connect)
    p = sub.add_parser(
        "limits", help="show or set what Constant Contact allows your application key",
        description="Show, or set, the limits Constant Contact grants the application key: "
        "requests a second and a day, and when the day's count starts again (UTC). The "
        "defaults are Constant Contact's (4 a second, 10,000 a day, 00:00 UTC); change them only "
        "if Constant Contact granted your application more (partner applications, for example "
        "10 and 250,000). ccdesk paces itself a little under the rate, and the allowance shown "
        "and a preview's 'fits today' check use the daily number.")
    p.add_argument("--per-second", metavar="N", type=int, help="requests a second")
    p.add_argument("--per-day", metavar="N", type=int, help="requests a day")
    p.add_argument("--reset", metavar="HH:MM", help="when the day's count starts again, UTC")
    p.add_argument("--reset-defaults", action="store_true",
                   help="back to Constant Contact's defaults (then any of the above on top)")
    p.add_argument("--client-id", metavar="KEY",
                   help="the application key (default: the connected account's)")
    add_connection_options(p)
    p.set_defaults(handler=run_limits)
    p = sub.add_parser("disconnect", help="forget the stored connection",
                       description="Remove everything ccdesk stored for this account.")
    p.add_argument("--profile", default="default")
    p.set_defaults(handler=run_disconnect)


__all__ = ["add_job_commands"]
