"""The Constant Contact V3 client (no Qt): OAuth2, pacing, retries, typed results."""
