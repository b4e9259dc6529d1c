"""The bench's durable numbers: ratios taken run by run, README's scale-out line is what the
committed data renders to, and a sentence the data disproves is not published."""

import json
import re

import pytest

from bench.durable_report import cost_ratios, speedups
from bench.report import DATA, DURABLE_HEADLINE, FACTS, durable_block, render
from bench.template import PLACEHOLDER, Contradicted, load, names


def committed() -> dict:
    return json.loads(DATA.read_text())


def cost(framework: str, run: int, inprocess: float, durable: float) -> dict:
    return {"framework": framework, "run": run, "inprocess": {"cpu_us_per_request": inprocess},
            "durable": {"cpu_us_per_request": durable}}


def test_enqueue_cost_and_speedup_are_taken_inside_each_run() -> None:
    durable = {"enqueue": [cost("quart", 1, 1000, 250), cost("quart", 2, 4000, 2000)],
               "delivery": [{"run": 1, "workers": 1, "per_s": 10}, {"run": 1, "workers": 2, "per_s": 15},
                            {"run": 2, "workers": 1, "per_s": 40}, {"run": 2, "workers": 2, "per_s": 80}]}
    assert cost_ratios(durable, "quart") == [0.25, 0.5]  # never run 1's durable over run 2's in-process
    assert speedups(durable) == [1.5, 2.0]


def test_the_page_has_the_durable_section_and_its_plot() -> None:
    page = render(committed())
    assert "## 8. The durable apps" in page and "![drain](bench/drain.png)" in page
    assert (DATA.parent / "drain.png").exists()


def test_durable_template_writes_no_number_by_hand() -> None:
    prose = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)", "", load(DURABLE_HEADLINE))
    assert not re.findall(r".{0,30}(?<!\w)\d.{0,30}", PLACEHOLDER.sub("", prose))
    assert set(names(load(DURABLE_HEADLINE))) <= set(FACTS)


@pytest.mark.parametrize("break_it, says", [
    (lambda d: [r.update(per_s=1.0) for r in d["delivery"]], "not faster"),
    (lambda d: d["delivery"][0].update(duplicates=1), "delivered twice"),
], ids=["no faster", "duplicate"])
def test_a_durable_line_the_data_contradicts_is_not_published(break_it, says: str) -> None:
    data = committed()
    break_it(data["durable"])
    with pytest.raises(Contradicted, match=re.escape(says)):
        durable_block(data)
