"""MCP `execute` of `return 1`, p50 round trip, as a client written
elsewhere (the official Python SDK) sees it: over stdio to `executor mcp`,
which forwards to a running server, or over streamable HTTP to the
server's own /mcp. Printed, never asserted.

Usage (a server running, the SDK from scripts/setup.sh --test):
  $CARGO_TARGET_DIR/mcp-venv/bin/python server/benches/mcp_roundtrip.py \
      stdio $CARGO_TARGET_DIR/release/executor http://127.0.0.1:3000
  $CARGO_TARGET_DIR/mcp-venv/bin/python server/benches/mcp_roundtrip.py \
      http http://127.0.0.1:3000/mcp
  # no server: executor mcp runs the engine in-process on DATABASE_URL
  $CARGO_TARGET_DIR/mcp-venv/bin/python server/benches/mcp_roundtrip.py \
      local $CARGO_TARGET_DIR/release/executor sqlite:///tmp/mcp-bench.db
"""

import asyncio
import statistics
import sys
import time

import contextlib

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

CALLS = 200


@contextlib.asynccontextmanager
async def transport(argv):
    if argv[0] in ("stdio", "local"):
        if argv[0] == "stdio":
            params = StdioServerParameters(command=argv[1], args=["mcp", "--server", argv[2]])
        else:
            params = StdioServerParameters(
                command=argv[1], args=["mcp"], env={"DATABASE_URL": argv[2]})
        async with stdio_client(params) as (read, write):
            yield read, write
    else:
        async with streamable_http_client(argv[1]) as streams:
            yield streams[0], streams[1]


async def main(argv):
    async with transport(argv) as (read, write):
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
    how = {
        "stdio": "over stdio, forwarding to a server",
        "local": "over stdio, in-process",
        "http": "over streamable HTTP",
    }[argv[0]]
    print(f"MCP execute 'return 1' {how}: "
          f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms ({CALLS} calls)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
