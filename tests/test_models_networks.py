"""Tests of models/networks.py: the paper's MLP and 6-conv CNN, layer by layer."""

import pytest
import torch
from torch import nn

from rdia.models import networks


def test_mlp_is_784_256_10_with_relu():
    net = networks.MLP()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 10)]
    assert sum(p.numel() for p in net.parameters()) == 784 * 256 + 256 + 256 * 10 + 10
    out = net(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10)


def test_mlp_hidden_layer_is_rectified():
    net = networks.MLP()
    with torch.no_grad():
        net.out.weight.copy_(torch.eye(10, 256))
        net.out.bias.zero_()
        net.hidden.weight.fill_(0.0)
        net.hidden.bias.copy_(torch.linspace(-1, 1, 256))
    out = net(torch.zeros(1, 1, 28, 28))
    # hidden units 0..9 have negative biases: ReLU makes them 0
    assert torch.equal(out, torch.zeros(1, 10))


def test_cnn_layers_are_the_papers():
    net = networks.CNN()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (3, 64), (64, 64), (64, 128), (128, 128), (128, 196), (196, 196)]
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1) for m in convs)
    kinds = [type(m).__name__ for m in net.features]
    block = ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + ["MaxPool2d"]
    assert kinds == block * 3
    assert [type(m).__name__ for m in net.classifier] == [
        "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert (net.classifier[0].in_features, net.classifier[0].out_features) == (3136, 256)
    assert (net.classifier[3].in_features, net.classifier[3].out_features) == (256, 10)


def test_cnn_parameter_count():
    conv = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 196), (196, 196)]
    expected = sum(9 * a * b + b + 2 * b for a, b in conv)      # conv + BatchNorm2d
    expected += 3136 * 256 + 256 + 2 * 256 + 256 * 10 + 10        # fc, BatchNorm1d, fc
    assert sum(p.numel() for p in networks.CNN().parameters()) == expected


def test_cnn_shapes():
    net = networks.CNN().eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert net.features(x).shape == (3, 196, 4, 4)
        assert net(x).shape == (3, 10)


@pytest.mark.parametrize("dataset, kind", [("mnist", networks.MLP), ("cifar10", networks.CNN)])
def test_build_model(dataset, kind):
    assert isinstance(networks.build_model(dataset), kind)


def test_build_model_refuses_unknown_dataset():
    with pytest.raises(ValueError, match="svhn"):
        networks.build_model("svhn")


def test_initialisation_follows_the_global_seed():
    torch.manual_seed(3)
    a = networks.build_model("mnist")
    torch.manual_seed(3)
    b = networks.build_model("mnist")
    c = networks.build_model("mnist")
    assert torch.equal(a.hidden.weight, b.hidden.weight)
    assert not torch.equal(b.hidden.weight, c.hidden.weight)


@pytest.mark.parametrize("dataset, shape, width", [("mnist", (4, 1, 28, 28), 256),
                                                   ("cifar10", (4, 3, 32, 32), 256)])
def test_forward_is_the_last_layer_on_the_penultimate_features(dataset, shape, width):
    torch.manual_seed(0)
    net = networks.build_model(dataset).eval()
    x = torch.rand(*shape)
    with torch.no_grad():
        h = net.penultimate(x)
        assert h.shape == (4, width)
        assert isinstance(net.last_layer, nn.Linear) and net.last_layer.in_features == width
        assert torch.allclose(net(x), h @ net.last_layer.weight.T + net.last_layer.bias,
                              rtol=0, atol=1e-5)
        assert torch.equal(net(x), net.last_layer(h))
