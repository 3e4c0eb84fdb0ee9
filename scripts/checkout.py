"""Import rnnviz from another checkout of this repository (a ``git worktree`` of an older
commit, say), for scripts that compare two versions side by side, each in a process of its
own."""
from __future__ import annotations

import importlib.util
import os
import sys


def load_checkout(repo: str):
    """rnnviz and its kernels from ``repo`` (an editable install maps rnnviz.kernels to its
    own checkout: the kernels package is loaded from ``repo`` by hand). Returns rnnviz."""
    sys.path.insert(0, repo)
    import rnnviz

    assert os.path.abspath(rnnviz.__file__).startswith(os.path.abspath(repo)), rnnviz.__file__
    kdir = os.path.join(repo, "kernels")
    spec = importlib.util.spec_from_file_location(
        "rnnviz.kernels", os.path.join(kdir, "__init__.py"), submodule_search_locations=[kdir])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnviz.kernels"] = module
    spec.loader.exec_module(module)
    return rnnviz
