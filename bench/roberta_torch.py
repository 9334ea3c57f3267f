#!/usr/bin/python3
"""PyTorch baseline for bench_roberta.sh: RobertaForSequenceClassification as transformers runs it (the same
ops: nn.Linear, additive -10000 attention mask over padded batches, exact GELU, post-LN), on a model directory
written by tests/reference/roberta_ref.py. Transformers itself is not in Debian, so the module is spelled out.

  roberta_torch.py DIR LENS_FILE --batch N [--order input|sorted] [--quantize none|int8] [--threads T] [--reps R]
  roberta_torch.py DIR IDS_FILE --agree     fp32 vs quantize_dynamic int8 label agreement (same metric as
                                            bench_roberta agree), IDS_FILE from `bench_roberta ids`

Prints one JSON line like bench_roberta speed: comments/s over batches of N comments padded to the longest.
"""
import argparse, json, math, os, resource, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    sd = {}
    for name, h in header.items():
        if name != "__metadata__":
            b, e = h["data_offsets"]
            sd[name] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(h["shape"])
    return sd


class Layer(nn.Module):
    def __init__(s, H, I, nh, eps):
        super().__init__()
        s.nh, s.hd, s.eps = nh, H // nh, eps
        s.query, s.key, s.value, s.ao = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        s.ln1, s.inter, s.out, s.ln2 = nn.LayerNorm(H, eps), nn.Linear(H, I), nn.Linear(I, H), nn.LayerNorm(H, eps)

    def forward(s, h, bias):
        B, T, H = h.shape
        sh = lambda t: t.view(B, T, s.nh, s.hd).permute(0, 2, 1, 3)
        q, k, v = sh(s.query(h)), sh(s.key(h)), sh(s.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(s.hd) + bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, H)
        h = s.ln1(s.ao(ctx) + h)
        return s.ln2(s.out(F.gelu(s.inter(h))) + h)


class Roberta(nn.Module):
    def __init__(s, cfg):
        super().__init__()
        H, I = cfg["hidden_size"], cfg["intermediate_size"]
        s.pad = cfg["pad_token_id"]
        s.word = nn.Embedding(cfg["vocab_size"], H)
        s.pos = nn.Embedding(cfg["max_position_embeddings"], H)
        s.tt = nn.Embedding(1, H)
        s.ln = nn.LayerNorm(H, cfg["layer_norm_eps"])
        s.layers = nn.ModuleList(Layer(H, I, cfg["num_attention_heads"], cfg["layer_norm_eps"])
                                 for _ in range(cfg["num_hidden_layers"]))
        s.dense, s.out_proj = nn.Linear(H, H), nn.Linear(H, 3)

    def load(s, sd):
        m = {"word.weight": "roberta.embeddings.word_embeddings.weight",
             "pos.weight": "roberta.embeddings.position_embeddings.weight",
             "tt.weight": "roberta.embeddings.token_type_embeddings.weight",
             "ln.weight": "roberta.embeddings.LayerNorm.weight", "ln.bias": "roberta.embeddings.LayerNorm.bias",
             "dense.weight": "classifier.dense.weight", "dense.bias": "classifier.dense.bias",
             "out_proj.weight": "classifier.out_proj.weight", "out_proj.bias": "classifier.out_proj.bias"}
        names = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
                 "ao": "attention.output.dense", "ln1": "attention.output.LayerNorm", "inter": "intermediate.dense",
                 "out": "output.dense", "ln2": "output.LayerNorm"}
        for i in range(len(s.layers)):
            for a, b in names.items():
                for w in ("weight", "bias"):
                    m["layers.%d.%s.%s" % (i, a, w)] = "roberta.encoder.layer.%d.%s.%s" % (i, b, w)
        s.load_state_dict({k: sd[v] for k, v in m.items()})

    def forward(s, ids, mask):
        pos = torch.cumsum(mask, dim=1) * mask + s.pad
        h = s.ln(s.word(ids) + s.pos(pos) + s.tt(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in s.layers:
            h = layer(h, bias)
        return s.out_proj(torch.tanh(s.dense(h[:, 0, :])))


def run_all(model, seqs, pad, batch=32):
    out = []
    with torch.inference_mode():
        for i in range(0, len(seqs), batch):
            group = seqs[i:i + batch]
            T = max(len(x) for x in group)
            ids = torch.full((len(group), T), pad, dtype=torch.long)
            mask = torch.zeros((len(group), T), dtype=torch.long)
            for j, x in enumerate(group):
                ids[j, :len(x)] = torch.tensor(x)
                mask[j, :len(x)] = 1
            out += model(ids, mask).tolist()
    return out


def agree(a):
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    model = Roberta(cfg)
    model.load(read_safetensors(os.path.join(a.dir, "model.safetensors")))
    model.eval()
    seqs = [json.loads(l) for l in open(a.lens) if l.strip()]
    A = run_all(model, seqs, cfg["pad_token_id"])
    B = run_all(torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), seqs, cfg["pad_token_id"])
    n = len(A)
    mu = [sum(x[k] for x in A) / n for k in range(3)]
    am = lambda v, c: max(range(3), key=lambda k: v[k] - c[k])
    same = sum(am(x, [0] * 3) == am(y, [0] * 3) for x, y in zip(A, B))
    same2 = sum(am(x, mu) == am(y, mu) for x, y in zip(A, B))
    drift = [abs(p - q) for x, y in zip(A, B) for p, q in zip(x, y)]
    print(json.dumps({"impl": "pytorch quantize_dynamic", "comments": n, "label_agreement": round(same / n, 4),
                      "recentred_label_agreement": round(same2 / n, 4), "max_logit_drift": round(max(drift), 4),
                      "mean_logit_drift": round(sum(drift) / len(drift), 4)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("lens")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--order", default="input")
    ap.add_argument("--quantize", default="none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--agree", action="store_true")
    a = ap.parse_args()
    if a.agree:
        return agree(a)
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    t0 = time.time()
    model = Roberta(cfg)
    model.load(read_safetensors(os.path.join(a.dir, "model.safetensors")))
    model.eval()
    if a.quantize == "int8":
        model = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    load_s = time.time() - t0
    lens = [int(x) for x in open(a.lens).read().split()]
    if a.order == "sorted":
        lens.sort()
    g = torch.Generator().manual_seed(1)
    seqs = [[0] + torch.randint(3, cfg["vocab_size"], (L - 2,), generator=g).tolist() + [2] for L in lens]
    best = 1e30
    with torch.inference_mode():
        for _ in range(a.reps):
            t1 = time.time()
            for i in range(0, len(seqs), a.batch):
                group = seqs[i:i + a.batch]
                T = max(len(x) for x in group)
                ids = torch.full((len(group), T), cfg["pad_token_id"], dtype=torch.long)
                mask = torch.zeros((len(group), T), dtype=torch.long)
                for j, x in enumerate(group):
                    ids[j, :len(x)] = torch.tensor(x)
                    mask[j, :len(x)] = 1
                model(ids, mask)
            best = min(best, time.time() - t1)
    print(json.dumps({"impl": "pytorch " + torch.__version__, "quantize": a.quantize, "batch": a.batch,
                      "threads": a.threads, "order": a.order, "comments": len(lens), "tokens": sum(lens),
                      "seconds": round(best, 3), "comments_per_s": round(len(lens) / best, 2),
                      "load_s": round(load_s, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
