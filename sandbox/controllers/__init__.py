"""Controllers of the sandbox cluster, run inside the API server's process.

Each one reacts to changes of the objects it watches and writes through the
registry, so its writes are validated, versioned and seen by watchers like any
client's.
"""
