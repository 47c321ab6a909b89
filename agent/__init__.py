"""The agent: a run loop over a small provider interface (:mod:`agent.provider`), the
providers (offline planner, Gemini, OpenAI, OpenAI-compatible), sessions and traces.

Provider SDKs are imported only inside their own module, and only when that provider is used.
"""
