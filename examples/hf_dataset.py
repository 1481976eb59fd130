"""Benchmark with prompts from a Hugging Face dataset.

    pip install datasets
    python examples/hf_dataset.py --endpoint http://localhost:8000 \
        --dataset openai/gsm8k --config main --column question --samples 100
    python examples/hf_dataset.py --sim   # a small in-memory dataset and the embedded simulator

With a name, the dataset is loaded with datasets.load_dataset (downloaded on first use). Any
dataset object works too: a datasets.Dataset, a DatasetDict, or a list of dicts.
"""

import argparse

from splleed import Benchmark, OpenAIConfig, SamplingParams, SimBackend


def in_memory_dataset():
    rows = {
        "question": [f"Natalia sold clips to {n} of her friends. How many clips in all?"
                     for n in range(12, 36)],
        "answer": [str(n) for n in range(12, 36)],
    }
    try:
        import datasets
    except ImportError:  # the same rows as a plain list of dicts
        return [dict(zip(rows, values)) for values in zip(*rows.values())]
    return datasets.Dataset.from_dict(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint")
    ap.add_argument("--model", default="")
    ap.add_argument("--sim", action="store_true", help="embedded simulator, in-memory dataset")
    ap.add_argument("--dataset", help="Hugging Face dataset name")
    ap.add_argument("--config", default=None, help="dataset configuration name")
    ap.add_argument("--split", default="train")
    ap.add_argument("--column", default="question", help="column holding the prompt")
    ap.add_argument("--samples", type=int, default=16, help="prompts taken from the dataset")
    ap.add_argument("--out", default="hf_results.json")
    args = ap.parse_args()
    if args.sim == bool(args.endpoint):
        ap.error("give --endpoint URL (with --dataset) or --sim")
    if args.sim:
        backend, dataset = SimBackend(ttft_ms=5, itl_ms=1), in_memory_dataset()
    else:
        if not args.dataset:
            ap.error("--dataset is required with --endpoint")
        backend, dataset = OpenAIConfig(endpoint=args.endpoint, model=args.model), args.dataset

    bench = Benchmark(
        backend=backend,
        dataset=dataset,
        prompt_column=args.column,
        num_samples=args.samples,
        dataset_split=args.split,
        dataset_config=args.config,
        concurrency=[1, 4],
        warmup=2,
        runs=2 * args.samples,
        sampling=SamplingParams(max_tokens=64),
    )
    print(f"{len(bench.prompts)} prompts, e.g. {bench.prompts[0]!r}")
    results = bench.run_sync()
    results.print()
    results.save(args.out)
    for run in results.runs:
        s = run.summary
        print(f"{run.label}: {s.requests_ok} ok, {s.prompt_tokens} prompt tokens, "
              f"E2E p90 {s.e2e.p90:.1f} ms")


if __name__ == "__main__":
    main()
