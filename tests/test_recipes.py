"""The recipes table: well formed, claims only changes, and how a run with a recipe is judged."""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from conformance.declared import cell
from conformance.recipes import WRONG, check_table, load, overlay, recipes, verify


def test_the_recipes_table_is_well_formed() -> None:
    assert check_table() == []


def test_the_wrong_recipes_table_is_well_formed_too() -> None:
    assert check_table(load(WRONG)) == []


@pytest.mark.parametrize("name", sorted(recipes()))
def test_every_part_a_recipe_names_exists(name: str) -> None:
    recipe = recipes()[name]
    module = importlib.import_module(recipe.module)
    for part in (recipe.apply, recipe.add, recipe.tasks):
        assert not part or callable(getattr(module, part)), f"{recipe.module}.{part}"


def test_a_claim_of_the_declared_value_is_refused() -> None:
    recipe = recipes()["quart_task_order"]
    lazy = replace(recipe, claims={"tasks_run_in_registration_order": {"value": True}})
    assert any("is the declared value" in p for p in check_table({"lazy": lazy}))


def test_a_claim_on_an_unknown_property_is_refused() -> None:
    recipe = replace(recipes()["quart_task_order"], claims={"no_such_property": {"value": True}})
    assert any("no such property" in p for p in check_table({"odd": recipe}))


def test_with_a_recipe_the_claimed_cell_is_expected_and_the_others_stay() -> None:
    claimed = overlay(cell("tasks_run_sequentially", "quart", "uvicorn"), "quart_task_order",
                      "tasks_run_sequentially", "quart", "uvicorn")
    assert claimed is not None and claimed.value is True
    other = cell("async_task_thread", "quart", "uvicorn")
    assert overlay(other, "quart_task_order", "async_task_thread", "quart", "uvicorn") == other


def test_a_claim_for_one_server_leaves_the_other_alone() -> None:
    prop = "failed_task_closes_keepalive_connection"
    on_hypercorn = cell(prop, "starlette", "hypercorn")
    assert overlay(on_hypercorn, "starlette_keep_going", prop, "starlette", "hypercorn") == on_hypercorn
    on_uvicorn = overlay(cell(prop, "starlette", "uvicorn"), "starlette_keep_going", prop, "starlette",
                         "uvicorn")
    assert on_uvicorn is not None and on_uvicorn.value is False


def _row(prop: str, passed: bool = True) -> dict[str, object]:
    return {"property": prop, "framework": "starlette", "server": "uvicorn", "passed": passed,
            "expected": True, "observed": True}


def test_a_run_that_did_not_measure_a_claimed_cell_fails() -> None:
    recipe = recipes()["starlette_keep_going"]
    problems = verify(recipe, [_row("failed_task_skips_later_tasks")])
    assert any("failed_task_closes_keepalive_connection [starlette-uvicorn]: claimed, not measured" in p
               for p in problems)


def test_a_run_with_any_mismatch_fails() -> None:
    recipe = replace(recipes()["starlette_keep_going"], servers=("hypercorn",))
    assert verify(recipe, [_row("failed_task_skips_later_tasks"), _row("tasks_run_sequentially", False)])
