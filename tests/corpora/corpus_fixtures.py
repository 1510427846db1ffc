"""Small files in the corpora's real formats, shared by tests/corpora (no real data needed)."""

import json


def alpaca_rows(n):
    """``n`` valid rows in Alpaca's hub schema, of different code lengths."""
    rows = []
    for i in range(n):
        body = "\n".join(f"    x{j} = {i} + {j}" for j in range(i % 7 + 1))
        rows.append(
            {
                "instruction": f"Write function number {i}.",
                "input": "[1, 2]" if i % 3 == 0 else "",
                "output": f"def f{i}(x):\n{body}\n    return x\n",
                "prompt": f"Below is an instruction... {i}",
            }
        )
    return rows


def write_jsonl(path, rows, extra_lines=()):
    """``rows`` as JSON lines at ``path``, then the raw ``extra_lines`` (bytes: broken ones too)."""
    lines = [json.dumps(r).encode() for r in rows] + list(extra_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
