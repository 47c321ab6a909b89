"""kai's front ends: the command line (and, later, the REPL, webhook and MCP server)."""
