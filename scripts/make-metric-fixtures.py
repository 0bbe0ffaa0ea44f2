#!/usr/bin/env python3
"""Reference values for lethe's evaluation statistics, written to test/fixtures/metrics/.

    python3 scripts/make-metric-fixtures.py

Needs SciPy, scikit-learn, NumPy and NLTK (Debian: python3-scipy python3-sklearn python3-nltk).
If the first python3 lacks them, the script re-runs itself under one that has them.

- ks.json: scipy.stats.ks_2samp(x, y) (default method 'auto') on literal samples and on
  generated ones (see `generate`, which test/eval/stats/ks-test.test.ts mirrors bit for bit),
  covering ties, unequal sizes 3..400, identical samples, the exact regime (max n <= 10000)
  and the asymptotic one; plus scipy.stats.kstwo.sf(x, n) over every branch of its method choice.
- roc-auc.json: sklearn.metrics.roc_auc_score on cases with tied scores.
- porter-stems.json: nltk PorterStemmer() (the stemmer rouge_score uses) on a word list.
"""
import json
import os
import shutil
import subprocess
import sys
import warnings

NEEDED = "import scipy, sklearn, numpy, nltk"


def ensure_interpreter():
    try:
        exec(NEEDED)
        return
    except ImportError:
        pass
    for candidate in ("python3", "/usr/bin/python3"):
        path = shutil.which(candidate)
        if path is None or os.path.realpath(path) == os.path.realpath(sys.executable):
            continue
        if subprocess.run([path, "-c", NEEDED], capture_output=True).returncode == 0:
            os.execv(path, [path, *sys.argv])
    sys.exit("make-metric-fixtures: needs scipy, scikit-learn, numpy and nltk in python3")


ensure_interpreter()

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from nltk.stem import porter  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "metrics")
PHI = 0.6180339887498949


def generate(spec):
    """Deterministic sample: offset + scale * u**power, u = frac((i + seed) * PHI), optionally
    floored to multiples of 1/quantum (to make ties). Only IEEE *, %, +, floor: JS gets the same bits."""
    out = []
    for i in range(spec["n"]):
        u = ((i + spec["seed"]) * PHI) % 1.0
        if spec.get("power", 1) == 2:
            u = u * u
        v = spec["offset"] + spec["scale"] * u
        if "quantum" in spec:
            v = np.floor(v * spec["quantum"]) / spec["quantum"]
        out.append(float(v))
    return out


def ks_cases():
    rng = np.random.default_rng(20240601)
    cases = []

    def add(name, x, y, literal=True, xs=None, ys=None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.ks_2samp(x, y)
        switched = any("Switching to method=asymp" in str(w.message) for w in caught)
        exact = max(len(x), len(y)) <= 10000 and not switched
        case = {"name": name, "statistic": float(res.statistic), "pValue": float(res.pvalue),
                "method": "exact" if exact else "asymp"}
        if literal:
            case["x"], case["y"] = [float(v) for v in x], [float(v) for v in y]
        else:
            case["xSpec"], case["ySpec"] = xs, ys
        cases.append(case)

    # Literal samples: small and awkward sizes, ties, identical samples, separated samples.
    for n1, n2, shift in [(3, 3, 0.0), (3, 5, 0.5), (4, 7, 1.0), (5, 5, 3.0), (6, 9, 0.3),
                          (10, 10, 0.8), (8, 12, 0.2), (13, 17, 1.5), (20, 30, 0.5), (25, 25, 0.0),
                          (40, 40, 0.6), (40, 43, 0.4), (3, 40, 1.0), (7, 50, -0.7)]:
        x = np.round(rng.normal(0, 1, n1), 6)
        y = np.round(rng.normal(shift, 1, n2), 6)
        add(f"normal {n1} vs {n2}, shift {shift}", x, y)
    for n1, n2 in [(10, 12), (30, 30), (45, 40), (6, 6)]:
        x = rng.integers(0, 5, n1).astype(float)
        y = rng.integers(1, 6, n2).astype(float)
        add(f"integer ties {n1} vs {n2}", x, y)
    same = np.round(rng.exponential(1, 30), 4)
    add("identical samples of 30", same, same.copy())
    add("identical constant samples", [0.5] * 4, [0.5] * 9)
    add("fully separated 4 vs 6", [1, 2, 3, 4], [10, 11, 12, 13, 14, 15])
    add("fully separated 40 vs 40", np.arange(40) / 40, 5 + np.arange(40) / 40)
    add("one element each, different", [1.0], [2.0])
    add("one vs many", [0.3], list(np.round(rng.uniform(0, 1, 9), 5)))

    # Generated samples, exact regime: TOFU-like sizes up to 400 and larger ones up to 10000.
    def gen(name, xs, ys):
        add(name, generate(xs), generate(ys), literal=False, xs=xs, ys=ys)

    g = lambda n, seed, offset=0.0, scale=1.0, **kw: {"n": n, "seed": seed, "offset": offset, "scale": scale, **kw}
    gen("generated 400 vs 400, same law", g(400, 1), g(400, 7))
    gen("generated 400 vs 400, shifted", g(400, 1), g(400, 7, 0.15))
    gen("generated 400 vs 400, separated (tiny p)", g(400, 1), g(400, 7, 2.0))
    gen("generated 400 vs 397, skewed", g(400, 3, power=2), g(397, 11))
    gen("generated 400 vs 397, separated (tiny p)", g(400, 3), g(397, 11, 1.5))
    gen("generated 300 vs 200, ties", g(300, 2, quantum=20), g(200, 5, 0.05, quantum=20))
    gen("generated 150 vs 350, shifted", g(150, 4), g(350, 9, 0.1))
    gen("generated 37 vs 400, shifted", g(37, 4), g(400, 9, 0.3))
    gen("generated 2000 vs 3001, shifted", g(2000, 2), g(3001, 6, 0.02))
    gen("generated 10000 vs 9999, same law", g(10000, 1), g(9999, 13))

    # Asymptotic regime (max n > 10000): n_eff = round(n1 n2 / (n1 + n2)) spans every branch.
    gen("asymp 10001 vs 3", g(10001, 1), g(3, 5, 0.1, 0.5))
    gen("asymp 10001 vs 20", g(10001, 1), g(20, 5, 0.2))
    gen("asymp 10001 vs 20, separated", g(10001, 1), g(20, 5, 0.7))
    gen("asymp 12000 vs 100, same law", g(12000, 1), g(100, 5))
    gen("asymp 12000 vs 100, shifted", g(12000, 1), g(100, 5, 0.25))
    gen("asymp 10001 vs 141", g(10001, 2), g(141, 3, 0.05))
    gen("asymp 10001 vs 10001, same law", g(10001, 1), g(10001, 4))
    gen("asymp 10001 vs 10001, shifted", g(10001, 1), g(10001, 4, 0.02))
    gen("asymp 20000 vs 1000, small shift", g(20000, 1), g(1000, 4, 0.01))
    gen("asymp 20000 vs 1000, shifted", g(20000, 1), g(1000, 4, 0.06))
    gen("asymp 20000 vs 1000, separated", g(20000, 1), g(1000, 4, 0.9))
    gen("asymp 15000 vs 15000, ties", g(15000, 1, quantum=50), g(15000, 2, 0.01, quantum=50))
    return cases


def kstwo_cases():
    cases = []
    for n in [1, 2, 3, 5, 10, 50, 140, 141, 500, 1000, 5000, 20000, 100001]:
        for x in [0.3 / n, 0.5 / n, 0.8 / n, 1.0 / n, 1.5 / n, 0.3 / np.sqrt(n), 0.7 / np.sqrt(n),
                  0.86 / np.sqrt(n), 1.2 / np.sqrt(n), 1.45 / np.sqrt(n), 1.6 / np.sqrt(n),
                  1.95 / np.sqrt(n), 2.5 / np.sqrt(n), 5.0 / np.sqrt(n), 0.2, 0.45, 0.5, 0.7,
                  1 - 1.5 / n, 0.999]:
            x = float(x)
            if 0 < x < 1:
                cases.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return cases


def roc_cases():
    rng = np.random.default_rng(7)
    cases = []

    def add(name, labels, scores):
        cases.append({"name": name, "labels": [int(v) for v in labels],
                      "scores": [float(v) for v in scores],
                      "auc": float(roc_auc_score(labels, scores))})

    add("no ties", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    add("all tied", [0, 1, 0, 1, 1], [2.0] * 5)
    add("ties across classes", [1, 0, 1, 0, 1, 0], [1, 1, 2, 2, 3, 0])
    add("perfect", [0, 0, 0, 1, 1], [1, 2, 3, 4, 5])
    add("inverted", [1, 1, 0, 0], [1, 2, 3, 4])
    for n, levels in [(50, 5), (200, 10), (333, 3), (1000, 40)]:
        labels = rng.integers(0, 2, n)
        scores = rng.integers(0, levels, n) + 0.5 * labels * rng.integers(0, 2, n)
        add(f"{n} items, {levels} score levels", labels, scores)
    labels = np.array([0] * 60 + [1] * 40)
    add("unbalanced, continuous", labels, rng.normal(0, 1, 100) + 0.7 * labels)
    return cases


def stem_words():
    words = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated
    troubled sized hopping tanned falling hissing fizzed failing filing happy sky relational
    conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli
    analogousli vietnamization predication operator feudalism decisiveness hopefulness
    callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti
    electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable
    defensible irritant replacement adjustment dependent adoption homologou communism activate
    angulariti homologous effective bowdlerize probate rate cease controll roll generously
    skies dying lying tying news innings inning outings outing cannings canning howe proceed
    exceed succeed dies died spied flies cries owed awed say cry days always ages aging died
    carefully beautifully biology geology theology archaeology additionally formally
    generalization conformably sensibility enjoy enjoyment authors author's wrote writing
    novels novelist published publishing awards awarded fantasy literary literature born
    parents father mother occupation genre themes characters inspiration influences critics
    acclaimed acclaim international recognition translated languages readers identity""".split()
    rng = np.random.default_rng(3)
    suffixes = ("s es ies ied ed ing eed ly ally ational tional enci anci izer bli abli alli "
                "entli eli ousli ization ation ator alism iveness fulness ousness aliti iviti "
                "biliti fulli logi icate ative alize iciti ical ful ness al ance ence er ic able "
                "ible ant ement ment ent sion tion ou ism ate iti ous ive ize e ll y sses ss").split()
    letters, vowels = "abcdefghijklmnopqrstuvwxyz", "aeiouy"
    synthetic = set()
    while len(synthetic) < 2500:
        w = "".join(rng.choice(list(vowels if rng.random() < 0.4 else letters))
                    for _ in range(rng.integers(1, 7)))
        for _ in range(rng.integers(1, 3)):
            w += suffixes[rng.integers(0, len(suffixes))]
        synthetic.add(w)
    stemmer = porter.PorterStemmer()
    all_words = sorted(set(w.replace("'", "") for w in words) | synthetic)
    return {w: stemmer.stem(w) for w in all_words}


def write(name, payload):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(payload, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


def main():
    import nltk
    os.makedirs(OUT, exist_ok=True)
    versions = {"scipy": scipy.__version__, "sklearn": sklearn.__version__,
                "numpy": np.__version__, "nltk": nltk.__version__}
    write("ks.json", {"versions": versions, "phi": PHI, "cases": ks_cases(), "kstwo": kstwo_cases()})
    write("roc-auc.json", {"versions": versions, "cases": roc_cases()})
    write("porter-stems.json", {"versions": versions, "stems": stem_words()})


if __name__ == "__main__":
    main()
