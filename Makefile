# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
BUILD := .build
SAMPLE_REPO := $(BUILD)/sample.git
RELEASES := $(BUILD)/releases

.PHONY: run test machine setup docker images sample frontend lint typecheck package package-check bench bench-api bench-designer clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The Debian packages and the Docker engine both commands need (as root, installed and started
# here; otherwise one sentence says what to install): scripts/prepare-machine.sh.
machine:
	@bash scripts/prepare-machine.sh

docker: machine

images: machine
	bash examples/build-images.sh

sample: $(SAMPLE_REPO)

# The output relay every local job runs under, so its stdout and stderr lines are stored in
# the order it printed them (tools/co-relay/co-relay.c, chalicelib/launch/docker_relay.py):
# a static binary, mounted into containers of any image.
RELAY := $(BUILD)/co-relay

.PHONY: relay
relay: $(RELAY)

$(RELAY): tools/co-relay/co-relay.c
	@mkdir -p $(BUILD)
	cc -std=c11 -O2 -Wall -Wextra -Werror -static -o $@ $<

$(SAMPLE_REPO):
	bash examples/make-sample-repo.sh $(SAMPLE_REPO)

# The designer (frontend/): `npm ci` when the lock file is newer than the last install,
# `npm run build` (into frontend/dist, which `containerops serve` serves) when a source
# changed. Folders are listed too: adding or removing a file changes their time.
FRONTEND := frontend
NPM_STAMP := $(FRONTEND)/node_modules/.installed
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/public 2>/dev/null) \
    $(addprefix $(FRONTEND)/,index.html vite.config.ts tsconfig.json package-lock.json)

frontend: $(FRONTEND)/dist/index.html

$(NPM_STAMP): $(FRONTEND)/package-lock.json
	@command -v npm > /dev/null 2>&1 || { echo "npm is missing: install Node.js 20.19+ with npm (bash .ci/run does, as root), then run make again." >&2; exit 2; }
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND)/dist/index.html: $(NPM_STAMP) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build
	touch $@

PORT ?= 8080

# The main job: load the examples into the registry, run the example CI workflow live on
# real containers, then serve the API and the designer (Ctrl-C stops; nothing is lost).
# The server lets jobs mount only the two folders examples/workflows/ci.yaml mounts.
run: machine setup relay images sample frontend
	mkdir -p $(RELEASES) && chmod 777 $(RELEASES)
	$(BIN)/containerops load examples/components examples/workflows
	$(BIN)/containerops run examples/workflows/ci.yaml \
	    --param repo-dir=$(CURDIR)/$(SAMPLE_REPO) --param release-dir=$(CURDIR)/$(RELEASES)
	$(BIN)/containerops serve --port $(PORT) \
	    --allow-mount $(CURDIR)/$(SAMPLE_REPO) --allow-mount $(CURDIR)/$(RELEASES)

lint: setup
	$(BIN)/ruff check chalicelib app.py tests bench

typecheck: setup
	$(BIN)/mypy

# The AWS deployment (infra/README.md): Chalice's template for the API merged with
# infra/template.json into $(PACKAGE)/sam.json, beside the Lambda bundle deployment.zip.
# Needs no AWS credentials; botocore only wants some region to be named.
PACKAGE := $(BUILD)/package

package: setup
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	    $(BIN)/chalice package --merge-template infra/template.json $(PACKAGE)

package-check: package
	$(BIN)/cfn-lint $(PACKAGE)/sam.json

# The stack on AWS in one command (README "Deploying to AWS", chalicelib/deploy): package, build
# the designer and, unless WORKSPACE_IMAGE names an image already in a registry, the workspace
# image (pushed to ECR containerops/workspace), then create or update the stack, upload the
# designer and its config.json, and print the URLs (and the first API token, once). Needs AWS
# credentials; never part of `make test`.
#   make deploy STACK=containerops SUBNETS=subnet-a,subnet-b SECURITY_GROUPS=sg-c [REGION=eu-west-1]
#       [WORKSPACE_IMAGE=...] [PACKAGE_BUCKET=...] [DESIGNER_ORIGIN=https://...] [MACHINE_PREFIX=...]
#       [EKS_CLUSTER=name [EKS_NAMESPACE=containerops] [DEFAULT_PLATFORM=fargate|eks]]
#   make destroy STACK=containerops [REGION=...] [DELETE_DESIGNER=yes]
.PHONY: deploy destroy
DEPLOY := $(BIN)/python -m chalicelib.deploy

DEPLOY_OPTIONS = --stack "$(STACK)" --region "$(REGION)" --subnets "$(SUBNETS)" \
    --security-groups "$(SECURITY_GROUPS)" --workspace-image "$(WORKSPACE_IMAGE)" \
    --package-bucket "$(PACKAGE_BUCKET)" --designer-origin "$(DESIGNER_ORIGIN)" \
    --machine-prefix "$(MACHINE_PREFIX)" --eks-cluster "$(EKS_CLUSTER)" --eks-namespace "$(EKS_NAMESPACE)" \
    --default-platform "$(DEFAULT_PLATFORM)" --package-dir $(PACKAGE) --designer-dir $(FRONTEND)/dist

# The settings and the credentials are checked first, before minutes of building.
deploy: setup
	$(DEPLOY) deploy --preflight $(DEPLOY_OPTIONS)
	$(MAKE) package frontend $(if $(WORKSPACE_IMAGE),,images)
	$(DEPLOY) deploy $(DEPLOY_OPTIONS)

destroy: setup
	$(DEPLOY) destroy --stack "$(STACK)" --region "$(REGION)" --delete-designer "$(DELETE_DESIGNER)"

# The example workflows (and two that use every feature the compiler knows) compiled to
# Step Functions state machines (containerops compile) into $(ASL_BUILD), each checked by
# the npm asl-validator pinned in $(ASL_TOOL): `npm ci` when its lock file is newer than
# the last install. Any invalid machine fails the target.
ASL_TOOL := tools/asl-validator
ASL_STAMP := $(ASL_TOOL)/node_modules/.installed
ASL_BUILD := $(BUILD)/asl
ASL_QUEUE_URL := https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch
EXAMPLE_COMPONENTS := $(wildcard examples/components/*/component.yaml)
ASL_WORKFLOWS := $(wildcard examples/workflows/*.yaml) tests/asl/workflows/every-feature.yaml \
    tests/asl/workflows/fan-out.yaml

.PHONY: asl-check bench-compile bench-log-handler

$(ASL_STAMP): $(ASL_TOOL)/package-lock.json
	@command -v npm > /dev/null 2>&1 || { echo "npm is missing: install Node.js 20.19+ with npm (bash .ci/run does, as root), then run make again." >&2; exit 2; }
	cd $(ASL_TOOL) && npm ci --no-audit --no-fund
	touch $@

asl-check: setup $(ASL_STAMP)
	rm -rf $(ASL_BUILD) && mkdir -p $(ASL_BUILD)
	for workflow in $(ASL_WORKFLOWS); do \
	    $(BIN)/containerops --data-dir $(ASL_BUILD)/data compile "$$workflow" \
	        $(addprefix -c ,$(EXAMPLE_COMPONENTS)) --queue-url $(ASL_QUEUE_URL) \
	        > $(ASL_BUILD)/$$(basename "$$workflow" .yaml).asl.json || exit 1; \
	done
	$(ASL_TOOL)/node_modules/.bin/asl-validator \
	    $(addprefix --json-path $(ASL_BUILD)/,$(notdir $(ASL_WORKFLOWS:.yaml=.asl.json)))

# The designer's checks come after the Python suite: types, unit tests (vitest), then the
# browser tests (a real `containerops serve` on Docker and headless Chromium).
test: machine setup relay lint typecheck package-check asl-check images frontend
	CONTAINEROPS_DATA_DIR=$(CURDIR)/$(BUILD)/test-data $(BIN)/pytest -q
	cd $(FRONTEND) && npm run typecheck
	cd $(FRONTEND) && npm test
	cd $(FRONTEND) && npm run e2e

bench: setup relay images
	$(BIN)/python bench/overhead.py

bench-api: setup
	$(BIN)/python bench/api.py

bench-designer: setup images frontend
	node bench/designer.mjs

# The README's pictures (docs/screenshots/), from a real server, a real run and Chromium.
.PHONY: screenshots
screenshots: setup relay images frontend
	node $(FRONTEND)/scripts/screenshots.mjs

bench-compile: setup
	$(BIN)/python bench/compile.py

bench-log-handler: setup
	$(BIN)/python bench/log_handler.py

.PHONY: bench-workspace
bench-workspace: setup
	$(BIN)/python bench/workspace.py

.PHONY: bench-sandbox
bench-sandbox: setup images
	$(BIN)/python bench/sandbox.py

# Fan-out at 1,000 and 10,000 instances of a busybox `sleep 0.2` (bench/fanout.py);
# FANOUT_OPTIONS e.g. "--instances 1000 --parallel 8".
.PHONY: bench-fanout
bench-fanout: setup images
	$(BIN)/python bench/fanout.py $(FANOUT_OPTIONS)

# The sandbox half: one fan-out job through the AWS sandbox's Map state (bench/fanout.py
# --sandbox --distributed: a Distributed Map). 120 shards by default: moto's DynamoDB scans its whole table for every query, so
# the sandbox's cost grows with the square of the instances (README, Benchmark).
FANOUT_SANDBOX ?= 120
.PHONY: bench-fanout-sandbox
bench-fanout-sandbox: setup images
	$(BIN)/python bench/fanout.py --sandbox $(FANOUT_SANDBOX) --distributed

clean:
	rm -rf $(BUILD)/test-data $(BUILD)/releases $(FRONTEND)/test-results $(PACKAGE) .chalice/deployments
