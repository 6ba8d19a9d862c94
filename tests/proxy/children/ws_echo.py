#!/usr/bin/env python3
"""Test child: a WebSocket echo server (python3-websockets) on 127.0.0.1:$ASPNETCORE_PORT.

Each message comes back prefixed with "echo:"; plain HTTP GETs are answered 426 by the library."""
import asyncio
import os

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send("echo:" + message if isinstance(message, str) else message)


async def main():
    with open("pids", "a") as f:
        f.write(f"{os.getpid()}\n")
    async with websockets.serve(echo, "127.0.0.1", int(os.environ["ASPNETCORE_PORT"]), compression=None):
        await asyncio.Future()


asyncio.run(main())
