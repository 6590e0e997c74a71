"""The PyTorch reference of ``make bench``: PyTorch-GAN's EBGAN networks and training step
(``implementations/ebgan/ebgan.py``: 32x32x1, latent 62, Adam 2e-4, betas (0.5, 0.999),
batch 64), timed like :mod:`ebgan_jax.tools.bench`, as one JSON line.

  pip install torch      # not a dependency of ebgan_jax; any CPU build
  python -m ebgan_jax.tools.bench_torch [--compile] [--windows 5] [--steps 20]

Run it in the same window as ``make bench`` and compare the ratio, never absolute figures from
different days. Same networks as ``experiments/pytorch_gan_ebgan.py``: one discriminator update
(hinge on the fake energy, margin 1) then one generator update with the pulling-away term
(squared cosine, weight 0.1), on a fixed batch. ``--compile`` wraps both networks in
``torch.compile``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time


def _networks(torch, latent: int = 62, size: int = 32, channels: int = 1):
  nn = torch.nn
  init = size // 4
  generator = nn.Sequential(
      nn.Linear(latent, 128 * init * init), nn.Unflatten(1, (128, init, init)),
      nn.Upsample(scale_factor=2), nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128, 0.8),
      nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2), nn.Conv2d(128, 64, 3, 1, 1),
      nn.BatchNorm2d(64, 0.8), nn.LeakyReLU(0.2), nn.Conv2d(64, channels, 3, 1, 1), nn.Tanh())
  down = size // 2

  class AutoEncoder(nn.Module):
    def __init__(self):
      super().__init__()
      self.down = nn.Sequential(nn.Conv2d(channels, 64, 3, 2, 1), nn.ReLU())
      self.embedding = nn.Linear(64 * down * down, 32)
      self.fc = nn.Sequential(nn.BatchNorm1d(32, 0.8), nn.ReLU(), nn.Linear(32, 64 * down * down),
                              nn.BatchNorm1d(64 * down * down), nn.ReLU())
      self.up = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(64, channels, 3, 1, 1))

    def forward(self, x):
      code = self.embedding(self.down(x).flatten(1))
      return self.up(self.fc(code).view(x.shape[0], 64, down, down)), code

  return generator, AutoEncoder()


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.tools.bench_torch")
  parser.add_argument("--compile", action="store_true")
  parser.add_argument("--windows", type=int, default=5)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--batch_size", type=int, default=64)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    import torch
  except ImportError:
    print("error: the PyTorch reference needs torch: pip install torch", file=sys.stderr)
    return 2

  torch.manual_seed(0)
  generator, discriminator = _networks(torch)
  opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
  g, d = (torch.compile(generator), torch.compile(discriminator)) if args.compile else (
      generator, discriminator)
  real = torch.rand(args.batch_size, 1, 32, 32) * 2 - 1
  margin, pt_weight = 1.0, 0.1

  def pulling_away(code):
    unit = code / code.norm(dim=1, keepdim=True)
    n = code.shape[0]
    return ((unit @ unit.T) ** 2).sum().sub(n) / (n * (n - 1))

  def step():
    z = torch.randn(args.batch_size, 62)
    fake = g(z)
    opt_d.zero_grad(set_to_none=True)
    real_recon, _ = d(real)
    fake_recon, _ = d(fake.detach())
    fake_energy = ((fake_recon - fake.detach()) ** 2).mean()
    d_loss = ((real_recon - real) ** 2).mean() + torch.relu(margin - fake_energy)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    recon, code = d(fake)
    g_loss = ((recon - fake) ** 2).mean() + pt_weight * pulling_away(code)
    g_loss.backward()
    opt_g.step()
    return g_loss

  t0 = time.perf_counter()
  step().item()  # compiles under --compile
  compile_s = time.perf_counter() - t0
  rates = []
  for _ in range(args.windows):
    t0 = time.perf_counter()
    for _ in range(args.steps):
      loss = step()
    loss.item()
    rates.append(args.steps * args.batch_size / (time.perf_counter() - t0))
  print(json.dumps({
      "reference": "PyTorch-GAN ebgan", "compile": args.compile, "batch_size": args.batch_size,
      "images_per_sec": round(statistics.median(rates), 1),
      "images_per_sec_windows": [round(r, 1) for r in rates], "compile_s": round(compile_s, 2),
      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      "torch": torch.__version__, "threads": torch.get_num_threads()}))
  return 0


if __name__ == "__main__":
  sys.exit(main())
