#!/usr/bin/env python3
"""Writes a tiny llama-architecture GGUF model with random weights, for testing engines end to end.

The model is a real, loadable llama model (2 layers, 64-dim embeddings by default) whose output is
gibberish; it exists so llama.cpp's llama-server and llama-cpp-python can be started and
benchmarked on any CPU in seconds. The tokenizer is a byte-level BPE (GPT-2 style): the 128 ASCII
byte tokens, merges learnt here from a short built-in text, and three control tokens; the chat
template is ChatML. Everything is derived from --seed, so the same arguments give the same bytes.

The model is built so that a server streams exactly one visible piece per generated token and
never stops before the requested length, which lets tests count tokens exactly from a stream:
- the vocabulary has only the 128 ASCII byte tokens (prompts must be ASCII), so no token is a
  fragment of a multi-byte character that decodes to nothing on its own;
- the model never emits the control tokens (end of text, the ChatML markers) or the ASCII control
  bytes: embedding dimension 0 is a large constant that the small random layers leave almost
  untouched, so after the final norm it is about sqrt(n_embd) for every position, and the output
  rows of those tokens weigh it by a large negative number. Their logits are then hundreds below
  the others, whatever the sampler. Engines whose own options would do this (logit_bias,
  min_tokens) do not all apply them (llama-cpp-python 0.3 ignores both while streaming).

Needs the `gguf` package (pip install gguf), which brings numpy.

    python3 scripts/make-tiny-gguf.py out/tiny.gguf [--layers 2] [--embd 64] [--merges 48]
"""
import argparse
import collections
import sys

import numpy as np

try:
    import gguf
except ImportError:
    sys.exit("make-tiny-gguf.py needs the gguf package: pip install gguf")

CORPUS = """
The quick brown fox jumps over the lazy dog. Benchmarks measure the time to first token and
the time between tokens of a language model server. A server answers requests that arrive at
a rate, in batches, while the model reads the prompt and then writes the answer one token at a
time. Explain quantum computing in simple terms. Hello, how are you today? The weather is nice.
"""

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
STEADY = 50.0  # embedding dimension 0, for every token
NEVER = 50.0   # output weight on dimension 0 of the tokens the model must never emit

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def learn_merges(text, count, byte_map):
    """Plain BPE training on whitespace-split words (with GPT-2's leading-space convention)."""
    words = collections.Counter()
    for i, w in enumerate(text.split()):
        word = (" " if i else "") + w
        words[tuple(byte_map[b] for b in word.encode("utf-8"))] += 1
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for symbols, n in words.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        # Most frequent pair; ties broken by the pair itself, so the result is deterministic.
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        merged = collections.Counter()
        for symbols, n in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    return merges


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--embd", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=128)
    ap.add_argument("--ctx", type=int, default=2048, help="training context length")
    ap.add_argument("--merges", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.embd % args.heads or args.heads % args.kv_heads:
        sys.exit("--embd must divide by --heads, and --heads by --kv-heads")

    byte_map = bytes_to_unicode()
    merges = learn_merges(CORPUS, args.merges, byte_map)
    tokens = [byte_map[b] for b in range(128)] + [a + b for a, b in merges]
    tokens = list(dict.fromkeys(tokens))  # a merge can recreate an existing string
    types = [gguf.TokenType.NORMAL] * len(tokens)
    first_special = len(tokens)
    tokens += SPECIAL
    types += [gguf.TokenType.CONTROL] * len(SPECIAL)
    n_vocab = len(tokens)

    w = gguf.GGUFWriter(args.output, "llama")
    w.add_name("splleed-tiny-random")
    w.add_context_length(args.ctx)
    w.add_embedding_length(args.embd)
    w.add_block_count(args.layers)
    w.add_feed_forward_length(args.ff)
    w.add_head_count(args.heads)
    w.add_head_count_kv(args.kv_heads)
    w.add_rope_dimension_count(args.embd // args.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{a} {b}" for a, b in merges])
    eos = first_special + SPECIAL.index("<|endoftext|>")
    w.add_bos_token_id(eos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    rng = np.random.default_rng(args.seed)
    head_dim = args.embd // args.heads
    kv_dim = head_dim * args.kv_heads

    def rand(*shape):  # numpy (rows, cols) = ggml (cols, rows): (out_features, in_features)
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n):
        return np.ones(n, dtype=np.float32)

    # Dimension 0 of every embedding is a constant the output layer reads (see the docstring).
    embd = rand(n_vocab, args.embd)
    embd[:, 0] = STEADY
    w.add_tensor("token_embd.weight", embd)
    for i in range(args.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(args.embd))
        w.add_tensor(p + "attn_q.weight", rand(args.embd, args.embd))
        w.add_tensor(p + "attn_k.weight", rand(kv_dim, args.embd))
        w.add_tensor(p + "attn_v.weight", rand(kv_dim, args.embd))
        w.add_tensor(p + "attn_output.weight", rand(args.embd, args.embd))
        w.add_tensor(p + "ffn_norm.weight", ones(args.embd))
        w.add_tensor(p + "ffn_gate.weight", rand(args.ff, args.embd))
        w.add_tensor(p + "ffn_up.weight", rand(args.ff, args.embd))
        w.add_tensor(p + "ffn_down.weight", rand(args.embd, args.ff))
    w.add_tensor("output_norm.weight", ones(args.embd))
    out = rand(n_vocab, args.embd)
    out[:, 0] = 0.0
    silent_bytes = [b for b in range(128) if b < 32 and b not in (9, 10) or b == 127]
    for t in silent_bytes + list(range(first_special, n_vocab)):
        out[t, 0] = -NEVER
    w.add_tensor("output.weight", out)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{args.output}: llama, {args.layers} layers, n_embd {args.embd}, vocab {n_vocab} "
          f"({len(merges)} merges)")


if __name__ == "__main__":
    main()
