# Makefile - builds svc-registry, the svcr CLI, the tests, fuzzers and benchmarks.
#
#   make build   binaries only (build/svc-registry, build/svcr)
#   make test    install missing packages, build, run every test (+ ASan/UBSan pass, fuzz smoke)
#   make run     install missing packages, build, start the registry on 127.0.0.1:8080
#   make bench   install benchmark tools, run the benchmarks side by side with their anchors
#
# Sources are discovered by wildcard: a new src/<seam>/<noun>.c, tools/svcr/<verb>.c,
# tests/unit/test_<x>.c or fuzz/fuzz_<x>.c is picked up without editing this file.

BUILD   ?= build
SAN     ?=
CC      ?= cc
VERSION := 0.1.0
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_TIME := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

# BLAKE3: the official C implementation as Debian 12 ships it inside librust-blake3-dev.
# Compiled from the installed package at build time; never copied into this repository.
BLAKE3_DIR := $(lastword $(sort $(wildcard /usr/share/cargo/registry/blake3-*/c)))

PKGS := libmicrohttpd jansson libsodium lmdb libcurl zlib sqlite3 libpq libmacaroons
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
SANFLAGS := -fsanitize=address,undefined
ifeq ($(SAN),1)
OPT     := -O1 -g -fno-omit-frame-pointer $(SANFLAGS) -fno-sanitize-recover=all
LDSAN   := $(SANFLAGS)
else
OPT     := -O2 -g
LDSAN   :=
endif
# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif
CPPFLAGS += -D_GNU_SOURCE -Isrc -I$(BLAKE3_DIR) \
            -DSVCR_VERSION='"$(VERSION)"' -DSVCR_COMMIT='"$(COMMIT)"' \
            -DSVCR_BUILD_TIME='"$(BUILD_TIME)"'
CFLAGS  += -std=gnu11 $(OPT) $(WARN) -pthread $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(LDSAN) -pthread

LIB_SRCS   := $(sort $(wildcard src/*/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS   := $(sort $(wildcard tools/svcr/*.c))
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS  := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(sort $(wildcard tests/unit/helpers/*.c))
TEST_HELPER_OBJS := $(TEST_HELPERS:%.c=$(BUILD)/obj/%.o)
ITEST_SRCS := $(sort $(wildcard tests/integration/test_*.c))
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/itests/%)
ITEST_HELPERS := $(sort $(wildcard tests/integration/helpers/*.c))
ITEST_HELPER_OBJS := $(ITEST_HELPERS:%.c=$(BUILD)/obj/%.o)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_HELPERS := $(sort $(wildcard bench/lib/*.c))
BENCH_HELPER_OBJS := $(BENCH_HELPERS:%.c=$(BUILD)/obj/%.o)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)

BLAKE3_C   := blake3.c blake3_dispatch.c blake3_portable.c
BLAKE3_S   := blake3_sse2_x86-64_unix.S blake3_sse41_x86-64_unix.S \
              blake3_avx2_x86-64_unix.S blake3_avx512_x86-64_unix.S
BLAKE3_OBJS := $(BLAKE3_C:%.c=$(BUILD)/blake3/%.o) $(BLAKE3_S:%.S=$(BUILD)/blake3/%.o)
LIBB3      := $(BUILD)/libblake3.a
LIBSVCR    := $(BUILD)/libsvcr.a

.PHONY: all build deps test unit-tests tests san-tests fuzz-smoke run bench clean format check-blake3
.DEFAULT_GOAL := build
# Keep objects make would otherwise treat as intermediate and delete.
.SECONDARY:

all: build
build: check-blake3 $(BUILD)/svc-registry $(BUILD)/svcr

deps:
	@scripts/deps.sh test

check-blake3:
	@test -n "$(BLAKE3_DIR)" || { echo "BLAKE3 C sources not found: install librust-blake3-dev \
	(scripts/deps.sh does)" >&2; exit 1; }

# --- third-party BLAKE3, compiled from the Debian package (not our code: no -Werror) ----------
$(BUILD)/blake3/%.o: $(BLAKE3_DIR)/%.c
	@mkdir -p $(@D)
	@echo '  CC     $@'
	$(Q)$(CC) -O3 -g $(LDSAN) -c $< -o $@
$(BUILD)/blake3/%.o: $(BLAKE3_DIR)/%.S
	@mkdir -p $(@D)
	@echo '  AS     $@'
	$(Q)$(CC) -c $< -o $@
$(LIBB3): $(BLAKE3_OBJS)
	$(Q)$(AR) rcs $@ $^

# --- our code ---------------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo '  CC     $@'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBSVCR): $(LIB_OBJS)
	@mkdir -p $(@D)
	@rm -f $@ # a fresh archive: objects of removed sources must not linger in it
	$(Q)$(AR) rcs $@ $^

$(BUILD)/svc-registry: $(BUILD)/obj/src/main.o $(LIBSVCR) $(LIBB3)
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/svcr: $(CLI_OBJS) $(LIBSVCR) $(LIBB3)
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_HELPER_OBJS) $(LIBSVCR) $(LIBB3)
	@mkdir -p $(@D)
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(shell pkg-config --libs cmocka) -o $@

$(BUILD)/itests/%: $(BUILD)/obj/tests/integration/%.o $(ITEST_HELPER_OBJS) $(TEST_HELPER_OBJS) \
                   $(LIBSVCR) $(LIBB3)
	@mkdir -p $(@D)
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(shell pkg-config --libs cmocka) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_HELPER_OBJS) $(LIBSVCR) $(LIBB3)
	@mkdir -p $(@D)
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

tests: build $(TEST_BINS) $(ITEST_BINS)

# --- fuzzers: clang + libFuzzer with ASan/UBSan, own object tree ------------------------------
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -Wall -Wextra -Werror $(PKG_CFLAGS)
FUZZ_LIB_SRCS := $(filter-out src/main.c,$(LIB_SRCS))
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRCS) $(LIBB3)
	@mkdir -p $(@D)
	@echo '  FUZZ   $@'
	$(Q)clang $(CPPFLAGS) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_SRCS) $(LIBB3) $(LDLIBS) -o $@

# --- the two commands -------------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 tests
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@scripts/run-tests.sh

run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory build
	@scripts/run_local.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build $(BENCH_BINS)
	@scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
