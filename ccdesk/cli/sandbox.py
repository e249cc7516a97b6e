"""``ccdesk sandbox``: serve a sandbox from a terminal until interrupted."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from ccdesk.errors import ConfigError


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ccdesk sandbox``."""
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--state", metavar="FILE", help="load the account from this JSON state file")
    source.add_argument(
        "--generate", metavar="N", type=int, help="generate an account of N contacts (deterministic)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for --generate and ids (default 1)")
    parser.add_argument(
        "--rate-limit", metavar="R", type=float,
        help="requests per second per application (default 4, as Constant Contact; 0 = none)",
    )
    parser.add_argument(
        "--daily-quota", metavar="Q", type=int,
        help="requests per UTC day per application (default 10000; 0 = none)",
    )
    parser.add_argument(
        "--partner-limits", action="store_true",
        help="the limits Constant Contact grants partner applications: 10 requests a second "
             "and 250000 a day (--rate-limit and --daily-quota still win)",
    )
    parser.add_argument(
        "--latency-ms", metavar="MS", type=float, default=0.0, help="delay added to every answer"
    )
    parser.add_argument(
        "--auto-approve", action="store_true",
        help="skip the consent page when an app asks to connect (the demo does this)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="serve the built-in demo account (implies --auto-approve)"
    )
    parser.add_argument(
        "--list-changes-touch-contacts", action="store_true",
        help="list-membership changes and opt-outs bump a contact's updated_at (the old, kinder "
             "behaviour; by default they leave it alone, as the real service most likely does)",
    )
    parser.add_argument(
        "--foreign-activities", metavar="N", type=int, default=0,
        help="seed N activities the account made elsewhere (imports, exports, the web app), "
             "some the size of ccdesk's batches; more keep coming while it runs",
    )
    parser.add_argument(
        "--user-role", choices=("account_owner", "account_manager", "campaign_creator"),
        help="the connected user's role (default: the state file's, else account_owner); a "
             "campaign_creator may not read or change contacts (403 access_denied)",
    )
    parser.add_argument(
        "--any-loopback-port", action="store_true", default=None,
        help="accept any port on a registered loopback redirect URI (by default it must match "
             "exactly, port included, as Constant Contact's portal requires; --demo and "
             "--auto-approve imply this)",
    )
    parser.add_argument(
        "--gateway-rate-errors", action="store_true",
        help="over the rate limit or daily quota, answer as the older gateway did: 403 "
             "mashery.not.authorized.over.qps / .ratelimit instead of 429",
    )
    parser.add_argument(
        "--retry-after", action="store_true",
        help="a 429 carries a Retry-After header (seconds); Constant Contact documents none",
    )
    parser.add_argument(
        "--foreign-activity-every", metavar="S", type=float, default=120.0,
        help="with --foreign-activities: one more about every S seconds (default 120; 0 = none)",
    )


def _per_second(rate: float) -> str:
    return f"{rate:g} requests a second" if rate > 0 else "no rate limit"


def _per_day(quota: int) -> str:
    return f"{quota:,} a day" if quota > 0 else "no daily quota"


def _limits(args: argparse.Namespace) -> dict[str, float]:
    """The rate limit and daily quota asked for: Constant Contact's defaults or a partner's,
    unless given one by one."""
    from ccdesk.cc.limits import DEFAULT_LIMITS, PARTNER_LIMITS

    base = PARTNER_LIMITS if args.partner_limits else DEFAULT_LIMITS
    return {"rate_limit": base.per_second if args.rate_limit is None else args.rate_limit,
            "daily_quota": base.per_day if args.daily_quota is None else args.daily_quota}


def run_sandbox_command(args: argparse.Namespace) -> int:
    """Start the sandbox, print its base URL first, serve until interrupted."""
    from ccdesk.sandbox.server import DEMO_CLIENT_ID, Sandbox
    from ccdesk.sandbox.state import generate_data

    data = None
    if args.demo:
        from ccdesk.sandbox.demo import load_demo_data

        data = load_demo_data()
    elif args.state:
        try:
            data = json.loads(Path(args.state).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("The sandbox state file cannot be read",
                              "Check the path and that the file is JSON in the sandbox's format.",
                              details=str(exc)) from exc
    elif args.generate is not None:
        data = generate_data(args.generate, seed=args.seed)
    try:
        sandbox = Sandbox(
            data, port=args.port, **_limits(args),
            latency_ms=args.latency_ms, auto_approve=args.auto_approve or args.demo, seed=args.seed,
            list_changes_touch_contacts=args.list_changes_touch_contacts,
            foreign_activities=args.foreign_activities,
            foreign_activity_every=args.foreign_activity_every,
            gateway_rate_errors=args.gateway_rate_errors, user_role=args.user_role,
            retry_after=args.retry_after,
            any_loopback_port=args.any_loopback_port,
        ).start()
    except (ValueError, KeyError) as exc:
        raise ConfigError("The sandbox state is not valid", "Fix the state file and try again.",
                          details=str(exc)) from exc
    except OSError as exc:
        raise ConfigError("The sandbox cannot listen on that port",
                          "Choose another port, or leave --port out to take any free one.",
                          details=str(exc)) from exc
    print(sandbox.base_url, flush=True)
    counts = sandbox.snapshot()
    print(
        f"serving {len(counts['contacts'])} contacts on {len(counts['lists'])} lists; "
        f"client_id {DEMO_CLIENT_ID}; {_per_second(sandbox.config.rate_limit)}, "
        f"{_per_day(sandbox.config.daily_quota)}; REST API {sandbox.api_url}; Ctrl+C stops it",
        file=sys.stderr, flush=True,
    )
    stop = threading.Event()
    try:
        while not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0
