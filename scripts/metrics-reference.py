"""Reference values for spec/runtime/metrics.test.ts, computed with numpy only (no scipy or
sklearn here), following scikit-learn / scipy definitions. Run:
    /usr/bin/python3 scripts/metrics-reference.py > spec/runtime/fixtures/metrics-reference.json
CI never runs this; the JSON it printed is committed."""
import json
import numpy as np

rng = np.random.default_rng(20250301)


def rankdata(a):
    # scipy.stats.rankdata(method='average')
    a = np.asarray(a, dtype=np.float64)
    order = np.argsort(a, kind='mergesort')
    ranks = np.empty(len(a))
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and a[order[j + 1]] == a[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def f1(pred, lab, c):
    tp = np.sum((pred == c) & (lab == c)); fp = np.sum((pred == c) & (lab != c)); fn = np.sum((pred != c) & (lab == c))
    d = 2 * tp + fp + fn
    return 0.0 if d == 0 else 2 * tp / d


def mcc(pred, lab):
    # sklearn.metrics.matthews_corrcoef
    classes = np.unique(np.concatenate([pred, lab]))
    C = np.array([[np.sum((lab == a) & (pred == b)) for b in classes] for a in classes], dtype=np.float64)
    t = C.sum(axis=1); p = C.sum(axis=0); c = np.trace(C); s = C.sum()
    cov_ytyp = c * s - np.dot(t, p); cov_ypyp = s * s - np.dot(p, p); cov_ytyt = s * s - np.dot(t, t)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp)


cases = []
for k, n in [(2, 50), (2, 7), (3, 40), (5, 100)]:
    lab = rng.integers(0, k, n); pred = np.where(rng.random(n) < 0.6, lab, rng.integers(0, k, n))
    classes = np.unique(np.concatenate([pred, lab]))
    cases.append({
        'kind': 'classify', 'predictions': pred.tolist(), 'labels': lab.tolist(),
        'accuracy': float(np.mean(pred == lab)),
        'f1Binary': float(f1(pred, lab, 1)),
        'f1Macro': float(np.mean([f1(pred, lab, c) for c in classes])),
        'matthews': float(mcc(pred, lab)),
    })
for n, ties in [(30, False), (25, True)]:
    x = rng.normal(size=n); y = 0.5 * x + rng.normal(size=n)
    if ties:
        x = np.round(x, 0); y = np.round(y * 2) / 2
    x = [float(v) for v in x]; y = [float(v) for v in y]
    cases.append({
        'kind': 'regress', 'x': x, 'y': y,
        'pearson': float(np.corrcoef(x, y)[0, 1]),
        'spearman': float(np.corrcoef(rankdata(x), rankdata(y))[0, 1]),
    })
print(json.dumps(cases, indent=1))
