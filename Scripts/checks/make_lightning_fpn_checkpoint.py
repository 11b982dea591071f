#!/usr/bin/env python3
"""Writes a real, full-size PyTorch Lightning checkpoint of the seed's kind, for checking
`geocam inspect` / `predict` on what users have (not committed: ~300 MB).

    python Scripts/checks/make_lightning_fpn_checkpoint.py OUT_DIR [--no-hparams]

A PVModel-style LightningModule (mean/std buffers, raw 0-255 input, CrossEntropyLoss with
class weights -> `ce_loss.weight`), smp FPN(resnext50_32x4d, classes=4), AdamW, trained for two
steps on noise with Trainer, so optimizer state, loops and callbacks are real. Pinned stack:
Scripts/fixtures/requirements.txt.
"""
import sys

import pytorch_lightning as pl
import segmentation_models_pytorch as smp
import torch
import torch.nn as nn


class PVModel(pl.LightningModule):
    def __init__(self, save_hparams=True):
        super().__init__()
        if save_hparams:
            self.save_hyperparameters({"arch": "FPN", "encoder_name": "resnext50_32x4d", "out_classes": 4,
                                       "class_names": ["background", "solar_panel", "water_heater", "pool_heater"]})
        self.model = smp.create_model("FPN", encoder_name="resnext50_32x4d", encoder_weights=None, in_channels=3, classes=4)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.ce_loss = nn.CrossEntropyLoss(weight=torch.tensor([0.1, 1.0, 1.0, 1.0]))

    def forward(self, image):
        return self.model((image - self.mean) / self.std)

    def training_step(self, batch, _):
        x, y = batch
        return self.ce_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-4)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64) * 255
    y = torch.randint(0, 4, (4, 64, 64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2)
    trainer = pl.Trainer(max_steps=2, default_root_dir=out, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(PVModel(save_hparams="--no-hparams" not in sys.argv), loader)
    trainer.save_checkpoint(f"{out}/pv-model-epoch=38-valid_avg_PV_iou=0.9572.ckpt")


if __name__ == "__main__":
    main()
