#!/usr/bin/env python3
"""Writes a GGUF file (v3) of a random Llama with the shapes of a duo model preset, for
scripts/bench-llamacpp.sh: llama.cpp then runs the same shapes as `duo bench`.

    python3 scripts/gguf_random.py configs/models/bench-12l-768.yaml OUT.gguf [--dtype f32|f16]

Our own small writer (Python standard library only), after the GGUF spec (ggml docs/gguf.md):
header (magic "GGUF", version 3, tensor count, metadata count), metadata key/values, tensor infos
(name, dims innermost first, ggml type, offset), padding to general.alignment (32), tensor data.
Weights are random normal * initializer_range (one random block repeated: timing depends on the
shapes, not the values); norms are 1. The vocabulary is placeholder SentencePiece pieces with the
256 byte tokens llama.cpp looks up at load; the benchmark feeds token ids, never text.
"""
import argparse
import math
import random
import struct
import sys

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGN = 32
# metadata value types
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
# ggml tensor types and general.file_type values
GGML_F32, GGML_F16 = 0, 1
FILE_TYPE = {"f32": 0, "f16": 1}


def read_preset(path):
    """The flat `key: value` lines of a model preset YAML (the keys this writer needs)."""
    cfg = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip()
            if not line or line.startswith(" ") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            cfg[key.strip()] = value.strip()
    need = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "max_position_embeddings"]
    for k in need:
        if k not in cfg:
            sys.exit(f"gguf_random: {path} has no key '{k}'; expected a duo model preset (configs/models/*.yaml)")
    return cfg


def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gstr(key) + struct.pack("<I", vtype)
    if vtype == T_UINT32:
        out += struct.pack("<I", value)
    elif vtype == T_INT32:
        out += struct.pack("<i", value)
    elif vtype == T_FLOAT32:
        out += struct.pack("<f", value)
    elif vtype == T_BOOL:
        out += struct.pack("<?", value)
    elif vtype == T_STRING:
        out += gstr(value)
    else:
        raise ValueError(vtype)
    return out


def kv_array(key, etype, values):
    out = gstr(key) + struct.pack("<IIQ", T_ARRAY, etype, len(values))
    if etype == T_STRING:
        out += b"".join(gstr(v) for v in values)
    elif etype == T_FLOAT32:
        out += struct.pack(f"<{len(values)}f", *values)
    elif etype == T_INT32:
        out += struct.pack(f"<{len(values)}i", *values)
    else:
        raise ValueError(etype)
    return out


def vocab(n):
    """SentencePiece-style placeholder vocabulary: <unk>, <s>, </s>, 256 byte tokens, then pieces."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, control, byte
    i = 0
    while len(tokens) < n:
        tokens.append(f"\u2581t{i}")
        types.append(1)  # normal
        i += 1
    tokens, types = tokens[:n], types[:n]
    scores = [0.0] * 3 + [0.0] * 256 + [-float(j) for j in range(max(0, n - 259))]
    return tokens, scores[:n], types


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("preset")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32", help="weight type of the 2-D tensors")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    c = read_preset(a.preset)
    vocab_n, hidden = int(c["vocab_size"]), int(c["hidden_size"])
    inter, layers = int(c["intermediate_size"]), int(c["num_hidden_layers"])
    heads = int(c["num_attention_heads"])
    kv_heads = int(c.get("num_key_value_heads", heads))
    head_dim = hidden // heads
    ctx = int(c["max_position_embeddings"])
    eps = float(c.get("rms_norm_eps", "1e-5"))
    theta = float(c.get("rope_theta", "10000.0"))
    std = float(c.get("initializer_range", "0.02"))
    if c.get("tie_word_embeddings", "false") not in ("false", "False"):
        sys.exit("gguf_random: tie_word_embeddings is not supported here; expected false")

    # (name, dims innermost first, 2-D weight?) in llama.cpp's tensor names
    tensors = [("token_embd.weight", [hidden, vocab_n], True)]
    for l in range(layers):
        p = f"blk.{l}."
        tensors += [(p + "attn_norm.weight", [hidden], False),
                    (p + "attn_q.weight", [hidden, heads * head_dim], True),
                    (p + "attn_k.weight", [hidden, kv_heads * head_dim], True),
                    (p + "attn_v.weight", [hidden, kv_heads * head_dim], True),
                    (p + "attn_output.weight", [heads * head_dim, hidden], True),
                    (p + "ffn_norm.weight", [hidden], False),
                    (p + "ffn_gate.weight", [hidden, inter], True),
                    (p + "ffn_up.weight", [hidden, inter], True),
                    (p + "ffn_down.weight", [inter, hidden], True)]
    tensors += [("output_norm.weight", [hidden], False), ("output.weight", [hidden, vocab_n], True)]

    tokens, scores, types = vocab(vocab_n)
    meta = [kv("general.architecture", T_STRING, "llama"),
            kv("general.name", T_STRING, "duo random " + a.preset.rsplit("/", 1)[-1]),
            kv("general.alignment", T_UINT32, ALIGN),
            kv("general.file_type", T_UINT32, FILE_TYPE[a.dtype]),
            kv("llama.context_length", T_UINT32, ctx),
            kv("llama.embedding_length", T_UINT32, hidden),
            kv("llama.block_count", T_UINT32, layers),
            kv("llama.feed_forward_length", T_UINT32, inter),
            kv("llama.attention.head_count", T_UINT32, heads),
            kv("llama.attention.head_count_kv", T_UINT32, kv_heads),
            kv("llama.rope.dimension_count", T_UINT32, head_dim),
            kv("llama.rope.freq_base", T_FLOAT32, theta),
            kv("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, eps),
            kv("tokenizer.ggml.model", T_STRING, "llama"),
            kv_array("tokenizer.ggml.tokens", T_STRING, tokens),
            kv_array("tokenizer.ggml.scores", T_FLOAT32, scores),
            kv_array("tokenizer.ggml.token_type", T_INT32, types),
            kv("tokenizer.ggml.bos_token_id", T_UINT32, int(c.get("bos_token_id", 1))),
            kv("tokenizer.ggml.eos_token_id", T_UINT32, int(c.get("eos_token_id", 2))),
            kv("tokenizer.ggml.unknown_token_id", T_UINT32, 0),
            kv("tokenizer.ggml.add_bos_token", T_BOOL, True)]

    def nbytes(dims, is_weight):
        n = math.prod(dims)
        return n * (2 if (is_weight and a.dtype == "f16") else 4)

    infos, offset = [], 0
    for name, dims, w in tensors:
        ttype = GGML_F16 if (w and a.dtype == "f16") else GGML_F32
        infos.append(gstr(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) +
                     struct.pack("<IQ", ttype, offset))
        offset += nbytes(dims, w)
        offset = (offset + ALIGN - 1) // ALIGN * ALIGN

    rng = random.Random(a.seed)
    block = 1 << 16  # values in the repeated random block
    normal = [rng.gauss(0.0, std) for _ in range(block)]
    blk32 = struct.pack(f"<{block}f", *normal)
    blk16 = struct.pack(f"<{block}e", *normal)
    ones32 = struct.pack("<f", 1.0)

    with open(a.out, "wb") as f:
        f.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(tensors), len(meta)))
        for m in meta:
            f.write(m)
        for i in infos:
            f.write(i)
        f.write(b"\0" * ((-f.tell()) % ALIGN))
        start = f.tell()
        for (name, dims, w), _ in zip(tensors, infos):
            n = math.prod(dims)
            if not w:
                f.write(ones32 * n)
            else:
                src = blk16 if a.dtype == "f16" else blk32
                per = 2 if a.dtype == "f16" else 4
                full, rest = divmod(n, block)
                for _ in range(full):
                    f.write(src)
                f.write(src[: rest * per])
            f.write(b"\0" * ((-(f.tell() - start)) % ALIGN))
    print(f"gguf_random: wrote {a.out} ({len(tensors)} tensors, {a.dtype} weights, {layers} layers, hidden {hidden}, "
          f"{heads} heads / {kv_heads} KV heads, vocab {vocab_n})")


if __name__ == "__main__":
    main()
