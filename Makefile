# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
BUILD := .build
SAMPLE_REPO := $(BUILD)/sample.git
RELEASES := $(BUILD)/releases

.PHONY: run test setup docker images sample lint typecheck bench bench-api clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

docker:
	@bash scripts/require-docker.sh

images: docker
	bash examples/build-images.sh

sample: $(SAMPLE_REPO)

$(SAMPLE_REPO):
	bash examples/make-sample-repo.sh $(SAMPLE_REPO)

PORT ?= 8080

# The main job: load the examples into the registry, run the example CI workflow live on
# real containers, then serve the API and the designer (Ctrl-C stops; nothing is lost).
run: setup images sample
	mkdir -p $(RELEASES) && chmod 777 $(RELEASES)
	$(BIN)/containerops load examples/components examples/workflows
	$(BIN)/containerops run examples/workflows/ci.yaml \
	    --param repo-dir=$(CURDIR)/$(SAMPLE_REPO) --param release-dir=$(CURDIR)/$(RELEASES)
	$(BIN)/containerops serve --port $(PORT)

lint: setup
	$(BIN)/ruff check chalicelib app.py tests bench

typecheck: setup
	$(BIN)/mypy

test: setup lint typecheck images
	CONTAINEROPS_DATA_DIR=$(CURDIR)/$(BUILD)/test-data $(BIN)/pytest -q

bench: setup images
	$(BIN)/python bench/overhead.py

bench-api: setup
	$(BIN)/python bench/api.py

clean:
	rm -rf $(BUILD)/test-data $(BUILD)/releases
