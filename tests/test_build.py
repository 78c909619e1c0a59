"""The build turns source/ into release/ (stubs) and solutions/ (reference)."""

import importlib

import pytest

from autograder.tools import build
from conftest import RELEASE, ROOT, SOLUTIONS, SOURCE

STUDENT_FUNCTIONS = {
    "rnn_layers": [
        "rnn_step_forward",
        "rnn_step_backward",
        "rnn_forward",
        "rnn_backward",
        "word_embedding_forward",
        "word_embedding_backward",
        "lstm_step_forward",
        "lstm_step_backward",
        "lstm_forward",
        "lstm_backward",
    ],
    "rnn": ["CaptioningRNN.loss", "CaptioningRNN.sample"],
}

SOURCE_WITH_REGIONS = '''\
def f(x):
    """Doc."""
    y = None
    # TODO: double x
    ### BEGIN SOLUTION
    y = 2 * x
    ### END SOLUTION
    return y


class C:
    def g(self):
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION
'''


def test_release_replaces_each_region_by_a_named_stub():
    out = build.release_python(SOURCE_WITH_REGIONS, "pkg/mod.py")
    assert "y = 2 * x" not in out and "return 1" not in out
    assert "f is not implemented yet" in out and "C.g is not implemented yet" in out
    assert "pkg/mod.py" in out
    assert '"""Doc."""' in out and "# TODO: double x" in out
    namespace = {}
    exec(compile(out, "mod.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="fill in its TODO block in pkg/mod.py"):
        namespace["f"](3)


def test_solutions_keep_the_code_and_drop_the_markers():
    out = build.solution_python(SOURCE_WITH_REGIONS, "mod.py")
    assert "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    namespace = {}
    exec(compile(out, "mod.py", "exec"), namespace)
    assert namespace["f"](3) == 6


@pytest.mark.parametrize(
    "bad",
    [
        "def f():\n    ### BEGIN SOLUTION\n    pass\n",
        "def f():\n    pass\n    ### END SOLUTION\n",
        "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",
    ],
)
def test_malformed_regions_are_refused(bad):
    with pytest.raises(build.BuildError):
        build.release_python(bad, "bad.py")


def test_outside_regions_release_is_the_source_byte_for_byte():
    for name in ("rnn_layers.py", "rnn.py"):
        source = (SOURCE / "captioning" / name).read_text()
        release = (RELEASE / "captioning" / name).read_text()
        src_lines = source.splitlines(keepends=True)
        kept, inside = [], False
        for line in src_lines:
            if line.strip() == build.BEGIN_SOLUTION:
                inside = True
            elif line.strip() == build.END_SOLUTION:
                inside = False
            elif not inside:
                kept.append(line)
        rel_lines = [
            line
            for line in release.splitlines(keepends=True)
            if "raise NotImplementedError(" not in line
            and "is not implemented yet" not in line
            and line.strip() != ")"
        ]
        kept = [line for line in kept if line.strip() != ")"]
        assert rel_lines == kept


def test_committed_release_and_solutions_are_fresh():
    release, solutions = build.build_trees(ROOT, run_nbgrader=False)
    release = {k: v for k, v in release.items() if not k.endswith(".ipynb")}
    current = {k: v for k, v in build.read_tree(RELEASE).items() if not k.endswith(".ipynb")}
    assert current == release, "release/ is stale: run `make assignment`"
    assert build.read_tree(SOLUTIONS) == solutions, "solutions/ is stale: run `make assignment`"


def test_build_is_idempotent():
    first = build.build_trees(ROOT, run_nbgrader=False)
    second = build.build_trees(ROOT, run_nbgrader=False)
    assert first == second


def test_release_leaks_no_solution_line():
    assert build.leaked_lines(ROOT, build.read_tree(RELEASE)) == []


def test_leak_check_catches_a_solution_line():
    release = build.read_tree(RELEASE)
    name = "captioning/rnn_layers.py"
    release[name] += b"\n    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n"
    assert any("np.tanh(x @ Wx" in leak for leak in build.leaked_lines(ROOT, release))


def test_stale_release_is_detected(tmp_path):
    files = {"a.py": b"x = 1\n"}
    build.write_tree(tmp_path, files)
    assert build.differences(tmp_path, files) == []
    (tmp_path / "a.py").write_bytes(b"x = 2\n")
    (tmp_path / "extra.py").write_bytes(b"")
    assert build.differences(tmp_path, files) == ["extra: extra.py", "stale: a.py"]


@pytest.mark.parametrize(
    "module, qualname", [(m, f) for m, fs in STUDENT_FUNCTIONS.items() for f in fs]
)
def test_every_stub_raises_not_implemented_naming_function_and_file(stubs, module, qualname):
    mod = importlib.import_module(f"stub_captioning.{module}")
    np = importlib.import_module("numpy")
    if qualname.startswith("CaptioningRNN."):
        model = mod.CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}, 4, 3, 5)
        func = getattr(model, qualname.split(".")[1])
        args = (
            (np.zeros((2, 4)), np.zeros((2, 5), dtype=int))
            if qualname.endswith("loss")
            else (np.zeros((2, 4)),)
        )
    else:
        func = getattr(mod, qualname)
        args = [None] * func.__code__.co_argcount
    with pytest.raises(NotImplementedError) as info:
        func(*args)
    assert qualname in str(info.value)
    assert f"captioning/{module}.py" in str(info.value)
