"""The trainer on the tiny profile: schedule, learning, exact resume, NaN stop, checkpoints, supernet, DDP, CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch

from vlt_mini.cli import main as cli_main
from vlt_mini.data import open_dataset
from vlt_mini.io import load_checkpoint
from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.models.vlt import count_vlt_macs, load_vlt_checkpoint
from vlt_mini.training import (CandidateBudget, PairSource, Trainer, TrainConfig, TrainingDiverged, TrainingSetup,
                               make_pair_loader, siamcar_learning_rate)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sources(tiny_mini_lasot):
    return [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))]


@pytest.fixture(scope="module")
def encoder():
    from vlt_mini.models.text_encoder import TextEncoder

    return TextEncoder()


def _trainer(kind, sources, out, encoder, samples_per_epoch=32, **train_overrides):
    """A tiny-profile trainer; with ``batch_size=4, samples_per_epoch=16`` it runs 8 iterations at half the cost."""
    setup = TrainingSetup.for_profile("tiny")
    train = dataclasses.replace(setup.train, **train_overrides)
    pairs = dataclasses.replace(setup.pairs, samples_per_epoch=samples_per_epoch)
    return Trainer(kind, setup.model, train, pairs, sources, out, device="cpu", progress=False, text_encoder=encoder)


def test_learning_rate_schedule_warms_up_then_decays_log_linearly():
    config = TrainConfig(epochs=20, warmup_epochs=5)
    lrs = [siamcar_learning_rate(i, 10, config) for i in range(200)]
    assert lrs[0] == pytest.approx(0.001) and lrs[50] == pytest.approx(0.005) and lrs[-1] == pytest.approx(0.0005)
    assert all(a < b for a, b in zip(lrs[:50], lrs[1:51])) and all(a > b for a, b in zip(lrs[50:], lrs[51:]))
    assert lrs[25] == pytest.approx((0.001 * 0.005) ** 0.5)  # geometric warm-up
    middle = 50 + (199 - 50) / 2  # log decay: the geometric mean half-way
    assert siamcar_learning_rate(int(middle), 10, config) == pytest.approx((0.005 * 0.0005) ** 0.5, rel=0.03)


def test_loss_falls_when_overfitting_one_batch(sources, tmp_path, encoder):
    # SiamCAR's -log IoU: from the initial boxes (ltrb = exp(0) = 1 px) 1 − CIoU falls much more slowly in 20 steps
    log_iou = dataclasses.replace(TrainConfig.for_profile("tiny").loss, box_loss="log_iou")
    trainer = _trainer("vlt", sources, tmp_path, encoder, warmup_epochs=0.0, base_lr=0.01, end_lr=0.01, loss=log_iou)
    batch = next(iter(make_pair_loader(trainer.dataset, 4, 1)))
    losses = [trainer.train_step(batch, 0)["total"] for _ in range(20)]
    first, last = sum(losses[:3]) / 3, sum(losses[-4:]) / 4
    assert last < 0.6 * first, losses


def _state_tensors(checkpoint):
    tensors = dict(checkpoint["model"])
    for key, state in checkpoint["optimizer"]["state"].items():
        tensors.update({f"optimizer.{key}.{name}": value for name, value in state.items()})
    return tensors


def test_interrupted_and_resumed_run_ends_with_identical_weights(sources, tmp_path, encoder):
    small = dict(batch_size=4, samples_per_epoch=12, optimizer="sgd")  # 3 iterations per epoch, 6 in all; SiamCAR's SGD
    _trainer("vlt", sources, tmp_path / "straight", encoder, **small).train()

    class Interrupt(Exception):
        pass

    def crash_after_five(trainer, record):
        if record["iteration"] == 5:
            raise Interrupt()

    interrupted = _trainer("vlt", sources, tmp_path / "resumed", encoder, checkpoint_every=2, **small)
    with pytest.raises(Interrupt):
        interrupted.train(callbacks=[crash_after_five])  # iteration 5 is lost: checkpoints at 2, 3 (epoch end), 4
    resumed = _trainer("vlt", sources, tmp_path / "resumed", encoder, checkpoint_every=2, **small)
    assert resumed.resume() and resumed.iteration == 4
    resumed.train()

    straight = load_checkpoint(tmp_path / "straight" / "checkpoint_last.pt")
    again = load_checkpoint(tmp_path / "resumed" / "checkpoint_last.pt")
    a, b = _state_tensors(straight), _state_tensors(again)
    assert a.keys() == b.keys() and len(a) > 100
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    log = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in log] == list(range(1, 7))  # the redone iteration is logged once
    assert [row["total"] for row in log] == [json.loads(line)["total"] for line in
                                             (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]


def test_resume_refuses_other_settings(sources, tmp_path, encoder):
    _trainer("siamcar", sources, tmp_path, encoder).train(stop_after=1)
    with pytest.raises(ValueError, match=r"different settings \(train\.base_lr: 0\.01 -> 0\.02"):
        _trainer("siamcar", sources, tmp_path, encoder, base_lr=0.02).resume()


def test_nan_loss_stops_with_a_clear_message_and_no_checkpoint(sources, tmp_path, encoder):
    trainer = _trainer("vlt", sources, tmp_path, encoder)
    with torch.no_grad():
        trainer.model.head.car.cls_logits.bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"iteration 0 .*cls"):
        trainer.train()
    assert not (tmp_path / "checkpoint_last.pt").exists()


def test_checkpoints_load_for_tracking(sources, tmp_path, encoder):
    from vlt_mini.tracking.tracker import VLTTracker

    summary = _trainer("vlt", sources, tmp_path, encoder, batch_size=4, samples_per_epoch=16).train()
    assert summary["finished"] and (tmp_path / "loss_curves.png").stat().st_size > 1000
    model, data = load_vlt_checkpoint(tmp_path / "model_final.pt")
    assert data["kind"] == "vlt" and data["text_model"] == "minilm" and model.candidate == VLT_SCAR_CANDIDATE
    last = load_checkpoint(tmp_path / "checkpoint_last.pt")  # weights_only
    weights = model.state_dict()
    assert last["iteration"] == 8 and all(torch.equal(v, weights[k]) for k, v in last["model"].items())
    assert json.loads((tmp_path / "config.json").read_text())["pairs"]["template_size"] == 63
    video = sources[0].dataset[0]  # a training video: its sentence is in the embedding cache already
    tracker = VLTTracker.from_checkpoint(tmp_path / "model_final.pt")
    tracker.initialize(video.frame(0), video.ground_truth[0], video.sentence)
    assert tracker.track(video.frame(1)).shape == (4,)


def test_siamcar_has_no_language_path(sources, tmp_path, encoder):
    trainer = _trainer("siamcar", sources, tmp_path, encoder)
    assert not trainer.model.config.use_modamixer and trainer.model.mixers_for("template") is None
    assert trainer.model.candidate.search_path == VLT_SCAR_CANDIDATE.search_path


def test_supernet_draws_a_fresh_candidate_each_iteration(sources, tmp_path, encoder):
    trainer = _trainer("supernet", sources, tmp_path, encoder)
    drawn = [trainer.candidate_for(i) for i in range(6)]
    assert len(set(drawn)) == 6 and drawn[2] == trainer.candidate_for(2)  # reproducible per iteration
    symmetric = _trainer("supernet", sources, tmp_path, encoder, supernet_symmetric=True)
    assert all(symmetric.candidate_for(i).is_symmetric for i in range(3))
    trainer.train(stop_after=2)
    assert trainer.iteration == 2


def test_budget_counts_match_the_network_and_limit_the_draws(sources, tmp_path, encoder):
    model = _trainer("supernet", sources, tmp_path, encoder).model
    budget = CandidateBudget(model)
    for seed in (1, 2):
        candidate = Candidate.sample(seed)
        assert budget.macs(candidate) == count_vlt_macs(model, candidate)["total"]
    import random

    draws = [budget.macs(Candidate.sample(random.Random(i))) for i in range(40)]
    limit = sorted(draws)[len(draws) // 4]
    limited = CandidateBudget(model, max_macs=limit)
    assert all(limited.macs(limited.sample(random.Random(i))) <= limit for i in range(10))
    with pytest.raises(ValueError, match="budget"):
        CandidateBudget(model, max_parameters=10).sample(random.Random(0), max_tries=20)


def test_ddp_on_two_cpu_processes(tiny_mini_lasot, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
               "vlt_mini.cli", "train", "--model", "supernet", "--dataset", "mini-lasot", "--root",
               str(tiny_mini_lasot), "--profile", "tiny", "--out", str(out), "--no-progress", "train.epochs=1"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["replicas_in_sync"] and summary["finished"]
    model, data = load_vlt_checkpoint(out / "model_final.pt")
    assert data["kind"] == "supernet" and len(load_checkpoint(out / "checkpoint_last.pt")["model"]) == len(
        model.state_dict())


def test_cli_trains_and_reports_bad_input(tiny_mini_lasot, tmp_path, capsys):
    def arguments(out="run", root=tiny_mini_lasot, *extra):
        return ["train", "--model", "siamcar", "--dataset", "mini-lasot", "--root", str(root), "--profile", "tiny",
                "--out", str(tmp_path / out), "--no-progress", "--stop-after", "2", *extra]

    assert cli_main(arguments()) == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint_last.pt")["iteration"] == 2
    assert cli_main(arguments()) == 2 and "--resume" in capsys.readouterr().err
    assert cli_main(arguments("run", tiny_mini_lasot, "--resume")) == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint_last.pt")["iteration"] == 4
    for root, extra, message in ((tmp_path / "missing", (), "not found"),
                                 (tiny_mini_lasot, ("--candidate", str(tmp_path / "none.json")), "candidate file"),
                                 (tiny_mini_lasot, ("pairs.negative_fraction=2",), "negative_fraction")):
        assert cli_main(arguments("other", root, *extra)) == 2
        assert message in capsys.readouterr().err


def test_batch_norm_recalibration_replaces_stale_statistics(sources, tmp_path, encoder):
    from vlt_mini.training.batchnorm import recalibrate_batch_norm

    trainer = _trainer("vlt", sources, tmp_path, encoder)
    stem_norm = trainer.model.backbone.first_conv[1]
    stem_norm.running_var.fill_(1e4)  # stale statistics
    loader = make_pair_loader(trainer.dataset, 4, 2)
    assert recalibrate_batch_norm(trainer.model, loader) == 2 and not trainer.model.training
    assert stem_norm.num_batches_tracked == 4  # template and search batches both pass through the Siamese stem
    assert stem_norm.running_var.max() < 1e4 and stem_norm.momentum == 0.1


def test_cpu_shards_average_the_per_shard_gradients_and_statistics(sources, tmp_path, encoder):
    """Two shards on two threads = each half of the batch on its own (per-shard BatchNorm, per-shard loss), averaged."""
    sharded = _trainer("vlt", sources, tmp_path / "sharded", encoder, batch_size=4, cpu_shards=2)
    plain = _trainer("vlt", sources, tmp_path / "plain", encoder, batch_size=4)
    plain.model.load_state_dict(sharded.model.state_dict())
    replica = sharded.sharded.models[1]
    assert all(a is b for a, b in zip(sharded.model.parameters(), replica.parameters()))  # tied parameters ...
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(sharded.model.buffers(), replica.buffers()))  # own stats
    batch = next(iter(make_pair_loader(sharded.dataset, 4, 1)))
    halves = [{k: v[i * 2:(i + 1) * 2] for k, v in batch.items()} for i in (0, 1)]
    gradients, statistics, losses = [], [], []
    start = {k: v.clone() for k, v in plain.model.state_dict().items()}
    for half in halves:  # the reference: each half through the unsharded trainer, from the same state
        plain.model.load_state_dict(start)
        plain.optimizer.zero_grad(set_to_none=True)
        plain.config = dataclasses.replace(plain.config, grad_clip=1e9)
        record = plain.train_step(half, 0)
        losses.append(record["total"])
        gradients.append({n: p.grad.clone() for n, p in plain.model.named_parameters() if p.grad is not None})
        statistics.append({n: b.clone() for n, b in plain.model.named_buffers() if b.is_floating_point()})
    sharded.config = dataclasses.replace(sharded.config, grad_clip=1e9)
    record = sharded.train_step(batch, 0)
    assert record["total"] == pytest.approx(sum(losses) / 2, rel=1e-5)
    grads = {n: p.grad for n, p in sharded.model.named_parameters() if p.grad is not None}
    assert grads.keys() == gradients[0].keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, (gradients[0][name] + gradients[1][name]) / 2, rtol=1e-4, atol=1e-6)
    for name, buffer in sharded.model.named_buffers():
        if buffer.is_floating_point():
            torch.testing.assert_close(buffer, (statistics[0][name] + statistics[1][name]) / 2)


def test_cpu_shards_train_reproducibly_and_refuse_uneven_batches(sources, tmp_path, encoder):
    small = dict(batch_size=4, samples_per_epoch=8, cpu_shards=2)  # 4 iterations
    for name in ("a", "b"):
        _trainer("vlt", sources, tmp_path / name, encoder, **small).train()
    a, b = (_state_tensors(load_checkpoint(tmp_path / name / "checkpoint_last.pt")) for name in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="multiple of cpu_shards"):
        TrainConfig(batch_size=6, cpu_shards=4)
    with pytest.raises(ValueError, match="cpu_shards must be >= 1"):
        TrainConfig(cpu_shards=0)
