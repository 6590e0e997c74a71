"""Super-resolution x2 for mean-squared error (Bruna, Sprechmann & LeCun 2016, eq. 1: the
conditional mean E[y | x]) on patches of scikit-image's photographs (``natural_images``): a
residual CNN from the LR image to the HR image (4 residual blocks of 32 channels, sub-pixel
upsampling, a global bicubic skip), Adam 1e-3, batch 16 of 32x32 HR patches, 10,000 updates
(after 3,000 the x2 network was 0.6 dB below total variation on the validation images). The
LR input is the project's one operator U, antialiased bicubic downsampling. At the end the
validation images are scored (PSNR-Y, SSIM-Y, consistency, detail ratio, and bicubic's
PSNR-Y).

  make train EXP=superres_x2_mse
  make sample WORKDIR=runs/superres_x2_mse INPUT=low.png OUTPUT=high.png
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "superres"
  c.data.name = "natural_images"
  c.data.image_size = 32
  c.model.arch = "superres"
  c.model.scale = 2
  c.model.features_g, c.model.blocks = 32, 4
  c.batch_size = 16
  c.num_steps = 10000
  c.optimizer.b1 = 0.9
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.log_every, c.sample_every, c.eval_every = 100, 100000, 0
  return c
