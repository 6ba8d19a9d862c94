#!/usr/bin/env python3
"""Test child that fails at start: writes to stderr and exits with code 3."""
import os
import sys

with open("pids", "a") as f:
    f.write(f"{os.getpid()}\n")
print("exit_at_start: loading configuration...", flush=True)
print("Unhandled exception: System.IO.FileNotFoundException: appsettings.json missing",
      file=sys.stderr, flush=True)
sys.exit(3)
