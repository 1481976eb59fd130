"""Separate prefill from decode: long prompts of an exact token length with one output token
(the time to first token is then mostly prefill), then short prompts with long forced outputs
(ignore_eos, so every request decodes exactly max_tokens tokens).

    python examples/prefill_vs_decode.py --endpoint http://localhost:8000 --model M \
        --tokenizer M            # a transformers tokenizer name, for exact prompt lengths
    python examples/prefill_vs_decode.py --sim
"""

import argparse

from splleed import Benchmark, OpenAIConfig, SamplingParams, SimBackend, sim_tokenizer, synthetic_prompts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint")
    ap.add_argument("--model", default="")
    ap.add_argument("--tokenizer", help="transformers tokenizer for exact lengths")
    ap.add_argument("--sim", action="store_true", help="benchmark the embedded simulator")
    ap.add_argument("--prompt-tokens", type=int, default=1024)
    ap.add_argument("--output-tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    if args.sim == bool(args.endpoint):
        ap.error("give --endpoint URL or --sim")

    if args.sim:
        backend = SimBackend(ttft_ms=5, itl_ms=1, prefill_us_per_token=20)
        tokenizer = sim_tokenizer  # how the simulator counts prompt tokens
    else:
        backend = OpenAIConfig(endpoint=args.endpoint, model=args.model)
        tokenizer = None  # whitespace words: approximate lengths
        if args.tokenizer:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(args.tokenizer)
            tokenizer = lambda text: tok.encode(text, add_special_tokens=False)  # noqa: E731

    long_prompts = synthetic_prompts(args.runs, args.prompt_tokens, tokenizer=tokenizer, seed=1)
    short_prompts = synthetic_prompts(args.runs, 16, tokenizer=tokenizer, seed=2)

    prefill = Benchmark(
        backend, prompts=long_prompts, concurrency=[1, args.concurrency], warmup=1,
        runs=args.runs, sampling=SamplingParams(max_tokens=1),
    ).run_sync()
    decode = Benchmark(
        backend, prompts=short_prompts, concurrency=[1, args.concurrency], warmup=1,
        runs=args.runs, sampling=SamplingParams(max_tokens=args.output_tokens, ignore_eos=True),
    ).run_sync()

    print(f"Prefill: {args.prompt_tokens}-token prompts, 1 output token")
    for run in prefill.runs:
        s = run.summary
        served = {r.prompt_tokens for r in run.measured}
        print(f"  {run.label}: TTFT p50 {s.ttft.p50:.1f} ms, p99 {s.ttft.p99:.1f} ms, "
              f"{s.prompt_tokens / s.window_s:.0f} prompt tok/s; prompt tokens per request "
              f"as served: {sorted(served)}")
    print(f"Decode: 16-token prompts, {args.output_tokens} forced output tokens")
    for run in decode.runs:
        s = run.summary
        outs = {r.output_tokens for r in run.measured}
        print(f"  {run.label}: TPOT p50 {s.tpot.p50:.2f} ms, ITL p99 {s.itl.p99:.2f} ms, "
              f"{s.output_token_throughput:.0f} output tok/s; output tokens per request: "
              f"{sorted(outs)}")


if __name__ == "__main__":
    main()
