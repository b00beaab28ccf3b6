"""Attention with dropout on CPU: torch's fused kernel (Bernoulli mask) against ``masked_attention``.

``spcl_diag.models.encoders.masked_attention`` writes the attention product out in training on CPU
so that its dropout mask is drawn as ``uniform >= p`` like the encoders' other masks. This times a
forward and backward pass of both at the shape of an IEMOCAP text batch (16 dialogues, 6 heads of
128 dimensions, 60 utterances, half the dialogues padded after 40), alternating the two, and prints
the median milliseconds of each.

    python benchmarks/attention_dropout.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from spcl_diag.models.encoders import masked_attention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=6, help="alternating rounds (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="forward+backward passes per round (default: %(default)s)")
    parser.add_argument("--dropout", type=float, default=0.5, help="attention dropout p (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    q, k, v = (torch.randn(16, 6, 60, 128, requires_grad=True) for _ in range(3))
    keys_real = torch.ones(16, 1, 1, 60, dtype=torch.bool)
    keys_real[::2, ..., 40:] = False
    variants = {
        "fused_bernoulli": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=keys_real, dropout_p=args.dropout),
        "masked_attention": lambda: masked_attention(q, k, v, keys_real, args.dropout, True),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm-up
        fn().sum().backward()
    for _ in range(args.repeats):
        for name, fn in variants.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                fn().sum().backward()
            times[name].append((time.perf_counter() - started) / args.steps * 1e3)
    print(json.dumps({name: round(statistics.median(t), 2) for name, t in times.items()} | {"threads": args.threads}))


if __name__ == "__main__":
    main()
