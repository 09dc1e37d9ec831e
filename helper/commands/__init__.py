"""Commands of the command line that are more than a call into the life cycle, one module
each; every one takes its arguments, streams and environment as parameters."""
