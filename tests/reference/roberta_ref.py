#!/usr/bin/python3
"""Float64 reference forward pass of RobertaForSequenceClassification, written from transformers'
modeling_roberta.py (no transformers import), plus generators for random-weight test models.

  roberta_ref.py gen OUT --size tiny|base [--seed N] [--formats safetensors,pytorch] [--inputs N]
      writes OUT/config.json, OUT/model.safetensors and/or OUT/pytorch_model.bin, OUT/inputs.jsonl (one JSON
      array of token ids per line) and OUT/expected.jsonl ({"logits": [...]} per line, float64 reference)
  roberta_ref.py ref MODEL_DIR INPUTS.jsonl
      prints {"logits": [...]} per input line, computed in float64 from MODEL_DIR/model.safetensors

The weights are random but scaled so activations stay O(1) through every layer; the generator checks that the
classic porting bugs (tanh GELU, LayerNorm eps 1e-12, positions from 0) move the logits by more than 1e-4, so a
2e-5 tolerance can tell them apart.
"""
import argparse
import collections
import json
import math
import os
import struct
import sys

import torch

SIZES = {
    "tiny": dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, intermediate_size=64, vocab_size=100,
                 max_position_embeddings=40),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072,
                 vocab_size=50265, max_position_embeddings=514),
}


def make_config(size):
    c = dict(SIZES[size])
    c.update(architectures=["RobertaForSequenceClassification"], model_type="roberta", hidden_act="gelu",
             layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1,
             position_embedding_type="absolute", torch_dtype="float32",
             id2label={"0": "negative", "1": "neutral", "2": "positive"},
             label2id={"negative": 0, "neutral": 1, "positive": 2})
    return c


def make_state_dict(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    H, I, V, P = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"]
    sd = collections.OrderedDict()

    def randn(*shape, std=1.0, mean=0.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean).float()

    def linear(name, out_f, in_f):
        sd[name + ".weight"] = randn(out_f, in_f, std=1.0 / math.sqrt(in_f))
        sd[name + ".bias"] = randn(out_f, std=0.1)

    def ln(name, dim):
        sd[name + ".weight"] = randn(dim, std=0.2, mean=1.0)
        sd[name + ".bias"] = randn(dim, std=0.1)

    # Small embeddings (as in HF init) make the embedding LayerNorm sensitive to its eps.
    sd["roberta.embeddings.word_embeddings.weight"] = randn(V, H, std=0.02)
    sd["roberta.embeddings.position_embeddings.weight"] = randn(P, H, std=0.02)
    sd["roberta.embeddings.token_type_embeddings.weight"] = randn(1, H, std=0.02)
    ln("roberta.embeddings.LayerNorm", H)
    for i in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            linear(p + "attention.self." + n, H, H)
        linear(p + "attention.output.dense", H, H)
        ln(p + "attention.output.LayerNorm", H)
        linear(p + "intermediate.dense", I, H)
        linear(p + "output.dense", H, I)
        ln(p + "output.LayerNorm", H)
    linear("classifier.dense", H, H)
    linear("classifier.out_proj", 3, H)
    # Larger head so the logits spread over several units (and label decisions are not all ties).
    sd["classifier.out_proj.weight"] *= 4.0
    return sd


def forward(sd, cfg, ids, gelu="erf", eps=None, pos_from_zero=False):
    """One unpadded sequence, float64. Mirrors RobertaForSequenceClassification.forward in eval mode."""
    d = sd if next(iter(sd.values())).dtype == torch.float64 else {k: v.double() for k, v in sd.items()}
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"] if eps is None else eps
    pad = cfg["pad_token_id"]
    x = torch.tensor([ids], dtype=torch.long)
    m = (x != pad).long()
    pos = torch.cumsum(m, dim=1) * m + pad  # create_position_ids_from_input_ids
    if pos_from_zero:
        pos = torch.arange(len(ids)).unsqueeze(0)
    e = "roberta.embeddings."
    h = d[e + "word_embeddings.weight"][x] + d[e + "position_embeddings.weight"][pos] + \
        d[e + "token_type_embeddings.weight"][torch.zeros_like(x)]
    lnf = lambda t, n: torch.nn.functional.layer_norm(t, (H,), d[n + ".weight"], d[n + ".bias"], eps)
    lin = lambda t, n: t @ d[n + ".weight"].T + d[n + ".bias"]
    h = lnf(h, e + "LayerNorm")
    T = len(ids)
    for i in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % i
        sh = lambda t: t.view(1, T, nh, hd).permute(0, 2, 1, 3)
        q, k, v = (sh(lin(h, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)  # attention_mask of ones -> additive bias 0
        probs = torch.softmax(scores, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(1, T, H)
        h = lnf(lin(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
        a = lin(h, p + "intermediate.dense")
        a = torch.nn.functional.gelu(a) if gelu == "erf" else torch.nn.functional.gelu(a, approximate="tanh")
        h = lnf(lin(a, p + "output.dense") + h, p + "output.LayerNorm")
    c = torch.tanh(lin(h[:, 0, :], "classifier.dense"))
    return lin(c, "classifier.out_proj")[0].tolist()


def write_safetensors(path, sd, dtype="F32"):
    tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sd.items():
        t = t.to(tdt).contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if dtype != "F32" else t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    sd = collections.OrderedDict()
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", name
        b, e = h["data_offsets"]
        sd[name] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(h["shape"])
    return sd


def make_inputs(cfg, n, seed):
    g = torch.Generator().manual_seed(seed + 1)
    maxlen = cfg["max_position_embeddings"] - 2
    V = cfg["vocab_size"]
    lens = [1, 2, 3, maxlen, maxlen - 1] + [int(torch.randint(2, min(maxlen, 96) + 1, (1,), generator=g)) for _ in range(n)]
    out = []
    for L in lens:
        body = torch.randint(3, V, (max(L - 2, 0),), generator=g).tolist()
        ids = ([0] + body + [2])[:L] if L >= 2 else [0]
        out.append(ids)
    if len(out) > 6:  # a pad id inside a sequence: HF gives it position pad_id and still attends to it
        out[6] = out[6][:2] + [1] + out[6][3:]
    return out


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    g.add_argument("--size", choices=SIZES, default="tiny")
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--formats", default="safetensors,pytorch")
    g.add_argument("--inputs", type=int, default=20)
    r = sub.add_parser("ref")
    r.add_argument("model")
    r.add_argument("inputs")
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    if a.cmd == "ref":
        cfg = json.load(open(os.path.join(a.model, "config.json")))
        sd = {k: v.double() for k, v in read_safetensors(os.path.join(a.model, "model.safetensors")).items()}
        for line in open(a.inputs):
            if line.strip():
                print(json.dumps({"logits": forward(sd, cfg, json.loads(line))}))
        return

    os.makedirs(a.out, exist_ok=True)
    cfg = make_config(a.size)
    sd = make_state_dict(cfg, a.seed)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    formats = a.formats.split(",")
    if "safetensors" in formats:
        write_safetensors(os.path.join(a.out, "model.safetensors"), sd)
    if "f16" in formats:
        write_safetensors(os.path.join(a.out, "model-f16.safetensors"), sd, "F16")
    if "bf16" in formats:
        write_safetensors(os.path.join(a.out, "model-bf16.safetensors"), sd, "BF16")
    if "pytorch" in formats:
        # What an older transformers checkpoint holds besides the weights: the position_ids buffer, a pooler,
        # and (very old) gamma/beta names for LayerNorm parameters. The loader must ignore / map them.
        bsd = collections.OrderedDict()
        for k, v in sd.items():
            k2 = k
            if k.startswith("roberta.encoder.layer.0.attention.output.LayerNorm."):
                k2 = k.replace(".weight", ".gamma").replace(".bias", ".beta")
            bsd[k2] = v
        P, H = cfg["max_position_embeddings"], cfg["hidden_size"]
        bsd["roberta.embeddings.position_ids"] = torch.arange(P).unsqueeze(0)
        bsd["roberta.pooler.dense.weight"] = torch.zeros(H, H)
        bsd["roberta.pooler.dense.bias"] = torch.zeros(H)
        torch.save(bsd, os.path.join(a.out, "pytorch_model.bin"))
    inputs = make_inputs(cfg, a.inputs, a.seed)
    with open(os.path.join(a.out, "inputs.jsonl"), "w") as f:
        for ids in inputs:
            f.write(json.dumps(ids) + "\n")
    worst = {"tanh-gelu": 0.0, "eps-1e-12": 0.0, "positions-from-0": 0.0}
    sd64 = {k: v.double() for k, v in sd.items()}
    nsens = 8 if a.size == "tiny" else 2
    with open(os.path.join(a.out, "expected.jsonl"), "w") as f:
        for j, ids in enumerate(inputs):
            lg = forward(sd64, cfg, ids)
            f.write(json.dumps({"logits": lg}) + "\n")
            if j < nsens:
                for name, kw in (("tanh-gelu", dict(gelu="tanh")), ("eps-1e-12", dict(eps=1e-12)),
                                 ("positions-from-0", dict(pos_from_zero=True))):
                    d = max(abs(x - y) for x, y in zip(lg, forward(sd64, cfg, ids, **kw)))
                    worst[name] = max(worst[name], d)
    print("sensitivity (max logit change from a plausible bug): " +
          ", ".join("%s %.2e" % kv for kv in worst.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
