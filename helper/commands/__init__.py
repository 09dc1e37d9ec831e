"""The command line: argument parsing, git's credential protocol, and one module per command."""
