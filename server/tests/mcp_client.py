"""An MCP client written elsewhere: the official Python SDK (`mcp` from
PyPI) drives the host, over stdio (`executor mcp`) or streamable HTTP (the
server's `/mcp`), and prints what it saw as one JSON object, for
server/tests/mcp.rs to judge.

Usage: python mcp_client.py stdio EXECUTOR SERVER_URL
       python mcp_client.py local EXECUTOR DATABASE_URL   (no server: in-process)
       python mcp_client.py http MCP_URL [TOKEN]
"""

import asyncio
import json
import sys

import contextlib

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def structured(result):
    return result.structured_content or {}


def text(result):
    return " ".join(c.text for c in result.content if getattr(c, "type", "") == "text")


@contextlib.asynccontextmanager
async def transport(argv):
    if argv[0] in ("stdio", "local"):
        if argv[0] == "stdio":
            args, env = ["mcp", "--server", argv[2]], {"NO_COLOR": "1"}
        else:
            args, env = ["mcp", "--demo-tools"], {"NO_COLOR": "1", "DATABASE_URL": argv[2]}
        params = StdioServerParameters(command=argv[1], args=args, env=env)
        async with stdio_client(params) as (read, write):
            yield read, write
    else:
        import httpx2

        headers = {"authorization": f"Bearer {argv[2]}"} if len(argv) > 2 else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(argv[1], http_client=http) as streams:
                yield streams[0], streams[1]


async def main(argv):
    report = {}
    async with transport(argv) as (read, write):
        async with ClientSession(
            read, write, client_info=types.Implementation(name="pytest-client", version="9.1")
        ) as session:
            await session.initialize()
            tools = await session.list_tools()
            report["tools"] = sorted(t.name for t in tools.tools)
            report["executeDescription"] = next(
                t.description for t in tools.tools if t.name == "execute")
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
            story = await session.call_tool(
                "runs_get", {"executionId": pid, "include": ["interactions"]})
            report["answered"] = [i["status"] for i in structured(story).get("interactions", [])]
            again = await session.call_tool("resume", {"executionId": pid, "action": "accept"})
            report["again"] = {"isError": again.is_error, "text": text(again)}

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
    if argv[0] != "local":
        # Another session, whose client declares elicitation: the pause is
        # asked inline (accepted here) and the run completes in one call.
        asked = []

        async def answer(context, params):
            asked.append(params.message)
            return types.ElicitResult(action="accept", content={})

        async with transport(argv) as (read, write):
            async with ClientSession(read, write, elicitation_callback=answer) as session:
                await session.initialize()
                inline = await session.call_tool(
                    "execute", {"code": "const r = await tools.demo.write({ n: 9 }); return r.args.n;"})
                report["inline"] = {"status": structured(inline).get("status"),
                                    "result": structured(inline).get("result"),
                                    "executionId": structured(inline).get("executionId"),
                                    "asked": asked}
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
