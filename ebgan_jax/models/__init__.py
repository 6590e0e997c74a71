"""Generators and discriminators (Flax linen, NHWC), and the registry that builds them by name.

``model.arch`` names an :class:`Architecture` in :data:`ARCHITECTURES`; the algorithm names the
kind of discriminator it needs (``Algorithm.discriminator``). Most discriminators here are
auto-encoders, whose ``__call__`` returns ``(reconstruction, code)``, the code being what the
pulling-away term acts on.

- ``mlp``: the EBGAN paper's MNIST grid-search networks (nLayerG, sizeG, nLayerD, sizeD,
  dropoutD), and the VAE's and the Ladder Network's fully connected networks.
- ``pacgan``: PacGAN's 2-D generator and maxout discriminators (Lin et al. 2018, §5.1).
- ``small_conv``: small convolutional pairs for 8x8 to 32x32 images.
- ``dcgan``: the DCGAN generator and the EBGAN paper's 64x64 auto-encoder discriminator.
- ``dcgan_tf``: the DCGAN of the TensorFlow code that VEEGAN and PacGAN run on Stacked MNIST
  (5x5 kernels, sides halved with rounding up, so 28x28 works).
- ``began``: BEGAN's ELU auto-encoder and a generator shaped like its decoder.
- ``began_dense``: BEGAN's generator with a fully connected bottleneck auto-encoder (``size_d``
  ELU units, a linear code of ``code_size``), the discriminator of public BEGAN code for MNIST.
- ``pytorch_gan``: the networks of PyTorch-GAN's ``implementations/ebgan/ebgan.py``, for
  throughput comparisons on identical networks.
- ``sbn``: sigmoid belief networks over binary units, top-down and bottom-up (the
  Bidirectional Helmholtz Machine's ``p`` and ``q``).

A new architecture is one :func:`register` call (``docs/contributing.md``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn

from ebgan_jax.models.belief import (BottomUpSBN, TopDownSBN, bernoulli_from_uniform,
                                     bernoulli_log_prob, to_binary)
from ebgan_jax.models.conv import (BEGANAutoEncoder, BEGANDecoder, ConvDiscriminator,
                                   ConvTransposeTo, DCGANGenerator, PaperAutoEncoder,
                                   PyTorchGANAutoEncoder, PyTorchGANGenerator,
                                   SmallConvAutoEncoder, SmallConvGenerator, TFDCGANAutoEncoder,
                                   TFDCGANDiscriminator, TFDCGANGenerator, began_levels,
                                   MAGANGenerator, halved_sides)
from ebgan_jax.models.dense import (DenseBottleneckAutoEncoder, GaussianEncoder, Maxout, MaxoutAutoEncoder,
                                    MaxoutDiscriminator, MLPAutoEncoder, MLPDiscriminator,
                                    MLPGenerator, PacGANGenerator, SigmoidAutoEncoder)
from ebgan_jax.models.superres import PairAutoEncoder, SuperResolutionNet, depth_to_space
from ebgan_jax.models.ladder import LadderNetwork, VanillaCombinator
from ebgan_jax.models.layers import (Array, Conv, ConvTranspose, Shape, UpsampleConv, batch_norm,
                                     conv2d, conv_transpose_subpixel, pack_examples,
                                     packed_shape, same_padding, subpixel_kernel,
                                     upsample_conv_resize, upsample_conv_subpixel)

# (model config, example shape, latent dimension) -> a network.
Builder = Callable[[Any, Shape, int], nn.Module]


@dataclasses.dataclass(frozen=True)
class Architecture:
  """One value of ``model.arch``.

  ``networks`` maps each kind of discriminator the architecture provides (``"autoencoder"``,
  ``"logit"``, ``"gaussian_encoder"``, ``"ladder"``, ``"sbn"``) to the builders of its
  ``(generator, discriminator)`` pair. ``fits(shape)`` says whether an example shape can be
  taken, and ``needs`` says what it needs, for the error when it cannot.
  """
  networks: Mapping[str, tuple[Builder, Builder]]
  needs: str = ""
  fits: Callable[[Shape], bool] = lambda shape: True


ARCHITECTURES: dict[str, Architecture] = {}


def register(name: str, architecture: Architecture) -> Architecture:
  """Adds ``architecture`` as ``model.arch=name``; refuses a name already taken."""
  if name in ARCHITECTURES:
    raise ValueError(f"model.arch {name!r} is already registered.")
  ARCHITECTURES[name] = architecture
  return architecture


def _square(side_ok: Callable[[int], bool]) -> Callable[[Shape], bool]:
  return lambda s: len(s) == 3 and s[0] == s[1] and side_ok(s[0])


_power_of_two = lambda n: n & (n - 1) == 0
_mlp_g: Builder = lambda c, s, _: MLPGenerator(s, c.n_layers_g, c.size_g, c.batch_norm_g,
                                                c.output_activation)
# PacGAN's generator: the released code's (output bias, BatchNorm momentum 0.95), or the one this
# project used before it ("bias_free": neither bias nor that momentum).
PACGAN_GENERATORS = {"released": {"output_bias": True, "momentum": 0.95},
                     "bias_free": {"output_bias": False, "momentum": 0.9}}
_pacgan_g: Builder = lambda c, s, _: PacGANGenerator(s, c.n_layers_g, c.size_g,
                                                      **PACGAN_GENERATORS[c.pacgan_generator])
_small_conv_g: Builder = lambda c, s, _: SmallConvGenerator(s, c.features_g, c.upsample)
_dcgan_g: Builder = lambda c, s, _: DCGANGenerator(s, c.features_g, c.upsample)
_dcgan_tf_g: Builder = lambda c, s, _: TFDCGANGenerator(s, c.features_g, c.upsample)

register("mlp", Architecture({
    "autoencoder": (_mlp_g, lambda c, s, _: MLPAutoEncoder(s, c.n_layers_d, c.size_d, c.dropout_d,
                                                           c.bottleneck_d, c.activation_d)),
    "logit": (_mlp_g, lambda c, s, _: MLPDiscriminator(c.n_layers_d, c.size_d, c.dropout_d)),
    # AEVB's decoder: no BatchNorm, and logits out (the Bernoulli likelihood takes them).
    "gaussian_encoder": (lambda c, s, _: MLPGenerator(s, c.n_layers_g, c.size_g, False, "none"),
                         lambda c, s, z: GaussianEncoder(z, c.n_layers_d, c.size_d)),
    "ladder": (_mlp_g, lambda c, s, _: LadderNetwork(tuple(int(n) for n in c.ladder_sizes),
                                                     float(c.ladder_noise))),
}))
# MAGAN's released MNIST pair: a transposed-convolution generator without BatchNorm and a
# 784-256-256-784 sigmoid auto-encoder (features_g, n_layers_d and size_d set their widths).
register("magan", Architecture(
    {"autoencoder": (lambda c, s, _: MAGANGenerator(s, c.features_g, c.upsample),
                     lambda c, s, _: SigmoidAutoEncoder(s, c.n_layers_d, c.size_d))},
    "square images whose side is a multiple of 4", _square(lambda n: n % 4 == 0)))
register("pacgan", Architecture({
    "autoencoder": (_pacgan_g, lambda c, s, _: MaxoutAutoEncoder(
        s, c.n_layers_d, c.size_d, c.maxout_pieces, c.bottleneck_d)),
    "logit": (_pacgan_g, lambda c, s, _: MaxoutDiscriminator(c.n_layers_d, c.size_d,
                                                             c.maxout_pieces)),
}))
register("small_conv", Architecture(
    {"autoencoder": (_small_conv_g, lambda c, s, _: SmallConvAutoEncoder(s, c.features_d,
                                                                         c.code_size, c.upsample)),
     "logit": (_small_conv_g, lambda c, s, _: ConvDiscriminator(c.features_d))},
    "square images whose side is a multiple of 4 between 8 and 64",
    _square(lambda n: n % 4 == 0 and 8 <= n <= 64)))
register("dcgan", Architecture(
    {"autoencoder": (_dcgan_g, lambda c, s, _: PaperAutoEncoder(s, c.features_d, c.upsample)),
     "logit": (_dcgan_g, lambda c, s, _: ConvDiscriminator(c.features_d, kernel_size=4))},
    "square images whose side is a power of two, at least 16",
    _square(lambda n: n >= 16 and _power_of_two(n))))
register("dcgan_tf", Architecture(
    {"autoencoder": (_dcgan_tf_g, lambda c, s, _: TFDCGANAutoEncoder(s, c.features_d,
                                                                     c.upsample)),
     "logit": (_dcgan_tf_g, lambda c, s, _: TFDCGANDiscriminator(c.features_d))},
    "square images of side at least 16", _square(lambda n: n >= 16)))
register("began", Architecture(
    {"autoencoder": (lambda c, s, _: BEGANDecoder(s, c.features_g, c.upsample),
                     lambda c, s, _: BEGANAutoEncoder(s, c.features_d, c.code_size, c.upsample))},
    "square images whose side is 8 times a power of two (8, 16, 32, 64, ...)",
    _square(lambda n: n >= 8 and _power_of_two(n))))
register("began_dense", Architecture(
    {"autoencoder": (lambda c, s, _: BEGANDecoder(s, c.features_g, c.upsample),
                     lambda c, s, _: DenseBottleneckAutoEncoder(s, c.size_d, c.code_size))},
    "square images whose side is 8 times a power of two (8, 16, 32, 64, ...)",
    _square(lambda n: n >= 8 and _power_of_two(n))))
register("pytorch_gan", Architecture(
    {"autoencoder": (lambda c, s, _: PyTorchGANGenerator(s, c.upsample),
                     lambda c, s, _: PyTorchGANAutoEncoder(s, c.upsample))},
    "square images whose side is a multiple of 4 between 8 and 64",
    _square(lambda n: n % 4 == 0 and 8 <= n <= 64)))
register("sbn", Architecture({
    "sbn": (lambda c, s, _: TopDownSBN(s, tuple(int(n) for n in c.sbn_sizes)),
            lambda c, s, _: BottomUpSBN(tuple(int(n) for n in c.sbn_sizes))),
}))

register("superres", Architecture(
    {"autoencoder": (lambda c, s, _: SuperResolutionNet(
                         int(c.scale), c.features_g, c.blocks, c.noise, c.outputs,
                         3 + c.features_d if c.outputs == "features" else 0),
                     lambda c, s, _: PairAutoEncoder(c.features_d))},
    "HR patches [H, W, 3] whose sides are multiples of 4 x model.scale",
    lambda s: len(s) == 3 and s[-1] == 3))

# Who needs which kind, for the errors that name the algorithm rather than the kind.
_KIND_USERS = {"gaussian_encoder": "the VAE needs", "ladder": "the Ladder Networks need",
               "sbn": "the BiHM needs", "logit": "GAN needs",
               "autoencoder": "the energy-based models need"}


def _architecture(arch: str) -> Architecture:
  if arch not in ARCHITECTURES:
    raise ValueError(f"unknown model.arch {arch!r}; choose one of "
                     f"{', '.join(repr(a) for a in ARCHITECTURES)}.")
  return ARCHITECTURES[arch]


def check_image_shape(arch: str, shape: Shape) -> None:
  """Raises ``ValueError`` (one line, with the fix) when ``arch`` cannot take ``shape``."""
  architecture = _architecture(arch)
  if architecture.needs and not architecture.fits(tuple(shape)):
    need = (architecture.needs if len(shape) == 3 else "images of shape [H, W, C]")
    raise ValueError(f"model.arch={arch!r} cannot take data of shape {tuple(shape)}: it needs "
                     f"{need}; set data.image_size to such a size or choose another model.arch.")


def make_models(model_cfg: Any, data_shape: Sequence[int], discriminator: str = "autoencoder",
                latent_dim: int = 0, pack: int = 1) -> tuple[nn.Module, nn.Module]:
  """The ``(generator, discriminator)`` pair that ``model_cfg.arch`` names, for ``data_shape``.

  ``discriminator`` is what the algorithm needs: ``"autoencoder"`` (EBGAN, BEGAN, MAGAN,
  LS-GAN), ``"logit"`` (GAN), ``"gaussian_encoder"`` (VAE, with ``latent_dim``), ``"ladder"``
  (the Ladder Network and EBGAN-LN) or ``"sbn"`` (the BiHM). With ``pack > 1`` the
  discriminator takes packed examples (:func:`pack_examples`); the generator does not.
  """
  shape = tuple(int(s) for s in data_shape)
  arch = model_cfg.arch
  architecture = _architecture(arch)
  check_image_shape(arch, shape)
  if discriminator not in architecture.networks:
    offer = [a for a, spec in ARCHITECTURES.items() if discriminator in spec.networks]
    who = _KIND_USERS.get(discriminator, "the algorithm needs")
    raise ValueError(f"model.arch={arch!r} has no {discriminator} network, which {who}; "
                     f"choose model.arch {' or '.join(repr(a) for a in offer)}.")
  build_g, build_d = architecture.networks[discriminator]
  return (build_g(model_cfg, shape, latent_dim),
          build_d(model_cfg, packed_shape(shape, pack), latent_dim))
