"""Benchmark an OpenAI-compatible server at a few concurrency levels, print the CLI's tables and
save the results.

    python examples/basic.py --endpoint http://localhost:8000 --model my-model
    python examples/basic.py --sim        # the embedded simulated engine, no server needed
"""

import argparse

from splleed import Benchmark, OpenAIConfig, SamplingParams, SimBackend, SLOConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", help="server URL, e.g. http://localhost:8000")
    ap.add_argument("--model", default="", help="model name (default: the server's first)")
    ap.add_argument("--sim", action="store_true", help="benchmark the embedded simulator")
    ap.add_argument("--runs", type=int, default=20, help="measured requests per level")
    ap.add_argument("--out", default="results.json", help="results file (.json or .csv)")
    args = ap.parse_args()
    if args.sim == bool(args.endpoint):
        ap.error("give --endpoint URL or --sim")

    backend = SimBackend(ttft_ms=5, itl_ms=1) if args.sim else OpenAIConfig(
        endpoint=args.endpoint, model=args.model)
    done = []

    def on_request(record):
        done.append(record)
        if record.status != "ok":
            print(f"  {record.request_id}: {record.status} {record.error}")

    results = Benchmark(
        backend=backend,
        prompts=["What is the capital of France?", "Explain quantum computing briefly."],
        mode="throughput",
        concurrency=[1, 2, 4],
        warmup=2,
        runs=args.runs,
        sampling=SamplingParams(max_tokens=32, temperature=0.0),
        slo=SLOConfig(ttft_ms=500, tpot_ms=50),
        on_request=on_request,
    ).run_sync()

    results.print()
    for path in results.save(args.out):
        print(f"saved {path}")
    for run in results.runs:
        s = run.summary
        print(f"{run.label}: {s.requests_ok}/{s.requests_sent} ok, TTFT p50 {s.ttft.p50:.1f} ms, "
              f"TPOT p50 {s.tpot.p50:.2f} ms, {s.output_token_throughput:.0f} tok/s, "
              f"good {s.good_fraction:.0%}")
    print(f"{len(done)} requests reported live")
    if results.interrupted:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
