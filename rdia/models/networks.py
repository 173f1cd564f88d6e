"""The networks of the RDIA-LS experiments (docs/method.md section 5).

- MNIST: a multilayer perceptron 784-256-10 with a ReLU hidden layer.
- CIFAR-10: a 6-convolution network. Three blocks of two 3x3 convolutions (64, 64 |
  128, 128 | 196, 196 channels, padding 1), each convolution followed by BatchNorm
  and ReLU, a 2x2 max-pool after each block (32 -> 16 -> 8 -> 4 pixels), then
  Linear(196 * 4 * 4 = 3136, 256) + BatchNorm1d + ReLU and Linear(256, 10).

Both take image batches of shape (B, C, H, W) with pixel values in [0, 1] and return
logits of shape (B, n_classes). Both split into a body and a last layer: ``forward(x)``
is ``last_layer(penultimate(x))``, where ``penultimate`` gives the features h(x) of
docs/method.md section 6 and ``last_layer`` is the final ``nn.Linear``.
"""

import torch
from torch import nn

#: Image shape (channels, height, width) that each network expects.
INPUT_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


class MLP(nn.Module):
    """784-256-10 perceptron with one ReLU hidden layer.

    Parameters
    ----------
    n_inputs : int, default=784
        Pixels per image (28 x 28 for MNIST); inputs are flattened.
    n_hidden : int, default=256
    n_classes : int, default=10
    """

    def __init__(self, n_inputs=784, n_hidden=256, n_classes=10):
        super().__init__()
        self.hidden = nn.Linear(n_inputs, n_hidden)
        self.out = nn.Linear(n_hidden, n_classes)

    @property
    def last_layer(self):
        """The final ``nn.Linear(n_hidden, n_classes)``."""
        return self.out

    def penultimate(self, x):
        """Hidden features h(x) of shape (B, n_hidden), the last layer's inputs."""
        return torch.relu(self.hidden(x.flatten(1)))

    def forward(self, x):
        """Logits of shape (B, n_classes) for images x of shape (B, ...)."""
        return self.out(self.penultimate(x))


def conv_bn_relu(n_in, n_out):
    """3x3 convolution (padding 1, so the size is kept), BatchNorm2d and ReLU."""
    return [nn.Conv2d(n_in, n_out, kernel_size=3, padding=1),
            nn.BatchNorm2d(n_out), nn.ReLU(inplace=True)]


class CNN(nn.Module):
    """The 6-convolution network of the paper for 3x32x32 images.

    Parameters
    ----------
    n_channels : int, default=3
        Input channels.
    n_classes : int, default=10
    widths : tuple of int, default=(64, 128, 196)
        Channels of the two convolutions of each of the three blocks.
    """

    def __init__(self, n_channels=3, n_classes=10, widths=(64, 128, 196)):
        super().__init__()
        layers, n_in = [], n_channels
        for width in widths:
            layers += conv_bn_relu(n_in, width) + conv_bn_relu(width, width)
            layers.append(nn.MaxPool2d(2))
            n_in = width
        self.features = nn.Sequential(*layers)
        side = 32 // 2 ** len(widths)
        self.classifier = nn.Sequential(
            nn.Linear(n_in * side * side, 256), nn.BatchNorm1d(256), nn.ReLU(inplace=True),
            nn.Linear(256, n_classes))

    @property
    def last_layer(self):
        """The final ``nn.Linear(256, n_classes)``."""
        return self.classifier[-1]

    def penultimate(self, x):
        """Features h(x) of shape (B, 256) after the BatchNorm1d and ReLU: the last
        layer's inputs."""
        return self.classifier[:-1](self.features(x).flatten(1))

    def forward(self, x):
        """Logits of shape (B, n_classes) for images x of shape (B, 3, 32, 32)."""
        return self.last_layer(self.penultimate(x))


def to_float(images):
    """uint8 images to float32 pixels in [0, 1] (the networks' inputs)."""
    return images.float().div_(255.0)


def build_model(dataset, n_classes=10):
    """The paper's network for a dataset.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
    n_classes : int, default=10

    Returns
    -------
    model : torch.nn.Module
        Freshly initialised from torch's global generator (seed it first).
    """
    if dataset == "mnist":
        return MLP(n_classes=n_classes)
    if dataset == "cifar10":
        return CNN(n_classes=n_classes)
    raise ValueError(f"no model for dataset {dataset!r}; use one of {', '.join(INPUT_SHAPES)}")
