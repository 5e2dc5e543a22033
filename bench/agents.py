"""The agent graph's wall time against its critical path and the sum of its model calls.

``python bench/agents.py [--latency 1.0] [--example saas-startup]``: a local server speaking
the OpenAI wire format answers every call after ``--latency`` seconds; the graph runs
once. Printed: the wall time, the critical path (research, then the slowest of the
specialists, then cto, then report_writer, from the agents' measured times) and the sum of
all call latencies (what running every call one after another would take). Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fake_llm: the same fake the tests use

from tests.fake_llm import echo_facts, serve_fake  # noqa: E402

from infra_mind.agents.config import load_agents_config  # noqa: E402
from infra_mind.agents.runtime import AgentRuntime  # noqa: E402
from infra_mind.kit.retry import RetryPolicy  # noqa: E402

SPECIALISTS = ("cloud_engineer", "compliance", "mlops")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    parser.add_argument("--example", default="saas-startup", help="examples/<name>.yaml")
    args = parser.parse_args()
    requirements = yaml.safe_load((ROOT / "examples" / f"{args.example}.yaml").read_text())
    with serve_fake(responder=echo_facts, latency_s=args.latency) as fake:
        runtime = AgentRuntime(load_agents_config(), retry=RetryPolicy(max_attempts=1),
                               env={"OPENAI_BASE_URL": fake.base_url_openai,
                                    "LLM_PROVIDER_ORDER": "openai,offline"})
        timings: dict[str, float] = {}
        started_at: dict[str, float] = {}

        async def progress(agent: str, event: str) -> None:
            now = time.perf_counter()
            if event == "started":
                started_at[agent] = now
            else:
                timings[agent] = now - started_at[agent]

        async def run() -> dict:
            try:
                return await runtime.advise(requirements, progress=progress)
            finally:
                await runtime.aclose()

        start = time.perf_counter()
        advice = asyncio.run(run())
        wall = time.perf_counter() - start
        calls = fake.request_count
    critical = (timings["research"] + max(timings.get(a, 0.0) for a in SPECIALISTS)
                + timings["cto"] + timings["report_writer"])
    serial = calls * args.latency
    authors = {s["author"] for agent in advice["narrative"].values() for s in agent.values()}
    print(f"example {args.example}: {calls} model calls at {args.latency:g} s each; "
          f"sections by {', '.join(sorted(authors))}")
    print("agent times: " + ", ".join(f"{a} {t:.2f} s" for a, t in timings.items()))
    print(f"wall time          {wall:7.2f} s")
    print(f"critical path      {critical:7.2f} s  (research + slowest specialist + cto + "
          "report_writer)")
    print(f"sum of model calls {serial:7.2f} s  (every call one after another)")
    print(f"wall / critical    {wall / critical:7.2f}")
    print(f"wall / sum         {wall / serial:7.2f}")


if __name__ == "__main__":
    main()
