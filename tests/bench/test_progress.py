"""rnnviz.bench.core.progress: every group comes through, with a bar (tqdm) or, where tqdm
is missing (as on the device's image), a line per group on stderr."""
from __future__ import annotations

import builtins

from rnnviz.bench.core import progress


def test_progress_bar_yields_every_item(capsys):
    assert list(progress(iter([(1, 2), (3, 4)]), "scan shapes")) == [(1, 2), (3, 4)]
    err = capsys.readouterr().err
    assert "scan shapes" in err and "2/2" in err


def test_progress_without_tqdm_prints_a_line_per_item(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("No module named 'tqdm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    assert list(progress(["a", "b", "c"], "sru model groups")) == ["a", "b", "c"]
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split(" at ")[0] for ln in lines] == [
        "sru model groups [1/3] a", "sru model groups [2/3] b", "sru model groups [3/3] c"]
