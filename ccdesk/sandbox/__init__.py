"""A local Constant Contact V3 server: the demo account and the tests' stand-in.

``Sandbox`` serves the REST API (``/v3/…``) and the OAuth2 endpoints over real HTTP on
127.0.0.1; see :mod:`ccdesk.sandbox.server`. Run one from a terminal with ``ccdesk sandbox``.
"""

from ccdesk.sandbox.limits import Clock
from ccdesk.sandbox.server import DEMO_CLIENT_ID, Sandbox, SandboxConfig, start_sandbox
from ccdesk.sandbox.state import generate_data

__all__ = ["DEMO_CLIENT_ID", "Clock", "Sandbox", "SandboxConfig", "generate_data", "start_sandbox"]
