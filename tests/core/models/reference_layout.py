"""The state-dict layout of the original pytorch-CycleGAN-and-pix2pix generators, derived independently.

Written from the reference's layer lists (models/networks.py, read, not copied):
names and shapes a checkpoint saved by that code contains. Tests compare our
networks against this and build fake reference checkpoints from it.
"""

from __future__ import annotations

Layout = dict[str, tuple[int, ...]]


def _conv(layout: Layout, name: str, c_in: int, c_out: int, k: int, *, bias: bool, transposed: bool = False) -> None:
    layout[f"{name}.weight"] = (c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)
    if bias:
        layout[f"{name}.bias"] = (c_out,)


def _norm(layout: Layout, name: str, c: int, norm: str) -> None:
    if norm == "batch":
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            layout[f"{name}.{leaf}"] = (c,)
        layout[f"{name}.num_batches_tracked"] = ()
    # instance: affine=False, no running stats; none: Identity. Neither has entries.


def unet_layout(num_downs: int, *, input_nc: int, output_nc: int, ngf: int, norm: str) -> Layout:
    """UnetGenerator: self.model = outermost UnetSkipConnectionBlock, each block's layers in .model."""
    bias = norm == "instance"
    # (outer_nc, inner_nc) from the outermost block inwards.
    levels = [(output_nc, ngf), (ngf, ngf * 2), (ngf * 2, ngf * 4), (ngf * 4, ngf * 8)]
    levels += [(ngf * 8, ngf * 8)] * (num_downs - 4)
    layout: Layout = {}
    prefix = "model.model"
    for depth, (outer, inner) in enumerate(levels):
        if depth == 0:  # outermost: [downconv, submodule, relu, upconv, tanh]
            _conv(layout, f"{prefix}.0", input_nc, inner, 4, bias=bias)
            _conv(layout, f"{prefix}.3", inner * 2, outer, 4, bias=True, transposed=True)
            prefix = f"{prefix}.1.model"
        elif depth == len(levels) - 1:  # innermost: [lrelu, downconv, relu, upconv, upnorm]
            _conv(layout, f"{prefix}.1", outer, inner, 4, bias=bias)
            _conv(layout, f"{prefix}.3", inner, outer, 4, bias=bias, transposed=True)
            _norm(layout, f"{prefix}.4", outer, norm)
        else:  # [lrelu, downconv, downnorm, submodule, relu, upconv, upnorm, (dropout)]
            _conv(layout, f"{prefix}.1", outer, inner, 4, bias=bias)
            _norm(layout, f"{prefix}.2", inner, norm)
            _conv(layout, f"{prefix}.5", inner * 2, outer, 4, bias=bias, transposed=True)
            _norm(layout, f"{prefix}.6", outer, norm)
            prefix = f"{prefix}.3.model"
    return layout


def resnet_layout(n_blocks: int, *, input_nc: int, output_nc: int, ngf: int, norm: str, dropout: bool) -> Layout:
    """ResnetGenerator: one nn.Sequential 'model'; blocks keep their layers in .conv_block."""
    bias = norm == "instance"
    layout: Layout = {}
    i = 1  # 0 is ReflectionPad2d(3)
    _conv(layout, f"model.{i}", input_nc, ngf, 7, bias=bias)
    _norm(layout, f"model.{i + 1}", ngf, norm)
    i += 3  # conv, norm, relu
    for d in range(2):
        c = ngf * 2**d
        _conv(layout, f"model.{i}", c, c * 2, 3, bias=bias)
        _norm(layout, f"model.{i + 1}", c * 2, norm)
        i += 3
    dim = ngf * 4
    for _ in range(n_blocks):
        # [pad, conv, norm, relu, (dropout), pad, conv, norm]
        second = 6 if dropout else 5
        _conv(layout, f"model.{i}.conv_block.1", dim, dim, 3, bias=bias)
        _norm(layout, f"model.{i}.conv_block.2", dim, norm)
        _conv(layout, f"model.{i}.conv_block.{second}", dim, dim, 3, bias=bias)
        _norm(layout, f"model.{i}.conv_block.{second + 1}", dim, norm)
        i += 1
    for u in range(2):
        c = ngf * 2 ** (2 - u)
        _conv(layout, f"model.{i}", c, c // 2, 3, bias=bias, transposed=True)
        _norm(layout, f"model.{i + 1}", c // 2, norm)
        i += 3
    _conv(layout, f"model.{i + 1}", ngf, output_nc, 7, bias=True)  # after ReflectionPad2d(3)
    return layout


def reference_layout(arch: str, *, input_nc: int, output_nc: int, ngf: int, norm: str, dropout: bool) -> Layout:
    """Layout of a reference generator by its --netG name."""
    if arch.startswith("unet_"):
        downs = {"unet_128": 7, "unet_256": 8, "unet_512": 9}[arch]
        return unet_layout(downs, input_nc=input_nc, output_nc=output_nc, ngf=ngf, norm=norm)
    blocks = {"resnet_6blocks": 6, "resnet_9blocks": 9}[arch]
    return resnet_layout(blocks, input_nc=input_nc, output_nc=output_nc, ngf=ngf, norm=norm, dropout=dropout)
