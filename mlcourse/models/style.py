"""Feature networks for neural style transfer without a download (Day 11).

Gatys et al. (2016) take their features from VGG-19 trained on ImageNet; that needs a 500 MB
download. A convolutional network with *random* weights is a published, working alternative for
style and texture: Ustyuzhaninov et al. (2016, *Texture synthesis using shallow convolutional
networks with random filters*) and He, Wang & Hopcroft (2016, *A powerful generative model using
random weights for the deep image representation*) show that the Gram statistics of random
multi-scale filters capture texture, and that deeper random layers keep an image's layout.
What the random filters lack is *learned* patterns: DeepDream, which amplifies what a network
has learned to see, needs a trained network.
"""

from __future__ import annotations

import torch
from torch import nn

#: Channels per 3x3 convolution, ``"P"`` a 2x2 average pooling: five levels, 128 px -> 8 px.
RANDOM_PLAN: tuple[int | str, ...] = (32, "P", 64, "P", 128, "P", 256, "P", 256)


class Center(nn.Module):
    """``x - 0.5``: pixels in [0, 1] centred on zero, so the random filters see signed input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - 0.5


def random_features(plan: tuple[int | str, ...] = RANDOM_PLAN, in_channels: int = 3,
                    seed: int = 0) -> tuple[nn.Sequential, tuple[int, ...]]:
    """A VGG-shaped network with random, frozen weights, and the indices of its ReLUs.

    Each number in ``plan`` is a 3x3 convolution (He-normal weights from ``seed``, zero bias)
    followed by a ReLU; ``"P"`` is a 2x2 average pooling (smoother gradients for the pixels than
    max pooling, as Gatys et al. advise). The network starts with :class:`Center`.

    Input ``(N, in_channels, H, W)`` float in [0, 1]; the ReLU at index ``i`` outputs
    ``(N, plan channels, H / 2**p, W / 2**p)`` after ``p`` poolings. The default has 5 ReLUs
    (32, 64, 128, 256, 256 channels) and about 0.98M weights.

    Returns:
        ``(net, relus)``: the ``nn.Sequential`` (eval mode, ``requires_grad`` off) and the
        positions of its ReLUs in it, shallow to deep.
    """
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = [Center()]
    channels = in_channels
    for item in plan:
        if item == "P":
            layers.append(nn.AvgPool2d(2))
        elif isinstance(item, int) and item > 0:
            conv = nn.Conv2d(channels, item, 3, padding=1)
            with torch.no_grad():
                conv.weight.normal_(0.0, (2.0 / (channels * 9)) ** 0.5, generator=gen)   # He (fan-in) init
                conv.bias.zero_()
            layers += [conv, nn.ReLU()]
            channels = item
        else:
            raise ValueError(f'a plan holds positive channel counts and "P" (pooling), got {item!r}')
    net = nn.Sequential(*layers).eval().requires_grad_(False)
    relus = tuple(i for i, m in enumerate(net) if isinstance(m, nn.ReLU))
    return net, relus


__all__ = ["random_features", "RANDOM_PLAN", "Center"]
