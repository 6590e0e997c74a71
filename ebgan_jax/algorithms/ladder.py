"""Semi-supervised learning with a Ladder Network: the LN baseline (Rasmus et al. 2015) and
EBGAN-LN, the Ladder Network as EBGAN's energy function (Zhao, Mathieu & LeCun 2017, §4.3).

Both train the Ladder Network (the ``d`` network) on the cross-entropy of its corrupted
classifier on labelled examples plus the weighted denoising costs on unlabelled ones; with only
the input layer's cost weighted (Pezeshki, Fan, Brakel, Courville & Bengio 2016) that cost is a
reconstruction error, the energy. EBGAN-LN adds a generator and pushes the energy of generated
examples above a margin that decays to 0 over training: when ``p_G = p_data`` there is nothing
left to push away.

The labelled examples (``ln.labels`` of them, balanced over the classes, drawn by the seed) are
kept in the controller: a per-seed constant of the state, so the members of a seed sweep each
have their own and a checkpoint restores them. Unlabelled examples are the training batches.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax.algorithms.base import Algorithm, Update, f32
from ebgan_jax.state import apply_train, sample_latent


def ladder_energy(costs: jax.Array, weights: tuple[float, ...]) -> jax.Array:
  """``sum_l lambda_l C_l`` per example from ``[B, L + 1]`` layer costs; missing weights are 0."""
  w = jnp.zeros(costs.shape[-1]).at[:len(weights)].set(jnp.asarray(weights, jnp.float32))
  return costs @ w


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """``-log softmax(logits)[label]`` per example."""
  return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=-1)[:, 0]


@dataclasses.dataclass(frozen=True)
class LadderNet(Algorithm):
  name = "ln"
  title = "LN"
  discriminator = "ladder"
  generative = False
  progress_metrics = ("cross_entropy", "energy_real")
  # labels: labelled examples (a multiple of 10); labelled_batch: how many of them each step
  # sees (all of them when it is larger); cost_weights: lambda_0, lambda_1, ... of the
  # denoising costs, layer 0 the input (one weight: the bottom-layer cost); margin, and
  # margin_decay_steps over which it falls linearly to 0 (EBGAN-LN only).
  config_block = {"labels": 100, "labelled_batch": 100, "cost_weights": (1000.0,),
                  "margin": 10.0, "margin_decay_steps": 0}
  cost_weights: tuple[float, ...] = (1000.0,)
  labelled_batch: int = 100

  @classmethod
  def from_config(cls, config):
    return cls(cost_weights=tuple(float(w) for w in config.ln.cost_weights),
               labelled_batch=min(config.ln.labelled_batch, config.ln.labels))

  @staticmethod
  def validate(config):
    ln = config.ln
    if ln.labels <= 0 or ln.labels % 10:
      raise ValueError(f"config.ln.labels must be a positive multiple of 10 (balanced over "
                       f"the classes), got {ln.labels}.")
    if ln.labelled_batch <= 0:
      raise ValueError(f"config.ln.labelled_batch must be positive, got {ln.labelled_batch}.")
    weights = tuple(ln.cost_weights)
    if not weights or min(weights) < 0 or len(weights) > len(config.model.ladder_sizes) + 1:
      raise ValueError("config.ln.cost_weights needs 1 to len(model.ladder_sizes) + 1 weights "
                       f">= 0 (input layer first), got {weights}.")
    if config.model.ladder_sizes[-1] != 10:
      raise ValueError("the Ladder Network classifies 10 digits: model.ladder_sizes must end "
                       f"with 10, got {tuple(config.model.ladder_sizes)}.")
    from ebgan_jax import data
    if data.spec(config.data.name).labels is None:
      raise ValueError(f"semi-supervised runs need labels: data.name {data.labelled_names()}, got "
                       f"{config.data.name!r}.")
    if ln.margin < 0 or ln.margin_decay_steps < 0:
      raise ValueError("config.ln.margin and config.ln.margin_decay_steps must be >= 0.")
    if config.pack > 1:
      raise ValueError("the Ladder Network reads single examples: use --config.pack=1.")

  def init_controller(self, config):
    from ebgan_jax import data
    images, labels = data.labelled_subset(config.data, config.ln.labels, config.seed)
    return {"labelled_x": jnp.asarray(images), "labelled_y": jnp.asarray(labels),
            "margin": f32(config.ln.margin), "margin0": f32(config.ln.margin),
            "decay_steps": jnp.asarray(config.ln.margin_decay_steps, jnp.int32),
            "t": jnp.zeros((), jnp.int32)}

  def labelled(self, controller, key):
    n = controller["labelled_y"].shape[0]
    idx = (jnp.arange(n) if self.labelled_batch >= n
           else jax.random.choice(key, n, (self.labelled_batch,), replace=False))
    return controller["labelled_x"][idx], controller["labelled_y"][idx]

  def supervised_and_real(self, d, params, stats, controller, batch, k_lab, k_unl):
    """Cross-entropy of the corrupted path on a labelled minibatch and the energy of the
    unlabelled batch (whose clean pass alone moves the running averages)."""
    x_lab, y_lab = self.labelled(controller, k_lab)
    (logits, _, _), stats_l = d.apply_fn({"params": params, "batch_stats": stats}, x_lab,
                                         train=True, update_stats=False, mutable=["batch_stats"],
                                         rngs={"dropout": k_lab})
    (_, _, costs), mutated = d.apply_fn({"params": params, "batch_stats": stats}, batch,
                                        train=True, mutable=["batch_stats"],
                                        rngs={"dropout": k_unl})
    ce = jnp.mean(cross_entropy(logits, y_lab))
    energy = ladder_energy(costs, self.cost_weights)
    accuracy = jnp.mean((jnp.argmax(logits, -1) == y_lab).astype(jnp.float32))
    return ce, energy, mutated["batch_stats"], {"cross_entropy": ce,
                                                "energy_real": jnp.mean(energy),
                                                "labelled_accuracy": accuracy}

  def update(self, state, batch, key, settings, shard_batch):
    k_lab, k_unl = jax.random.split(key)
    d = state.d

    def loss_fn(params):
      ce, energy, stats, metrics = self.supervised_and_real(d, params, d.batch_stats,
                                                            state.controller, batch, k_lab, k_unl)
      loss = ce + jnp.mean(energy)
      return loss, (stats, metrics)

    (loss, (stats, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(d.params)
    d = d.apply_gradients(grads=grads).replace(batch_stats=stats)
    zero_g = jax.tree.map(jnp.zeros_like, state.g.params)
    metrics = {**metrics, "loss_d": loss, "loss_g": jnp.zeros_like(loss)}
    return Update(state.g, d, state.controller, metrics, loss, jnp.zeros_like(loss), grads,
                  zero_g)

  def evaluate(self, config, networks, state, dataset):
    """``test_error`` (percent) of the clean classifier, the running averages in its batch
    normalisation, on the held-out examples; and the number of labels."""
    from ebgan_jax import data
    x = data.heldout_examples(config.data)
    y = data.heldout_labels(config.data)
    if x is None:
      return {"labels": int(config.ln.labels)}
    ladder = networks[1]
    variables = {"params": state.d.params, "batch_stats": state.d.batch_stats}
    classify = jax.jit(lambda xb: jnp.argmax(ladder.apply(variables, xb, train=False)[1], -1))
    predicted = np.concatenate([np.asarray(classify(jnp.asarray(x[i:i + 500])))
                                for i in range(0, len(x), 500)])
    return {"test_error": float(100.0 * np.mean(predicted != y)), "labels": int(config.ln.labels),
            "test_examples": int(len(y))}


@dataclasses.dataclass(frozen=True)
class EBGANLN(LadderNet):
  name = "ebgan_ln"
  title = "EBGAN-LN"
  generative = True
  progress_metrics = ("cross_entropy", "energy_fake")
  variants = None

  def update(self, state, batch, key, settings, shard_batch):
    k_lab, k_unl, k_z, k_fake, k_g = jax.random.split(key, 5)
    g, d, controller = state.g, state.d, state.controller
    z = shard_batch(sample_latent(k_z, batch.shape[0], settings.latent_dim, settings.latent_dist))
    generate = lambda p: apply_train(g, p, g.batch_stats, z, k_z)
    fake, g_pullback, g_stats = jax.vjp(generate, g.params, has_aux=True)
    fake_const = jax.lax.stop_gradient(fake)
    margin = controller["margin"]

    # The Ladder Network: supervised cost + energy of real data + the hinge on generated data.
    def d_loss_fn(params):
      ce, energy, stats, metrics = self.supervised_and_real(d, params, d.batch_stats, controller,
                                                            batch, k_lab, k_unl)
      (_, _, costs), _ = d.apply_fn({"params": params, "batch_stats": stats}, fake_const,
                                    train=True, update_stats=False, mutable=["batch_stats"],
                                    rngs={"dropout": k_fake})
      e_fake = ladder_energy(costs, self.cost_weights)
      loss = ce + jnp.mean(energy) + jnp.mean(jax.nn.relu(margin - e_fake))
      return loss, (stats, metrics)

    (loss_d, (d_stats, metrics)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d.params)
    d = d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)

    # The generator lowers the energy of its samples under the updated network.
    def g_loss_fn(x_fake):
      (_, _, costs), _ = d.apply_fn({"params": d.params, "batch_stats": d.batch_stats}, x_fake,
                                    train=True, update_stats=False, mutable=["batch_stats"],
                                    rngs={"dropout": k_g})
      return jnp.mean(ladder_energy(costs, self.cost_weights))

    loss_g, d_fake = jax.value_and_grad(g_loss_fn)(fake)
    (g_grads,) = g_pullback(d_fake)
    g = g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    # The margin falls linearly from margin0 to 0 over decay_steps (0: it stays).
    t = controller["t"] + 1
    frac = jnp.where(controller["decay_steps"] > 0,
                     jnp.clip(1.0 - t / jnp.maximum(controller["decay_steps"], 1), 0.0, 1.0), 1.0)
    controller = {**controller, "t": t, "margin": controller["margin0"] * frac}
    metrics = {**metrics, "energy_fake": loss_g, "margin": margin, "loss_d": loss_d,
               "loss_g": loss_g}
    return Update(g, d, controller, metrics, loss_d, loss_g, d_grads, g_grads)
