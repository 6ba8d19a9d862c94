#!/usr/bin/env python3
"""Test child that starts, writes a line, and never listens on ASPNETCORE_PORT."""
import os
import time

with open("pids", "a") as f:
    f.write(f"{os.getpid()}\n")
print("never_listens: up, but not listening", flush=True)
while True:
    time.sleep(3600)
