"""The Inception-v3 of the standard FID, in Flax, and its weights from a file.

FID and KID on natural images compare 2048-d features of one particular network: the
Inception-v3 graph of TensorFlow's 2015-12-05 release, as Heusel et al.'s TTUR code used it.
``pytorch-fid`` ported that graph and its weights to PyTorch (``FIDInceptionA/C/E_1/E_2``);
this module is the same network in Flax, parameter for parameter:

- torchvision's Inception-v3 layout (``Conv2d_1a_3x3`` ... ``Mixed_7c``), every convolution
  without bias and followed by BatchNorm (eps 1e-3) and ReLU, in inference mode;
- the FID graph's differences: the 3x3 average pools of ``Mixed_5*``, ``Mixed_6*`` and
  ``Mixed_7b`` leave the padding out of their averages, and ``Mixed_7c`` max-pools instead;
- its input pipeline: images in [0, 1] resized bilinearly (half-pixel centres, no antialias)
  to 299x299, then scaled to [-1, 1]; the features are the global average of ``Mixed_7c``.

The weights are not shipped and cannot be downloaded by this package. Get
``pt_inception-2015-12-05-6726825d.pth`` from the ``fid_weights`` release of pytorch-fid's
GitHub repository and give its path (``--inception_weights``); it is read without PyTorch, and
``python -m ebgan_jax.evaluators.inception convert SRC.pth DST.npz`` turns it into a plain ``.npz`` once.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import pickle
import sys
import types
import zipfile
import zlib
from typing import Any, Callable, Iterable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax import models

Array = jax.Array

FEATURE_DIM = 2048
INPUT_SIZE = 299
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_ENV = "EBGAN_JAX_INCEPTION_WEIGHTS"


# ----------------------------------------------------------------------------------------------
# The network
# ----------------------------------------------------------------------------------------------

class _Conv(nn.Module):
  """A bias-free convolution; its ``kernel`` is HWIO (PyTorch's ``weight`` is OIHW)."""
  features: int
  kernel_size: tuple[int, int]
  stride: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (*self.kernel_size, x.shape[-1], self.features), jnp.float32)
    ph, pw = self.padding
    return models.conv2d(x, kernel, stride=self.stride, padding=((ph, ph), (pw, pw)))


class BasicConv(nn.Module):
  """torchvision's ``BasicConv2d``: convolution, BatchNorm (eps 1e-3, running statistics),
  ReLU."""
  features: int
  kernel_size: int | tuple[int, int]
  stride: int = 1
  padding: int | tuple[int, int] = 0

  @nn.compact
  def __call__(self, x: Array) -> Array:
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    x = _Conv(self.features, pair(self.kernel_size), self.stride, pair(self.padding),
              name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
    return nn.relu(x)


def _avg_pool_3x3(x: Array) -> Array:
  # TensorFlow's average pool leaves the zero padding out of the average.
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x: Array, stride: int = 1) -> Array:
  padding = ((1, 1), (1, 1)) if stride == 1 else "VALID"
  return nn.max_pool(x, (3, 3), (stride, stride), padding=padding)


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    b1 = BasicConv(64, 1, name="branch1x1")(x)
    b5 = BasicConv(48, 1, name="branch5x5_1")(x)
    b5 = BasicConv(64, 5, padding=2, name="branch5x5_2")(b5)
    b3 = BasicConv(64, 1, name="branch3x3dbl_1")(x)
    b3 = BasicConv(96, 3, padding=1, name="branch3x3dbl_2")(b3)
    b3 = BasicConv(96, 3, padding=1, name="branch3x3dbl_3")(b3)
    bp = BasicConv(self.pool_features, 1, name="branch_pool")(_avg_pool_3x3(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x: Array) -> Array:
    b3 = BasicConv(384, 3, stride=2, name="branch3x3")(x)
    bd = BasicConv(64, 1, name="branch3x3dbl_1")(x)
    bd = BasicConv(96, 3, padding=1, name="branch3x3dbl_2")(bd)
    bd = BasicConv(96, 3, stride=2, name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, _max_pool_3x3(x, stride=2)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    c7 = self.channels_7x7
    b1 = BasicConv(192, 1, name="branch1x1")(x)
    b7 = BasicConv(c7, 1, name="branch7x7_1")(x)
    b7 = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
    bd = BasicConv(c7, 1, name="branch7x7dbl_1")(x)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
    bd = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
    bd = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
    bp = BasicConv(192, 1, name="branch_pool")(_avg_pool_3x3(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x: Array) -> Array:
    b3 = BasicConv(192, 1, name="branch3x3_1")(x)
    b3 = BasicConv(320, 3, stride=2, name="branch3x3_2")(b3)
    b7 = BasicConv(192, 1, name="branch7x7x3_1")(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = BasicConv(192, 3, stride=2, name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool_3x3(x, stride=2)], axis=-1)


class InceptionE(nn.Module):
  """``pool`` is ``"avg"`` in ``Mixed_7b`` and ``"max"`` in ``Mixed_7c`` (the FID graph's
  quirk)."""
  pool: str = "avg"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    b1 = BasicConv(320, 1, name="branch1x1")(x)
    b3 = BasicConv(384, 1, name="branch3x3_1")(x)
    b3 = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                          BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], -1)
    bd = BasicConv(448, 1, name="branch3x3dbl_1")(x)
    bd = BasicConv(384, 3, padding=1, name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                          BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)],
                         -1)
    pooled = _avg_pool_3x3(x) if self.pool == "avg" else _max_pool_3x3(x)
    bp = BasicConv(192, 1, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


def resize_bilinear(images: Array, size: tuple[int, int]) -> Array:
  """PyTorch's ``F.interpolate(mode="bilinear", align_corners=False)``: half-pixel centres,
  no antialiasing (which differs from ``jax.image.resize``'s default when shrinking)."""
  n, _, _, c = images.shape
  return jax.image.resize(images, (n, *size, c), "bilinear", antialias=False)


class FIDInceptionV3(nn.Module):
  """``[N, H, W, 3]`` images in [0, 1] -> ``[N, 2048]`` pool features (pytorch-fid's block 3,
  with ``resize_input`` and ``normalize_input``). ``resize=False`` feeds the images at their
  own size (at least 75x75)."""
  resize: bool = True

  @nn.compact
  def __call__(self, images: Array) -> Array:
    x = images.astype(jnp.float32)
    if self.resize:
      x = resize_bilinear(x, (INPUT_SIZE, INPUT_SIZE))
    x = 2.0 * x - 1.0
    x = BasicConv(32, 3, stride=2, name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, 3, name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, 3, padding=1, name="Conv2d_2b_3x3")(x)
    x = _max_pool_3x3(x, stride=2)
    x = BasicConv(80, 1, name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, 3, name="Conv2d_4a_3x3")(x)
    x = _max_pool_3x3(x, stride=2)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE("avg", name="Mixed_7b")(x)
    x = InceptionE("max", name="Mixed_7c")(x)
    return x.mean(axis=(1, 2))


# ----------------------------------------------------------------------------------------------
# PyTorch state dicts <-> Flax variables
# ----------------------------------------------------------------------------------------------

# Flax leaf (collection, name) for each PyTorch suffix, and how the array is laid out.
_LEAVES = {
    "conv.weight": ("params", "conv/kernel", lambda w: w.transpose(2, 3, 1, 0)),  # OIHW -> HWIO
    "bn.weight": ("params", "bn/scale", lambda w: w),
    "bn.bias": ("params", "bn/bias", lambda w: w),
    "bn.running_mean": ("batch_stats", "bn/mean", lambda w: w),
    "bn.running_var": ("batch_stats", "bn/var", lambda w: w),
}
# Present in the released file, unused by the pool features.
_IGNORED_PREFIXES = ("fc.", "AuxLogits.")
_IGNORED_SUFFIXES = ("num_batches_tracked",)


def variable_shapes() -> dict[str, dict]:
  """The Flax variables of :class:`FIDInceptionV3` as shape structs (nothing is computed)."""
  return jax.eval_shape(lambda: FIDInceptionV3(resize=False).init(
      jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3))))


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  out = {}
  for k, v in tree.items():
    if isinstance(v, Mapping):
      out.update(_flatten(v, f"{prefix}{k}/"))
    else:
      out[prefix + k] = v
  return out


def _torch_name(collection: str, flax_path: str) -> str:
  for suffix, (coll, leaf, _) in _LEAVES.items():
    if coll == collection and flax_path.endswith("/" + leaf):
      return flax_path[:-len(leaf) - 1].replace("/", ".") + "." + suffix
  raise KeyError(flax_path)


@functools.lru_cache(maxsize=None)
def state_dict_shapes() -> Mapping[str, tuple[int, ...]]:
  """PyTorch name -> PyTorch shape of every array the pool features need (traced once)."""
  shapes = {}
  for collection, tree in variable_shapes().items():
    for path, leaf in _flatten(tree).items():
      name = _torch_name(collection, path)
      shape = leaf.shape
      shapes[name] = (shape[3], shape[2], shape[0], shape[1]) if len(shape) == 4 else shape
  return types.MappingProxyType(shapes)


def variables_from_state_dict(state_dict: Mapping[str, np.ndarray], source: str = "the weights"
                              ) -> dict[str, dict]:
  """Flax variables from pytorch-fid's state dict (PyTorch names and layouts).

  Every array the network needs must be there with its shape, and nothing else but the
  classifier (``fc.*``) and BatchNorm step counters; otherwise this raises ``ValueError``
  naming the first offending key, so that other Inception weights are never used silently.
  """
  expected = state_dict_shapes()
  for name, value in state_dict.items():
    if name.startswith(_IGNORED_PREFIXES) or name.endswith(_IGNORED_SUFFIXES):
      continue
    if name not in expected:
      raise ValueError(f"{source} hold {name!r}, which the FID Inception-v3 does not have; "
                       f"use pytorch-fid's {WEIGHTS_FILE}.")
    if tuple(np.shape(value)) != expected[name]:
      raise ValueError(f"{source}: {name!r} has shape {tuple(np.shape(value))}, the FID "
                       f"Inception-v3 needs {expected[name]}; use pytorch-fid's {WEIGHTS_FILE}.")
  missing = [n for n in expected if n not in state_dict]
  if missing:
    raise ValueError(f"{source} lack {len(missing)} of the FID Inception-v3's "
                     f"{len(expected)} arrays (first: {missing[0]!r}); use pytorch-fid's "
                     f"{WEIGHTS_FILE}.")
  variables: dict[str, dict] = {"params": {}, "batch_stats": {}}
  for name, value in state_dict.items():
    if name not in expected:
      continue
    for suffix, (collection, leaf, layout) in _LEAVES.items():
      if name.endswith("." + suffix):
        node = variables[collection]
        for part in name[:-len(suffix) - 1].split(".") + leaf.split("/")[:-1]:
          node = node.setdefault(part, {})
        node[leaf.split("/")[-1]] = jnp.asarray(layout(np.asarray(value, np.float32)))
  return variables


def state_dict_from_variables(variables: Mapping[str, Mapping]) -> dict[str, np.ndarray]:
  """The inverse of :func:`variables_from_state_dict` (PyTorch names and layouts)."""
  out = {}
  for collection in ("params", "batch_stats"):
    for path, value in _flatten(variables[collection]).items():
      value = np.asarray(value)
      out[_torch_name(collection, path)] = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value
  return out


def random_state_dict(seed: int = 0) -> dict[str, np.ndarray]:
  """Random weights in pytorch-fid's names and layouts, for testing the plumbing: He-scaled
  kernels and BatchNorm near the identity, so that activations keep their scale through the
  network. Each array depends only on ``seed`` and its name."""
  out = {}
  for name, shape in state_dict_shapes().items():
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if name.endswith("conv.weight"):
      value = rng.normal(size=shape) * np.sqrt(2.0 / np.prod(shape[1:]))
    elif name.endswith(("bn.weight", "bn.running_var")):
      value = rng.uniform(0.5, 1.5, size=shape)
    else:  # bn.bias, bn.running_mean
      value = rng.normal(size=shape) * 0.2
    out[name] = value.astype(np.float32)
  return out


# ----------------------------------------------------------------------------------------------
# Reading PyTorch checkpoints without PyTorch
# ----------------------------------------------------------------------------------------------

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
  def __init__(self, name: str):
    if name == "BFloat16Storage":
      import ml_dtypes
      self.dtype = np.dtype(ml_dtypes.bfloat16)
    else:
      self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Tensor:
  """A tensor as the pickle describes it; its storage's bytes may come later in the file."""

  def __init__(self, storage, offset, size, stride, *_):
    self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), stride

  def numpy(self, storages: Mapping[str, np.ndarray]) -> np.ndarray:
    key, view_offset = self.storage
    data = storages[key][view_offset + self.offset:]
    strides = tuple(s * data.dtype.itemsize for s in self.stride)
    return np.array(np.lib.stride_tricks.as_strided(data, shape=self.size, strides=strides))


class _Unpickler(pickle.Unpickler):
  """Describes tensors and refuses every other object, so that reading a checkpoint never
  runs code from it."""

  def __init__(self, file, storage_id: Callable[[tuple], tuple[str, int]]):
    super().__init__(file)
    self._storage_id = storage_id

  def find_class(self, module: str, name: str):
    if module == "collections" and name == "OrderedDict":
      return collections.OrderedDict
    if module == "torch._utils" and name == "_rebuild_tensor_v2":
      return _Tensor
    if module == "torch._utils" and name == "_rebuild_parameter":
      return lambda data, *_: data
    if module == "torch" and (name in _STORAGE_DTYPES or name == "BFloat16Storage"):
      return _StorageType(name)
    raise pickle.UnpicklingError(f"unsupported object {module}.{name} in the checkpoint")

  def persistent_load(self, pid):
    return self._storage_id(pid)


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
  """The tensors of a ``torch.save``-d state dict, as NumPy arrays, without PyTorch.

  Reads both of PyTorch's formats: the zip archive (PyTorch >= 1.6) and the earlier stream of
  pickles, in which pytorch-fid's weights were released.
  """
  storages: dict[str, np.ndarray] = {}
  if zipfile.is_zipfile(path):
    with zipfile.ZipFile(path) as archive:
      pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
      if not pickles:
        raise ValueError(f"{path} is a zip file but not a PyTorch checkpoint (no data.pkl).")
      root = pickles[0][:-len("data.pkl")]

      def storage_id(pid):  # ("storage", type, key, location, numel)
        _, storage_type, key, _, numel = pid
        if key not in storages:
          raw = archive.read(f"{root}data/{key}")
          storages[key] = np.frombuffer(raw, storage_type.dtype, count=numel)
        return key, 0

      with archive.open(pickles[0]) as f:
        result = _Unpickler(f, storage_id).load()
  else:
    with open(path, "rb") as f:
      try:
        magic = pickle.load(f)
      except Exception:  # noqa: BLE001 - any failure here means "not this format"
        magic = None
      if magic != _LEGACY_MAGIC:
        raise ValueError(f"{path} is not a PyTorch checkpoint (neither a zip archive nor a "
                         f"legacy torch.save stream).")
      pickle.load(f)  # protocol version
      pickle.load(f)  # system info (endianness, sizes of C types)
      declared: dict[str, tuple[np.dtype, int]] = {}

      def storage_id(pid):  # ("storage", type, key, location, numel, view or None)
        _, storage_type, key, _, numel, view = pid
        declared.setdefault(key, (storage_type.dtype, numel))
        return (key, 0) if view is None else (key, view[1])

      result = _Unpickler(f, storage_id).load()
      # The storages' bytes follow the pickle, each as an int64 count and the raw values.
      for key in pickle.load(f):
        dtype, numel = declared[key]
        count = int(np.frombuffer(f.read(8), "<i8")[0])
        raw = f.read(count * dtype.itemsize)
        if count != numel or len(raw) != count * dtype.itemsize:
          raise ValueError(f"{path} is truncated or corrupt (storage {key}).")
        storages[key] = np.frombuffer(raw, dtype)
  if isinstance(result, Mapping) and "state_dict" in result:
    result = result["state_dict"]
  if not isinstance(result, Mapping):
    raise ValueError(f"{path} does not hold a state dict (found {type(result).__name__}).")
  return {str(k): v.numpy(storages) if isinstance(v, _Tensor) else np.asarray(v)
          for k, v in result.items()}


def load_state_dict(path: str) -> dict[str, np.ndarray]:
  """A state dict from pytorch-fid's ``.pth`` or from its ``.npz`` conversion."""
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise ValueError(f"Inception weights file {path} does not exist; get {WEIGHTS_FILE} from "
                     f"pytorch-fid's fid_weights release (docs/eval.md).")
  if path.endswith(".npz"):
    with np.load(path) as f:
      return {k: f[k] for k in f.files}
  return read_torch_state_dict(path)


def load_variables(path: str) -> dict[str, dict]:
  return variables_from_state_dict(load_state_dict(path), source=path)


# ----------------------------------------------------------------------------------------------
# Features of image sets
# ----------------------------------------------------------------------------------------------

def to_unit_range(images: np.ndarray) -> np.ndarray:
  """``[N, H, W, C]`` images in [-1, 1] (C = 1 or 3) -> RGB in [0, 1] on the 8-bit grid.

  FID is defined on image files: quantising to 256 levels makes generated and real images
  go through the same steps as PNGs would. Grey images are repeated to three channels.
  """
  images = np.asarray(images, np.float32)
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"Inception features need [N, H, W, 1 or 3] images, got shape "
                     f"{images.shape}.")
  levels = np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5)
  if images.shape[-1] == 1:
    levels = np.repeat(levels, 3, axis=-1)
  return (levels / 255.0).astype(np.float32)


class InceptionFeatures:
  """Pool features of image sets with given variables, in jitted batches of ``batch_size``.

  ``InceptionFeatures.from_file(path)`` loads the standard weights;
  ``features(images)`` takes ``[N, H, W, C]`` images in [-1, 1] and returns ``[N, 2048]``.
  """

  def __init__(self, variables: Mapping[str, Any], *, batch_size: int = 50,
               resize: bool = True, source: str = "random"):
    self.variables, self.batch_size, self.source = variables, batch_size, source
    model = FIDInceptionV3(resize=resize)

    @jax.jit
    def apply(variables, x):
      # The reference is float32 throughout: no TF32/bfloat16 shortcuts on accelerators.
      with jax.default_matmul_precision("highest"):
        return model.apply(variables, x)

    self._apply = apply

  @classmethod
  def from_file(cls, path: str, **kwargs) -> "InceptionFeatures":
    return cls(load_variables(path), source=path, **kwargs)

  def features(self, images: np.ndarray, progress: bool = False, desc: str = "inception"
               ) -> np.ndarray:
    x = to_unit_range(images)
    n = len(x)
    b = max(1, min(self.batch_size, n))  # no padding to a full batch for small sets
    out = np.zeros((n, FEATURE_DIM), np.float32)
    starts: Iterable[int] = range(0, n, b)
    if progress:
      from tqdm.auto import tqdm
      starts = tqdm(starts, desc=desc, unit="batch", leave=False)
    for start in starts:
      chunk = x[start:start + b]
      if len(chunk) < b:  # one compiled shape: pad the last batch
        chunk = np.concatenate([chunk, np.zeros((b - len(chunk),) + chunk.shape[1:], x.dtype)])
      out[start:start + b] = np.asarray(self._apply(self.variables, chunk))[:n - start]
    return out


def resolve_weights(path: str | None) -> str | None:
  """The weights file to use: ``path``, else ``$EBGAN_JAX_INCEPTION_WEIGHTS``, else None."""
  return path or os.environ.get(WEIGHTS_ENV) or None


# ----------------------------------------------------------------------------------------------
# python -m ebgan_jax.evaluators.inception convert SRC DST
# ----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.evaluators.inception", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = parser.add_subparsers(dest="command", required=True)
  convert = sub.add_parser("convert", help="check pytorch-fid's .pth and write it as .npz")
  convert.add_argument("src", help=f"pytorch-fid's {WEIGHTS_FILE}")
  convert.add_argument("dst", help="the .npz to write (never overwritten)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if not args.dst.endswith(".npz"):
    print(f"error: the destination must end in .npz, got {args.dst}", file=sys.stderr)
    return 2
  if os.path.exists(args.dst):
    print(f"error: {args.dst} exists; remove it or choose another name.", file=sys.stderr)
    return 2
  try:
    state = load_state_dict(args.src)
    variables_from_state_dict(state, source=args.src)  # refuse anything but the FID weights
  except (ValueError, pickle.UnpicklingError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  needed = state_dict_shapes()
  tmp = args.dst[:-4] + ".partial.npz"
  np.savez(tmp, **{k: np.asarray(v, np.float32) for k, v in state.items() if k in needed})
  os.replace(tmp, args.dst)
  print(f"wrote {len(needed)} arrays to {args.dst}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
