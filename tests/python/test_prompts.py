"""Workloads: synthetic prompts of exact token lengths and Hugging Face datasets (faked here, so
nothing is downloaded)."""

from __future__ import annotations

import sys
import types

import pytest

from splleed import Benchmark, ConfigError, OpenAIConfig, dataset_prompts, sim_tokenizer, synthetic_prompts

EP = "http://127.0.0.1:8000"


@pytest.mark.parametrize("target", [1, 7, 64, 500])
def test_synthetic_prompts_hit_the_sim_tokenizer_exactly(target):
    prompts = synthetic_prompts(5, target, tokenizer=sim_tokenizer, seed=3)
    assert len(prompts) == 5
    assert [len(sim_tokenizer(p)) for p in prompts] == [target] * 5
    if target >= 7:
        assert len(set(prompts)) == 5


def test_synthetic_prompts_default_counts_words_and_is_seeded():
    a = synthetic_prompts(3, 20, seed=1)
    assert a == synthetic_prompts(3, 20, seed=1)
    assert a != synthetic_prompts(3, 20, seed=2)
    assert [len(p.split()) for p in a] == [20, 20, 20]


def test_synthetic_prompts_accept_transformers_style_and_encode_objects():
    def hf_like(text):  # a transformers tokenizer returns a mapping with input_ids (plus BOS)
        return {"input_ids": [0] + [hash(w) for w in text.split()], "attention_mask": []}

    for p in synthetic_prompts(2, 12, tokenizer=hf_like):
        assert len(hf_like(p)["input_ids"]) == 12

    class Enc:
        def encode(self, text):
            return list(text.encode())  # one token per byte

    for p in synthetic_prompts(2, 33, tokenizer=Enc()):
        assert len(p.encode()) == 33


def test_synthetic_prompts_report_impossible_lengths():
    def two_per_word(text):
        return [0, 0] * len(text.split())

    with pytest.raises(ConfigError) as e:
        synthetic_prompts(1, 5, tokenizer=two_per_word)
    assert e.value.field == "target_tokens"
    with pytest.raises(ConfigError) as e:
        synthetic_prompts(0, 5)
    assert e.value.field == "count"
    with pytest.raises(ConfigError):
        synthetic_prompts(1, 5, tokenizer=42)


class FakeDataset:
    """The parts of datasets.Dataset that splleed uses: column_names and row iteration."""

    def __init__(self, rows):
        self.rows = rows
        self.column_names = list(rows[0].keys())

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


ROWS = [{"text": f"question {i}", "label": i} for i in range(10)]


def test_dataset_object_column_and_num_samples():
    bench = Benchmark(OpenAIConfig(endpoint=EP), dataset=FakeDataset(ROWS), prompt_column="text",
                      num_samples=4)
    assert bench.prompts == ["question 0", "question 1", "question 2", "question 3"]
    assert bench.config["prompts"] == bench.prompts


def test_dataset_missing_column_names_the_columns():
    with pytest.raises(ConfigError) as e:
        dataset_prompts(FakeDataset(ROWS), prompt_column="prompt")
    assert e.value.field == "prompt_column"
    assert "text" in str(e.value) and "label" in str(e.value)


def test_dataset_dict_takes_the_split_and_conversations_give_the_user_turn():
    conv = [
        {"conversations": [{"from": "system", "value": "be brief"},
                           {"from": "human", "value": "hi there"},
                           {"from": "gpt", "value": "hello"}]},
        {"conversations": [{"role": "user", "content": "second"}]},
    ]
    dd = {"train": FakeDataset(conv), "test": FakeDataset(ROWS)}
    assert dataset_prompts(dd, "conversations") == ["hi there", "second"]
    assert dataset_prompts(dd, "text", split="test", num_samples=1) == ["question 0"]
    with pytest.raises(ConfigError) as e:
        dataset_prompts(dd, "text", split="validation")
    assert e.value.field == "split"
    with pytest.raises(ConfigError):
        dataset_prompts([{"text": 5}], "text")


def test_named_dataset_goes_through_datasets_load_dataset(monkeypatch):
    calls = []

    def load_dataset(name, *args, split):
        calls.append((name, args, split))
        return FakeDataset(ROWS)

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    bench = Benchmark(OpenAIConfig(endpoint=EP), dataset="org/questions", prompt_column="text",
                      num_samples=2, dataset_split="test", dataset_config="en")
    assert calls == [("org/questions", ("en",), "test")]
    assert bench.prompts == ["question 0", "question 1"]


def test_named_dataset_without_datasets_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match="pip install datasets"):
        Benchmark(OpenAIConfig(endpoint=EP), dataset="org/questions")
