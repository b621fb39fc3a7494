"""An F32 GGUF holding exactly the de-quantised weights of a quantised one.

The hf backend de-quantises a GGUF to float32 when it loads it; llama.cpp computes with the
quantised blocks themselves. Writing the de-quantised tensors back as F32 gives llama.cpp the
very weights transformers uses, so what still differs between the two is no longer the weights'
precision (used by `tests/test_prompt_agreement.py`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_f32_copy(source: Path, target: Path) -> Path:
    """Copy `source` to `target` with every tensor de-quantised to F32 (metadata kept)."""
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(source))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(str(target), arch=arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        if field.name == gguf.Keys.General.FILE_TYPE:
            writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for tensor in reader.tensors:
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        writer.add_tensor(tensor.name, values, raw_dtype=gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target
