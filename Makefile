# The two commands a new user needs: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install the project when pyproject.toml or constraints.txt changed.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test test-slow fuzz fuzz-emulator explore eval bench bench-switch bench-telephony bench-telephony-cpu bench-cushion bench-resamplers install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python pipelines/wav_call.py --input pipelines/audio/caller_3turns_16k.wav \
		--output out/call.wav --report out/report.json --stereo

# The browser test drives Debian's Chromium, the scale-out test Debian's HAProxy and the memory
# store's test Debian's PostgreSQL; install them (apt, as root) when they are missing. If they
# cannot be had, the tests say why and skip.
test: $(STAMP)
	-$(BIN)/python -m tests.e2e.browser_setup >/dev/null
	-$(BIN)/python -m tests.e2e.lb_setup >/dev/null
	-$(BIN)/python -m tests.e2e.pg_setup >/dev/null
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# Opt-in long fuzz run of the bots' network entry points (tests/fuzz; `make test` runs the same
# tests with a few dozen fixed seeds). FUZZ_EXAMPLES examples per test, random seeds, loopback only.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz -n 2 -s -p no:cacheprovider --timeout=3600

# Opt-in: random call timelines against the emulator for EXPLORE_MINUTES (default 30), every
# failure shrunk to its smallest timeline and printed (tests/explorer). EXPLORE_SEED picks the
# first seed, so two runs can cover different ground; EXPLORE_SPEED the time scale (default 4).
EXPLORE_MINUTES ?= 30
explore: $(STAMP)
	EXPLORE_MINUTES=$(EXPLORE_MINUTES) $(BIN)/python -m tests.explorer.explore

# Opt-in: Pipecat's evals harness (`pipecat eval suite`) drives the ready bots under Pipecat's dev
# runner with recorded speech and checks the events they report (evals/manifest.yaml; ~5 min).
# Offline on purpose: the API keys are dropped, so every bot answers from its embedded emulator
# (the scenarios script its tool calls), and BOT_EVALS=on lets the bots serve the harness (off by
# default: an internet-facing bot must not). EVAL_ARGS narrows or repeats, e.g. `-p twilio_bot`,
# `-s barge_in`, `--repeat 5`; logs and results.jsonl land in out/eval-runs/.
EVAL_STAMP := $(VENV)/.installed-evals
$(EVAL_STAMP): $(STAMP)
	$(PIP) install -c constraints.txt -e ".[test,evals]"
	touch $(EVAL_STAMP)

eval: $(EVAL_STAMP)
	env -u GOOGLE_API_KEY -u GEMINI_API_KEY BOT_EVALS=on $(BIN)/python -m pipecat.evals suite -d evals/manifest.yaml $(EVAL_ARGS)

# The emulator's fuzz suite at length: fresh random seeds, EMULATOR_FUZZ_EXAMPLES per entry point
# (`make test` runs a fixed 25). The hour's timeout replaces make test's 180 s per test: thousands
# of examples on a busy machine take longer, and the example count bounds the run.
EMULATOR_FUZZ_EXAMPLES ?= 5000
fuzz-emulator: $(STAMP)
	EMULATOR_FUZZ_EXAMPLES=$(EMULATOR_FUZZ_EXAMPLES) $(BIN)/python -m pytest -n 0 tests/fuzz/test_emulator_fuzz.py -q --timeout=3600

clean:
	rm -rf $(VENV) out .pytest_cache

# Opt-in benchmarks (not part of `make test`): ours vs Pipecat's built-in service, same run,
# same emulator, same audio -> bench/REPORT.md, bench/results.json and their plots (~35 min on
# two cores; `make bench BENCH_ARGS=--quick` is a few-minute smoke run; `BENCH_ARGS="--only
# cost,floor,callstart,twilio"` re-measures those and keeps the other sections' stored results).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PIP) install -c constraints.txt -e ".[test,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-switch: $(STAMP)
	$(BIN)/python bench/switch_gap.py

# Telephony latency: wideband vs our Twilio path vs Pipecat's stock Twilio setup, same call,
# same emulator, one run (ROUNDS calls per path, 3 caller turns each; ~1.6 min per round).
ROUNDS ?= 3
bench-telephony: $(STAMP)
	$(BIN)/python -m bench.telephony --rounds $(ROUNDS)

# Calls per core of our Twilio bot against Pipecat's stock Twilio bot with its built-in service
# (CALLS concurrent calls per app and round, every app in a process of its own and all apps' calls
# at once; emulator and callers in processes of their own).
CALLS ?= 4
bench-telephony-cpu: $(STAMP)
	$(BIN)/python -m bench.telephony_cpu --rounds $(ROUNDS) --calls $(CALLS)

# The playout cushion's effect under slow reply delivery: underruns and added latency, on vs off
# (three calls at once per repeat, ~50 s each) -> bench/cushion.json.
bench-cushion: $(STAMP)
	$(BIN)/python -m bench.cushion --repeats 3

# The resampler trade-off (hold, passband, rejection, CPU) behind the telephony path.
bench-resamplers: $(STAMP)
	$(BIN)/python -m bench.resamplers
