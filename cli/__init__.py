"""The `lakehouse` command line: wires the layers together for users."""
