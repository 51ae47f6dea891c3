"""Structure figures for the package: the numbers issue 15 asks to track.

Usage: python tools/archmetrics.py [SRC_DIR]   (default: src/datamapper)

Prints the largest module and class (lines), the worst cyclomatic complexity
(radon when installed, else an ast count of branch points), private-attribute
reach-ins between modules, reads of private SQLAlchemy attributes, and the
counts of ``Any`` and ``type: ignore``.

A *reach-in* is ``obj._name`` (``obj`` not ``self``/``cls``) in module A where
``_name`` is defined (assigned on ``self``, a class attribute, a method or a
``__slots__`` entry) only in other modules of the package; it is counted once
per occurrence and grouped by (reader, definer) module pair.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections import Counter, defaultdict
from pathlib import Path


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _definitions(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out.add(item.name)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            out.add(t.id)
                            if t.id == "__slots__" and item.value is not None:
                                for elt in ast.walk(item.value):
                                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                                        out.add(elt.value)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute):
                    out.add(t.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "setattr" and len(node.args) >= 2 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            out.add(node.args[1].value)
    return {n for n in out if _private(n)}


def _complexity(src: str) -> list[tuple[int, str]]:
    try:
        from radon.complexity import cc_visit
    except ImportError:
        return _ast_complexity(src)
    out = []
    for block in cc_visit(src):
        out.append((block.complexity, block.fullname))
        for m in getattr(block, "methods", []) or []:
            out.append((m.complexity, m.fullname))
    return out


def _ast_complexity(src: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = 1
            for sub in ast.walk(node):
                if isinstance(sub, (ast.If, ast.For, ast.While, ast.IfExp, ast.ExceptHandler,
                                    ast.With, ast.Assert, ast.comprehension)):
                    n += 1
                elif isinstance(sub, ast.BoolOp):
                    n += len(sub.values) - 1
            out.append((n, node.name))
    return out


def main(root: Path) -> None:
    files = sorted(root.rglob("*.py"))
    trees: dict[str, ast.AST] = {}
    sources: dict[str, str] = {}
    for f in files:
        mod = ".".join(f.relative_to(root.parent).with_suffix("").parts)
        sources[mod] = f.read_text()
        trees[mod] = ast.parse(sources[mod])
    defs = {m: _definitions(t) for m, t in trees.items()}
    definers: dict[str, set[str]] = defaultdict(set)
    for m, names in defs.items():
        for n in names:
            definers[n].add(m)

    largest_mod = max(sources.items(), key=lambda kv: kv[1].count("\n"))
    largest_cls = (0, "")
    for m, t in trees.items():
        for node in ast.walk(t):
            if isinstance(node, ast.ClassDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > largest_cls[0]:
                    largest_cls = (n, f"{m}.{node.name}")
    worst: list[tuple[int, str]] = []
    for m, src in sources.items():
        worst.extend((c, f"{m}:{name}") for c, name in _complexity(src))
    worst.sort(reverse=True)

    reach = 0
    pairs: Counter[tuple[str, str]] = Counter()
    core_private: Counter[str] = Counter()
    core_modules: set[str] = set()
    for m, t in trees.items():
        for node in ast.walk(t):
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            owners = definers.get(node.attr)
            if not owners:
                if not node.attr.startswith("_dm_"):
                    core_private[node.attr] += 1
                    core_modules.add(m)
                continue
            if m in owners:
                continue
            reach += 1
            for o in owners:
                pairs[(m, o)] += 1

    any_count = 0
    ignores = 0
    ignores_without_reason = 0
    for src in sources.values():
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.NAME and tok.string == "Any":
                any_count += 1
            elif tok.type == tokenize.COMMENT and "type: ignore" in tok.string:
                ignores += 1
                # the reason is the text after the comment and its error codes
                # (``# type: ignore[attr-defined]  # set by the registry``)
                rest = re.sub(r"^.*?type: ignore(\[[^\]]*\])?", "", tok.string, count=1)
                if not rest.strip().lstrip("#").strip():
                    ignores_without_reason += 1
    session_any = sum(len(re.findall(r"\bsession: Any\b", s)) for s in sources.values())

    print(f"largest module:      {largest_mod[1].count(chr(10))} lines  ({largest_mod[0]})")
    print(f"largest class:       {largest_cls[0]} lines  ({largest_cls[1]})")
    print("worst complexity:    " + ", ".join(f"{c} {n}" for c, n in worst[:5]))
    print(f"functions above 15:  {sum(1 for c, _ in worst if c > 15)}")
    print(f"private reach-ins:   {reach} across {len(pairs)} module pairs")
    print(f"core private reads:  {sum(core_private.values())} reads of {len(core_private)} "
          f"names in {len(core_modules)} modules")
    print(f"Any:                 {any_count}  (session: Any parameters: {session_any})")
    print(f"type: ignore:        {ignores}  (without a reason: {ignores_without_reason})")
    if "-v" in sys.argv:
        for (a, b), n in pairs.most_common(15):
            print(f"  {n:4d}  {a} -> {b}")
        print("  core:", ", ".join(f"{k}={v}" for k, v in core_private.most_common()))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    main(Path(args[0]) if args else Path("src/datamapper"))
