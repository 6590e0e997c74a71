"""The paper studies: each module is the command behind one page of ``results/``.

- ``family``: the whole family on the embedded protocols at a short budget (``make results``);
- ``pacgan``: PacGAN's Tables 1 and 2 at their set-ups (``make results PROTOCOL=pacgan``);
- ``grid_search``: the EBGAN paper's grid search (Table 1; ``make grid-search``);
- ``likelihood``: VAE, IWAE and BiHM log-likelihoods (``make likelihood``);
- ``semisupervised``: the Ladder Network and EBGAN-LN (``make semi-supervised``);
- ``margin_sweep``: the EBGAN paper's margin sweep (Fig. 9; ``make margin-sweep``);
- ``recipes``: BEGAN and MAGAN with their papers' recipes (``make recipes``);
- ``theory``: GAN's Proposition 1 and EBGAN's Theorems 1-2 on toys (``make theory``);
- ``report``: what they share: the seed loop, mean ± standard error, paired verdicts, tables,
  and the page written from the study's JSON (``report.PAGES`` lists every page).
"""
