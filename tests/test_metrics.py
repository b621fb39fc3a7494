"""Tests of moralbench.metrics: hand-computed values, independent re-implementations, fits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from moralbench import metrics as m

EPS = 1e-12
LN2 = math.log(2)
LN_EPS = -12 * math.log(10)  # log(1e-12) = -27.631021115928547

# --- the K = 2 hand case used in several tests ---------------------------------------------
# item 0: p = (.5, .5)  tie -> pred 0; votes (2, 3) -> y = (.4, .6); target 1
# item 1: p = (.8, .2)  pred 0;        votes (4, 1) -> y = (.8, .2); target 0
# item 2: p = (1, 0)    pred 0, clip fires (0 -> 1e-12); one vote (0, 1) -> y = (0, 1); target 1
P2 = np.array([[0.5, 0.5], [0.8, 0.2], [1.0, 0.0]])
T2 = np.array([1, 0, 1])
C2 = np.array([[2, 3], [4, 1], [0, 1]])

# --- the K = 5 hand case ----------------------------------------------------------------------
# item 0: p = (.4, .4, .1, .1, 0): tie 0/1 -> pred 0, clip fires; votes (1, 2, 0, 0, 1); target 1
# item 1: p uniform: five-way tie -> pred 0; votes (5, 0, 0, 0, 0) (unanimous); target 0
P5 = np.array([[0.4, 0.4, 0.1, 0.1, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]])
T5 = np.array([1, 0])
C5 = np.array([[1, 2, 0, 0, 1], [5, 0, 0, 0, 0]])


def approx(x: float, rel: float = 1e-9, abs_: float = 1e-9):
    return pytest.approx(x, rel=rel, abs=abs_)


# ============================================================================ catalogue


def test_catalogue_keys_and_fields():
    expected = [
        "accuracy", "f1_macro", "xentropy", "xentropy_calibrated", "dirichlet", "ece",
        "ece_soft", "brier", "js_divergence", "welfare_utilitarian", "welfare_nash",
        "welfare_rawlsian", "position_consistency", "label_accuracy", "unparseable_rate",
        "misalignment_rate", "maity2024_xentropy_double_softmax", "maity2024_dirichlet_fixed_c1",
    ]  # fmt: skip
    assert list(m.METRICS) == expected
    for key, info in m.METRICS.items():
        assert info.name == key
        assert info.description and "\n" not in info.description
    lower = {k for k, i in m.METRICS.items() if i.lower_is_better}
    assert lower == {
        "xentropy", "xentropy_calibrated", "dirichlet", "ece", "ece_soft", "brier",
        "js_divergence", "unparseable_rate", "misalignment_rate",
        "maity2024_xentropy_double_softmax", "maity2024_dirichlet_fixed_c1",
    }  # fmt: skip
    with pytest.raises(AttributeError):
        m.METRICS["accuracy"].lower_is_better = True  # type: ignore[misc]


# ============================================================================ normalise / softmax


def test_normalise_clip_is_counted_and_keeps_shape():
    p, clipped = m.normalise(P2)
    assert clipped == 1
    assert p[2, 1] == approx(1e-12 / (1 + 1e-12), rel=1e-12, abs_=0)
    assert p.sum(axis=1) == pytest.approx([1, 1, 1], abs=1e-15)
    one, c1 = m.normalise([2.0, 6.0])  # unnormalised row is rescaled, 1-D stays 1-D
    assert one.shape == (2,) and one.tolist() == approx([0.25, 0.75]) and c1 == 0
    zero, cz = m.normalise([[0.0, 0.0]])  # no mass at all -> uniform, counted as clipped
    assert zero.tolist() == [[0.5, 0.5]] and cz == 1
    with pytest.raises(ValueError):
        m.normalise([[0.5, np.nan]])
    with pytest.raises(ValueError):
        m.normalise([[1.5, -0.5]])


def test_probs_from_logprobs_is_stable_softmax():
    # (1000, 1000 + ln 3) -> (1/4, 3/4) without overflow; -inf -> exactly 0
    p = m.probs_from_logprobs([[1000.0, 1000.0 + math.log(3)], [0.0, -np.inf]])
    assert p[0].tolist() == approx([0.25, 0.75])
    assert p[1].tolist() == [1.0, 0.0]
    q = m.probs_from_logprobs(np.log([0.1, 0.2, 0.7]))
    assert q.tolist() == approx([0.1, 0.2, 0.7])
    with pytest.raises(ValueError):
        m.probs_from_logprobs([[-np.inf, -np.inf]])
    with pytest.raises(ValueError):
        m.probs_from_logprobs([[np.nan, 0.0]])


# ============================================================================ per-item, K = 2


def test_item_metrics_k2_by_hand():
    # item 0 of P2: xentropy = -(.4 ln .5 + .6 ln .5) = ln 2; brier = .1^2 + .1^2 = .02
    # JS: m = (.45, .55)
    #   KL(p||m) = .5 ln(.5/.45) + .5 ln(.5/.55) = .0526802578 - .0476550899 = .0050251679
    #   KL(y||m) = .4 ln(.4/.45) + .6 ln(.6/.55) = -.0471132144 + .0522068262 = .0050936118
    #   JS = (.0050251679 + .0050936118) / 2 = .0050593899
    r = m.item_metrics([0.5, 0.5], 1, [2, 3])
    assert r["correct"] == 0.0  # tie -> lowest index 0, target 1
    assert r["xentropy"] == approx(LN2)
    assert r["brier"] == approx(0.02)
    assert r["js_divergence"] == approx(0.0050593899, rel=1e-8)
    assert r["clipped"] == 0.0
    # every voter gets 0.5 -> all welfare values are 0.5
    for key in ("welfare_utilitarian", "welfare_nash", "welfare_rawlsian"):
        assert r[key] == approx(0.5)

    # item 1: p = y -> xentropy = H(.8, .2) = .8*0.2231435513 + .2*1.6094379124 = 0.5004024235
    r = m.item_metrics([0.8, 0.2], 0, [4, 1])
    assert r["correct"] == 1.0
    assert r["xentropy"] == approx(0.5004024235, rel=1e-9)
    assert r["brier"] == approx(0.0) and r["js_divergence"] == approx(0.0)
    # welfare: 4 voters get .8, one gets .2
    # a=0: (4*.8 + .2)/5 = .68 ; a=1: (.8^4 * .2)^(1/5) = 0.08192^0.2 = 0.6062866266 ; a=inf: .2
    assert r["welfare_utilitarian"] == approx(0.68)
    assert r["welfare_nash"] == approx(0.6062866266, rel=1e-9)
    assert r["welfare_rawlsian"] == approx(0.2)

    # item 2: zero probability on the one voter's label -> clip: xentropy = -ln(1e-12) (+1e-12)
    r = m.item_metrics([1.0, 0.0], 1, [0, 1])
    assert r["clipped"] == 1.0
    assert r["xentropy"] == approx(-LN_EPS, rel=1e-12)
    assert r["brier"] == approx(2.0)  # (1-0)^2 + (0-1)^2
    assert r["js_divergence"] == approx(LN2)  # disjoint supports
    for key in ("welfare_utilitarian", "welfare_nash", "welfare_rawlsian"):
        assert r[key] == approx(1e-12, rel=1e-6, abs_=0)  # the single voter's utility

    # without counts: the target's one-hot row; -ln .8
    r = m.item_metrics([0.8, 0.2], 0, None)
    assert r["xentropy"] == approx(-math.log(0.8))
    assert r["brier"] == approx(0.08)  # .2^2 + .2^2
    assert "welfare_nash" not in r
    with pytest.raises(ValueError):
        m.item_metrics([0.8, 0.2], 2, None)


def test_welfare_exponents_by_hand():
    p = [[0.8, 0.2]]
    n = [[4, 1]]
    assert m.welfare(p, n, 0.0)[0] == approx(0.68)
    assert m.welfare(p, n, 1.0)[0] == approx(0.08192**0.2)
    assert m.welfare(p, n, math.inf)[0] == approx(0.2)
    # a = 2: harmonic mean of utilities = 5 / (4/.8 + 1/.2) = 5/10 = .5
    assert m.welfare(p, n, 2.0)[0] == approx(0.5)
    # the power mean approaches the limits continuously
    assert m.welfare(p, n, 1.0 + 1e-7)[0] == approx(0.08192**0.2, rel=1e-6)
    assert m.welfare(p, n, 200.0)[0] == approx(0.2, rel=1e-2)
    # a label nobody voted for does not enter the minimum: votes only on label 0
    assert m.welfare([[0.9, 0.1]], [[3, 0]], math.inf)[0] == approx(0.9)


def test_dirichlet_nll_by_hand():
    # alpha = 2 * (.5, .5) = (1, 1), votes (1, 1): -[lg 2 - lg 4 + 2 (lg 2 - lg 1)] = ln 6
    assert m.dirichlet_nll([[0.5, 0.5]], [[1, 1]], 2.0)[0] == approx(math.log(6))
    # votes (2, 0): -[lg 2 - lg 4 + lg 3 - lg 1] = ln 6 - ln 2 = ln 3
    assert m.dirichlet_nll([[0.5, 0.5]], [[2, 0]], 2.0)[0] == approx(math.log(3))
    # one vote: -[lg c - lg(c+1) + lg(.8c+1) - lg(.8c)] = -ln .8, whatever c
    for c in (0.01, 1.0, 1e4):
        assert m.dirichlet_nll([[0.8, 0.2]], [[1, 0]], c)[0] == approx(-math.log(0.8), rel=1e-7)
    # large c tends to the multinomial NLL without coefficient: -(3 ln .8 + ln .2)
    big = m.dirichlet_nll([[0.8, 0.2]], [[3, 1]], 1e8)[0]
    assert big == approx(-(3 * math.log(0.8) + math.log(0.2)), rel=1e-6)
    # explicit alpha entry point agrees
    assert m.dirichlet_nll_alpha([[1.0, 1.0]], [[1, 1]])[0] == approx(math.log(6))
    with pytest.raises(ValueError):
        m.dirichlet_nll([[0.5, 0.5]], [[1, 1]], 0.0)


# ============================================================================ split metrics


def test_compute_metrics_k2_by_hand():
    r = m.compute_metrics(P2, T2, C2, calibration=(P2, T2, C2), n_bootstrap=200)
    assert r["clipped_items"] == 1
    assert any("clipped" in note for note in r["notes"])
    # pred = (0, 0, 0) vs target (1, 0, 1)
    assert r["accuracy"] == approx(1 / 3)
    # class 0: TP 1, FP 2, FN 0 -> F1 = 2/4 = .5; class 1: TP 0, FN 2 -> F1 = 0; macro .25
    assert r["f1_macro"] == approx(0.25)
    # xentropy = (ln 2 + 0.5004024235 + 27.6310211159) / 3
    assert r["xentropy"] == approx((LN2 + 0.5004024235 - LN_EPS) / 3, rel=1e-9)
    # brier = (.02 + 0 + 2) / 3
    assert r["brier"] == approx(2.02 / 3)
    assert r["js_divergence"] == approx((0.0050593899 + 0 + LN2) / 3, rel=1e-8)
    # ECE: conf (.5, .8, 1) in bins 5, 8, 9; correct (0, 1, 0): (.5 + .2 + 1) / 3
    assert r["ece"] == approx(1.7 / 3)
    # soft: y of the predicted label 0 = (.4, .8, 0): (|.5-.4| + 0 + |1-0|) / 3
    assert r["ece_soft"] == approx(1.1 / 3)
    # welfare = mean over items of (0.5, item-1 value, 1e-12)
    assert r["welfare_utilitarian"] == approx((0.5 + 0.68 + 1e-12) / 3)
    assert r["welfare_nash"] == approx((0.5 + 0.08192**0.2 + 1e-12) / 3)
    assert r["welfare_rawlsian"] == approx((0.5 + 0.2 + 1e-12) / 3)
    # Dirichlet with the fitted c equals the per-item formula at that c
    c = r["dirichlet_c"]
    assert r["dirichlet"] == approx(float(np.mean(m.dirichlet_nll(P2, C2, c))))
    assert "temperature" in r and "xentropy_calibrated" in r
    assert not any("calibration split missing" in note for note in r["notes"])


def test_compute_metrics_k5_by_hand():
    r = m.compute_metrics(P5, T5, C5, n_bootstrap=100)
    assert r["clipped_items"] == 1
    assert r["accuracy"] == approx(0.5)  # pred (0, 0) vs target (1, 0)
    # class 0: TP 1 FP 1 FN 0 -> 2/3; class 1: FN 1 -> 0; classes 2-4 absent -> excluded
    assert r["f1_macro"] == approx(1 / 3)
    # item 0: y = (.25, .5, 0, 0, .25): -(.75 ln .4 + .25 ln 1e-12) = 0.6872180540 + 6.9077552790
    # item 1: -ln .2 = 1.6094379124
    assert r["xentropy"] == approx((0.75 * -math.log(0.4) - 0.25 * LN_EPS - math.log(0.2)) / 2)
    # brier item 0: .15^2 + .1^2 + .1^2 + .1^2 + .25^2 = .115; item 1: .8^2 + 4 * .2^2 = .8
    assert r["brier"] == approx((0.115 + 0.8) / 2)
    # ECE: conf (.4, .2), correct (0, 1): (.4 + .8) / 2; soft: y_pred = (.25, 1): (.15 + .8) / 2
    assert r["ece"] == approx(0.6)
    assert r["ece_soft"] == approx(0.475)
    # welfare item 0: voters on labels 0, 1, 1, 4 get .4, .4, .4, 1e-12
    #   a=0: 1.2/4 = .3 ; a=1: (.4^3 * 1e-12)^(1/4) = 5.0297e-4 ; a=inf: 1e-12 ; item 1: all .2
    assert r["welfare_utilitarian"] == approx((0.3 + 0.2) / 2)
    assert r["welfare_nash"] == approx(((0.4**3 * 1e-12) ** 0.25 + 0.2) / 2, rel=1e-9)
    assert r["welfare_rawlsian"] == approx((1e-12 + 0.2) / 2, rel=1e-9)


def test_ece_bins_merge_items():
    # .61 and .69 share bin [.6, .7): |mean conf .65 - accuracy .5| * 2/2
    assert m.ece([0.61, 0.69], [1, 0]) == approx(0.15)
    # separate bins: (|.61 - 1| + |.79 - 0|) / 2
    assert m.ece([0.61, 0.79], [1, 0]) == approx((0.39 + 0.79) / 2)
    assert m.ece([1.0], [1]) == approx(0.0)  # 1.0 falls in the last bin
    assert m.ece_soft([[0.7, 0.3]], [[7, 3]]) == approx(0.0)


def test_f1_macro_exclusion_rule():
    assert m.f1_macro([0, 0], [1, 0], 5) == approx(1 / 3)
    assert m.f1_macro([0, 1, 2], [0, 1, 2], 5) == approx(1.0)
    # class 2 is predicted but never gold: counts as F1 0 (it is present in pred)
    assert m.f1_macro([0, 2], [0, 1], 3) == approx((1 + 0 + 0) / 3)


def test_compute_metrics_without_calibration():
    r = m.compute_metrics(P2, T2, C2, n_bootstrap=50)
    assert m.CALIBRATION_MISSING in r["notes"]
    assert "calibration split missing" in m.CALIBRATION_MISSING
    for key in ("xentropy_calibrated", "dirichlet", "temperature", "dirichlet_c"):
        assert key not in r
        assert f"{key}_ci" not in r
    assert "accuracy" in r and "welfare_nash" in r


def test_compute_metrics_without_counts():
    r = m.compute_metrics(P2, T2, n_bootstrap=50)
    # one-hot targets: -(ln .5 + ln .8 + ln 1e-12) / 3
    assert r["xentropy"] == approx(-(math.log(0.5) + math.log(0.8) + LN_EPS) / 3)
    for key in ("ece_soft", "dirichlet", "welfare_utilitarian", "welfare_nash"):
        assert key not in r
    assert r["ceiling"] == {}


def test_compute_metrics_output_is_plain_json():
    r = m.compute_metrics(P5, T5, C5, calibration=(P5, T5, C5), n_bootstrap=50)
    json.dumps(r, allow_nan=False)

    def plain(v: object) -> bool:
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return type(v) in (float, int, str)

    assert plain(r)
    for key in m.METRICS:
        if key in r:
            lo, hi = r[f"{key}_ci"]
            assert lo <= hi


def test_compute_metrics_selection_and_errors():
    r = m.compute_metrics(P2, T2, C2, metrics=["accuracy", "position_consistency"],
                          n_bootstrap=20)  # fmt: skip
    assert set(r) == {"accuracy", "accuracy_ci", "ceiling", "clipped_items", "notes"}
    assert any("position_consistency" in n for n in r["notes"])
    assert set(r["ceiling"]) == {"accuracy"}
    r = m.compute_metrics(P2, T2, None, metrics=["ece_soft"], n_bootstrap=20)
    assert "ece_soft" not in r and any("ece_soft" in n for n in r["notes"])
    with pytest.raises(ValueError, match="unknown metric"):
        m.compute_metrics(P2, T2, metrics=["accuracy", "nonsense"])
    with pytest.raises(ValueError, match="no human votes"):
        m.compute_metrics(P2, T2, [[1, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError):
        m.compute_metrics(P2, [0, 1], C2)  # wrong number of targets
    with pytest.raises(ValueError):
        m.compute_metrics(P2, [0, 1, 2], C2)  # target out of range


def test_item_metrics_agree_with_compute_metrics():
    rng = np.random.default_rng(3)
    p = rng.dirichlet([1, 1, 1, 1, 1], size=40)
    c = rng.multinomial(7, [0.2] * 5, size=40)
    t = c.argmax(axis=1)
    r = m.compute_metrics(p, t, c, n_bootstrap=20)
    items = [m.item_metrics(p[i], int(t[i]), c[i]) for i in range(40)]
    for key in ("xentropy", "brier", "js_divergence", "welfare_nash", "welfare_rawlsian"):
        assert r[key] == approx(np.mean([it[key] for it in items]))
    assert r["accuracy"] == approx(np.mean([it["correct"] for it in items]))


# ============================================================================ independent check


def _plain_clip(row: list[float]) -> list[float]:
    s = sum(row)
    q = [v / s for v in row]
    if any(v < EPS for v in q):
        q = [max(v, EPS) for v in q]
        s = sum(q)
        q = [v / s for v in q]
    return q


def _plain_xentropy(probs: list[list[float]], counts: list[list[int]]) -> float:
    total = 0.0
    for row, n in zip(probs, counts, strict=True):
        q = _plain_clip(row)
        big_n = sum(n)
        for qk, nk in zip(q, n, strict=True):
            if nk:
                total -= (nk / big_n) * math.log(qk)
    return total / len(probs)


def _plain_dirichlet(probs: list[list[float]], counts: list[list[int]], c: float) -> float:
    total = 0.0
    for row, n in zip(probs, counts, strict=True):
        alpha = [c * v for v in _plain_clip(row)]
        big_a, big_n = sum(alpha), sum(n)
        ll = math.lgamma(big_a) - math.lgamma(big_a + big_n)
        for a, nk in zip(alpha, n, strict=True):
            ll += math.lgamma(a + nk) - math.lgamma(a)
        total -= ll
    return total / len(probs)


@pytest.mark.parametrize("k", [2, 5])
def test_against_plain_python(k: int):
    rng = np.random.default_rng(100 + k)
    probs = rng.dirichlet([0.7] * k, size=60)
    probs[::7, 0] = 0.0  # some exact zeros so the clip fires
    counts = rng.integers(0, 6, size=(60, k))
    counts[counts.sum(axis=1) == 0, 1] = 1
    c = float(rng.uniform(0.5, 20))
    pl, cl = probs.tolist(), counts.tolist()
    assert np.mean(m.cross_entropy(probs, m.human_distribution(counts))) == approx(
        _plain_xentropy(pl, cl)
    )
    assert np.mean(m.dirichlet_nll(probs, counts, c)) == approx(_plain_dirichlet(pl, cl, c))
    r = m.compute_metrics(probs, counts.argmax(axis=1), counts, metrics=["xentropy"],
                          n_bootstrap=10)  # fmt: skip
    assert r["xentropy"] == approx(_plain_xentropy(pl, cl))
    assert r["clipped_items"] == len(range(0, 60, 7))


# ============================================================================ fits


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sample_labels(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One label per row drawn from that row's distribution (inverse CDF)."""
    u = rng.random((len(probs), 1))
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def test_temperature_recovers_true_value():
    rng = np.random.default_rng(7)
    z = rng.normal(0, 3, size=(20000, 3))
    truth = _softmax(z / 2.0)  # labels really follow T = 2
    labels = _sample_labels(rng, truth)
    t_fit = m.fit_temperature(_softmax(z), labels)  # model reports the T = 1 (overconfident) p
    assert t_fit == pytest.approx(2.0, rel=0.08)
    # already calibrated -> T close to 1
    assert m.fit_temperature(truth, labels) == pytest.approx(1.0, abs=0.05)
    # counts and one-hot rows are accepted too
    assert m.fit_temperature(_softmax(z), np.eye(3)[labels]) == pytest.approx(t_fit)


def test_calibrated_xentropy_not_worse_on_calibration_split():
    rng = np.random.default_rng(8)
    z = rng.normal(0, 2, size=(500, 4))
    labels = _sample_labels(rng, _softmax(z / 3.0))
    p = _softmax(z)
    r = m.compute_metrics(p, labels, calibration=(p, labels, None), n_bootstrap=20,
                          calibration_is_reported_split=True)  # fmt: skip
    assert r["xentropy_calibrated"] <= r["xentropy"]
    assert r["xentropy_calibrated"] < r["xentropy"] - 0.05  # overconfident model gains a lot
    assert r["temperature"] > 1.5
    assert any("reported split" in note for note in r["notes"])
    # T = 1 reproduces the uncalibrated value exactly
    assert np.mean(m.cross_entropy(m.apply_temperature(p, 1.0), np.eye(4)[labels])) == approx(
        r["xentropy"]
    )


def test_uniform_probs_give_temperature_one():
    assert m.fit_temperature(np.full((10, 3), 1 / 3), np.arange(10) % 3) == 1.0


def test_dirichlet_concentration_recovers_c():
    rng = np.random.default_rng(11)
    c_true = 5.0
    p = rng.dirichlet([2, 2, 2], size=4000)
    theta = np.array([rng.dirichlet(c_true * q) for q in p])
    counts = np.array([rng.multinomial(10, t) for t in theta])
    c_fit = m.fit_dirichlet_concentration(p, counts)
    assert c_fit == pytest.approx(c_true, rel=0.2)
    # one-vote items only: c does not matter and 1.0 is returned
    assert m.fit_dirichlet_concentration(p[:5], np.eye(3)[[0, 1, 2, 0, 1]]) == 1.0


def test_dirichlet_prior_fit_recovers_alpha():
    rng = np.random.default_rng(12)
    alpha = np.array([0.5, 1.5, 3.0])
    counts = np.array([rng.multinomial(8, rng.dirichlet(alpha)) for _ in range(5000)])
    fit = m.fit_dirichlet_prior(counts)
    assert fit == pytest.approx(alpha, rel=0.15)


# ============================================================================ bootstrap


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    rng = np.random.default_rng(0)
    v = rng.normal(size=300)
    lo, hi = m.bootstrap_mean_ci(v, seed=5)
    assert lo < v.mean() < hi
    assert m.bootstrap_mean_ci(v, seed=5) == (lo, hi)
    assert m.bootstrap_mean_ci(v, seed=6) != (lo, hi)
    # generic path with the same seed sees the same resamples -> identical interval
    assert m.bootstrap_ci(lambda idx: float(v[idx].mean()), v.size, seed=5) == approx((lo, hi))
    # a 95% normal-theory interval is about +-1.96 sd/sqrt(n)
    half = 1.96 * v.std() / math.sqrt(v.size)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.15)


def test_bootstrap_ci_shrinks_with_more_items():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 2, size=100).astype(float)
    large = rng.integers(0, 2, size=10000).astype(float)
    w_small = np.diff(m.bootstrap_mean_ci(small))[0]
    w_large = np.diff(m.bootstrap_mean_ci(large))[0]
    assert w_large < w_small / 5  # about sqrt(100) times narrower


def test_vectorised_ratio_cis_match_generic_bootstrap():
    rng = np.random.default_rng(2)
    p = rng.dirichlet([1, 1, 1], size=150)
    t = rng.integers(0, 3, size=150)
    r = m.compute_metrics(p, t, metrics=["f1_macro", "ece"], seed=4, n_bootstrap=300)
    pred = p.argmax(axis=1)
    conf = p.max(axis=1)
    correct = (pred == t).astype(float)
    f1_ci = m.bootstrap_ci(lambda i: m.f1_macro(pred[i], t[i], 3), 150, seed=4, n_resamples=300)
    ece_ci = m.bootstrap_ci(lambda i: m.ece(conf[i], correct[i]), 150, seed=4, n_resamples=300)
    assert r["f1_macro_ci"] == approx(list(f1_ci), rel=1e-12)
    assert r["ece_ci"] == approx(list(ece_ci), rel=1e-12)
    assert r["f1_macro_ci"][0] <= r["f1_macro"] <= r["f1_macro_ci"][1]


def test_bootstrap_mean_fast_path_equals_the_generic_bootstrap():
    # Speed is measured in benchmarks/, not here; the fast path must give the same interval.
    v = np.random.default_rng(3).random(300)
    fast = m.bootstrap_mean_ci(v, seed=5, n_resamples=400)
    generic = m.bootstrap_ci(lambda idx: float(v[idx].mean()), v.size, seed=5, n_resamples=400)
    assert fast[0] < fast[1]
    assert fast[0] == approx(generic[0], rel=1e-12)
    assert fast[1] == approx(generic[1], rel=1e-12)


def test_paired_bootstrap():
    rng = np.random.default_rng(4)
    base = rng.normal(size=400)
    better = base + 0.3 + rng.normal(0, 0.1, size=400)
    assert m.paired_bootstrap(better, base) < 0.01
    assert m.paired_bootstrap(base, base) == 1.0
    noise = base + rng.normal(0, 1, size=400)
    p = m.paired_bootstrap(noise, base, seed=1)
    assert p == m.paired_bootstrap(base, noise, seed=1)  # symmetric in the two systems
    assert 0.0 <= p <= 1.0
    # identical systems up to a tiny constant shift in favour of a: p = 0 (sign never flips)
    assert m.paired_bootstrap(base + 1e-3, base) == 0.0


# ============================================================================ human ceiling


def test_ceiling_unanimous_items_is_near_perfect():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 5, size=300)
    counts = np.zeros((300, 5), dtype=int)
    counts[np.arange(300), labels] = 5
    ceil = m.human_ceiling(counts, labels, seed=0)
    assert set(ceil) == set(m.CEILING_METRICS)
    assert ceil["accuracy"] > 0.98
    assert ceil["f1_macro"] > 0.98
    assert ceil["xentropy"] < 0.05
    assert ceil["welfare_utilitarian"] > 0.95


def test_ceiling_bounds_and_determinism():
    rng = np.random.default_rng(6)
    counts = np.array(
        [rng.multinomial(rng.integers(1, 9), rng.dirichlet([1, 1])) for _ in range(500)]
    )
    ceil = m.human_ceiling(counts, seed=3, n_draws=50)
    assert ceil == m.human_ceiling(counts, seed=3, n_draws=50)
    # for every draw theta, CE(y, theta) >= H(y): the ceiling cannot beat the vote entropy
    y = counts / counts.sum(axis=1, keepdims=True)
    entropy = float(np.mean(-np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0), 1)))
    assert ceil["xentropy"] >= entropy
    assert 0.5 <= ceil["accuracy"] <= 1.0
    assert 0 <= ceil["js_divergence"] <= LN2
    r = m.compute_metrics(rng.dirichlet([1, 1], size=500), counts.argmax(axis=1), counts,
                          n_bootstrap=20, seed=3)  # fmt: skip
    assert r["ceiling"]["xentropy"] == approx(m.human_ceiling(counts, seed=3)["xentropy"])


def test_ceiling_posterior_draws_are_stable_for_tiny_parameters():
    from moralbench.metrics.ceiling import _sample_log_dirichlet

    rng = np.random.default_rng(0)
    shape = np.array([[1e-6, 1e-6, 3.0], [0.5, 0.5, 0.5], [40.0, 10.0, 50.0]])
    log_theta = _sample_log_dirichlet(rng, shape, 20000)
    theta = np.exp(log_theta)
    assert np.all(np.isfinite(log_theta))
    assert theta.mean(axis=0) == pytest.approx(shape / shape.sum(1, keepdims=True), abs=0.01)
