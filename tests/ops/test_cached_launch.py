"""The cached launch (rnnviz.kernels.cached_launch): its key separates every argument that
Triton compiles differently for, a hit hands the compiled launcher what Triton's own path
would (its tensors as their data pointers), and misuse is refused. On the CPU with a
stand-in kernel; on the GPU with the scan's kernels, whose results must not depend on which
path launched them."""
from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
import torch

import rnnviz.kernels.cached_launch as cl
from rnnviz.kernels import interpreting
from rnnviz.kernels.cached_launch import CachedLaunch


def _param(name, constexpr=False, default=inspect.Parameter.empty):
    return SimpleNamespace(name=name, is_constexpr=constexpr, default=default)


class FakeKernel:
    """A JITFunction's surface as CachedLaunch uses it: params, __name__, [grid](...)
    returning a compiled kernel whose ``run`` records what it is handed."""

    __name__ = "fake_kernel"

    def __init__(self):
        self.params = [_param("X"), _param("n"), _param("BLOCK", True), _param("FLAG", True, 7)]
        self.compiles = []
        self.runs = []

    def __getitem__(self, grid):
        def call(*args, **kw):
            self.compiles.append((grid, args, kw))
            return SimpleNamespace(run=lambda *a: self.runs.append(a), function="fn-handle",
                                   packed_metadata=(4, 1, 0))
        return call


class FakeDriver:
    def get_current_device(self):
        return 0

    def get_current_stream(self, device):
        return 1234


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(cl, "_hooks_listening", lambda: False)
    k = FakeKernel()
    launcher = CachedLaunch(k)
    launcher.interpreted = False  # (a stand-in is no JITFunction: taken for an interpreted one)
    launcher._driver = FakeDriver()
    return k, launcher


def test_an_interpreted_kernel_always_takes_triton_s_path(monkeypatch):
    """Triton picks its interpreter when a kernel is decorated (TRITON_INTERPRET set before
    the import): a kernel that is no JITFunction is launched through kernel[grid] every
    time, whatever the environment says now, and nothing is cached for it."""
    monkeypatch.setattr(cl, "_hooks_listening", lambda: False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    k = FakeKernel()
    launcher = CachedLaunch(k)
    assert launcher.interpreted
    x = torch.zeros(8)
    for _ in range(3):
        launcher[(1,)](x, 5, BLOCK=16)
    assert len(k.compiles) == 3 and not k.runs and not launcher._entries


def test_a_jit_kernel_is_not_taken_for_an_interpreted_one():
    import triton
    import triton.language as tl

    @triton.jit
    def copy(X, BLOCK: tl.constexpr):
        tl.store(X + tl.arange(0, BLOCK), tl.load(X + tl.arange(0, BLOCK)))

    assert CachedLaunch(copy).interpreted == interpreting()  # (as the environment was at import)


def test_key_is_finer_than_triton_s_specialisation(fake):
    _, launcher = fake
    x = torch.zeros(8)
    key = lambda *args, **kw: launcher.key(0, args, kw or {"BLOCK": 16})  # noqa: E731
    assert key(x, 5) == key(torch.ones(8), 5)  # another tensor of the same dtype
    assert key(x, 5) != key(x.double(), 5)  # dtype
    assert key(x, 5) != key(x, 6)  # any other value (Triton: only == 1, % 16, int32 or not)
    assert key(x, 1) != key(x, True) and key(x, 1) != key(x, 1.0)  # equal values, other types
    assert key(x, 5) != key(x, 5, BLOCK=32)  # constexprs and options
    assert key(x, 5) != launcher.key(1, (x, 5), {"BLOCK": 16})  # device
    # no key (Triton's path) for a tensor off 16-byte alignment, or not where tensors were
    assert key(x[1:], 5) is None and key(x[4:], 5) is not None
    assert key(None, 5) is None and key(x, x) is None


def test_a_static_key_stands_for_the_constexprs_and_scalars(fake):
    _, launcher = fake
    x = torch.zeros(8)
    plan, other = object(), object()  # what a launch plan is: compared by identity
    key = lambda t, static: launcher.key(0, (t, 5), {"BLOCK": 16}, static)  # noqa: E731
    assert key(x, plan) == key(torch.ones(8), plan) and plan in key(x, plan)
    assert key(x, plan) != key(x, other) and key(x, plan) != key(x.double(), plan)
    assert key(x[1:], plan) is None


def test_a_launch_plan_is_its_own_static_key(fake):
    """``LaunchPlan.launch(tensors)``: the kernel on the tensors, then the plan's scalars and
    constexprs, keyed by the plan itself: a second plan of the same values is another key."""
    from rnnviz.kernels.cached_launch import LaunchPlan

    k, launcher = fake
    plan = LaunchPlan(launcher, (3, 2), (5,), {"BLOCK": 16})
    x = torch.zeros(8)
    plan.launch((x,))
    assert k.compiles == [((3, 2), (x, 5), {"BLOCK": 16})]
    assert plan in next(iter(launcher._entries))
    y = torch.ones(8)
    plan.launch((y,))
    assert len(k.compiles) == 1 and k.runs[0][9:] == (y.data_ptr(), 5, 16, 7)
    LaunchPlan(launcher, (3, 2), (5,), {"BLOCK": 16}).launch((x,))  # equal, but another plan
    assert len(k.compiles) == 2


def test_first_call_compiles_then_hits_go_to_the_launcher(fake):
    k, launcher = fake
    x = torch.zeros(8)
    launcher[(3, 2)](x, 5, BLOCK=16, num_warps=4)
    assert len(k.compiles) == 1 and not k.runs
    y = torch.ones(8)
    launcher[(3, 2)](y, 5, BLOCK=16, num_warps=4)
    assert len(k.compiles) == 1
    # grid, stream, handle, metadata, no hooks, the runtime args (tensors as their data
    # pointers: the launcher takes an int as it is), then constexprs in order
    assert k.runs[0][:9] == (3, 2, 1, 1234, "fn-handle", (4, 1, 0), None, None, None)
    assert k.runs[0][9] == y.data_ptr() and type(k.runs[0][9]) is int
    assert k.runs[0][10:] == (5, 16, 7)
    launcher[(3,)](x, 6, BLOCK=16, num_warps=4)  # another value: compiled anew
    launcher[(3,)](x, 5, BLOCK=32, num_warps=4)  # another constexpr
    launcher[(3,)](x, 5, BLOCK=16, num_warps=8)  # another option
    assert len(k.compiles) == 4 and len(k.runs) == 1
    for _ in range(2):  # misaligned: Triton's path every time
        launcher[(3,)](x[1:], 5, BLOCK=16, num_warps=4)
    assert len(k.compiles) == 6 and len(k.runs) == 1


def test_the_cache_is_bounded(fake, monkeypatch):
    k, launcher = fake
    monkeypatch.setattr(cl, "MAX_ENTRIES", 3)
    for n in range(10):
        launcher[(1,)](torch.zeros(4), n, BLOCK=16)
    assert len(launcher._entries) <= 3


def test_switched_off_every_call_goes_through_triton(fake, monkeypatch):
    k, launcher = fake
    monkeypatch.setattr(cl, "enabled", False)
    for _ in range(3):
        launcher[(1,)](torch.zeros(4), 5, BLOCK=16)
    assert len(k.compiles) == 3 and not k.runs


def test_a_listening_profiler_gets_triton_s_path(fake, monkeypatch):
    k, launcher = fake
    monkeypatch.setattr(cl, "_hooks_listening", lambda: True)
    for _ in range(2):
        launcher[(1,)](torch.zeros(4), 5, BLOCK=16)
    assert len(k.compiles) == 2 and not k.runs


def test_hooks_listening_reads_triton_s_hook_chains():
    from triton import knobs

    assert not cl._hooks_listening()
    hook = lambda *a: None  # noqa: E731
    knobs.runtime.launch_enter_hook.add(hook)
    try:
        assert cl._hooks_listening()
    finally:
        knobs.runtime.launch_enter_hook.remove(hook)


def test_misuse_is_refused_with_the_parameter_named(fake):
    k, launcher = fake
    with pytest.raises(TypeError, match="pass the constexpr 'BLOCK' of fake_kernel by keyword"):
        launcher[(1,)](torch.zeros(4), 5, 16)
    with pytest.raises(TypeError, match="pass the runtime argument 'n' of fake_kernel by position"):
        launcher[(1,)](torch.zeros(4), n=5, BLOCK=16)
    with pytest.raises(TypeError, match=r"has no parameter \['BLOK'\]"):
        launcher[(1,)](torch.zeros(4), 5, BLOK=16, BLOCK=16)


@pytest.mark.gpu
def test_scan_is_the_same_through_either_launch_path(gpu, monkeypatch):
    """The scan's kernels give the same h launched by Triton or by the cache, including on
    misaligned views after an aligned call of the same shape (another compilation)."""
    from rnnviz.ops import linear_scan

    base_a = torch.rand(2, 1 + 700 * 40, device=gpu) * 0.5 + 0.5
    base_b = torch.randn(2, 1 + 700 * 40, device=gpu)
    views = {"aligned": (base_a[:, :-1].view(2, 700, 40), base_b[:, :-1].view(2, 700, 40)),
             "misaligned": (base_a[:, 1:].view(2, 700, 40), base_b[:, 1:].view(2, 700, 40))}
    for name, (a, b) in views.items():
        want = linear_scan(a.double(), b.double(), backend="reference").float()
        monkeypatch.setattr(cl, "enabled", False)
        plain = linear_scan(a, b)
        monkeypatch.setattr(cl, "enabled", True)
        for _ in range(2):  # the first call fills the cache, the second hits it
            cached = linear_scan(a, b)
            assert torch.equal(cached, plain), name
        torch.testing.assert_close(cached, want, rtol=1e-5, atol=1e-5)


def test_the_environment_can_switch_it_off():
    import os
    import subprocess
    import sys

    code = "import rnnviz.kernels.cached_launch as c; print(c.enabled)"
    for value, want in (("0", "False"), ("1", "True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "RNNVIZ_CACHED_LAUNCH": value})
        assert out.stdout.strip() == want, out.stderr
