"""`python -m conformance.recipes`: every recipe changes exactly the cells it claims.

A recipe (`recipes/<name>.py`, declared in `conformance/recipes.toml`) keeps, after a move,
a behaviour the old framework or server had. This runs the semantics tier on each recipe's
pairs with the recipe applied to the probe (`AFTERWARD_PROBE_RECIPE`, and the recipe's
server arguments); the tier then expects the claimed value in each claimed cell and the
declared value everywhere else, so a run with no mismatch is the proof. A claimed cell that
was not measured, or any mismatch, fails the run.

    python -m conformance.recipes                          # every recipe
    python -m conformance.recipes --recipe quart_task_order
    python -m conformance.recipes --wrong                  # wrong claims, each of which must fail

`--wrong` runs `conformance/wrong_recipes.toml`: real recipes with claims that are wrong
(a change left out, a change that does not happen), and succeeds only when every one of them
fails: the check can tell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from conformance.address import pick
from conformance.declared import Cell, properties
from shared.servers import FRAMEWORKS, REPO, SERVERS

__all__ = ["RECIPES", "RECIPE_ENV", "Recipe", "overlay", "recipes"]

RECIPES = Path(__file__).with_name("recipes.toml")
WRONG = Path(__file__).with_name("wrong_recipes.toml")
RECIPE_ENV = "AFTERWARD_PROBE_RECIPE"
#: Another table of recipes in place of `RECIPES`, for every process the run starts (`--wrong`).
TABLE_ENV = "AFTERWARD_RECIPES_TABLE"
_CELL_KEYS = {"value", "also", "why"}


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    frameworks: tuple[str, ...]
    file: str = ""  # the module's name in recipes/, when it is not the recipe's
    servers: tuple[str, ...] = ()  # empty: every server
    apply: str = ""
    add: str = ""
    tasks: str = ""
    server_args: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def module(self) -> str:
        return f"recipes.{self.file or self.name}"

    @property
    def path(self) -> Path:
        return REPO / "recipes" / f"{self.file or self.name}.py"

    def pairs(self) -> list[tuple[str, str]]:
        return [(f, s) for f in self.frameworks for s in (self.servers or SERVERS)]

    def claim(self, prop: str, framework: str, server: str) -> dict[str, Any] | None:
        """The cell this recipe claims for `prop` on the pair, or None."""
        if (framework, server) not in self.pairs() or prop not in self.claims:
            return None
        raw = self.claims[prop]
        if set(raw) <= _CELL_KEYS and "value" in raw:
            return raw  # one cell for every pair of the recipe
        return pick(raw, framework, server, where=f"{RECIPES.name} [{self.name}] {prop}")

    def claimed_cells(self) -> list[tuple[str, str, str]]:
        return [(p, f, s) for p in self.claims for f, s in self.pairs() if self.claim(p, f, s) is not None]


def recipes() -> dict[str, Recipe]:
    return load(Path(os.environ.get(TABLE_ENV) or RECIPES))


@cache
def load(table: Path) -> dict[str, Recipe]:
    data = tomllib.loads(table.read_text(encoding="utf-8"))
    return {
        name: Recipe(
            name,
            body["title"],
            tuple(body["frameworks"]),
            body.get("file", ""),
            tuple(body.get("servers", ())),
            body.get("apply", ""),
            body.get("add", ""),
            body.get("tasks", ""),
            tuple(body.get("server_args", ())),
            body.get("claims", {}),
        )
        for name, body in data.items()
    }


def overlay(declared: Cell | None, recipe: str, prop: str, framework: str, server: str) -> Cell | None:
    """The cell a probe with `recipe` applied must show: the claim where there is one."""
    claim = recipes()[recipe].claim(prop, framework, server) if recipe else None
    if claim is None or declared is None:
        return declared
    return replace(
        declared,
        value=claim["value"],
        why=claim.get("why", ""),
        also={**declared.also, **claim.get("also", {})},
    )


def check_table(table: dict[str, Recipe] | None = None) -> list[str]:
    """What is wrong with the table itself: unknown names, missing files, claims that change nothing."""
    problems = []
    for recipe in (recipes() if table is None else table).values():
        if not recipe.path.exists():
            problems.append(f"{recipe.name}: no file {recipe.path.relative_to(REPO)}")
        if not (recipe.apply or recipe.add or recipe.tasks or recipe.server_args):
            problems.append(f"{recipe.name}: applied in no way (apply, add, tasks or server_args)")
        problems += [
            f"{recipe.name}: unknown framework {f}" for f in recipe.frameworks if f not in FRAMEWORKS
        ]
        problems += [f"{recipe.name}: unknown server {s}" for s in recipe.servers if s not in SERVERS]
        if not recipe.claims:
            problems.append(f"{recipe.name}: claims nothing")
        for prop in recipe.claims:
            if prop not in properties():
                problems.append(f"{recipe.name}: no such property {prop}")
                continue
            cells = [(f, s, c) for f, s in recipe.pairs() if (c := recipe.claim(prop, f, s)) is not None]
            if not cells:
                problems.append(f"{recipe.name}: claim on {prop} applies to none of its pairs")
            for framework, server, claim in cells:
                declared = properties()[prop].cell(framework, server)
                if declared is None or not declared.measured:
                    problems.append(f"{recipe.name}: {prop} is not measured on {framework}-{server}")
                elif claim["value"] == declared.value and not (
                    set(claim.get("also", {}).items()) - set(declared.also.items())
                ):
                    problems.append(
                        f"{recipe.name}: claim on {prop} [{framework}-{server}] is the declared "
                        f"value; a recipe claims only what it changes"
                    )
    return problems


def verify(recipe: Recipe, rows: list[dict[str, Any]]) -> list[str]:
    """Failures of one recipe's run: mismatches, and claimed cells with no passing row."""
    problems = [
        f"{r['property']} [{r['framework']}-{r['server']}]: expected {r['expected']!r}, "
        f"observed {r['observed']!r}"
        for r in rows
        if not r["passed"]
    ]
    passed = {(r["property"], r["framework"], r["server"]) for r in rows if r["passed"]}
    problems += [
        f"{p} [{f}-{s}]: claimed, not measured"
        for p, f, s in recipe.claimed_cells()
        if (p, f, s) not in passed
    ]
    return problems


def run(recipe: Recipe, report: Path) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "conformance", "--tier", "semantics", "--report", str(report)]
    cmd += [a for f in recipe.frameworks for a in ("--framework", f)]
    cmd += [a for s in recipe.servers for a in ("--server", s)]
    cmd += ["--", f"--recipe={recipe.name}"]
    subprocess.run(cmd, cwd=REPO, timeout=1800)  # its progress lines go straight to the terminal
    return json.loads(report.read_text())["results"] if report.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.recipes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--recipe", action="append", default=[], choices=sorted(load(RECIPES)) + sorted(load(WRONG))
    )
    parser.add_argument(
        "--wrong", action="store_true", help=f"run {WRONG.name}: every recipe there must fail"
    )
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.wrong:
        os.environ[TABLE_ENV] = str(WRONG)  # the suite, and the probes it starts, read this table
    args.report = args.report or REPO / "reports" / ("recipes-wrong.json" if args.wrong else "recipes.json")
    problems = check_table()
    for line in problems:
        print(f"TABLE {line}")
    if problems:
        return 1
    started, out, failed = time.monotonic(), {}, 0
    with tempfile.TemporaryDirectory(prefix="afterward-recipes-") as tmp:
        for name in args.recipe or sorted(recipes()):
            recipe, begun = recipes()[name], time.monotonic()
            rows = run(recipe, Path(tmp) / f"{name}.json")
            problems = verify(recipe, rows)
            failed += bool(problems)
            out[name] = {
                "pairs": [f"{f}-{s}" for f, s in recipe.pairs()],
                "cells": len(rows),
                "claimed": [f"{p} [{f}-{s}]" for p, f, s in recipe.claimed_cells()],
                "problems": problems,
                "seconds": round(time.monotonic() - begun),
            }
            for line in problems:
                print(f"{'caught' if args.wrong else 'RECIPE'} {name}: {line}")
            print(
                f"recipe {name}: {'FAILED' if problems else 'ok'}, {len(rows)} cells on "
                f"{len(recipe.pairs())} pairs, {len(recipe.claimed_cells())} claimed "
                f"({time.monotonic() - begun:.0f} s)"
            )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        json.dumps({"recipes": out, "seconds": round(time.monotonic() - started)}, indent=1) + "\n"
    )
    if args.wrong:
        print(
            f"{failed}/{len(out)} wrong recipes caught ({time.monotonic() - started:.0f} s); "
            f"report: {args.report}"
        )
        return 0 if failed == len(out) else 1
    print(
        f"{len(out) - failed}/{len(out)} recipes change exactly what they claim "
        f"({time.monotonic() - started:.0f} s); report: {args.report}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
