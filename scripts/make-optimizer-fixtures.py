#!/usr/bin/env python3
"""Reference trajectories of torch.optim.SGD, written to test/fixtures/optimizers/sgd.json.

    /usr/bin/python3 scripts/make-optimizer-fixtures.py

Needs PyTorch (Debian: python3-torch). The problem is test/engine/optim.test.ts's quadratic,
loss = sum(c * (w - target)^2), in float32; each case runs torch.optim.SGD (with
torch.nn.utils.clip_grad_norm_ when max_grad_norm is set) and records w after every step.
"""
import json
import os

import torch

TARGET = [1.0, -2.0, 0.5, 3.0]
C = [1.0, 0.5, 2.0, 0.1]
W0 = [0.3, 0.2, -0.4, 1.0]
STEPS = 5

CASES = [
    {"name": "plain", "lr": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0, "max_grad_norm": None},
    {"name": "decay", "lr": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.05, "max_grad_norm": None},
    {"name": "momentum+decay", "lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.05, "max_grad_norm": None},
    {"name": "nesterov", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0, "max_grad_norm": None},
    {"name": "nesterov+decay+clip", "lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "max_grad_norm": 1.0},
]


def run(case):
    w = torch.tensor(W0, dtype=torch.float32, requires_grad=True)
    target = torch.tensor(TARGET, dtype=torch.float32)
    c = torch.tensor(C, dtype=torch.float32)
    opt = torch.optim.SGD([w], lr=case["lr"], momentum=case["momentum"], nesterov=case["nesterov"], weight_decay=case["weight_decay"])
    trajectory = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = (c * (w - target) ** 2).sum()
        loss.backward()
        if case["max_grad_norm"] is not None:
            torch.nn.utils.clip_grad_norm_([w], case["max_grad_norm"])
        opt.step()
        trajectory.append([float(x) for x in w.detach()])
    return trajectory


def main():
    out = {
        "source": f"torch.optim.SGD, torch {torch.__version__}",
        "target": TARGET,
        "c": C,
        "w0": W0,
        "cases": [{**case, "trajectory": run(case)} for case in CASES],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "optimizers", "sgd.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
