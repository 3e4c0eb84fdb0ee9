"""rnnviz.tasks: the selective-copying generator, the character data from the shipped text,
the sequence model (step-by-step generation equals the parallel forward), and the training
loop's loss falling on both tasks (small, seeded, a few seconds on a 2-core CPU)."""
from __future__ import annotations

import pytest
import torch

from rnnviz.tasks import (CharDataset, SequenceModel, load_text, selective_copying, train,
                          train_char_lm, train_selective_copying)
from rnnviz.tasks.selective_copying import BLANK, FIRST_DATA, MARKER


def test_selective_copying_batches():
    gen = torch.Generator().manual_seed(1)
    x, y = selective_copying(16, seq_len=20, n_tokens=5, vocab_size=9, generator=gen)
    assert x.shape == (16, 25) and y.shape == (16, 5) and x.dtype == torch.long
    assert (x[:, 20:] == MARKER).all()
    body = x[:, :20]
    for row, want in zip(body, y):
        data = row[row != BLANK]
        assert data.tolist() == want.tolist()  # the data tokens, in the order they appear
    assert ((y >= FIRST_DATA) & (y < 9)).all()
    x2, _ = selective_copying(16, seq_len=20, n_tokens=5, vocab_size=9, generator=gen)
    assert not torch.equal(x, x2)  # generated on the fly: a new batch each call


def test_selective_copying_errors():
    with pytest.raises(ValueError, match="n_tokens must be in"):
        selective_copying(2, seq_len=4, n_tokens=5)
    with pytest.raises(ValueError, match="vocab_size must be >= 3"):
        selective_copying(2, vocab_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        selective_copying(0)


def test_shipped_text_and_char_dataset():
    text = load_text()
    assert 100_000 < len(text) < 1_000_000 and "HAMLET" in text and "MACBETH" in text
    data = CharDataset()
    assert data.vocab_size == len(set(text))
    assert data.decode(data.encode("To be, or not to be")) == "To be, or not to be"
    gen = torch.Generator().manual_seed(0)
    x, y = data.batch(4, 32, generator=gen)
    assert x.shape == y.shape == (4, 32)
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one character
    xv, _ = data.batch(2, 16, "val", generator=gen)
    assert xv.shape == (2, 16)
    with pytest.raises(ValueError, match="no text"):
        load_text("missing.txt")
    with pytest.raises(ValueError, match="split must be one of"):
        data.batch(2, 8, "test")
    with pytest.raises(ValueError, match="not in the text's alphabet"):
        data.encode("\u00e9")
    with pytest.raises(ValueError, match="seq_len must be in"):
        CharDataset("abcdef", val_fraction=0.0).batch(1, 6)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_generation_by_step_equals_parallel_forward(cell, one_thread):
    """Token by token with step() (O(1) state) gives the logits of the parallel forward."""
    model = SequenceModel(11, 16, 2, cell=cell).eval()
    ids = torch.randint(0, 11, (3, 9))
    want = model(ids)
    states = [None] * len(model.blocks)
    with torch.no_grad():
        for t in range(ids.shape[1]):
            x = model.embed(ids[:, t])
            for i, blk in enumerate(model.blocks):
                x, states[i] = blk.step(x, states[i])
            torch.testing.assert_close(model.head(model.norm(x)), want[:, t], rtol=1e-4, atol=1e-5)
    out = model.generate(ids[:, :4], 5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 9) and torch.equal(out[:, :4], ids[:, :4])


def _mean(xs):
    return sum(xs) / len(xs)


@pytest.fixture
def one_thread():
    """Tiny models are fastest on one thread (and immune to a busy machine's other jobs:
    with more threads than free cores their matmuls slow down tenfold)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_char_lm_loss_falls(one_thread):
    res = train_char_lm(steps=40, batch_size=8, seq_len=32, d_model=32, progress=False, seed=0)
    first, last = _mean(res.losses[:5]), _mean(res.losses[-5:])
    assert first > 3.5  # ~log(vocab) at the start
    assert last < first - 0.8, (first, last)
    assert res.extra["val_loss"] < first - 0.5


def test_selective_copying_loss_falls(one_thread):
    res = train_selective_copying(steps=40, batch_size=16, seq_len=24, n_tokens=3, vocab_size=6,
                                  d_model=32, progress=False, seed=0)
    first, last = _mean(res.losses[:5]), _mean(res.losses[-5:])
    assert last < first - 0.2, (first, last)
    assert 0.0 <= res.extra["accuracy"] <= 1.0


def test_train_reports_progress_and_validates(capsys):
    model = torch.nn.Linear(2, 1)
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    res = train(model, lambda i: (x, y), lambda m, a, b: ((m(a) - b) ** 2).mean(), steps=5,
                progress=True, desc="toy")
    assert len(res.losses) == 5 and len(res.smoothed(2)) == 5
    assert res.recent(2) == pytest.approx(res.smoothed(2)[-1])
    err = capsys.readouterr().err
    assert "toy" in err  # the tqdm bar, with the running loss
    assert f"loss={res.recent():.3f}" in err
    with pytest.raises(ValueError, match="steps must be >= 1"):
        train(model, lambda i: (x, y), lambda m, a, b: m(a).sum(), steps=0)


def test_train_stops_after_max_seconds():
    model = torch.nn.Linear(2, 1)
    res = train(model, lambda i: (torch.randn(4, 2), torch.randn(4, 1)),
                lambda m, x, y: ((m(x) - y) ** 2).mean(), steps=1000, max_seconds=0.0,
                progress=False)
    assert len(res.losses) == 1 and res.extra["stopped_at"] == 1


def test_tasks_cli_writes_each_run_with_provenance(tmp_path, capsys):
    import json

    from rnnviz.tasks.__main__ import main

    main(["selective-copying", "--quick", "--steps", "12", "--cells", "mingru",
          "--no-progress", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "tasks-cpu.json").read_text())
    (row,) = data["rows"]
    assert row["task"] == "selective-copying" and row["cell"] == "mingru"
    assert row["steps_run"] == 12 and len(row["losses"]) == 12 and 0 <= row["accuracy"] <= 1
    assert row["seq_len"] == 64 and row["ms_per_step"] > 0
    assert "-m rnnviz.tasks" in data["provenance"]["command"]
    assert "selective-copying  mingru" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["copying", "--quick"])
