# Two commands do all the set-up: `make run` and `make test`.
# Both create a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-slow test-all lint check-wheel bench bench-decision bench-landscape bench-app bench-history bench-responsive bench-maps bench-session soak screenshots book clean

# `make run` installs what the app needs; `make test` adds the dev tools (pytest, ruff, ...)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@echo "compiling the training kernels once (about a minute; later starts load them in 0.5 s)"
	$(BIN)/python -m bpgui_engine.jit
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/bpgui $(ARGS)

# the suite on every core (pytest-xdist); the kernels are compiled (or loaded) once first,
# so no test process compiles them.  The tests marked slow (the randomized soak, the book
# reproductions that run for minutes, a cold compile) run in `make test-slow`, which CI runs
# after `make test`; `make test-all` runs both.
PYTEST := QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n auto --dist worksteal
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m bpgui_engine.jit --quiet
	$(PYTEST) -m "not slow"

test-slow: $(DEV_STAMP)
	$(BIN)/python -m bpgui_engine.jit --quiet
	$(PYTEST) -m slow

test-all: test test-slow

lint: $(DEV_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_kernel.py
	$(BIN)/python benchmarks/bench_sizes.py --markdown

bench-decision: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_decision.py

bench-landscape: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_landscape.py --markdown
	$(BIN)/python benchmarks/bench_sharpness.py

# the long randomized soak of user actions (issue 25): 30 minutes offscreen, then 30 under Xvfb
SOAK_MINUTES ?= 30
soak: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES) --seed 101
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES) --seed 202

bench-app: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_app.py

bench-history: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_history.py

# GUI timer gaps with a 100x100 basin map, a sweep and a run at once (issue 19)
bench-responsive: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/bench_responsive.py

check-wheel: $(DEV_STAMP)
	PYTHON=$(PYTHON) scripts/check_wheel.sh

bench-maps: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_maps.py

bench-session: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_session.py

screenshots: $(DEV_STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots.py
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots_plane.py
	cp docs/screenshots/plane.png bpgui/guide/images/plane.png
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots_landscape.py
	cp docs/screenshots/edge-of-stability.png bpgui/guide/images/edge-of-stability.png
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python scripts/screenshots_optimizers.py

book: $(DEV_STAMP)
	$(BIN)/python scripts/book_chapter12.py > docs/book-chapter-12.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
