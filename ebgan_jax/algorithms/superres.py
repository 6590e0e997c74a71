"""Super-resolution through the runner: the ``g`` network maps an LR image to its HR image.

The data are HR patches (``data.name="natural_images"``); each step makes their LR inputs with
the project's one degradation operator ``U`` (:func:`ebgan_jax.evaluators.superres.downsample`),
so the pairs are exact and nothing else is stored. ``superres.loss``:

- ``"mse"``: ``min_theta sum_i ||Phi(x_i; theta) - y_i||^2`` (Bruna, Sprechmann & LeCun 2016,
  eq. 1), the conditional mean; the ``d`` network is built but never trained.
- ``"stats"``: the sufficient-statistics model (ibid., §3-4): the network predicts the
  scattering statistics of the HR image (:func:`ebgan_jax.statistics.scattering`,
  ``model.outputs="statistics"``) for mean-squared error, and an HR image is synthesised by
  matching them under the consistency term (:func:`ebgan_jax.statistics.synthesize`,
  ``superres.synthesis_steps`` Adam steps from the bicubic upsampling, weight
  ``superres.consistency``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax import statistics
from ebgan_jax.algorithms.base import Algorithm, Update, f32
from ebgan_jax.evaluators import superres as sr


def to_unit(batch: jax.Array) -> jax.Array:
  """Data in [-1, 1] to images in [0, 1]."""
  return (batch + 1.0) / 2.0


@dataclasses.dataclass(frozen=True)
class SuperResolution(Algorithm):
  name = "superres"
  title = "Super-resolution"
  generative = False
  progress_metrics = ("mse", "psnr")
  # loss: "mse". eval_images: the validation images scored at the end of a run (0: none).
  config_block = {"loss": "mse", "eval_images": 2, "synthesis_steps": 100,
                  "consistency": 100.0}
  scale: int = 4
  loss: str = "mse"
  synthesis_steps: int = 100
  consistency: float = 100.0

  @classmethod
  def from_config(cls, config):
    s = config.superres
    return cls(scale=int(config.model.scale), loss=s.loss,
               synthesis_steps=int(s.synthesis_steps), consistency=float(s.consistency))

  @staticmethod
  def validate(config):
    if config.superres.loss not in ("mse", "stats"):
      raise ValueError(f"config.superres.loss must be 'mse' or 'stats', got "
                       f"{config.superres.loss!r}.")
    if config.model.arch != "superres":
      raise ValueError("algorithm='superres' needs model.arch='superres'.")
    wants = "statistics" if config.superres.loss == "stats" else "image"
    if config.model.outputs != wants:
      raise ValueError(f"superres.loss={config.superres.loss!r} needs "
                       f"model.outputs={wants!r}, got {config.model.outputs!r}.")
    side = config.data.image_size
    if side and side % (4 * config.model.scale):
      raise ValueError(f"data.image_size={side} must be a multiple of 4 x model.scale "
                       f"({4 * config.model.scale}) for the LR patch and the pair energy.")

  def example_inputs(self, config, data_shape):
    h, w, _ = data_shape
    return (jnp.zeros((2, h // self.scale, w // self.scale, 3)),
            jnp.zeros((2, h, w, 6)))

  def update(self, state, batch, key, settings, shard_batch):
    y = to_unit(batch)
    x = sr.downsample(y, self.scale)
    g = state.g

    target = statistics.scattering(y) if self.loss == "stats" else y

    def loss_fn(params):
      out, stats = g.apply_fn({"params": params, "batch_stats": g.batch_stats}, x, train=True,
                              mutable=["batch_stats"], rngs={"noise": key})
      mse = jnp.mean(jnp.square(out - target))
      return mse, stats.get("batch_stats", {})

    (mse, g_stats), g_grads = jax.value_and_grad(loss_fn, has_aux=True)(g.params)
    g = g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    d_grads = jax.tree.map(jnp.zeros_like, state.d.params)
    metrics = {"mse": mse, "psnr": -10.0 * jnp.log10(mse), "loss_d": f32(0.0), "loss_g": mse}
    return Update(g, state.d, state.controller, metrics, f32(0.0), mse, d_grads, g_grads)

  def super_resolve_fn(self, generator):
    """``(g_vars, x [B, h, w, 3]) -> y [B, sh, sw, 3]`` in [0, 1], jitted (z = 0 for a noisy
    network; the statistics model synthesises from its predicted statistics)."""
    if self.loss == "stats":
      def synthesise(g_vars, x):
        predicted = generator.apply(g_vars, x, train=False)
        return statistics.synthesize(predicted, x, self.scale, sr.upsample_bicubic(x, self.scale),
                                     steps=self.synthesis_steps, consistency=self.consistency)
      return jax.jit(synthesise)
    return jax.jit(lambda g_vars, x: jnp.clip(generator.apply(g_vars, x, train=False), 0.0, 1.0))

  def evaluate(self, config, networks, state, dataset):
    """PSNR-Y, SSIM-Y, consistency and detail ratio on the first ``superres.eval_images``
    validation images (never trained on), with bicubic's PSNR-Y beside them."""
    from ebgan_jax.data import natural
    n = config.superres.eval_images
    if not n:
      return {}
    generator, _ = networks
    resolve = self.super_resolve_fn(generator)
    g_vars = {"params": state.g.params, "batch_stats": state.g.batch_stats}
    rows = []
    for image in list(natural.split_images("validation").values())[:n]:
      hr, x = sr.degrade(image, self.scale)
      out = sr.tiled(lambda t: resolve(g_vars, t), x, self.scale)
      row = sr.scores(out, hr, x, self.scale)
      row["bicubic_psnr_y"] = sr.psnr_y(
          sr.to_uint8(sr.upsample_bicubic(jnp.asarray(x), self.scale)), sr.to_uint8(hr),
          self.scale)
      rows.append(row)
    return {"val_" + k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
