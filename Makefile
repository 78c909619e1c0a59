# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up the project's virtual environment first (Python 3.10-3.13).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test check test-platforms assignment check-assignment expected thresholds lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## Build the assignment, grade the demo submissions, print the grade table.
demo: setup
	$(PY) -m autograder build
	$(PY) -m autograder demo

# Two pytest workers; each test module stays on one worker, so that its course or
# class is built once (module-scoped fixtures).
PYTEST := $(PY) -m pytest tests --ignore=tests/platforms -n 2 --dist loadfile

## Every test: the build is fresh, the reference passes, the grader is sound.
test: setup
	$(PY) -m autograder build --check
	$(PY) -m ruff check .
	$(PYTEST)
	$(PY) -m autograder validate

## The edit-and-test loop (under 2 minutes): ruff, then every test not marked slow
## (tests/conftest.py lists the slow ones: whole nbgrader courses, notebook runs...).
check: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PYTEST) -q -m "not slow"

## Slow tests that lay platforms out as they run (OS roots, Docker, Slurm); CI runs them too.
test-platforms: setup
	$(PY) -m pytest tests/platforms

## Regenerate release/ and solutions/ from source/.
assignment: setup
	$(PY) -m autograder build

check-assignment: setup
	$(PY) -m autograder build --check

## After a change to the reference: the stored hidden values, then the training thresholds.
expected: setup
	$(PY) -m autograder make-expected

thresholds: setup
	$(PY) -m autograder thresholds

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The class section also grades the class with plain nbgrader at this revision:
# the last commit before the parallel command and the lighter run (issue 12).
BENCH_BEFORE ?= 20249eb

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/run.py $(if $(BENCH_BEFORE),--before $(BENCH_BEFORE))

clean:
	rm -rf $(VENV) autograded feedback submitted gradebook.db grading_output autograder-results \
		.pytest_cache .ruff_cache *.egg-info
