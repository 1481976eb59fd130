"""Workloads: synthetic prompts of an exact token length, and prompts from Hugging Face datasets."""

from __future__ import annotations

import random
from itertools import islice
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence

from .config import check_int
from .errors import ConfigError

__all__ = ["synthetic_prompts", "dataset_prompts", "Tokenizer"]

# A tokenizer: any callable from text to token ids (a list, or a mapping with "input_ids" as a
# transformers tokenizer returns), or an object with .encode(text).
Tokenizer = Any

# Common short English words: most tokenizers give each one token after a space, which lets the
# length be tuned one token at a time.
_WORDS = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education good new first last long great little own other old big high different small "
    "large next early young important few public bad same able make take know see come think "
    "look want give use find tell ask seem feel try leave call keep let begin help show hear "
    "play run move live believe bring happen write sit stand lose pay meet include continue "
    "learn lead understand watch follow stop create speak read spend grow open walk win offer"
).split()
# Appended one at a time to reach the exact length when the words overshoot.
_FILLERS = ("a", "I", "the", "of", "to", "and", "in", "is", "it", "on", "x", "1")


def _counter(tokenizer: Tokenizer) -> Callable[[str], int]:
    if tokenizer is None:
        return lambda text: len(text.split())
    if callable(tokenizer):

        def count(text: str) -> int:
            ids = tokenizer(text)
            if isinstance(ids, Mapping) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            return len(ids)

        return count
    if hasattr(tokenizer, "encode"):
        return lambda text: len(tokenizer.encode(text))
    raise ConfigError(
        "tokenizer must be a callable from text to token ids, or have .encode(text).", "tokenizer"
    )


def _exact(words: Sequence[str], target: int, count: Callable[[str], int]) -> Optional[str]:
    """The longest prefix of `words` with at most `target` tokens, then fillers to reach exactly
    `target`; None when no filler lands on it."""
    lo, hi = 0, len(words)  # invariant: count(words[:lo]) <= target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid])) <= target:
            lo = mid
        else:
            hi = mid - 1
    # Fillers may step over the target (e.g. a byte-level count with an odd remainder): then
    # start again from a few words fewer, whose remainder differs.
    for k in range(lo, max(-1, lo - 16), -1):
        text = " ".join(words[:k])
        n = count(text) if text else 0
        while n < target:
            for f in _FILLERS:
                candidate = f"{text} {f}" if text else f
                m = count(candidate)
                if n < m <= target:
                    text, n = candidate, m
                    break
            else:
                break
        if n == target:
            return text
    return None


def synthetic_prompts(
    count: int, target_tokens: int, tokenizer: Tokenizer = None, seed: int = 0
) -> List[str]:
    """``count`` different prompts of exactly ``target_tokens`` tokens each.

    ``tokenizer`` counts tokens: a callable ``text -> token ids`` (for example
    ``AutoTokenizer.from_pretrained(name).encode``, or :func:`splleed.sim_tokenizer` for the
    embedded simulator), or an object with ``.encode``. ``None`` counts whitespace-separated
    words. Prompts are random common words, seeded (the same arguments give the same prompts), and
    differ from their first words on, so a server's prefix cache cannot serve one from another.
    Raises ConfigError when no exact fit is found for the tokenizer.
    """
    check_int("count", count, 1)
    check_int("target_tokens", target_tokens, 1)
    check_int("seed", seed, 0)
    counter = _counter(tokenizer)
    prompts = []
    for i in range(count):
        rng = random.Random(seed * 1_000_003 + i)
        n_words = target_tokens + 8
        while True:
            words = [rng.choice(_WORDS) for _ in range(n_words)]
            if counter(" ".join(words)) >= target_tokens:
                break
            n_words *= 2
        text = _exact(words, target_tokens, counter)
        if text is None:
            raise ConfigError(
                f"cannot build a prompt of exactly {target_tokens} tokens with this tokenizer.",
                "target_tokens",
            )
        prompts.append(text)
    return prompts


def _text_of(value: Any, column: str, row: int) -> str:
    if isinstance(value, str):
        return value
    # Conversations: a list of messages ({"role", "content"} as in OpenAI and most chat sets, or
    # {"from", "value"} as in ShareGPT). The first user turn is the prompt.
    if isinstance(value, (list, tuple)) and value and all(isinstance(m, Mapping) for m in value):
        for m in value:
            speaker = m.get("role", m.get("from"))
            if speaker in ("user", "human"):
                text = m.get("content", m.get("value"))
                if isinstance(text, str):
                    return text
    raise ConfigError(
        f"dataset row {row}: column {column!r} holds {type(value).__name__}, not text or a "
        f"conversation with a user turn.",
        "prompt_column",
    )


def _load_named(name: str, split: str, config_name: Optional[str]) -> Any:
    try:
        import datasets  # type: ignore[import-not-found]
    except ImportError:
        raise ImportError(
            f"dataset={name!r} loads a Hugging Face dataset, which needs the 'datasets' package: "
            f"pip install datasets (or pip install 'splleed[datasets]'). Alternatively pass "
            f"prompts=[...] or a dataset object."
        ) from None
    if config_name is None:
        return datasets.load_dataset(name, split=split)
    return datasets.load_dataset(name, config_name, split=split)


def dataset_prompts(
    dataset: Any,
    prompt_column: str = "prompt",
    num_samples: Optional[int] = None,
    split: str = "train",
    config_name: Optional[str] = None,
) -> List[str]:
    """The first ``num_samples`` prompts (all when None) of ``dataset``'s ``prompt_column``.

    ``dataset`` is a Hugging Face dataset name (loaded with ``datasets.load_dataset(name,
    config_name, split=split)``, which needs the ``datasets`` package), or any dataset object whose
    rows are mappings: a ``datasets.Dataset``, a ``DatasetDict`` (``split`` is taken), an iterable
    dataset, or a list of dicts. A column may hold text or a conversation (its first user turn).
    """
    if num_samples is not None:
        check_int("num_samples", num_samples, 1)
    if not isinstance(prompt_column, str):
        raise ConfigError("prompt_column must be a string.", "prompt_column")
    if isinstance(dataset, str):
        dataset = _load_named(dataset, split, config_name)
    # A DatasetDict: one dataset per split.
    if isinstance(dataset, Mapping) or (
        hasattr(dataset, "keys") and not hasattr(dataset, "column_names")
    ):
        try:
            dataset = dataset[split]
        except KeyError:
            raise ConfigError(
                f"dataset has no split {split!r} (it has: {', '.join(map(str, dataset.keys()))}).",
                "split",
            ) from None
    columns = getattr(dataset, "column_names", None)
    if columns is not None and prompt_column not in columns:
        raise ConfigError(
            f"prompt_column {prompt_column!r} is not a column of the dataset (columns: "
            f"{', '.join(map(str, columns))}).",
            "prompt_column",
        )
    rows: Iterable[Any] = dataset
    if num_samples is not None:
        rows = islice(rows, num_samples)
    prompts = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or prompt_column not in row:
            raise ConfigError(
                f"dataset row {i} has no column {prompt_column!r}.", "prompt_column"
            )
        prompts.append(_text_of(row[prompt_column], prompt_column, i))
    if not prompts:
        raise ConfigError("the dataset gave no prompts.", "dataset")
    return prompts
