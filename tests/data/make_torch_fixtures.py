"""Writes the PyTorch reference fixtures that tests/test_inception.py compares against.

Needs PyTorch, torchvision and pytorch-fid (not dependencies of ebgan_jax; the tests read only
the files this writes). Run from the repository root:

  python tests/data/make_torch_fixtures.py

- ``torch_zip.pth``, ``torch_legacy.pth``: one state dict saved by ``torch.save`` in both of
  its formats (contiguous, transposed, offset and half-precision tensors, a parameter, an
  integer counter), and ``torch_expected.npz`` with the same arrays from ``.numpy()``.
- ``inception_reference.npz``: pytorch-fid's ``InceptionV3`` (FID network, pool features,
  its own resize and normalisation) run with ``ebgan_jax.evaluators.inception.random_state_dict(0)`` on
  a few 8-bit images; and ``F.interpolate`` (bilinear, align_corners=False) up and down.
"""

from __future__ import annotations

import collections
import os
import sys
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from ebgan_jax import inception  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def reader_fixtures() -> None:
  g = torch.Generator().manual_seed(0)
  base = torch.randn(6, 5, generator=g)
  state = collections.OrderedDict([
      ("dense.weight", torch.randn(4, 3, generator=g)),
      ("transposed", base.t()),                       # non-contiguous strides
      ("offset_view", base[2:5]),                     # shares base's storage at an offset
      ("half", torch.randn(3, 2, generator=g).half()),
      ("parameter", torch.nn.Parameter(torch.randn(2, 2, 3, 3, generator=g))),
      ("bn.num_batches_tracked", torch.tensor(7, dtype=torch.long)),
  ])
  torch.save(state, os.path.join(HERE, "torch_zip.pth"))
  torch.save(state, os.path.join(HERE, "torch_legacy.pth"), _use_new_zipfile_serialization=False)
  np.savez(os.path.join(HERE, "torch_expected.npz"),
           **{k: v.detach().numpy() for k, v in state.items()})


def inception_fixture() -> None:
  from pytorch_fid import inception as fid_inception
  weights = {k: torch.from_numpy(v) for k, v in inception.random_state_dict(0).items()}
  g = torch.Generator().manual_seed(1)
  weights["fc.weight"] = torch.randn(1008, 2048, generator=g) * 0.01
  weights["fc.bias"] = torch.zeros(1008)
  # pytorch-fid builds its network and loads the released weights from a URL; hand it ours.
  with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: weights):
    model = fid_inception.InceptionV3([fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]])
  model.eval()
  rng = np.random.default_rng(2)
  images = rng.integers(0, 256, size=(2, 37, 41, 3), dtype=np.uint8)
  x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
  with torch.no_grad():
    features = model(x)[0][:, :, 0, 0].numpy()
  small = rng.random((1, 40, 30, 3), dtype=np.float32)
  t = torch.from_numpy(small).permute(0, 3, 1, 2)
  up = F.interpolate(t, size=(57, 71), mode="bilinear", align_corners=False)
  down = F.interpolate(t, size=(23, 17), mode="bilinear", align_corners=False)
  np.savez(os.path.join(HERE, "inception_reference.npz"), images=images, features=features,
           resize_input=small, resized_up=up.permute(0, 2, 3, 1).numpy(),
           resized_down=down.permute(0, 2, 3, 1).numpy(),
           versions=np.array([torch.__version__, fid_inception.__name__]))
  print("features: mean %.4f std %.4f" % (features.mean(), features.std()))


if __name__ == "__main__":
  torch.set_num_threads(2)
  reader_fixtures()
  inception_fixture()
