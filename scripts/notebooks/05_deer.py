# %% [markdown]
# # 5 · DEER: any RNN in parallel, with Newton's method
#
# minGRU was made parallel by changing the model until its recurrence was linear. **DEER** (Lim et al., 2023)
# keeps the model, an ordinary GRU or LSTM, and changes the *solver*: it treats the whole sequence
# $h_1, \dots, h_T$ as the unknowns of one big system of equations $h_t = f(h_{t-1}, x_t)$ and solves it with
# Newton's method. Each Newton step linearises $f$, which gives a **linear** recurrence: a parallel scan.
#
# **What you will see:**
#
# 1. fixed points and Newton's method on one number;
# 2. the same on a whole sequence, first for a one-unit RNN, then for a GRU;
# 3. the **convergence wave**: correct time steps spread from left to right;
# 4. **quadratic convergence**: the number of correct digits doubles every iteration;
# 5. a **chaotic** RNN where Newton fails, and damping that rescues it;
# 6. **quasi**-Newton (only the diagonal of the Jacobian) against full Newton;
# 7. **gradients** through the solution, without backpropagating through the iterations.

# %%
import warnings
import torch
from torch import nn
import rnnviz
from rnnviz.deer import evaluate, sequential
from rnnviz.viz import newton_convergence
from rnnviz.course import newton
from rnnviz.course.sizes import pick, where

device = rnnviz.default_device()
print("running on:", where())

# %% [markdown]
# ## 1. One number
#
# A one-unit RNN fed a constant input settles where $h = f(h)$, here $f(h) = \tanh(0.9 h + 0.5)$. Iterating
# $h \leftarrow f(h)$ (running the RNN) gets there, gaining a fixed number of digits per step. **Newton's method**
# solves $g(h) = h - f(h) = 0$ instead, with the tangent: $h \leftarrow h - g(h) / g'(h)$. Near the answer, each
# step **squares** the error.

# %%
newton.scalar_figure(w=0.9, u=0.5, h0=-2.0)

# %% [markdown]
# ## 2. A whole sequence is one system of equations
#
# For a sequence the unknowns are all states at once: $h_t - f(h_{t-1}, x_t) = 0$ for $t = 1..T$. Newton's method
# linearises every equation around the current guess $h^{(i)}$:
#
# $$ h^{(i+1)}_t = J_t\, h^{(i+1)}_{t-1} + \big(f(h^{(i)}_{t-1}, x_t) - J_t\, h^{(i)}_{t-1}\big),
#    \qquad J_t = \frac{\partial f}{\partial h}(h^{(i)}_{t-1}, x_t). $$
#
# That is $h_t = A_t h_{t-1} + b_t$: a **linear recurrence**, solved by a parallel scan (notebook 3) whose
# elements are matrices $J_t$ for a $D$-unit state. Each iteration evaluates $f$ and $J$ at all $t$ in parallel,
# then runs one scan. As a dependency graph, three iterations over $T = 8$ steps: each iteration is a parallel
# evaluation of $f$ and $J$ followed by a scan of depth $\log_2 T$, so the critical path is
# (iterations) × $\log_2 T$ instead of $T$:

# %%
from rnnviz.viz import dependency_graph
dependency_graph("deer", T=8, iterations=3)

# %% [markdown]
# `rnnviz.deer.evaluate(cell, x)` does this for any `cell(x_t, h) -> h`, and a trace records every iterate.
# A one-unit `nn.RNNCell` first:

# %%
torch.manual_seed(0)
cell1 = nn.RNNCell(1, 1).to(device)
with torch.no_grad():
    cell1.weight_hh.fill_(2.0)  # strong feedback: the guess h = 0 is far from the answer
x1 = torch.randn(1, 64, 1, device=device)
with rnnviz.trace() as tr1:
    h1, info1 = evaluate(cell1, x1, method="newton")
print(f"{info1['iterations']} iterations, converged: {info1['converged']}")
newton_convergence(tr1)

# %% [markdown]
# ## 3. A GRU, and the convergence wave
#
# Now an `nn.GRUCell` with 4 units and strong recurrent weights. Look at the heatmap (log error over time and
# iteration): after iteration $i$, the first $i$ steps are exactly right, because $h_1$ depends only on
# $h_0$ and $x_1$, which are known; so at worst Newton needs $T$ iterations, like the loop. In practice the
# correct region sweeps forward much faster than one step per iteration: a **wave** of convergence. Use the
# slider to watch the iterates approach the true trajectory.

# %%
torch.manual_seed(0)
gru = nn.GRUCell(2, 4).to(device)
with torch.no_grad():
    gru.weight_hh.mul_(4.0)
    gru.bias_hh.zero_()
T = pick(cpu=300, gpu=3000)
x = torch.randn(1, T, 2, device=device)
with rnnviz.trace() as tr_gru:
    h, info = evaluate(gru, x, method="newton")
print(f"T = {T}: {info['iterations']} Newton iterations instead of {T} sequential steps; "
      f"max |DEER - loop| = {(h - sequential(gru, x)).abs().max().item():.1e}")
newton_convergence(tr_gru)

# %% [markdown]
# ## 4. Quadratic convergence
#
# The residual $\max_t |h_t - f(h_{t-1}, x_t)|$ per iteration, on a log axis: once close, the curve plunges,
# the exponent roughly doubling per step (2, 4, 8 correct digits...). The iteration stops at the float32
# tolerance.

# %%
fig = newton.residuals_figure({"newton (GRU, 4 units)": info["residuals"]})
fig.update_layout(title="Quadratic convergence: the digits double<br><sup>residual = max over t of "
                        "|h_t - f(h_(t-1), x_t)|</sup>")
fig

# %% [markdown]
# ## 5. When Newton fails: a chaotic RNN, and damping
#
# Newton's method is only guaranteed to converge near the answer. A tanh RNN with large recurrent weights is
# **chaotic**: tiny changes of $h_{t-1}$ are amplified at every step, so the products of Jacobians in the scan
# grow like $\|J\|^T$ and overflow. Full Newton diverges; rnnviz notices (a warning, `converged=False`) and by
# default returns the exact sequential answer instead of a wrong one. The **damped** method limits how much the
# scan may amplify a correction (a trust region, like Levenberg-Marquardt / ELK): it converges.

# %%
torch.manual_seed(2)
chaos = nn.RNNCell(4, 8).to(device)
with torch.no_grad():
    chaos.weight_hh.copy_(torch.randn(8, 8) * 2.0 / 8 ** 0.5)
xc = torch.randn(1, 300, 4, device=device)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    _, info_newton = evaluate(chaos, xc, method="newton")
print("newton:", "converged" if info_newton["converged"] else "did NOT converge",
      f"| fallback used: {info_newton['fallback']} |", caught[0].message if caught else "")
with rnnviz.trace() as tr_damped:
    h_damped, info_damped = evaluate(chaos, xc, method="damped")
print("damped:", "converged" if info_damped["converged"] else "did not converge",
      f"in {info_damped['iterations']} iterations")
fig = newton.residuals_figure({"newton": info_newton["residuals"], "damped": info_damped["residuals"]})
fig.update_layout(title="A chaotic tanh RNN (8 units, recurrent gain 2): Newton diverges, damping converges"
                        "<br><sup>residual = max over t of |h_t - f(h_(t-1), x_t)|; a cross: not a finite number</sup>")
fig

# %% [markdown]
# The damped run from the trace: the bottom-right panel shows the trust radius shrinking when a step made things
# worse and growing back when it helped.

# %%
newton_convergence(tr_damped)

# %% [markdown]
# ## 6. Quasi-Newton: only the diagonal
#
# Full Newton stores a $D \times D$ Jacobian per time step ($T D^2$ memory) and multiplies matrices in the scan
# ($D^3$ work per combine). **Quasi-DEER** (Gonzalez et al., 2024) keeps only the diagonal of $J_t$: the scan is
# then the elementwise `linear_scan` of notebook 3, $O(TD)$ memory. It needs more iterations (convergence
# becomes linear), each much cheaper:

# %%
runs = {}
for method in ("newton", "quasi"):
    _, inf = evaluate(gru, x, method=method)
    runs[f"{method}: {inf['iterations']} iterations, {sum(inf['ms']):.0f} ms"] = inf["residuals"]
fig = newton.residuals_figure(runs)
fig.update_layout(title=f"Full vs quasi Newton on the GRU (T = {T}, 4 units)"
                        "<br><sup>residual = max over t of |h_t - f(h_(t-1), x_t)|</sup>")
fig

# %% [markdown]
# Which is faster overall depends on the state size $D$: measured here for growing $D$, beside the sequential
# loop over `nn.GRUCell` (and the shipped GPU results, dashed, if installed):

# %%
from rnnviz.course.measure import measure, sweep
from rnnviz.course.compare import here_vs_reference
from rnnviz.course.reference import shipped

Ds = sweep(pick(cpu=16, gpu=64), points=4)
Tm = pick(cpu=1000, gpu=10000)
rows = measure(["deer-newton", "deer-quasi", "grucell-loop"], [dict(B=1, T=Tm, D=D) for D in Ds],
               device=device, budget_ms=100)
here_vs_reference(rows, shipped(["deer"]), x="D", title=f"DEER vs the loop, T = {Tm}, batch 1 (forward)")

# %% [markdown]
# The paper's figure 2 asks the same question over $T$: the speedup of the forward pass over the loop for each
# state size, here from the largest DEER benchmark run shipped with rnnviz (full Newton, batch 16). The loop
# pays $T$ dependent steps and DEER a handful of iterations of $\log T$ depth, so the gap grows with $T$
# until the GPU is full. Hollow markers: the loop's time there is its time per step measured at a shorter $T$,
# times $T$ (it runs $T$ identical steps); filled ones were measured.

# %%
from rnnviz.bench.deer import figure2

grids = sorted(shipped(["deer"]), key=lambda r: len(r.rows))
print(grids[-1].caption if grids else "No GPU DEER results are shipped with this install.")
fig = figure2(grids[-1].result(), "deer-newton", B=16) if grids else None
fig

# %% [markdown]
# ## 7. Gradients through the solution
#
# Training needs $\partial L / \partial \theta$. Backpropagating through the Newton iterations would be wasteful
# and inexact. At the solution, $h_t = f(h_{t-1}, x_t)$ holds exactly, so the implicit function theorem gives
# the gradient from one **reverse** linear recurrence with the Jacobians at the solution,
# $\bar h_{t} = \partial L/\partial h_t + J_{t+1}^\top \bar h_{t+1}$ (another scan), followed by ordinary
# vector-Jacobian products of $f$. Every entry against autograd through the sequential loop:

# %%
xg = x[:, :pick(cpu=100, gpu=1000)].clone().requires_grad_(True)
params = [xg] + list(gru.parameters())
names = ["x"] + [n for n, _ in gru.named_parameters()]
h_d, _ = evaluate(gru, xg, method="newton")
g_deer = torch.autograd.grad(h_d.pow(2).sum(), params)
g_loop = torch.autograd.grad(sequential(gru, xg).pow(2).sum(), params)
newton.gradient_figure(g_deer, g_loop, names)

# %% [markdown]
# ## Summary
#
# * DEER solves $h_t = f(h_{t-1}, x_t)$ for all $t$ at once with Newton's method; every iteration is a parallel
#   scan over Jacobians.
# * Correct steps spread from left to right (the wave); close to the answer, convergence is quadratic, so a
#   handful of iterations replace $T$ sequential steps.
# * On chaotic dynamics full Newton diverges; rnnviz detects it and falls back, and the damped method converges.
# * Quasi-DEER trades more iterations for $O(TD)$ memory and elementwise scans; which wins depends on $D$.
# * Gradients come from one reverse scan at the solution, not from the iterations.
#
# **Exercise 1.** Newton's error is $10^{-2}$ now and converges quadratically (each step squares the error).
# What is the error after 3 more iterations? Answer with the number (e.g. `1e-5`).

# %%
from rnnviz.exercises import check_quadratic_error

answer = None  # a number like 1e-5
check_quadratic_error(answer)

# %% [markdown]
# **Exercise 2.** Whatever the cell, DEER's iterates are exact on the first $i$ steps after $i$ iterations. For a
# sequence of $T = 1000$ steps, at most how many Newton iterations are needed to be exact everywhere (in exact
# arithmetic)?

# %%
from rnnviz.exercises import check_deer_worst_case

answer = None  # an integer
check_deer_worst_case(answer)
