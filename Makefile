# The course's two commands:  `make` (set up, build, release, grade) and `make test`.
# Everything is installed into .venv/ at the repo root; targets are idempotent and skip work
# whose inputs did not change.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

# The sample submissions are graded in a demonstration course of their own, so that they
# never mix with a real class's submitted/ or gradebook.db.
DEMO   := _build/demo-course
DEMO_STAMP := $(DEMO)/.graded
# Student code runs in bubblewrap (installed by sandbox-deps when we are root). Where it is
# missing, the bundled samples (the course's own, trusted notebooks) are graded without
# isolation, and the run says so.
GRADER_SOURCES := $(shell find autograder samples/submitted -name '*.py' -o -name '*.j2' -o -name '*.ipynb' 2>/dev/null)

.PHONY: all setup system-deps sandbox-deps book pdf exercises grade test check lint clean
.DEFAULT_GOAL := all

all: book exercises grade
	@echo
	@echo "Book:      $(CURDIR)/_build/html/index.html  (open it in a browser; works offline)"
	@echo "Exercises: $(CURDIR)/exercises/  (student notebooks, made by nbgrader generate_assignment)"
	@echo "Samples graded in the demonstration course $(CURDIR)/$(DEMO)/ ($$(cat $(DEMO_STAMP))):"
	@echo "  gradebook  $(CURDIR)/$(DEMO)/gradebook.db"
	@echo "  CSV        $(CURDIR)/$(DEMO)/grades/grades.csv  (summary: grades/summary.txt, summary.svg)"
	@echo "  autograded $(CURDIR)/$(DEMO)/autograded/<student>/<assignment>/"
	@echo "  feedback   $(CURDIR)/$(DEMO)/feedback/<student>/<assignment>/<notebook>.html"
	@echo "  formgrader: cd $(DEMO) && ../../$(VENV)/bin/jupyter server  (then open /formgrader)"

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

# bubblewrap, the sandbox of the main job: installed when missing and we are root.
sandbox-deps:
	@if ! command -v bwrap >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
	fi

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

# Built again only when something it is made of changed (its text, code, extensions and
# bibliography, the release it links, the toolchain); `make -B book` forces it.
BOOK_SOURCES := _config.yml _toc.yml $(shell find book -type f ! -path '*/__pycache__/*' 2>/dev/null)
BOOK_STAMP := _build/.book-built
book: $(BOOK_STAMP)

$(BOOK_STAMP): $(STAMP) $(BOOK_SOURCES) exercises/.release-stamp.json | exercises
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	touch $@

# The whole book as one printable PDF, offline: Debian's Chromium prints the built HTML after
# MathJax has typeset it (book/_tools/print_book.py).
PDF := _build/pdf/gradients-by-hand.pdf
pdf: book system-deps
	$(PY) book/_tools/print_book.py _build/html $(PDF) --toc _toc.yml
	@echo "PDF: $(CURDIR)/$(PDF)"

exercises: $(STAMP)
	$(PY) -m autograder release

grade: $(DEMO_STAMP)

# The demonstration course: the course's configuration and gradebook (which the release filled
# with the assignments' cells), the released notebooks, and the samples as its submissions.
$(DEMO_STAMP): $(STAMP) nbgrader_config.py exercises/.release-stamp.json $(GRADER_SOURCES) | exercises sandbox-deps
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cp nbgrader_config.py gradebook.db $(DEMO)/
	cp -r samples/submitted $(DEMO)/submitted
	ln -s ../../exercises $(DEMO)/exercises
	@iso=$$(command -v bwrap >/dev/null && echo bwrap || echo none); \
	if [ $$iso = none ]; then echo "bubblewrap is not installed: grading the bundled samples, which are trusted, without isolation (--isolation none)"; fi; \
	cd $(DEMO) && ../../$(PY) -m autograder grade --isolation $$iso --quiet && echo "isolation: $$iso" > .graded

# Three workers on two cores: many tests wait on nbgrader's kernels, servers and browsers.
# Whole modules per worker, so each module's shared fixtures are made once
# (tests/conftest.py starts the longest modules first).
test: $(TEST_STAMP) system-deps
	$(PY) -m pytest -n 3 --dist loadfile --no-loadscope-reorder

# The fast tests: the inner loop of development.
check: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow" -q

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf _build
