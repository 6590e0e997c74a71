"""The structured perceptron (Collins 2002) on sequence labelling, with an exact argmax.

The structured-learning side of the evaluation-function view of energy-based GANs (Hung-yi
Lee's lecture on EBGAN): an evaluation function ``F(x, y) = w · φ(x, y)`` scores a labelling
``y`` of an input ``x``; prediction is ``ỹ = argmax_y F(x, y)``; learning lowers the score of
the wrong answer the argmax found and raises that of the right one,

    w ← w + φ(x, ŷ) − φ(x, ỹ)    when ỹ ≠ ŷ,

until an epoch makes no update (Collins 2002, Fig. 1). For label sequences and features that
count a hidden Markov model's events (the first label, label-to-label transitions, label-symbol
emissions), the argmax is exact by dynamic programming (Viterbi), here a ``jax.lax.scan``. On
data that a unit vector ``U`` separates with margin ``δ`` (``U·φ(x, ŷ) − U·φ(x, y) ≥ δ`` for
every wrong ``y``), with ``R ≥ ||φ(x, ŷ) − φ(x, y)||``, the perceptron makes at most
``(R/δ)²`` updates (Novikoff 1962; Collins 2002, Theorem 1): :func:`mistake_bound` computes
both by enumerating every labelling of short sequences.

The averaged perceptron (Collins 2002, §2.5) predicts with the mean of ``w`` over every example
of every epoch.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class HMM:
  """A hidden Markov model with ``K`` states and ``V`` symbols, as probabilities."""
  initial: np.ndarray  # [K]
  transition: np.ndarray  # [K, K], rows: from
  emission: np.ndarray  # [K, V]

  @property
  def states(self) -> int:
    return self.initial.shape[0]

  @property
  def symbols(self) -> int:
    return self.emission.shape[1]

  def weights(self) -> jax.Array:
    """The weight vector whose score is the log joint probability ``log p(x, y)``: the HMM's
    own Viterbi decoder is the argmax of this evaluation function."""
    return pack(jnp.log(self.initial), jnp.log(self.transition), jnp.log(self.emission))


def random_hmm(seed: int, states: int, symbols: int, concentration: float = 0.3) -> HMM:
  """An HMM with Dirichlet(``concentration``) rows: small values give peaked, informative
  emissions and sticky-or-not transitions."""
  rng = np.random.default_rng(seed)
  dirichlet = lambda n, k: rng.dirichlet(np.full(k, concentration), size=n)
  return HMM(initial=dirichlet(1, states)[0], transition=dirichlet(states, states),
             emission=dirichlet(states, symbols))


def sample_hmm(hmm: HMM, n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``n`` sequences ``(x [n, T] symbols, y [n, T] hidden states)`` drawn from ``hmm``."""
  rng = np.random.default_rng(seed)
  cumulative = lambda p: np.cumsum(p, axis=-1)
  draw = lambda c, u: (u[..., None] > c).sum(-1)
  y = np.empty((n, length), np.int32)
  x = np.empty((n, length), np.int32)
  y[:, 0] = draw(cumulative(hmm.initial)[None], rng.random(n))
  for t in range(length):
    if t:
      y[:, t] = draw(cumulative(hmm.transition)[y[:, t - 1]], rng.random(n))
    x[:, t] = draw(cumulative(hmm.emission)[y[:, t]], rng.random(n))
  return np.minimum(x, hmm.symbols - 1), np.minimum(y, hmm.states - 1)


# ----------------------------------------------------------------------------------------------
# Features and scores: φ(x, y) counts the first state, the transitions and the emissions
# ----------------------------------------------------------------------------------------------

class Weights(NamedTuple):
  initial: jax.Array  # [K]
  transition: jax.Array  # [K, K]
  emission: jax.Array  # [K, V]


def pack(initial, transition, emission) -> jax.Array:
  """The flat weight (or feature) vector ``[K + K·K + K·V]``."""
  return jnp.concatenate([jnp.ravel(initial), jnp.ravel(transition), jnp.ravel(emission)])


def unpack(w: jax.Array, states: int, symbols: int) -> Weights:
  k, v = states, symbols
  return Weights(w[:k], w[k:k + k * k].reshape(k, k), w[k + k * k:].reshape(k, v))


def dimension(states: int, symbols: int) -> int:
  return states + states * states + states * symbols


def features(x: jax.Array, y: jax.Array, states: int, symbols: int) -> jax.Array:
  """φ(x, y) for one sequence: the counts of the first state, of each transition and of each
  emission, as one vector (the sum of one-hot events)."""
  one = lambda i, n: jax.nn.one_hot(i, n, dtype=jnp.float32)
  initial = one(y[0], states)
  transition = jnp.einsum("ti,tj->ij", one(y[:-1], states), one(y[1:], states))
  emission = jnp.einsum("ti,tv->iv", one(y, states), one(x, symbols))
  return pack(initial, transition, emission)


def score(w: jax.Array, x: jax.Array, y: jax.Array, states: int, symbols: int) -> jax.Array:
  """F(x, y) = w · φ(x, y)."""
  return jnp.dot(w, features(x, y, states, symbols))


def viterbi(w: jax.Array, x: jax.Array, states: int, symbols: int,
            cost: jax.Array | None = None) -> jax.Array:
  """``argmax_y w · φ(x, y) + Σ_t cost[t, y_t]`` for one sequence ``x [T]`` (``cost [T, K]``,
  zero by default), exactly, by dynamic programming (ties go to the lowest state, as
  ``argmax`` breaks them)."""
  p = unpack(w, states, symbols)
  node = p.emission[:, x].T  # [T, K]
  if cost is not None:
    node = node + cost

  def forward(best, node_t):
    candidates = best[:, None] + p.transition  # [from, to]
    back = jnp.argmax(candidates, axis=0)
    return jnp.max(candidates, axis=0) + node_t, back

  last, backs = jax.lax.scan(forward, p.initial + node[0], node[1:])

  def backward(state, back):
    previous = back[state]
    return previous, previous

  end = jnp.argmax(last)
  _, earlier = jax.lax.scan(backward, end, backs, reverse=True)
  return jnp.concatenate([earlier, end[None]]).astype(jnp.int32)


# ----------------------------------------------------------------------------------------------
# The perceptron
# ----------------------------------------------------------------------------------------------

class Epoch(NamedTuple):
  w: jax.Array  # the weights after the epoch
  total: jax.Array  # the running sum of w after every example so far (for the average)
  mistakes: jax.Array  # updates made in this epoch


def perceptron_update(w: jax.Array, x: jax.Array, y: jax.Array, states: int, symbols: int,
                      margin: bool = False) -> tuple[jax.Array, jax.Array]:
  """One example: ``ỹ = argmax F(x, ·)``; ``w + φ(x, ŷ) − φ(x, ỹ)`` if ``ỹ ≠ ŷ``. Returns the
  new ``w`` and whether it changed.

  With ``margin``, the argmax is loss-augmented, ``argmax_y F(x, y) + Hamming(y, ŷ)``: a
  wrong labelling must score below the truth by as many points as it has wrong labels, so
  the weights it converges to separate the data with a margin (Taskar et al. 2004's margin,
  learnt by perceptron updates)."""
  cost = (jnp.arange(states)[None, :] != y[:, None]).astype(w.dtype) if margin else None
  guess = viterbi(w, x, states, symbols, cost)
  wrong = jnp.any(guess != y)
  step = features(x, y, states, symbols) - features(x, guess, states, symbols)
  return jnp.where(wrong, w + step, w), wrong


def make_epoch(states: int, symbols: int, margin: bool = False):
  """A jitted epoch over ``(x [N, T], y [N, T])`` in order: ``(w, total) -> Epoch``."""

  @jax.jit
  def epoch(w, total, x, y):
    def one(carry, example):
      w, total = carry
      w, wrong = perceptron_update(w, *example, states, symbols, margin)
      return (w, total + w), wrong

    (w, total), wrong = jax.lax.scan(one, (w, total), (x, y))
    return Epoch(w, total, jnp.sum(wrong))

  return epoch


@dataclasses.dataclass
class Trained:
  w: np.ndarray  # the final weights
  averaged: np.ndarray  # the mean of w over every example of every epoch
  mistakes: list[int]  # per epoch
  converged: bool  # the last epoch made no update
  history: list[tuple[np.ndarray, np.ndarray]]  # (w, averaged w) after each epoch


def train_perceptron(x: np.ndarray, y: np.ndarray, states: int, symbols: int,
                     max_epochs: int, shuffle_seed: int | None = 0,
                     margin: bool = False) -> Trained:
  """Perceptron epochs until one makes no update (or ``max_epochs``). The examples are taken
  in a new order each epoch when ``shuffle_seed`` is given (Collins 2002 does not; it does not
  change the bound, and it helps the averaged weights on data that is not separable).
  ``margin``: loss-augmented updates (:func:`perceptron_update`)."""
  epoch = make_epoch(states, symbols, margin)
  w = total = jnp.zeros(dimension(states, symbols), jnp.float32)
  rng = np.random.default_rng(shuffle_seed)
  mistakes, seen, history = [], 0, []
  for _ in range(max_epochs):
    order = rng.permutation(len(x)) if shuffle_seed is not None else np.arange(len(x))
    w, total, wrong = epoch(w, total, jnp.asarray(x[order]), jnp.asarray(y[order]))
    seen += len(x)
    mistakes.append(int(wrong))
    history.append((np.asarray(w), np.asarray(total) / seen))
    if mistakes[-1] == 0:
      break
  return Trained(*history[-1], mistakes, mistakes[-1] == 0, history)


def decode(w: np.ndarray, x: np.ndarray, states: int, symbols: int) -> np.ndarray:
  """The argmax labelling of every sequence of ``x [N, T]``."""
  return np.asarray(jax.jit(jax.vmap(lambda s: viterbi(jnp.asarray(w), s, states, symbols)))(
      jnp.asarray(x)))


# ----------------------------------------------------------------------------------------------
# Novikoff/Collins: R, the margin δ of a separating vector, and the bound (R/δ)²
# ----------------------------------------------------------------------------------------------

class Bound(NamedTuple):
  radius: float  # R = max over examples and wrong labellings of ||φ(x, ŷ) − φ(x, y)||
  margin: float  # δ = min over the same of U·φ(x, ŷ) − U·φ(x, y), U = u / ||u||
  updates: float  # (R/δ)², infinite when δ ≤ 0 (u does not separate the data)


def mistake_bound(u: np.ndarray, x: np.ndarray, y: np.ndarray, states: int, symbols: int
                  ) -> Bound:
  """R, δ and (R/δ)² of the unit vector along ``u`` on ``(x, y)``, by enumerating every one
  of the ``K^T`` labellings of each sequence (short sequences only)."""
  length = x.shape[1]
  if states ** length > 1 << 16:
    raise ValueError(f"{states}^{length} labellings are too many to enumerate for the bound; "
                     "use shorter sequences or fewer states.")
  every = jnp.asarray(list(itertools.product(range(states), repeat=length)), jnp.int32)
  unit = jnp.asarray(u / max(np.linalg.norm(u), 1e-30), jnp.float32)

  @jax.jit
  def one(xs, ys):
    phi = jax.vmap(lambda z: features(xs, z, states, symbols))(every)  # [K^T, D]
    diff = features(xs, ys, states, symbols)[None] - phi
    wrong = jnp.any(every != ys[None], axis=1)
    radius = jnp.max(jnp.where(wrong, jnp.linalg.norm(diff, axis=1), 0.0))
    margin = jnp.min(jnp.where(wrong, diff @ unit, jnp.inf))
    return radius, margin

  radii, margins = jax.lax.map(lambda e: one(*e), (jnp.asarray(x), jnp.asarray(y)))
  radius, margin = float(jnp.max(radii)), float(jnp.min(margins))
  return Bound(radius, margin, (radius / margin) ** 2 if margin > 0 else float("inf"))
