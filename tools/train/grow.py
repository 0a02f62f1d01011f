"""Growing a trained detector into a deeper one that computes exactly the same function.

A CSP unit concatenates the outputs of all its residual blocks before its 1x1 fuse conv. A
deeper unit appends blocks after the old ones: the old blocks see the same inputs as before,
and the fuse conv's weights for the new blocks' channels start at zero, so the grown model's
output is the small model's (up to float rounding). Training then has to open those
weights; their gradient is not zero (the new blocks' outputs are not), so it does from the
first step. This lets the shipped weights seed a larger network on a CPU, where training one
from scratch would take days.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from model import CSP


def deepen(small: nn.Module, big: nn.Module) -> int:
    """Copies `small`'s weights into `big` (the same detector at a larger --depth) so that
    `big` computes what `small` does. Returns the number of residual blocks added."""
    small_units = {n: m for n, m in small.named_modules() if isinstance(m, CSP)}
    big_units = {n: m for n, m in big.named_modules() if isinstance(m, CSP)}
    if small_units.keys() != big_units.keys():
        raise SystemExit("the two models differ in more than depth (their CSP units differ)")
    # Block counts first: a unit that cannot hold the old blocks has no state to copy them into.
    added = 0
    for name, unit in big_units.items():
        old = len(small_units[name].blocks)
        if len(unit.blocks) < old:
            raise SystemExit(f"{name}: {len(unit.blocks)} blocks cannot hold {old}")
        added += len(unit.blocks) - old
    with torch.no_grad():
        big_state = big.state_dict()
        for key, value in small.state_dict().items():
            target = big_state[key]
            if target.shape == value.shape:
                target.copy_(value)
                continue
            # Only a fuse conv may differ: more input channels for the appended blocks.
            if not key.endswith("fuse.conv.weight") or target.shape[0] != value.shape[0]:
                raise SystemExit(f"{key}: {tuple(value.shape)} cannot grow into {tuple(target.shape)}")
            target.zero_()
            target[:, : value.shape[1]].copy_(value)
    return added
