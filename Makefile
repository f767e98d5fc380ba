# meshtrain: build, test, bench. `make` builds bin/meshtrain; `make demo` and `make test` first
# install what they need (tools/deps.sh) and are the README's two commands.

CC      ?= cc
ARCH    ?= -march=native
OPT     ?= -O2
# The hot loops are plain C: let the compiler vectorize them (GCC enables only a very cheap model at -O2).
VEC     ?= -ftree-vectorize -fvect-cost-model=dynamic
CSTD     = -std=c11 -D_GNU_SOURCE
WARN     = -Wall -Wextra
PKGS     = openblas jansson zlib libsodium libcrypto

# Report each missing library once, with the Debian package that provides it.
pkg_deb_openblas = libopenblas-dev
pkg_deb_jansson  = libjansson-dev
pkg_deb_zlib     = zlib1g-dev
pkg_deb_libsodium = libsodium-dev
pkg_deb_libcrypto = libssl-dev
pkg_deb_criterion = libcriterion-dev
MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))
ifneq ($(MISSING),)
  ifeq ($(filter deps demo test clean,$(MAKECMDGOALS)),)
    $(warning missing libraries: $(MISSING); install with: apt-get install -y pkg-config $(foreach p,$(MISSING),$(pkg_deb_$(p))))
  endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  ?=
CFLAGS  += $(OPT) $(VEC) $(ARCH) $(CSTD) $(WARN) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -pthread
# The commit (with -dirty for uncommitted changes) and flags every result records: written to
# build/version.c on each make, and recompiled only when they change.
GIT_REV := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

# The layers, lowest first, and the folders each may include (docs/architecture.md). A file compiles
# with only its own layer's list on the include path, so an include that breaks the layering fails
# the build: "fatal error: x.h: No such file or directory". Nothing may include a layer above it.
LAYERS        := base nn data topo comm algo netem analysis runtime cli
USES_base     := base
USES_nn       := base nn
USES_data     := base data
USES_topo     := base topo
USES_comm     := base comm
USES_algo     := base comm topo algo
USES_netem    := base netem
USES_analysis := base netem analysis
USES_runtime  := base nn data topo comm algo netem analysis runtime
USES_cli      := $(LAYERS)
USES_tests    := $(LAYERS)
$(foreach L,$(LAYERS) tests,$(eval build/rel/$(L)/%.o build/asan/$(L)/%.o: INC = $(addprefix -I,$(USES_$(L)))))
HEADERS := $(foreach L,$(LAYERS),$(wildcard $(L)/*.h))

ENGINE_SRC := $(foreach L,$(filter-out cli,$(LAYERS)),$(wildcard $(L)/*.c))
CLI_SRC    := $(wildcard cli/*.c)
TEST_SRC   := $(wildcard tests/test_*.c)

ENGINE_OBJ := $(ENGINE_SRC:%.c=build/rel/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=build/rel/%.o)
TEST_OBJ   := $(TEST_SRC:%.c=build/rel/%.o)
ASAN_OBJ   := $(ENGINE_SRC:%.c=build/asan/%.o) $(TEST_SRC:%.c=build/asan/%.o)

SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all deps demo reproduce reproduce-quick test format format-check identical-tests identical-reference layers-tests unit asan cli-tests runtime-tests security-tests cluster-tests netem-tests fidelity-tests report-tests check-tests accuracy bench fuzz data clean help

all: bin/meshtrain

help:
	@echo "make            build bin/meshtrain"
	@echo "make demo       install what is missing, then Sparse-Push vs SGP, 8 agents over emulated links, and the report"
	@echo "make reproduce-quick  the papers' figures at reduced scale (Fashion-MNIST, about 35-45 min): results/quick/REPORT.md"
	@echo "make reproduce  the papers' experiments at full scale (CIFAR-10; prints the plan and time first)"
	@echo "make check-regression  rerun the quick scenarios and compare with results/baseline"
	@echo "make test       install what is missing, then unit tests, sanitized unit tests, CLI tests, accuracy check"
	@echo "make bench      engine speed against CPU PyTorch, written to results/bench/train-step.md; int8 products: qgemm.md"
	@echo "make data       download CIFAR-10/100 (needs internet) into ./data"

build/rel/%.o: %.c $(HEADERS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) -c $< -o $@

build/asan/%.o: %.c $(HEADERS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(OPT),$(CFLAGS)) $(SAN_FLAGS) $(INC) -c $< -o $@

.PHONY: FORCE
build/version.c: FORCE
	@mkdir -p build
	@printf 'const char meshtrain_git[] = "%s";\nconst char meshtrain_cflags[] = "%s";\n' '$(GIT_REV)' '$(OPT) $(VEC) $(ARCH)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

build/rel/version.o: build/version.c
	$(CC) $(CFLAGS) -c $< -o $@

build/asan/version.o: build/version.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(OPT),$(CFLAGS)) $(SAN_FLAGS) -c $< -o $@

bin/meshtrain: $(ENGINE_OBJ) $(CLI_OBJ) build/rel/version.o
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bin/unit-tests: $(ENGINE_OBJ) $(TEST_OBJ) build/rel/version.o
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $$(pkg-config --libs criterion)

bin/unit-tests-asan: $(ASAN_OBJ) build/asan/version.o
	@mkdir -p bin
	$(CC) $(filter-out $(OPT),$(CFLAGS)) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) $$(pkg-config --libs criterion)

deps:
	@tools/deps.sh build

# The decentralized demo: Sparse-Push against SGP, 8 agents over emulated 20 Mbit/s links (netem, through
# User-Mode Linux when the kernel lacks it), Fashion-MNIST, a few minutes; ends with the report.
demo:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory bin/meshtrain
	@rm -rf results/demo
	bin/meshtrain run scenarios/demo.json --out results/demo/runs
	bin/meshtrain report results/demo/runs --out results/demo --baseline sgp --title "meshtrain demo"
	@echo; sed -n '/^## Results/,/^## Figures/p' results/demo/REPORT.md | grep '^|'; echo; echo "report: results/demo/REPORT.md"

# The papers' figures at reduced scale (Fashion-MNIST, LeNet-5, 8-16 agents; five sweeps): about 35-45 min here.
reproduce-quick:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory bin/meshtrain
	analysis/scripts/reproduce_quick.sh bin/meshtrain

# The papers' experiments at full scale (CIFAR-10, ResNet-20, VGG-11, 8 and 16 agents, 200 epochs): days.
reproduce:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory bin/meshtrain
	analysis/scripts/reproduce.sh bin/meshtrain

# The README's test command: every step below runs; none is skipped silently.
test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory bin/meshtrain bin/unit-tests bin/unit-tests-asan
	@$(MAKE) --no-print-directory format-check layers-tests unit asan cli-tests runtime-tests identical-tests security-tests cluster-tests netem-tests fidelity-tests report-tests check-tests accuracy

unit: bin/unit-tests
	@echo "== unit tests (Criterion)"
	bin/unit-tests -j2

asan: bin/unit-tests-asan
	@echo "== unit tests under AddressSanitizer + UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 MESHTRAIN_FAST_TESTS=1 bin/unit-tests-asan -j2

cli-tests: bin/meshtrain
	@echo "== command-line tests"
	tests/cli.sh bin/meshtrain

runtime-tests: bin/meshtrain
	@echo "== runtime tests: agent processes over loopback TCP, faults, no leftovers"
	tests/runtime.sh bin/meshtrain

identical-tests: bin/meshtrain
	@echo "== bit for bit: SGP, D-PSGD, Sparse-Push, DeepSqueeze, CHOCO against tests/identical/reference.json"
	tests/identical.sh bin/meshtrain

# Only from the commit before a change that must not alter results, never to make the test pass after it.
identical-reference: bin/meshtrain
	tests/identical.sh bin/meshtrain --write

layers-tests:
	@echo "== layers: an include that breaks the layering fails the build (in a scratch copy)"
	tests/layers.sh

security-tests: bin/meshtrain
	@echo "== security: an intruder races a run (wrong proofs, forged frames, silent hellos); late deaths and full disks are named"
	tests/security.sh bin/meshtrain

cluster-tests: bin/meshtrain
	@tools/deps.sh cluster
	@echo "== launchers: bad input; mpirun, a one-node and a two-host (namespaces) Slurm cluster give the native run's accuracy and bytes; a killed host, a partition, or two agent hosts cut apart (three hosts) is named; links shaped across two hosts (User-Mode Linux)"
	tests/cluster_cli.sh bin/meshtrain
	tests/cluster.sh bin/meshtrain
	tests/cluster_hosts.sh bin/meshtrain
	tests/cluster_partition.sh bin/meshtrain
	tests/cluster_overlay.sh bin/meshtrain --quick

netem-tests: bin/meshtrain
	@echo "== link emulation: one link measured, a run over netem, no leftovers (through User-Mode Linux when the kernel lacks netem)"
	tests/netem.sh bin/meshtrain

fidelity-tests: bin/meshtrain
	@echo "== link fidelity: 20 ms links measured against their configuration (through User-Mode Linux), a disturbed link flagged"
	tests/fidelity.sh bin/meshtrain

report-tests: bin/meshtrain
	@echo "== report: figures and REPORT.md from two tiny runs, a FAILED and an unfinished folder"
	tests/report.sh bin/meshtrain

check-tests: bin/meshtrain
	@echo "== regression check: a baseline written from two real runs passes; doctored references fail; bad input refused"
	tests/check.sh bin/meshtrain

# Regression check on communication reduction (docs/regression.md): the quick scenarios run afresh into
# build/regression and are compared with the committed references in results/baseline. A run that fails
# is still handed to check, which reports it as a failure. `make baseline` rewrites the references.
REGRESSION_SCENARIOS ?= quick-sgp quick-sparse-push
REGRESSION_RUNS := $(REGRESSION_SCENARIOS:%=build/regression/%)
.PHONY: regression-runs check-regression baseline

regression-runs: bin/meshtrain
	@rm -rf build/regression && mkdir -p build/regression
	@for s in $(REGRESSION_SCENARIOS); do bin/meshtrain run scenarios/$$s.json --out build/regression/$$s || true; done

check-regression: regression-runs
	bin/meshtrain check $(REGRESSION_RUNS) --baseline results/baseline

baseline: regression-runs
	bin/meshtrain check --write-baseline results/baseline $(REGRESSION_RUNS)

accuracy: bin/meshtrain
	@echo "== accuracy: LeNet-5 on Fashion-MNIST, 10 epochs, default hyperparameters (needs >= 89%)"
	tests/accuracy.sh bin/meshtrain

bench:
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory bin/meshtrain bin/bench-qgemm
	bench/train_step.sh bin/meshtrain
	@mkdir -p results/bench
	bin/bench-qgemm > results/bench/qgemm.md.tmp && mv -f results/bench/qgemm.md.tmp results/bench/qgemm.md
	@cat results/bench/qgemm.md
	bench/harness.sh bin/meshtrain

# The int8 products (nn/qgemm.c) against cblas_sgemm on the ResNet-20 and VGG-11 conv shapes (docs/int8.md).
build/rel/bench/%.o: INC = -Ibase -Inn
bin/bench-qgemm: build/rel/bench/qgemm.o build/rel/nn/qgemm.o build/rel/base/util.o build/rel/base/rng.o
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Coverage-guided fuzzing of the frame parser and every payload decoder (libFuzzer; not part of test).
FUZZ_SECONDS ?= 120
fuzz:
	@command -v clang >/dev/null || tools/deps.sh fuzz
	@mkdir -p bin build/fuzz-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Ibase -Icomm \
	  comm/wire.c comm/codec*.c base/util.c base/rng.c tests/fuzz_wire.c -lz -lm -o bin/fuzz-wire
	bin/fuzz-wire -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus

data:
	tools/get-data.sh

# Lines under 120 columns (house style): `make format` rewrites the long ones with clang-format and
# .clang-format; `make format-check` (part of `make test`) lists any that remain.
format:
	@command -v clang-format >/dev/null || tools/deps.sh format
	tools/format.sh fix

format-check:
	@tools/format.sh check

clean:
	rm -rf build bin
