# The course's two commands:  `make` (set up, build, release, grade) and `make test`.
# Everything is installed into .venv/ at the repo root; targets are idempotent and skip work
# whose inputs did not change.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: all setup system-deps book pdf exercises grade test lint clean
.DEFAULT_GOAL := all

all: book exercises grade
	@echo
	@echo "Book:      $(CURDIR)/_build/html/index.html  (open it in a browser; works offline)"
	@echo "Exercises: $(CURDIR)/exercises/  (student notebooks, made by nbgrader generate_assignment)"
	@echo "Grades:    $(CURDIR)/_build/grades/grades.csv  and the nbgrader gradebook $(CURDIR)/gradebook.db"
	@echo "Feedback:  $(CURDIR)/_build/grades/feedback/<student>/<assignment>/<notebook>.html"

setup: $(STAMP)

# The main job needs the grader and the book's toolchain; the tests add their oracles, the
# browser driver and Dask.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[book]"
	touch $@

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[book,dask,test]"
	touch $@

# Debian packages the sandbox and the browser tests use. Installed when missing and we are
# root (CI, a fresh course server); otherwise we say what to install.
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing fonts-dejavu-core; \
	  else \
	    echo "Missing Debian packages:$$missing (sudo apt-get install$$missing)"; \
	  fi; \
	fi

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# The whole book as one printable PDF, offline: Debian's Chromium prints the built HTML after
# MathJax has typeset it (book/_tools/print_book.py).
PDF := _build/pdf/gradients-by-hand.pdf
pdf: book system-deps
	$(PY) book/_tools/print_book.py _build/html $(PDF) --toc _toc.yml
	@echo "PDF: $(CURDIR)/$(PDF)"

exercises: $(STAMP)
	$(PY) -m autograder release

grade: $(STAMP) exercises
	$(PY) -m autograder grade samples/submitted --out _build/grades

test: $(TEST_STAMP) system-deps
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf _build
