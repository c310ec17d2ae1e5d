"""MCP `execute` of `return 1`, p50 round trip, as a client written
elsewhere (the official Python SDK) sees it: over stdio to `executor mcp`,
which forwards to a running server. Printed, never asserted.

Usage (a server running, the SDK from scripts/setup.sh --test):
  $CARGO_TARGET_DIR/mcp-venv/bin/python server/benches/mcp_roundtrip.py \
      $CARGO_TARGET_DIR/release/executor http://127.0.0.1:3000
"""

import asyncio
import statistics
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

CALLS = 200


async def main(executor, server):
    params = StdioServerParameters(command=executor, args=["mcp", "--server", server])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(10):
                await session.call_tool("execute", {"code": "return 1"})
            times = []
            for _ in range(CALLS):
                started = time.perf_counter()
                result = await session.call_tool("execute", {"code": "return 1"})
                times.append((time.perf_counter() - started) * 1000)
                assert not result.is_error
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(f"MCP execute 'return 1' over stdio, forwarding to a server: "
          f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms ({CALLS} calls)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
