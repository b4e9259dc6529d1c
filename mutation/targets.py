"""What is mutated, and what runs to kill each file's mutants."""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = [
    "CONTRACT_FILES",
    "EDGES_FIRST",
    "EXCLUDED_OPERATORS",
    "KEPT_BINARY",
    "KILL_SERVER",
    "PINNED_MODULES",
    "SHARDS",
    "SIZES",
    "TARGETS",
    "bit_or_outside_annotations",
]

#: Mutated file -> the framework whose contract run can kill its mutants. An app file is
#: served only by its own framework; the shared code is the same under every framework,
#: so one (both senders: the contract tests take `sender` as a parameter) is enough.
TARGETS: dict[str, str] = {
    "shared/spec.py": "fastapi",
    "shared/validation.py": "fastapi",
    "shared/logwriter.py": "fastapi",
    "shared/mailer.py": "fastapi",
    "frameworks/fastapi_app.py": "fastapi",
    "frameworks/starlette_app.py": "starlette",
    "frameworks/litestar_app.py": "litestar",
    "frameworks/quart_app.py": "quart",
}

#: Files whose mutants are spread over this many sessions (`python -m mutation --jobs N`).
SHARDS = {"shared/mailer.py": 4}
#: Roughly how many mutants each file has, to start the biggest sessions first.
SIZES = {"shared/mailer.py": 91, "shared/validation.py": 17, "frameworks/quart_app.py": 10,
         "frameworks/litestar_app.py": 9}

#: The killer: the contract tier and its edge cases, on one server.
CONTRACT_FILES = ("conformance/test_contract.py",)
#: Files whose mutants the edge cases (failures, settings) are likeliest to kill: they run first.
EDGES_FIRST = {"shared/mailer.py"}
KILL_SERVER = "uvicorn"

#: Modules the suite itself imports from the pristine tree (in dependency order), never the mutant.
PINNED_MODULES = ("shared.spec", "shared.validation", "shared.logwriter", "shared.mailer")

#: Binary operators: cosmic-ray replaces each with every one of the ten others; one
#: replacement per operator is kept (its inverse, as mutmut does), so every site is
#: still mutated and the nine siblings, which change the same value at the same place
#: for the same tests to see, do not multiply the run. `|` is not mutated at all: in the
#: files above it only builds type annotations (`str | None`), which `from __future__
#: import annotations` leaves unevaluated in shared/ and the apps resolve at import,
#: where any replacement fails the import. `bit_or_outside_annotations` keeps that checked.
KEPT_BINARY = ("Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul", "FloorDiv_Div", "Mod_FloorDiv", "Pow_Mul",
               "LShift_RShift", "RShift_LShift", "BitAnd_BitOr", "BitXor_BitAnd")
EXCLUDED_OPERATORS = ("core/ReplaceBinaryOperator_BitOr_.*",
                      f"core/ReplaceBinaryOperator_(?!({'|'.join(KEPT_BINARY)})$).*")


def _annotations(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            found += [a.annotation for a in every if a is not None and a.annotation is not None]
            found += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return found


def bit_or_outside_annotations(path: Path) -> list[int]:
    """Line numbers of `|` operators that are not part of a type annotation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = {id(n) for a in _annotations(tree) for n in ast.walk(a)}
    return [n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) and id(n) not in inside]
