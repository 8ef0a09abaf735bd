# Every target bootstraps .venv itself, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-deep test-browser screenshot chromium lint fmt clean bench soak bench-upload bench-feeds bench-social mutation openapi lock

# Installs come from the hashed lock files in requirements/ (make lock refreshes them):
# dev.txt for .venv (CI runs this too), runtime.txt for the image (no embedded database,
# no dev tools), bench.txt and mutation.txt for make bench/soak and mutation (dev.txt plus
# their extra). build.txt pins pip and setuptools, installed first, and the project is
# built without build isolation, so no unpinned tool is fetched: the project itself is then
# an editable install without dependencies.
LOCK := requirements/dev.txt
BUILD_LOCK := requirements/build.txt
BENCH_LOCK := requirements/bench.txt
MUTATION_LOCK := requirements/mutation.txt
$(STAMP): pyproject.toml setup.py $(LOCK) $(BUILD_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(BUILD_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolve the lock files from pyproject.toml, for every platform, with the hashes of
# every file: uv keeps a version a lock file already pins while pyproject.toml allows it
# (delete the file, or add --upgrade to LOCK_ARGS, for the newest). Commit the result
# after make test.
UV_STAMP := $(VENV)/.uv-installed
$(UV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	touch $(UV_STAMP)

LOCK_ARGS := --quiet --universal --python-version 3.11 --generate-hashes \
	--index-url https://pypi.org/simple
# runtime.txt (the image) carries the tracing extra, off unless OTEL_* variables ask for it.
# bench.txt and mutation.txt are dev.txt (as a constraint: the same versions) plus the bench
# or mutation extra, which make bench/soak and make mutation install over .venv.
lock: $(UV_STAMP)
	$(BIN)/uv pip compile $(LOCK_ARGS) --extra tracing pyproject.toml -o requirements/runtime.txt
	$(BIN)/uv pip compile $(LOCK_ARGS) --extra dev pyproject.toml -o requirements/dev.txt
	$(BIN)/uv pip compile $(LOCK_ARGS) --extra dev --extra bench -c $(LOCK) pyproject.toml \
		-o $(BENCH_LOCK)
	$(BIN)/uv pip compile $(LOCK_ARGS) --extra dev --extra mutation -c $(LOCK) pyproject.toml \
		-o $(MUTATION_LOCK)
	$(BIN)/uv pip compile $(LOCK_ARGS) requirements/build.in -o $(BUILD_LOCK)

run: $(STAMP)
	$(BIN)/momentic serve

test: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/browser

# The user-lives state machine (tests/lives) with random lives for LIVES_MINUTES (not in make test).
LIVES_MINUTES ?= 20
test-deep: $(STAMP)
	LIVES_PROFILE=deep LIVES_MINUTES=$(LIVES_MINUTES) $(BIN)/python -m pytest -q -s tests/lives

# The admin dashboard in headless Chromium: Debian's package, installed when missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test-browser: $(STAMP) chromium
	$(BIN)/python -m pytest -q tests/browser

screenshot: $(STAMP) chromium
	MOMENTIC_SCREENSHOT=docs/dashboard.png $(BIN)/python -m pytest -q tests/browser -k every_series
	MOMENTIC_SCREENSHOT=docs/share.png $(BIN)/python -m pytest -q tests/browser/test_share_page.py -k video_plays
	MOMENTIC_SCREENSHOT=docs/staff-queue.png $(BIN)/python -m pytest -q tests/browser -k removes_a_reported_video
	MOMENTIC_SCREENSHOT=docs/metrics.png $(BIN)/python -m pytest -q tests/browser/test_metrics_dashboard.py

# The OpenAPI document, as the app serves it at /openapi.json, for client generators.
openapi: $(STAMP)
	$(BIN)/python -m adapters.http.openapi > openapi.json

lint: $(STAMP)
	$(BIN)/ruff check momentic_core adapters tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Fixes what make lint checks, nothing more. The tree is not `ruff format`ted (yet), so
# this does not run it: formatting everything is a separate, whole-tree change.
fmt: $(STAMP)
	$(BIN)/ruff check --fix momentic_core adapters tests

# The benchmark suite (not part of make test): bench/README.md says how to read it.
# BENCH_ARGS: e.g. --size both, --quick, --only global,reactions
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) $(BENCH_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(BENCH_LOCK)
	touch $(BENCH_STAMP)

# The peaks (issue 19) come from Debian's wrk: apt-get install -y wrk
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk"; exit 1; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# 10 minutes of mixed load at half of the peak (issue 9). SOAK_ARGS: e.g. --minutes 2
soak: $(BENCH_STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

bench-upload: $(STAMP)
	$(BIN)/python bench/upload_memory.py

bench-feeds: $(STAMP)
	$(BIN)/python bench/feeds.py --size both

bench-social: $(STAMP)
	$(BIN)/python bench/social.py

# Mutation testing (not part of make test): mutmut 3 mutates copies of
# momentic_core/policies/ and services/visibility.py under mutants/ (never the working
# tree), runs the tests of tests/unit that reach each mutant (memory adapters, no
# PostgreSQL), then scripts/mutation_score.py prints killed/total per module and fails
# when one scores under MUTATION_MIN % (message wording aside). Every run starts afresh.
# About 3 minutes on 2 cores (MUTATION_JOBS workers); `.venv/bin/mutmut show NAME` shows
# a mutant, `.venv/bin/mutmut browse` all of them.
MUTATION_STAMP := $(VENV)/.mutation-installed
MUTATION_MIN ?= 90
MUTATION_JOBS ?= 2
$(MUTATION_STAMP): $(STAMP) $(MUTATION_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(MUTATION_LOCK)
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/python scripts/mutation_score.py --min $(MUTATION_MIN)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache mutants
