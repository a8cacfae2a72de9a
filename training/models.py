"""The two networks. Both take tiles float32 [batch, 2, 64, 64] (preprocess.py)."""

import torch
from torch import nn
import torch.nn.functional as F

MAP_CELL = 4  # anomaly map cell: 4 x 4 px of the tile -> a 16 x 16 map


def conv_bn(cin: int, cout: int, stride: int = 2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class GoodsClassifier(nn.Module):
    """Stride-2 convs 16-32-64-64 (64 -> 4 px), mean+max pooling, linear head: ~3 M MACs a tile."""

    def __init__(self, classes: int):
        super().__init__()
        self.features = nn.Sequential(conv_bn(2, 16), conv_bn(16, 32), conv_bn(32, 64), conv_bn(64, 64))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, classes))

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """Logits [batch, classes]."""
        f = self.features(tiles)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)


class ClassifierExport(nn.Module):
    """What goes into classifier.onnx: tiles -> probabilities (softmax inside the graph)."""

    def __init__(self, net: GoodsClassifier):
        super().__init__()
        self.net = net

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(tiles), dim=1)


class TileAutoencoder(nn.Module):
    """Autoencoder of the tile seen at map resolution: 4x4 cell means [2, 16, 16] -> code
    [8, 4, 4] -> sqrt-transmission u = exp(-4 c0) [1, 16, 16]. Cell means average the photon
    noise away and keep the model tiny (~1.5 M MACs a tile). u has the same photon-noise level
    at every attenuation (Poisson noise is constant in sqrt(counts)), so opaque cargo, where
    -ln T is mostly noise, does not dominate the error. Trained on honest tiles only."""

    def __init__(self, code: int = 8):
        super().__init__()
        self.encoder = nn.Sequential(
            conv_bn(2, 16, stride=1), conv_bn(16, 32), conv_bn(32, 32), nn.Conv2d(32, code, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(code, 32, 3, padding=1), nn.ReLU(inplace=True),
            nn.Upsample(scale_factor=2, mode="nearest"), conv_bn(32, 16, stride=1),
            nn.Upsample(scale_factor=2, mode="nearest"), conv_bn(16, 16, stride=1),
            nn.Conv2d(16, 1, 3, padding=1),
        )

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """Reconstruction of u [batch, 1, 16, 16] from the cell means [batch, 2, 16, 16]."""
        return self.decoder(self.encoder(cells))


def cell_means(tiles: torch.Tensor) -> torch.Tensor:
    """Tiles [b, 2, 64, 64] -> means over 4x4 px cells [b, 2, 16, 16]."""
    return F.avg_pool2d(tiles, MAP_CELL)


def error_map(cells: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """Squared error of the reconstructed u = exp(-4 c0) per cell: [batch, 1, 16, 16]."""
    return (torch.exp(-4.0 * cells[:, :1]) - recon) ** 2


class AnomalyExport(nn.Module):
    """What goes into anomaly.onnx: tiles -> (anomaly_map [b,1,16,16], score [b] = top-k mean)."""

    def __init__(self, net: TileAutoencoder, top_k: int):
        super().__init__()
        self.net, self.top_k = net, top_k

    def forward(self, tiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cells = cell_means(tiles)
        amap = error_map(cells, self.net(cells))
        score = torch.topk(amap.flatten(1), self.top_k, dim=1).values.mean(dim=1)
        return amap, score
