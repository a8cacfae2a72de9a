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


class DefectSegmenter(nn.Module):
    """Per-cell probability that material was added on top of the tile's goods [b, 1, 16, 16].
    Stride-2 stages to 32, 16, 8 and 4 px (a 3 x 3 stride-2 conv still sees every pixel, so
    thin steel is not skipped), the 16, 8 and 4 px features merged at map resolution:
    ~4.5 M MACs a tile."""

    def __init__(self):
        super().__init__()
        self.to16 = nn.Sequential(conv_bn(2, 16), conv_bn(16, 32))  # 64 -> 32 -> 16
        self.to8, self.to4 = conv_bn(32, 64), conv_bn(64, 64)
        self.head = nn.Sequential(
            nn.Conv2d(32 + 64 + 64, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 1))

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """Logits [batch, 1, 16, 16]."""
        f16 = self.to16(tiles)
        f8 = self.to8(f16)
        f4 = self.to4(f8)
        up = lambda f, s: F.interpolate(f, scale_factor=s, mode="nearest")
        return self.head(torch.cat([f16, up(f8, 2), up(f4, 4)], dim=1))


class SegmenterExport(nn.Module):
    """What goes into anomaly.onnx: tiles -> (anomaly_map [b,1,16,16] probabilities,
    score [b] = mean of the top-k cells)."""

    def __init__(self, net: DefectSegmenter, top_k: int):
        super().__init__()
        self.net, self.top_k = net, top_k

    def forward(self, tiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        amap = torch.sigmoid(self.net(tiles))
        score = torch.topk(amap.flatten(1), self.top_k, dim=1).values.mean(dim=1)
        return amap, score
