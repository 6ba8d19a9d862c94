#!/usr/bin/env python3
"""A real WebSocket client (python3-websockets) for the tunnel test.

usage: ws_client.py URL  -> sends a few messages (one of 200 KB), expects "echo:" + each back,
closes cleanly, prints OK and exits 0; anything else exits 1 with the reason."""
import asyncio
import sys

import websockets


async def main(url):
    async with websockets.connect(url, compression=None, open_timeout=10, close_timeout=5) as ws:
        for message in ["hello", "second message", "x" * 200000]:
            await ws.send(message)
            reply = await asyncio.wait_for(ws.recv(), 10)
            if reply != "echo:" + message:
                print(f"bad reply: {reply[:80]!r}")
                return 1
        await ws.close()
    print("OK")
    return 0


sys.exit(asyncio.run(main(sys.argv[1])))
