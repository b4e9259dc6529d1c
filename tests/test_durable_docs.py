"""docs/durable.md and README's migration block are what the apps render to."""

from durable.render import README_BLOCK, diff
from shared.servers import REPO


def test_a_changed_app_changes_the_diff(tmp_path, monkeypatch) -> None:
    """The diff is read from the files: a line added to a durable app shows up in it."""
    from durable import render

    for name in ("fastapi_app.py", "fastapi_durable_app.py"):
        (tmp_path / "frameworks").mkdir(exist_ok=True)
        (tmp_path / "frameworks" / name).write_text((REPO / "frameworks" / name).read_text())
    with (tmp_path / "frameworks" / "fastapi_durable_app.py").open("a") as f:
        f.write("# a line the page must show\n")
    monkeypatch.setattr(render, "REPO", tmp_path)
    assert "+# a line the page must show" in diff("fastapi")
    assert README_BLOCK[0] not in diff("fastapi")


def test_every_declared_property_names_a_test_that_exists() -> None:
    """Each row of durable/expected.toml is checked by a test function that is really there."""
    from durable.declared import properties

    for name, prop in properties().items():
        path, _, function = prop["measured_by"].partition("::")
        assert f"def {function}(" in (REPO / path).read_text(), f"{name}: {prop['measured_by']} not found"
        assert prop["source"].startswith("https://github.com/") and "/blob/v" in prop["source"], name


def test_every_durable_column_cell_names_a_semantics_property() -> None:
    from conformance.declared import properties as semantics
    from durable.declared import properties

    named = {name for p in properties().values() for name in p.get("semantics", {})}
    assert named and named <= set(semantics()), sorted(named - set(semantics()))


def test_the_longest_delivery_is_clause_9s_defaults_added_up() -> None:
    """Every attempt stalled to its time-out, and every backoff between them."""
    from durable.render import longest_delivery
    from shared.mailer import SmtpSettings

    assert longest_delivery(SmtpSettings(timeout=10.0, attempts=3, backoff=0.5)) == (
        3 * 10.0 + 0.5 + 1.0, "3 x 10 s + 0.5 + 1 s")


def test_a_way_of_running_with_a_short_grace_is_told_so(tmp_path, monkeypatch) -> None:
    """The stopping section is a view of durable/deploy.toml: a grace under the longest delivery is
    flagged, one above it is not, and every row names the measured stop it is."""
    from durable import render

    ways = (REPO / "durable" / "deploy.toml").read_text()
    (tmp_path / "deploy.toml").write_text(ways.replace("grace_s = 90", "grace_s = 600"))
    monkeypatch.setattr(render, "DEPLOY", tmp_path / "deploy.toml")
    rows = {line.split(" | ")[0]: line for line in render.stopping().splitlines() if line.startswith("| ")}
    assert "600 s: " in rows["| systemd (a service unit)"]
    assert "10 s (shorter than a delivery can take)" in rows["| a container (`docker stop`, Compose)"]
    assert "30 s (shorter than a delivery can take)" in rows["| Kubernetes (a pod)"]


def test_every_way_of_running_names_a_measured_stop_and_its_sources() -> None:
    import tomllib

    from reliability.test_durable import SIGTERM_TARGETS

    for name, way in tomllib.loads((REPO / "durable" / "deploy.toml").read_text()).items():
        assert way["row"] in SIGTERM_TARGETS, name
        for key in ("source", "grace_source"):
            assert way[key].startswith("https://github.com/") and "/blob/v" in way[key], (name, key)


def test_every_engine_property_is_declared_for_every_engine_with_a_test_and_a_source() -> None:
    """durable/engines.toml: each property names a test function that is really there, and has a
    value for every engine of shared/axes.py's ENGINES, with a source pinned to a release."""
    from durable.declared import engine_properties
    from shared.axes import ENGINES

    for name, prop in engine_properties().items():
        path, _, function = prop["measured_by"].partition("::")
        assert f"def {function.partition('[')[0]}(" in (REPO / path).read_text(), name
        for engine in ENGINES:
            entry = prop[engine]
            assert "value" in entry, (name, engine)
            source = entry.get("source") or prop.get("source", "")
            pinned = source.startswith(("https://github.com/", "https://raw.githubusercontent.com/"))
            assert pinned, (name, engine)


def test_the_queues_page_ticks_only_what_was_seen(tmp_path) -> None:
    """docs/queues.md: a cell whose last observation agrees gets its tick; one that disagrees shows
    what was measured instead, and one never measured says so."""
    import json

    from durable.queues import page

    seen = tmp_path / "celery"
    seen.mkdir()
    (seen / "redis_sigkill.json").write_text(json.dumps({"how": "alone", "lost": 0, "twice": 0}))
    (seen / "sigterm_to_the_worker_main.json").write_text(
        json.dumps({"how": "alone", "lost": 2, "twice": 0, "held_sent_by": "the next worker"}))
    text = page(tmp_path)
    assert "[alone](#redis-sigkill-celery) ✓" in text
    measured = "(measured: the next worker, 2 lost"
    assert f"[the stopping worker](#sigterm-to-the-worker-main-celery) {measured}" in text
    assert "[alone](#redis-sigkill-arq) (measured: not measured yet)" in text


def test_the_queues_page_shows_each_engines_enqueue_as_written() -> None:
    from durable.queues import enqueue_source, off_the_loop
    from shared.axes import ENGINES

    for engine in ENGINES.values():
        assert enqueue_source(engine).startswith("async def enqueue(")
    assert [off_the_loop(e) for e in ENGINES.values()] == [True, False, True, False]
