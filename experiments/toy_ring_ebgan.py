"""EBGAN-PT on the ring of 8 Gaussians with PacGAN's set-up (Lin et al. 2018, §5.1): its
generator, data, optimizer, batch and 400,000 updates, and as the discriminator the
auto-encoder built from its maxout layers; margin from ``configs.PACGAN_MARGINS`` (chosen by the
sweep in results/pacgan/margins.md), pulling-away term 0.1 (Zhao et al. 2017, §2.4).
``make results PROTOCOL=pacgan ARGS="--models EBGAN-PT"`` trains it over 10 seeds beside
PacGAN's Table 1; ``configs.toy_config("ring", "ebgan")`` is a small MLP recipe for seconds.

  make train EXP=toy_ring_ebgan                                    # 400,000 updates
  make train EXP=toy_ring_ebgan ARGS="--config.num_steps=20000"    # a quick look
"""

from ebgan_jax.configs import pacgan_config


def get_config():
  c = pacgan_config("ring", "ebgan")
  c.pt_weight = 0.1
  return c
