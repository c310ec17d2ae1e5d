"""An MCP client written elsewhere: the official Python SDK (`mcp` from
PyPI) drives `executor mcp` over stdio and prints what it saw as one JSON
object, for server/tests/mcp.rs to judge.

Usage: python mcp_client.py EXECUTOR [SERVER_URL]
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client


def structured(result):
    return result.structured_content or {}


def text(result):
    return " ".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(executor, server):
    params = StdioServerParameters(
        command=executor, args=["mcp", "--server", server], env={"NO_COLOR": "1"}
    )
    report = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(
            read, write, client_info=types.Implementation(name="pytest-client", version="9.1")
        ) as session:
            await session.initialize()
            tools = await session.list_tools()
            report["tools"] = sorted(t.name for t in tools.tools)
            report["readOnly"] = sorted(
                t.name for t in tools.tools if t.annotations and t.annotations.read_only_hint
            )
            report["destructive"] = sorted(
                t.name for t in tools.tools if t.annotations and t.annotations.destructive_hint
            )

            four = await session.call_tool("execute", {"code": "return 2 + 2"})
            report["four"] = {"isError": four.is_error, "status": structured(four).get("status"),
                              "result": structured(four).get("result"), "text": text(four)}

            paused = await session.call_tool(
                "execute", {"code": "const r = await tools.demo.write({ n: 3 }); return r.args.n;"})
            pid = structured(paused).get("executionId")
            report["paused"] = {"status": structured(paused).get("status"), "text": text(paused)}
            resumed = await session.call_tool("resume", {"executionId": pid, "action": "accept"})
            report["resumed"] = {"status": structured(resumed).get("status"),
                                 "result": structured(resumed).get("result")}

            failed = await session.call_tool("execute", {"code": "throw new Error('broke')"})
            report["failed"] = {"isError": failed.is_error, "text": text(failed)}

            unknown = await session.call_tool(
                "resume", {"executionId": "no-such-run", "action": "accept"})
            report["unknown"] = {"isError": unknown.is_error, "text": text(unknown)}

            big = await session.call_tool(
                "execute", {"code": "// " + "x" * 3000 + "\nreturn 'big'"})
            bid = structured(big).get("executionId")
            got = await session.call_tool("runs_get", {"executionId": bid, "maxBytes": 1000})
            report["get"] = {"truncated": structured(got).get("truncated"),
                             "status": structured(got).get("status"), "text": text(got)}

            mine = await session.call_tool("runs_list", {"mine": True, "limit": 50})
            report["mine"] = [r["id"] for r in structured(mine).get("runs", [])]
            report["ids"] = [structured(four).get("executionId"), pid,
                             structured(failed).get("executionId"), bid]
            summary = await session.call_tool("runs_summary", {"mine": True})
            report["summary"] = structured(summary)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
