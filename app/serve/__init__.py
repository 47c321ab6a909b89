"""``kai serve``: kai over HTTP — the Slack slash command and its approval buttons, a JSON API
for other callers, health, readiness and metrics — on FastAPI and uvicorn.

The same agent, guard and audit serve every front end; what is new here is that requests are
accepted first (stored, acknowledged within Slack's 3 seconds) and run afterwards, and that
approvals are answered later, by someone else, perhaps in another kai process.
"""
