"""The net of every model: embeddings for categorical features + an MLP, as a LightningModule."""

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.classification import BinaryAUROC


class TabularNet(nn.Module):
    """Logit of the binary label from (categorical indices, numerics)."""

    def __init__(
        self, cardinalities: list[int], n_numeric: int, hidden: list[int], dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(size, min(16, (size + 1) // 2)) for size in cardinalities
        )
        width = sum(e.embedding_dim for e in self.embeddings) + n_numeric
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Logits, shape [batch]."""
        embedded = [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat([*embedded, num], dim=1)).squeeze(-1)


class TabularModule(L.LightningModule):
    """Binary cross-entropy training of a TabularNet; logs train/loss, val/loss, val/auroc."""

    def __init__(self, net: nn.Module, lr: float = 2e-3, weight_decay: float = 1e-4) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])  # net is injected so it can be tested alone
        self.net = net
        self.val_auroc = BinaryAUROC()

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Logits of the wrapped net."""
        return self.net(cat, num)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """One optimisation step on a batch."""
        loss = F.binary_cross_entropy_with_logits(self(batch["cat"], batch["num"]), batch["y"])
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """Validation loss and AUROC, aggregated over the epoch."""
        logits = self(batch["cat"], batch["num"])
        self.log("val/loss", F.binary_cross_entropy_with_logits(logits, batch["y"]))
        self.val_auroc.update(torch.sigmoid(logits.float()), batch["y"].int())
        self.log("val/auroc", self.val_auroc, on_step=False, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW."""
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
