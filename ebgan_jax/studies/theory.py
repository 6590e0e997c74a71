"""``make theory``: the theory of GAN and EBGAN as experiments on toys one can plot.

  python -m ebgan_jax.studies.theory [--out results/theory] [--seed 0] [--quick]

1. **GAN, Proposition 1** (Goodfellow et al. 2014, §4.1): for a fixed generator the optimal
   discriminator is ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` and the value at it is
   ``C(G) = -log 4 + 2 JSD(p_data || p_g)``. Two 1-D Gaussians; D is trained to convergence on
   fresh samples and compared with the formula on a grid of x.
2. **EBGAN, Theorems 1–2** (Zhao, Mathieu & LeCun 2017, §2.2): at a Nash equilibrium
   ``p_G = p_data``, ``V(D*, G*) = m``, and ``D*(x) = γ``, a constant in ``[0, m]``, on the data.
   EBGAN is trained on the toys below; at the end V is compared with m and the energy on the
   data with a constant in [0, m].
3. **The lecture's toys** (Hung-yi Lee's lecture on energy-based GANs): a 1-D Gaussian (G two
   hidden layers of 100 units, D one) and points on a line in 2-D (G and D one hidden layer of
   100), 100 discriminator updates per generator update, the discriminator drawn after each
   phase. Its question: is D flat at the end? For the GAN, flat means ``D = 1/2`` over the
   data; for EBGAN, the energy equal to γ over the data (Theorem 2).

Writes ``<out>/README.md`` (the measured numbers next to what the theory says),
``<out>/theory.json``, ``<out>/gan_optimal_d.png`` and ``<out>/toys.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from typing import Callable, Sequence

import numpy as np

from ebgan_jax.cli import set_cpu_defaults
from ebgan_jax.studies import report


# ----------------------------------------------------------------------------------------------
# The formulas
# ----------------------------------------------------------------------------------------------

def gaussian_density(x: np.ndarray, mean: float, std: float) -> np.ndarray:
  return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
  """GAN Proposition 1: ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` from the two densities."""
  return p_data / (p_data + p_g)


def jensen_shannon(p: np.ndarray, q: np.ndarray, dx: float) -> float:
  """``JSD(p || q)`` in nats from densities on a uniform grid of spacing ``dx`` (the grid must
  hold almost all of both masses)."""
  mix = 0.5 * (p + q)
  with np.errstate(divide="ignore", invalid="ignore"):
    kl_p = np.where(p > 0, p * np.log(p / mix), 0.0)
    kl_q = np.where(q > 0, q * np.log(q / mix), 0.0)
  return float(0.5 * (kl_p.sum() + kl_q.sum()) * dx)


def gan_value_at_optimum(p: np.ndarray, q: np.ndarray, dx: float) -> float:
  """``C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)`` (GAN Theorem 1's proof)."""
  return -math.log(4.0) + 2.0 * jensen_shannon(p, q, dx)


def ebgan_value(energy_real: np.ndarray, energy_fake: np.ndarray, margin: float) -> float:
  """EBGAN's ``V(D, G) = E_x D(x) + E_z [m - D(G(z))]^+`` (§2.2), from samples."""
  return float(np.mean(energy_real) + np.mean(np.maximum(margin - energy_fake, 0.0)))


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
  """The 1-Wasserstein distance between two 1-D samples of equal size."""
  return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


# ----------------------------------------------------------------------------------------------
# Networks and training (small MLPs, everything jitted)
# ----------------------------------------------------------------------------------------------

def _mlp():
  import flax.linen as nn

  from ebgan_jax import losses

  class ToyMLP(nn.Module):
    """``hidden`` ReLU layers and a linear output of ``out`` units. ``energy``: an auto-encoder
    whose output is the reconstruction of ``x`` (``out`` = its dimension), returning EBGAN's
    energy ``||Dec(Enc(x)) - x||`` (§2.3, the paper's l2 norm): non-negative, as the theory
    requires, and without a flat region where the gradient would vanish."""
    hidden: tuple[int, ...]
    out: int
    energy: bool = False

    @nn.compact
    def __call__(self, x):
      h = x
      for size in self.hidden:
        h = nn.relu(nn.Dense(size)(h))
      h = nn.Dense(self.out)(h)
      if self.energy:
        return losses.reconstruction_energy(x, h, norm="l2")
      return h[:, 0] if self.out == 1 else h

  return ToyMLP


@dataclasses.dataclass(frozen=True)
class Toy:
  """A toy: how to sample its data, its networks, and the grid D is drawn on."""
  name: str
  dim: int
  g_hidden: tuple[int, ...]
  d_hidden: tuple[int, ...]
  sample: Callable  # (key, n) -> [n, dim]
  extent: tuple[float, float]


def _gaussian_toy():
  import jax
  return Toy("1-D Gaussian", 1, (100, 100), (100,),
             lambda key, n: 1.0 + 0.5 * jax.random.normal(key, (n, 1)), (-1.5, 3.5))


def _line_toy():
  import jax
  import jax.numpy as jnp

  def sample(key, n):  # uniform on the segment from (-1, -0.5) to (1, 0.5)
    t = jax.random.uniform(key, (n, 1), minval=-1.0, maxval=1.0)
    return jnp.concatenate([t, 0.5 * t], axis=1)
  return Toy("line in 2-D", 2, (100,), (100,), sample, (-1.5, 1.5))


TOYS = {"gaussian": _gaussian_toy, "line": _line_toy}


def train_fixed_generator_discriminator(key, sample_data, sample_fake, *, hidden=(64, 64),
                                        steps: int = 3000, batch: int = 1024, lr: float = 3e-3):
  """Trains a GAN discriminator against a fixed generator (fresh samples every step); returns
  ``D(x) = sigmoid(logit(x))`` as a NumPy function of ``[n, dim]`` points."""
  import jax
  import jax.numpy as jnp
  import optax

  from ebgan_jax import losses
  net = _mlp()(tuple(hidden), 1)
  k_init, k_train = jax.random.split(key)
  params = net.init(k_init, sample_data(k_init, 2))
  tx = optax.adam(optax.cosine_decay_schedule(lr, steps))
  opt_state = tx.init(params)

  def step(carry, t):
    params, opt_state = carry
    k_real, k_fake = jax.random.split(jax.random.fold_in(k_train, t))
    real, fake = sample_data(k_real, batch), sample_fake(k_fake, batch)
    loss = lambda p: losses.gan_discriminator_loss(net.apply(p, real), net.apply(p, fake)).mean()
    grads = jax.grad(loss)(params)
    with jax.numpy_dtype_promotion("standard"):
      updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, jnp.arange(steps)))((params, opt_state))
  apply = jax.jit(lambda x: jax.nn.sigmoid(net.apply(params, x)))
  return lambda x: np.asarray(apply(jnp.asarray(x, jnp.float32)))


def train_toy(key, toy: Toy, algorithm: str, *, g_steps: int, d_steps: int = 100,
              batch: int = 256, lr_d: float = 1e-3, lr_g: float = 1e-3, margin: float = 1.0,
              snapshots: Sequence[int] = (), grid_points: int = 101) -> dict:
  """GAN (non-saturating) or EBGAN on ``toy``: ``d_steps`` discriminator updates, then one
  generator update, ``g_steps`` times (fresh samples each update). EBGAN's energy is a
  one-hidden-layer auto-encoder's l2 reconstruction error. Returns D on a grid (and samples) at each generator step
  in ``snapshots`` and at the end, and the final functions."""
  import jax
  import jax.numpy as jnp
  import optax

  from ebgan_jax import losses
  mlp = _mlp()
  latent = toy.dim
  g_net = mlp(toy.g_hidden, toy.dim)
  d_net = (mlp(toy.d_hidden, toy.dim, energy=True) if algorithm == "ebgan" else
           mlp(toy.d_hidden, 1))
  k_g, k_d, k_train = jax.random.split(key, 3)
  g_params = g_net.init(k_g, jnp.zeros((2, latent)))
  d_params = d_net.init(k_d, jnp.zeros((2, toy.dim)))
  tx_g, tx_d = optax.adam(lr_g, b1=0.5), optax.adam(lr_d, b1=0.5)
  state = (g_params, d_params, tx_g.init(g_params), tx_d.init(d_params))

  def generate(g_params, k, n):
    return g_net.apply(g_params, jax.random.normal(k, (n, latent))).reshape(n, toy.dim)

  def d_loss(d_params, real, fake):
    out_real, out_fake = d_net.apply(d_params, real), d_net.apply(d_params, fake)
    if algorithm == "gan":
      return losses.gan_discriminator_loss(out_real, out_fake).mean()
    return losses.ebgan_discriminator_loss(out_real, out_fake, margin=margin).mean()

  def g_loss(g_params, d_params, k):
    out = d_net.apply(d_params, generate(g_params, k, batch))
    if algorithm == "gan":
      return losses.gan_generator_loss(out).mean()
    return losses.ebgan_generator_loss(out).mean()

  def update(tx, params, opt_state, grads):
    with jax.numpy_dtype_promotion("standard"):
      updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  @jax.jit
  def phase(state, t):
    g_params, d_params, g_opt, d_opt = state
    k_phase = jax.random.fold_in(k_train, t)

    def d_update(carry, i):
      d_params, d_opt = carry
      k_real, k_fake = jax.random.split(jax.random.fold_in(k_phase, i))
      fake = jax.lax.stop_gradient(generate(g_params, k_fake, batch))
      grads = jax.grad(d_loss)(d_params, toy.sample(k_real, batch), fake)
      return update(tx_d, d_params, d_opt, grads), None

    (d_params, d_opt), _ = jax.lax.scan(d_update, (d_params, d_opt), jnp.arange(d_steps))
    grads = jax.grad(g_loss)(g_params, d_params, jax.random.fold_in(k_phase, d_steps))
    g_params, g_opt = update(tx_g, g_params, g_opt, grads)
    return g_params, d_params, g_opt, d_opt

  lo, hi = toy.extent
  axis = np.linspace(lo, hi, grid_points, dtype=np.float32)
  grid = (axis[:, None] if toy.dim == 1 else
          np.stack(np.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2))
  d_out = jax.jit(lambda d_params, x: (jax.nn.sigmoid(d_net.apply(d_params, x))
                                      if algorithm == "gan" else d_net.apply(d_params, x)))
  sample_g = jax.jit(lambda g_params, k: generate(g_params, k, 2000))
  key_view = jax.random.PRNGKey(12345)

  def snapshot(state, t):
    return {"step": t, "d": np.asarray(d_out(state[1], grid)),
            "fake": np.asarray(sample_g(state[0], key_view))}

  shots = []
  for t in range(g_steps):
    if t in snapshots:
      shots.append(snapshot(state, t))
    state = phase(state, t)
  shots.append(snapshot(state, g_steps))
  g_params, d_params = state[0], state[1]
  return {"snapshots": shots, "axis": axis, "grid": grid,
          "discriminator": lambda x: np.asarray(d_out(d_params, jnp.asarray(x, jnp.float32))),
          "generate": lambda n, seed=1: np.asarray(generate(g_params, jax.random.PRNGKey(seed), n))}


# ----------------------------------------------------------------------------------------------
# The experiments
# ----------------------------------------------------------------------------------------------

# Proposition 1: p_data = N(0, 1), a fixed generator with p_g = N(1.5, 0.75^2).
PROP1 = {"data": (0.0, 1.0), "g": (1.5, 0.75)}
# Where the formula is compared: the grid points where the average density of the two is at
# least this (outside, no sample tells D anything).
SUPPORT_DENSITY = 0.05


def proposition_1(seed: int = 0, steps: int = 3000) -> dict:
  import jax
  (m_d, s_d), (m_g, s_g) = PROP1["data"], PROP1["g"]
  disc = train_fixed_generator_discriminator(
      jax.random.PRNGKey(seed), lambda k, n: m_d + s_d * jax.random.normal(k, (n, 1)),
      lambda k, n: m_g + s_g * jax.random.normal(k, (n, 1)), steps=steps)
  x = np.linspace(-4.0, 5.0, 901)
  p, q = gaussian_density(x, m_d, s_d), gaussian_density(x, m_g, s_g)
  d_star, d_trained = optimal_discriminator(p, q), disc(x[:, None])
  inside = 0.5 * (p + q) >= SUPPORT_DENSITY
  rng = np.random.default_rng(seed)
  real, fake = rng.normal(m_d, s_d, 200_000), rng.normal(m_g, s_g, 200_000)
  eps = 1e-7
  value = float(np.mean(np.log(np.clip(disc(real[:, None]), eps, 1)))
                + np.mean(np.log(np.clip(1 - disc(fake[:, None]), eps, 1))))
  return {"x": x, "d_star": d_star, "d_trained": d_trained, "inside": inside,
          "max_abs_error": float(np.max(np.abs(d_trained - d_star)[inside])),
          "value_trained_d": value, "value_formula": gan_value_at_optimum(p, q, x[1] - x[0])}


def flatness(toy: Toy, result: dict, algorithm: str, margin: float, n: int = 20000,
             seed: int = 7) -> dict:
  """How flat D is over the data at the end: its values on fresh data points (the central
  98 %: the spread of a flat function is the noise of its fit), its range there, and for EBGAN
  V against m and the generator's distance to the data."""
  import jax
  real = np.asarray(toy.sample(jax.random.PRNGKey(seed), n))
  fake = result["generate"](n, seed + 1)
  d_real, d_fake = result["discriminator"](real), result["discriminator"](fake)
  lo, hi = np.quantile(d_real, [0.01, 0.99])
  out = {"d_on_data_mean": float(d_real.mean()), "d_on_data_std": float(d_real.std()),
         "d_on_data_range": float(hi - lo), "d_on_fakes_mean": float(d_fake.mean())}
  if toy.dim == 1:
    out["w1_fake_data"] = wasserstein_1d(fake[:, 0], real[:, 0])
  else:  # the distance of the samples to the line, and their spread along it
    along = fake[:, 0]
    out["fake_off_line"] = float(np.mean(np.abs(fake[:, 1] - 0.5 * fake[:, 0])))
    out["w1_along_line"] = wasserstein_1d(np.clip(along, -5, 5), real[:, 0])
  if algorithm == "ebgan":
    out["value"] = ebgan_value(d_real, d_fake, margin)
    out["margin"] = margin
  return out


# Tolerances of the verdicts in the report (and of the tests).
FLAT_RANGE, VALUE_TOL, MATCH_DISTANCE = 0.15, 0.05, 0.05


def verdicts(measured: dict, algorithm: str) -> dict[str, bool | None]:
  """Whether the generator sits on the data, D is flat over it, and (EBGAN) V = m, within the
  tolerances above (``m`` is the margin; D's values scale with it)."""
  distance = measured.get("w1_fake_data", measured.get("fake_off_line"))
  if "w1_along_line" in measured:
    distance = max(distance, measured["w1_along_line"])
  m = measured.get("margin", 1.0)
  if algorithm == "gan":
    flat = (measured["d_on_data_range"] < FLAT_RANGE
            and abs(measured["d_on_data_mean"] - 0.5) < FLAT_RANGE / 2)
  else:
    flat = measured["d_on_data_range"] < FLAT_RANGE * m
  value = abs(measured["value"] - m) < VALUE_TOL * m if "value" in measured else None
  return {"matched": distance < MATCH_DISTANCE, "flat": flat, "value": value}


def run(seed: int = 0, quick: bool = False, progress: bool = True) -> dict:
  import jax
  scale = 0.2 if quick else 1.0
  results = {"proposition_1": proposition_1(seed, steps=int(3000 * scale))}
  g_steps = int(2000 * scale)
  for name, make in TOYS.items():
    toy = make()
    for algorithm in ("gan", "ebgan"):
      if progress:
        print(f"{toy.name}: {algorithm}, {g_steps} generator updates of 100 discriminator "
              "updates each", flush=True)
      shots = [0, g_steps // 20, g_steps // 4]
      result = train_toy(jax.random.PRNGKey(seed), toy, algorithm, g_steps=g_steps,
                         snapshots=shots)
      results[f"{name}/{algorithm}"] = {"toy": toy, "train": result,
                                        **flatness(toy, result, algorithm, 1.0)}
  return results


def write_report(results: dict, out: str, quick: bool) -> dict:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  os.makedirs(out, exist_ok=True)
  p1 = results["proposition_1"]
  summary = {"proposition_1": {k: p1[k] for k in ("max_abs_error", "value_trained_d",
                                                   "value_formula")}}
  for key, value in results.items():
    if key != "proposition_1":
      summary[key] = {k: v for k, v in value.items() if k not in ("toy", "train")}
      summary[key]["verdicts"] = verdicts(summary[key], key.split("/")[1])
  report.write_json(out, "theory.json", {"setup": {"quick": quick}, **summary})

  fig, ax = plt.subplots(figsize=(6, 3.4))
  ax.plot(p1["x"], p1["d_star"], "k--", label="D*(x) = p_data / (p_data + p_g)")
  ax.plot(p1["x"], p1["d_trained"], label="trained D")
  (m_d, s_d), (m_g, s_g) = PROP1["data"], PROP1["g"]
  ax.plot(p1["x"], gaussian_density(p1["x"], m_d, s_d), lw=0.8, label="p_data")
  ax.plot(p1["x"], gaussian_density(p1["x"], m_g, s_g), lw=0.8, label="p_g (fixed)")
  ax.fill_between(p1["x"], 0, 1, where=~p1["inside"], color="0.9", label="not compared")
  ax.set_title(f"GAN Proposition 1: max |D - D*| = {p1['max_abs_error']:.3f} where compared",
               fontsize=9)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "gan_optimal_d.png"), dpi=100)
  plt.close(fig)

  toys = [k for k in results if k != "proposition_1"]
  columns = len(results[toys[0]]["train"]["snapshots"])
  fig, axes = plt.subplots(len(toys), columns, figsize=(3.0 * columns, 2.7 * len(toys)),
                           squeeze=False)
  for row_axes, key in zip(axes, toys):
    toy, train = results[key]["toy"], results[key]["train"]
    algorithm = key.split("/")[1]
    what = "D(x)" if algorithm == "gan" else "energy D(x)"
    import jax
    real = np.asarray(toy.sample(jax.random.PRNGKey(3), 2000))
    for ax, shot in zip(row_axes, train["snapshots"]):
      if toy.dim == 1:
        ax.plot(train["axis"], shot["d"], "k", label=what)
        ax.hist(real[:, 0], bins=60, range=toy.extent, density=True, alpha=0.3, label="data")
        ax.hist(shot["fake"][:, 0], bins=60, range=toy.extent, density=True, alpha=0.3,
                label="G(z)")
        ax.set_ylim(0, 1.5 if algorithm == "gan" else 2.0)
      else:
        n = len(train["axis"])
        image = ax.imshow(shot["d"].reshape(n, n), origin="lower", extent=toy.extent * 2,
                          cmap="viridis", vmin=0, vmax=1 if algorithm == "gan" else 2.0)
        ax.plot(real[:, 0], real[:, 1], ",", color="w")
        ax.plot(shot["fake"][:, 0], shot["fake"][:, 1], ",", color="r")
        ax.set_xlim(*toy.extent)
        ax.set_ylim(*toy.extent)
      ax.set_title(f"{toy.name}, {algorithm.upper()}: after {shot['step']} G updates",
                   fontsize=7)
      ax.tick_params(labelsize=6)
    if toy.dim == 1:
      row_axes[0].legend(fontsize=6)
    else:
      fig.colorbar(image, ax=row_axes[-1], fraction=0.046)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "toys.png"), dpi=90)
  plt.close(fig)

  report.write_page(out, render)
  return summary


def render(out: str) -> str:
  """``out/README.md`` from ``out/theory.json`` alone."""
  results = report.read_json(out, "theory.json")
  quick = results.pop("setup")["quick"]
  p1 = results["proposition_1"]
  (m_d, s_d), (m_g, s_g) = PROP1["data"], PROP1["g"]
  toys = [k for k in results if k != "proposition_1"]
  lines = ["# The theory as experiments", "",
           "Regenerate with `make theory`" + (" (this is the `--quick` run)" if quick else "")
           + ". Every number below is measured by the command; the claims are the papers'.", "",
           "## GAN Proposition 1 (Goodfellow et al. 2014, §4.1)", "",
           f"p_data = N({m_d:g}, {s_d:g}²), a fixed generator with p_g = N({m_g:g}, {s_g:g}²); D (two "
           "hidden layers of 64 ReLU units) trained to convergence on fresh samples. Compared on "
           f"the grid points where (p_data + p_g)/2 ≥ {SUPPORT_DENSITY:g}.", "",
           "| measure | trained | theory |", "|---|---|---|",
           f"| max over x of \\|D(x) − D*(x)\\| | {p1['max_abs_error']:.3f} | 0 |",
           f"| V(D, G) = E log D(x) + E log(1 − D(G(z))) | {p1['value_trained_d']:.4f} | "
           f"C(G) = −log 4 + 2 JSD = {p1['value_formula']:.4f} |", "",
           "![Proposition 1](gan_optimal_d.png)", "",
           "## EBGAN Theorems 1–2 and the lecture's toys", "",
           "100 discriminator updates per generator update (the lecture's schedule), Adam 1e-3, "
           "batch 256; GAN non-saturating; EBGAN with margin m = 1 and the paper's energy, the l2 "
           "reconstruction error of an auto-encoder with D's hidden layers. The 1-D Gaussian is N(1, 0.5²) (G two hidden layers of 100, D "
           "one); the line is uniform on the segment from (−1, −0.5) to (1, 0.5) (G and D one "
           "hidden layer of 100). At the end, on fresh data points: D's mean, standard deviation "
           "and range (1st to 99th percentile) over the data; the generator's distance to the "
           "data (1-D: Wasserstein-1; line: mean distance off the line and Wasserstein-1 along "
           "it); for EBGAN, V = E D(x) + E [m − D(G(z))]^+ against m.", "",
           f"The verdicts use tolerances fixed in the code: flat means D's range over the data "
           f"is below {FLAT_RANGE:g} (GAN: around 1/2 within {FLAT_RANGE / 2:g}; EBGAN: within "
           f"{FLAT_RANGE:g} m); V = m within {VALUE_TOL:g} m; G on the data when its distance is "
           f"below {MATCH_DISTANCE:g}. The line has no area: a discriminator can tell apart a "
           "generator that is off it by any distance, so there p_G = p_data, which both theorems "
           "start from, is out of reach for a finite training run.", "",
           "| toy | model | D on data: mean | std | range | D on fakes | distance to data | "
           "V (EBGAN) | theory says | G on the data? | flat? | V = m? |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for key in toys:
    r = results[key]
    toy, algorithm = TOYS[key.split("/")[0]](), key.split("/")[1]
    distance = (f"W1 {r['w1_fake_data']:.3f}" if "w1_fake_data" in r else
                f"off {r['fake_off_line']:.3f}, W1 {r['w1_along_line']:.3f}")
    theory = ("D = 1/2 on the data (flat)" if algorithm == "gan" else
              "D = γ ∈ [0, m] on the data (flat), V = m")
    value = f"{r['value']:.3f}" if "value" in r else "—"
    verdict = r["verdicts"]
    yes = lambda v: "—" if v is None else ("yes" if v else "no")
    lines.append(f"| {toy.name} | {algorithm.upper()} | {r['d_on_data_mean']:.3f} | "
                 f"{r['d_on_data_std']:.3f} | {r['d_on_data_range']:.3f} | "
                 f"{r['d_on_fakes_mean']:.3f} | {distance} | {value} | {theory} | "
                 f"{yes(verdict['matched'])} | {yes(verdict['flat'])} | {yes(verdict['value'])} |")
  lines += ["", "![toys](toys.png)"]
  return report.page_text(lines)




def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.theory", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", default="results/theory")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--quick", action="store_true", help="a fifth of the updates")
  args = parser.parse_args(argv)
  set_cpu_defaults()
  results = run(args.seed, args.quick)
  summary = write_report(results, args.out, args.quick)
  from ebgan_jax import rundir
  print(rundir.dumps(summary), flush=True)
  print(f"wrote {args.out}/README.md, theory.json, gan_optimal_d.png, toys.png", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
