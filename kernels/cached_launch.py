"""Launching a Triton kernel straight through its compiled launcher, on the second call.

``kernel[grid](*args, **constexprs)`` costs tens of microseconds of host time before the
GPU sees anything (measured on the device's H200 VM: about half of a small scan call's
host time): Triton binds the arguments, asks its C++ specialiser about each one (dtype, 16-
byte alignment of pointers, ints equal to 1 or divisible by 16), turns the result into a
string key and looks the compiled kernel up under it. For a kernel of twenty-odd
arguments that is the price of a small scan's whole GPU time, paid on every call.

``CachedLaunch`` keeps the compiled kernel under a key of its own, finer than Triton's
(so one key never stands for two of Triton's compilations), and on a hit calls the
compiled launcher directly with the arguments Triton would pass it, its tensors as their
data pointers (the launcher takes an int as it is; a tensor costs it a method call and a
driver call each). A miss, the interpreter, a misaligned tensor or a launch hook installed
(a profiler such as proton) goes through ``kernel[grid]`` as usual.

Assumed, and checked on the first call of each key: constexpr parameters are passed by
keyword and runtime ones by position. Triton's own knobs (debug, instrumentation) are
read when a key is first compiled, as Triton reads them; changing them mid-process needs
``clear()``.
"""
from __future__ import annotations

import functools
import operator
import os

import torch

from triton.runtime.jit import JITFunction

# Triton options passed beside the kernel's own parameters (not part of its signature)
_OPTIONS = frozenset({"num_warps", "num_stages", "num_ctas", "maxnreg", "enable_fp_fusion",
                      "launch_cooperative_grid", "launch_pdl", "debug"})
MAX_ENTRIES = 4096  # keys kept per kernel (a new shape is a new key: cleared when full)

# False: every launch goes through ``kernel[grid]`` (scripts/launch_host.py times both ways);
# RNNVIZ_CACHED_LAUNCH=0 in the environment starts it so, an escape hatch should a Triton
# release change what its launcher expects
enabled = os.environ.get("RNNVIZ_CACHED_LAUNCH", "1") != "0"

_data_ptr = torch.Tensor.data_ptr
_dtype = operator.attrgetter("dtype")


_knobs = None


def _hooks_listening() -> bool:
    """Whether a launch hook is installed: Triton's launch hooks are chains (3.6 on), empty
    unless a profiler adds to them; older Triton keeps None or a callable."""
    global _knobs
    if _knobs is None:  # (imported once: an import statement costs a microsecond a call)
        from triton import knobs

        _knobs = knobs
    for hook in (_knobs.runtime.launch_enter_hook, _knobs.runtime.launch_exit_hook):
        if hook is not None and getattr(hook, "calls", True):
            return True
    return False


class CachedLaunch:
    """``CachedLaunch(kernel)[grid](*tensors, *scalars, **constexprs)``: as
    ``kernel[grid](...)``, with the binding and specialisation paid once per key instead of
    on every call.

    The key is the device, the constexprs and options, the tensors' dtypes and the scalars'
    exact values and types, and it is used only when every tensor is 16-byte aligned. It is
    finer than Triton's (which keeps of an int only whether it is 1, divisible by 16, 32-
    or 64-bit, and of a pointer whether it is aligned), so one key never stands for two of
    Triton's compilations; a repeated shape hits, a new one pays Triton's path once. A
    misaligned tensor (a view at an odd offset) always goes through Triton's path.
    """

    def __init__(self, kernel):
        self.kernel = kernel
        # Triton's interpreter is chosen when a kernel is decorated (TRITON_INTERPRET set
        # before the import): asked of the kernel once, not of the environment every launch
        # (os.environ.get costs most of a microsecond)
        self.interpreted = not isinstance(kernel, JITFunction)
        self._entries: dict = {}
        self._driver = None
        self._n_tensors: int | None = None  # the runtime arguments start with this many tensors

    def clear(self) -> None:
        self._entries.clear()

    def __getitem__(self, grid: tuple):
        return lambda *args, **kw: self.launch(grid, args, kw)

    def key(self, device: int, args: tuple, kw: dict, static: object = None) -> tuple | None:
        """The key of a launch, or None where it must go through Triton's path: a tensor
        not 16-byte aligned, or not the usual count of leading tensors.

        ``static``: a hashable object the caller guarantees determines ``kw`` and the
        scalars (their values and types), used in their place (a launch plan made once per
        shape: hashing it is cheaper than hashing what it stands for). It is held by the
        key, so an object compared by identity cannot be replaced by another at its address.
        """
        return self._key_and_pointers(device, args, kw, static)[0]

    def _key_and_pointers(self, device: int, args: tuple, kw: dict, static: object = None
                          ) -> tuple[tuple | None, tuple]:
        """(``key``'s answer, the leading tensors' data pointers): the pointers are read
        once, for the alignment check and for the launcher."""
        n = self._n_tensors
        if n is None:
            n = self._n_tensors = next((i for i, x in enumerate(args)
                                        if not isinstance(x, torch.Tensor)), len(args))
        tensors, scalars = args[:n], args[n:]
        try:
            ptrs = tuple(map(_data_ptr, tensors))
        except TypeError:  # a non-tensor among the leading arguments
            return None, ()
        if functools.reduce(operator.or_, ptrs, 0) & 15:
            return None, ptrs
        if scalars and isinstance(scalars[0], torch.Tensor):
            return None, ptrs
        if static is not None:
            return (device, static, tuple(map(_dtype, tensors))), ptrs
        return (device, tuple(kw.items()), scalars, tuple(map(type, scalars)),
                tuple(map(_dtype, tensors))), ptrs

    def launch(self, grid: tuple, args: tuple, kw: dict, static: object = None) -> None:
        """``kernel[grid](*args, **kw)``; ``static`` as in ``key``."""
        if not enabled or self.interpreted:
            self.kernel[grid](*args, **kw)
            return
        if _hooks_listening():
            self.kernel[grid](*args, **kw)  # a profiler listens: let Triton call its hooks
            return
        if self._driver is None:
            from triton.runtime import driver

            self._driver = driver.active
        device = self._driver.get_current_device()
        key, ptrs = self._key_and_pointers(device, args, kw, static)
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            compiled = self.kernel[grid](*args, **kw)  # compiles if new, and launches
            if key is not None:
                if hasattr(compiled, "result"):  # Triton's asynchronous compile mode
                    compiled = compiled.result()
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = self._entry(compiled, len(args), kw)
            return
        run, function, packed, tail = entry
        g1 = grid[1] if len(grid) > 1 else 1
        g2 = grid[2] if len(grid) > 2 else 1
        # the tensors handed over as their data pointers: an int is taken as it is, where a
        # tensor costs the launcher a call of its data_ptr() and a driver call to check the
        # pointer (cuPointerGetAttribute), for each of a launch's tensors. Triton's own path
        # checked them on the key's first call; the ops check devices before any launch.
        run(grid[0], g1, g2, self._driver.get_current_stream(device), function, packed, None,
            None, None, *ptrs, *args[len(ptrs):], *tail)

    def _entry(self, compiled, n_args: int, kw: dict) -> tuple:
        """(launcher, function handle, packed metadata, the constexprs after the positional
        arguments in signature order): what ``JITFunction.run`` hands the launcher."""
        params = self.kernel.params
        for p in params[:n_args]:
            if p.is_constexpr:
                raise TypeError(f"CachedLaunch: pass the constexpr {p.name!r} of "
                                f"{self.kernel.__name__} by keyword")
        tail = []
        for p in params[n_args:]:
            if not p.is_constexpr:
                raise TypeError(f"CachedLaunch: pass the runtime argument {p.name!r} of "
                                f"{self.kernel.__name__} by position")
            tail.append(kw[p.name] if p.name in kw else p.default)
        unknown = set(kw) - {p.name for p in params} - _OPTIONS
        if unknown:
            raise TypeError(f"CachedLaunch: {self.kernel.__name__} has no parameter {sorted(unknown)}")
        return compiled.run, compiled.function, compiled.packed_metadata, tuple(tail)


class LaunchPlan:
    """One kernel's launch worked out once per shape, strides and options (the callers keep
    plans in a ``functools.lru_cache``): the grid, the integer and float arguments that
    follow the tensors, the constexprs. Compared by identity, it is also the cached launch's
    ``static`` key, hashed in place of what it holds. Launchers with more to remember (a
    config, the launches before this one) subclass it."""

    __slots__ = ("kernel", "grid", "scalars", "constexprs")

    def __init__(self, kernel: CachedLaunch, grid: tuple, scalars: tuple, constexprs: dict):
        self.kernel, self.grid, self.scalars, self.constexprs = kernel, grid, scalars, constexprs

    def launch(self, tensors: tuple) -> None:
        """The kernel on ``tensors`` (its leading arguments), then the plan's scalars."""
        self.kernel.launch(self.grid, tensors + self.scalars, self.constexprs, self)
