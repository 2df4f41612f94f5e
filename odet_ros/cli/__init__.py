"""The `odet` command: one subcommand module per workflow step."""
