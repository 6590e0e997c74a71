"""``make synthetic-celeba``: a synthetic dataset with CelebA's shapes and encoding, for
measuring the input pipeline without the real data.

  python -m ebgan_jax.data.synthetic_celeba [--data_dir ~/tensorflow_datasets] [--examples 20000]

Writes the TFDS dataset ``synthetic_celeb_a`` (split ``train``) as ArrayRecord with TFDS's own
builder machinery, no network: 218x178 RGB JPEG images like CelebA's aligned faces, so that
reading one costs what reading a CelebA image costs (a JPEG decode, then the runner's crop to
108x108 and resize). The images are smooth random colour fields with some grain, about the size
of a CelebA JPEG; they are not faces. Train on it with ``--config.data.name=synthetic_celeb_a``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import numpy as np

NAME = "synthetic_celeb_a"
SHAPE = (218, 178, 3)  # CelebA's aligned and cropped faces


def synthetic_image(rng: np.random.Generator, shape=SHAPE) -> np.ndarray:
  """A smooth random colour field with grain, ``uint8 [H, W, 3]``."""
  from PIL import Image
  h, w, c = shape
  coarse = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, c), dtype=np.uint8)
  field = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), np.float32)
  field += rng.normal(0.0, 6.0, field.shape)
  return np.clip(field, 0, 255).astype(np.uint8)


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
  from PIL import Image
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
  return buffer.getvalue()


def _builder_class():
  import tensorflow_datasets as tfds

  class SyntheticCelebA(tfds.core.GeneratorBasedBuilder):
    """CelebA-shaped JPEG images (218x178x3), generated from a seed."""
    name = NAME
    VERSION = tfds.core.Version("1.0.0")
    examples = 20000
    seed = 0

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
          "image": tfds.features.Image(shape=SHAPE, encoding_format="jpeg")}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples()}

    def _generate_examples(self):
      # Encoded here (PIL) so that TFDS stores the bytes as they are and needs no TensorFlow.
      for i in range(self.examples):
        rng = np.random.default_rng([self.seed, i])
        yield i, {"image": jpeg_bytes(synthetic_image(rng))}

  return SyntheticCelebA


_BUILDER = None


def builder_class():
  """The registered TFDS builder (defined on first use: importing TFDS is slow)."""
  global _BUILDER
  if _BUILDER is None:
    _BUILDER = _builder_class()
  return _BUILDER


def write(data_dir: str, examples: int, seed: int = 0) -> str:
  """Writes ``synthetic_celeb_a`` into ``data_dir``; returns the dataset's directory."""
  cls = builder_class()
  cls.examples, cls.seed = examples, seed
  builder = cls(data_dir=data_dir, file_format="array_record")
  if os.path.isdir(builder.data_dir) and builder.info.splits:
    have = builder.info.splits["train"].num_examples
    if have != examples:
      raise ValueError(f"{builder.data_dir} already holds {have} examples, not {examples}; "
                       "remove it or pass another --data_dir.")
    return builder.data_dir
  builder.download_and_prepare()
  return builder.data_dir


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.data.synthetic_celeba", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data_dir", default=os.environ.get("TFDS_DATA_DIR")
                      or os.path.expanduser("~/tensorflow_datasets"))
  parser.add_argument("--examples", type=int, default=20000)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.examples <= 0:
    print("error: --examples must be positive.", file=sys.stderr)
    return 2
  try:
    where = write(args.data_dir, args.examples, args.seed)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {args.examples} CelebA-shaped JPEG images to {where}; train on them with "
        f"--config.data.name={NAME} --config.data.data_dir={args.data_dir}", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
